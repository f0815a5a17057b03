import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { DnsResponder } from '../../lib/dns/responder';
import { minTtl } from '../../lib/dns/wire';
import { ApiError, problemBody } from '../../lib/errors';
import { type Reply, type Route } from '../http/router';

/** A DNS message is at most 65535 bytes (RFC 8484 §6 leaves the limit to the server). */
const MAX_DOH_BODY = 65535;
const MEDIA_TYPE = 'application/dns-message';
export const DOH_PATH = '/dns-query';

/*
 * DNS-over-HTTPS (RFC 8484) at /dns-query on every HTTP listener, without a token:
 * GET with `?dns=<base64url message>` and POST with an application/dns-message
 * body. The DNS rcode travels inside a 200 response; HTTP errors are for requests
 * that carry no usable DNS message: 400 (no or bad message), 405 (another method),
 * 413 (too large), 415 (another media type). `Cache-Control: max-age` is the
 * smallest TTL in the answer (RFC 8484 §5.1). Two doors, one logic: routes of the
 * API router (HTTP/1.1), and a handler of raw HTTP/2 streams (dohStreamHandler)
 * that skips the HTTP/2 compatibility layer, which cost most of a DoH request.
 */

/** messageFromGet decodes the `dns` parameter of a GET; throws invalid_query. */
function messageFromGet(dns: string | null): Buffer {
  if (dns === null || dns.length === 0) throw new ApiError('invalid_query', 'send the query as ?dns=<base64url DNS message>');
  if (dns.length > Math.ceil((MAX_DOH_BODY * 4) / 3) + 4) throw new ApiError('invalid_query', 'the dns parameter is too long');
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(dns)) throw new ApiError('invalid_query', 'the dns parameter is not base64url');
  return Buffer.from(dns, 'base64url');
}

/** checkPostType refuses a POST body that is not application/dns-message (415). */
function checkPostType(type: string | undefined): void {
  if (type === undefined || type.split(';')[0]!.trim().toLowerCase() !== MEDIA_TYPE) {
    throw new ApiError('unsupported_media_type', `send ${MEDIA_TYPE}${type === undefined ? '' : `, not ${type.slice(0, 100)}`}`);
  }
}

interface DohAnswer {
  readonly data: Buffer;
  readonly maxAge: number;
}

/** answer runs one message through the responder; it calls back at once when the answer is ready at once. */
function answer(responder: DnsResponder, msg: Buffer, address: string, done: (a: DohAnswer) => void, fail: (err: unknown) => void): void {
  const finish = (r: Buffer | undefined) => {
    if (r === undefined) fail(new ApiError('invalid_query', 'the message is not a DNS query'));
    else done({ data: r, maxAge: minTtl(r) ?? 0 });
  };
  const r = responder.respond(msg, { address, transport: 'doh' });
  if (r instanceof Promise) r.then(finish, fail);
  else finish(r);
}

/** dohRoutes serves /dns-query through the API router (HTTP/1.1, and HTTP/2 when not taken by dohStreamHandler). */
export function dohRoutes(responder: DnsResponder): Route[] {
  const reply = (ctxAddress: string, msg: Buffer) =>
    new Promise<Reply>((resolve, reject) =>
      answer(
        responder,
        msg,
        ctxAddress,
        (a) => resolve({ status: 200, binary: { contentType: MEDIA_TYPE, data: a.data }, headers: { 'cache-control': `max-age=${a.maxAge}` } }),
        reject,
      ),
    );
  return [
    {
      method: 'GET',
      path: DOH_PATH,
      permission: 'none',
      handler: (ctx) => reply(ctx.remoteAddress, messageFromGet(ctx.query.get('dns'))),
    },
    {
      method: 'POST',
      takesBody: true,
      path: DOH_PATH,
      permission: 'none',
      async handler(ctx) {
        checkPostType(ctx.headers['content-type']);
        const body = await ctx.readRaw(MAX_DOH_BODY);
        if (body.length === 0) throw new ApiError('invalid_query', 'the body is empty; send a DNS message');
        return reply(ctx.remoteAddress, body);
      },
    },
  ];
}

/**
 * dohStreamHandler answers DoH on raw HTTP/2 streams: it returns false for a
 * stream that is not for /dns-query (the caller hands it to the compatibility
 * layer) and true once it has taken the stream.
 */
export function dohStreamHandler(responder: DnsResponder): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean {
  return (stream, headers) => {
    const path = headers[':path'] ?? '';
    const q = path.indexOf('?');
    if ((q === -1 ? path : path.slice(0, q)) !== DOH_PATH) return false;
    stream.on('error', () => undefined);
    const address = stream.session?.socket?.remoteAddress ?? '';
    const ok = (a: DohAnswer) => {
      if (stream.destroyed || stream.headersSent) return;
      stream.respond({ ':status': 200, 'content-type': MEDIA_TYPE, 'content-length': a.data.length, 'cache-control': `max-age=${a.maxAge}` });
      stream.end(a.data);
    };
    const fail = (err: unknown) => {
      if (stream.destroyed || stream.headersSent) return;
      const e = err instanceof ApiError ? err : new ApiError('internal');
      const body = JSON.stringify(problemBody(e, DOH_PATH));
      stream.respond({
        ':status': e.status,
        'content-type': 'application/problem+json',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
        ...e.headers,
      });
      stream.end(body);
    };
    try {
      const method = headers[':method'];
      if (method === 'GET') {
        answer(responder, messageFromGet(new URLSearchParams(q === -1 ? '' : path.slice(q + 1)).get('dns')), address, ok, fail);
      } else if (method === 'POST') {
        checkPostType(headers['content-type']);
        if (Number(headers['content-length'] ?? 0) > MAX_DOH_BODY) throw new ApiError('body_too_large', `a DNS message is at most ${MAX_DOH_BODY} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_DOH_BODY) {
            fail(new ApiError('body_too_large', `a DNS message is at most ${MAX_DOH_BODY} bytes`));
            stream.close();
          } else chunks.push(c);
        });
        stream.on('end', () => {
          if (size > MAX_DOH_BODY) return;
          if (size === 0) return fail(new ApiError('invalid_query', 'the body is empty; send a DNS message'));
          try {
            answer(responder, Buffer.concat(chunks), address, ok, fail);
          } catch (err) {
            fail(err);
          }
        });
      } else {
        throw new ApiError('method_not_allowed', `${String(method)} is not allowed here`, { headers: { allow: 'GET, POST' } });
      }
    } catch (err) {
      fail(err);
    }
    return true;
  };
}
