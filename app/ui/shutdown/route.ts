import { callApi, notSignedIn, operatorOrNull, problemResponse } from '@/app/_lib/operator';
import { getAppliance } from '@/lib/appliance';

export const dynamic = 'force-dynamic';

/** The header the shutdown page sends: a cross-site form cannot set it, and a cross-site fetch must ask first (CORS). */
const SHUTDOWN_HEADER = 'x-nekoq-ui';


function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/**
 * POST /ui/shutdown: shuts the node down (POST /v1/admin/shutdown as the signed-in
 * operator) and streams the steps of the drain as they happen, one JSON object
 * per line, until the last step this page can see. The HTTP fronts count this
 * request as a watcher (lib/appliance.ts SHUTDOWN_WATCH_PATH), not as one the
 * drain waits for; the drain's `drained` step ends it.
 */
export async function POST(request: Request): Promise<Response> {
  const operator = await operatorOrNull();
  if (operator === null) return problemResponse(notSignedIn);
  const origin = request.headers.get('origin');
  const host = request.headers.get('host');
  if (request.headers.get(SHUTDOWN_HEADER) !== 'shutdown' || origin === null || host === null || originHost(origin) !== host) {
    return problemResponse({ code: 'forbidden', title: 'a shutdown must come from the shutdown page of this node', status: 403 });
  }
  const appliance = getAppliance();
  const r = await callApi(operator, 'POST', '/v1/admin/shutdown');
  if (!r.ok) return problemResponse(r.problem!);
  const encoder = new TextEncoder();
  let after = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const p = await appliance.shutdownProgress(after, 1000);
        for (const e of p.events) controller.enqueue(encoder.encode(`${JSON.stringify(e)}\n`));
        after += p.events.length;
        if (p.final) controller.close();
      } catch (err) {
        // The appliance's side has gone (the worker is being stopped): the stream ends here.
        controller.enqueue(encoder.encode(`${JSON.stringify({ seq: after + 1, at: Date.now(), phase: 'web-stopping', text: (err as Error).message })}\n`));
        controller.close();
      }
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  });
}
