import type { ServicesAnswer } from '@/app/_lib/api-types';
import { callApi, notSignedIn, operatorOrNull, problemResponse } from '@/app/_lib/operator';

export const dynamic = 'force-dynamic';

/** How long one watch waits for a change before it answers unchanged (the page asks again at once). */
const WAIT = '25s';

/**
 * GET /ui/services?index=N: the services page's live feed. It is the API's
 * blocking query (GET /v1/services?index=N&wait=25s) made as the signed-in
 * operator; a page that goes away cancels it.
 */
export async function GET(request: Request): Promise<Response> {
  const operator = await operatorOrNull();
  if (operator === null) return problemResponse(notSignedIn);
  const index = new URL(request.url).searchParams.get('index');
  const query = index !== null && /^\d{1,15}$/.test(index) ? `?index=${index}&wait=${WAIT}` : '';
  const r = await callApi<ServicesAnswer>(operator, 'GET', `/v1/services${query}`, { signal: request.signal });
  return r.ok ? Response.json(r.data, { headers: { 'cache-control': 'no-store' } }) : problemResponse(r.problem!);
}
