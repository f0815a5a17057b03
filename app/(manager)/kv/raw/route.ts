import { callApi, notSignedIn, operatorOrNull, problemResponse } from '@/app/_lib/operator';
import { kvApiPath } from '../kv-api';

export const dynamic = 'force-dynamic';

/**
 * GET /kv/raw?key=K: the key's value as a file download (GET /v1/kv/K?raw made as
 * the signed-in operator), named after the key's last segment.
 */
export async function GET(request: Request): Promise<Response> {
  const operator = await operatorOrNull();
  if (operator === null) return problemResponse(notSignedIn);
  const key = new URL(request.url).searchParams.get('key') ?? '';
  const r = await callApi(operator, 'GET', `${kvApiPath(key)}?raw`, { signal: request.signal });
  if (!r.ok) return Response.json(r.problem, { status: r.status, headers: { 'cache-control': 'no-store' } });
  const name = key.slice(key.lastIndexOf('/') + 1) || 'value';
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return new Response(new Uint8Array(r.bytes), {
    headers: {
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
