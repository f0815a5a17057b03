import type { DnsResponder } from '../../lib/dns/responder';
import { minTtl } from '../../lib/dns/wire';
import { ApiError } from '../../lib/errors';
import { readRawBody, type Reply, type Route, type RouteContext } from '../http/router';

/** A DNS message is at most 65535 bytes (RFC 8484 §6 leaves the limit to the server). */
const MAX_DOH_BODY = 65535;
const MEDIA_TYPE = 'application/dns-message';

/**
 * dohRoutes serves DNS-over-HTTPS (RFC 8484) at /dns-query on every HTTP
 * listener, without a token: GET with `?dns=<base64url message>` and POST with
 * an application/dns-message body. The DNS rcode travels inside a 200 response;
 * HTTP errors are for requests that carry no usable DNS message: 400 (no or bad
 * message), 405 (another method), 413 (too large), 415 (another media type).
 * `Cache-Control: max-age` is the smallest TTL in the answer (RFC 8484 §5.1).
 */
export function dohRoutes(responder: DnsResponder): Route[] {
  const answer = async (ctx: RouteContext, msg: Buffer): Promise<Reply> => {
    const r = await responder.respond(msg, { address: ctx.req.socket?.remoteAddress ?? '', transport: 'doh' });
    if (r === undefined) throw new ApiError('invalid_query', 'the message is not a DNS query');
    return {
      status: 200,
      binary: { contentType: MEDIA_TYPE, data: r },
      headers: { 'cache-control': `max-age=${minTtl(r) ?? 0}` },
    };
  };
  return [
    {
      method: 'GET',
      path: '/dns-query',
      permission: 'none',
      handler(ctx) {
        const dns = ctx.query.get('dns');
        if (dns === null || dns.length === 0) throw new ApiError('invalid_query', 'send the query as ?dns=<base64url DNS message>');
        if (dns.length > Math.ceil((MAX_DOH_BODY * 4) / 3) + 4) throw new ApiError('invalid_query', 'the dns parameter is too long');
        if (!/^[A-Za-z0-9_-]+={0,2}$/.test(dns)) throw new ApiError('invalid_query', 'the dns parameter is not base64url');
        return answer(ctx, Buffer.from(dns, 'base64url'));
      },
    },
    {
      method: 'POST',
      path: '/dns-query',
      permission: 'none',
      async handler(ctx) {
        const type = ctx.req.headers['content-type'];
        if (type === undefined || type.split(';')[0]!.trim().toLowerCase() !== MEDIA_TYPE) {
          throw new ApiError('unsupported_media_type', `send ${MEDIA_TYPE}${type === undefined ? '' : `, not ${type.slice(0, 100)}`}`);
        }
        const body = await readRawBody(ctx.req, MAX_DOH_BODY);
        if (body.length === 0) throw new ApiError('invalid_query', 'the body is empty; send a DNS message');
        return answer(ctx, body);
      },
    },
  ];
}
