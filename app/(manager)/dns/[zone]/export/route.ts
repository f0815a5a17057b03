import { problemText } from '@/app/_lib/api-types';
import { callApi, notSignedIn, operatorOrNull, problemResponse } from '@/app/_lib/operator';
import { zoneApi } from '@/components/dns/zoneApi';

export const dynamic = 'force-dynamic';

/** The file name a zone downloads as: its name without the final dot, with anything unusual replaced, and ".zone". */
function fileName(zone: string): string {
  const base = zone.replace(/\.$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'root';
  return `${base}.zone`;
}

/** GET /dns/:zone/export downloads the zone as an RFC 1035 zone file (the API's export) for the signed-in operator; 401 without a session. */
export async function GET(request: Request): Promise<Response> {
  const operator = await operatorOrNull();
  if (operator === null) return problemResponse(notSignedIn);
  // The zone is read from the URL itself, decoded exactly once: Next hands route handlers the
  // segment decoded but pages still encoded, and a zone name may hold a "%".
  const segment = new URL(request.url).pathname.split('/').at(-2) ?? '';
  let zone: string;
  try {
    zone = decodeURIComponent(segment);
  } catch {
    return new Response('the zone in the path is not valid percent-encoding\n', { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
  const r = await callApi(operator, 'GET', zoneApi(zone, 'export'));
  if (!r.ok) {
    return new Response(`${r.problem === undefined ? `HTTP ${r.status}` : problemText(r.problem)}\n`, {
      status: r.status,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    });
  }
  return new Response(r.text, {
    status: 200,
    headers: {
      'content-type': 'text/dns; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName(zone)}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
