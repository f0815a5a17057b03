import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Permission } from '../../lib/auth/roles';
import { roleAllows } from '../../lib/auth/roles';
import type { TokenEntry, TokenTable } from '../../lib/auth/tokens';
import { DurabilityError } from '../../lib/durability';
import type { z } from 'zod';
import { ApiError, problemBody, type FieldError } from '../../lib/errors';
import type { Log } from '../log';
import type { Metrics } from '../metrics';

/** Largest JSON body the API reads (issue #2); larger ones get 413 body_too_large. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What a handler gets: the parsed path and query, the caller, and a bounded JSON body reader. */
export interface RouteContext {
  readonly req: IncomingMessage;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly principal: TokenEntry | undefined;
  /** Aborts when the client closes the connection before the reply is sent. */
  readonly signal: AbortSignal;
  /** readJson reads and parses the body: 413 past MAX_BODY_BYTES, 415 for a non-JSON type, 400 for bad JSON. */
  readJson(): Promise<unknown>;
}

/** What a handler returns; `body` is sent as JSON unless `text` or `binary` is given. Headers may override cache-control. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: { readonly contentType: string; readonly data: string };
  readonly binary?: { readonly contentType: string; readonly data: Buffer };
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Route {
  readonly method: HTTPMethod;
  readonly path: string;
  /** 'none' = no token needed (health, metrics, DoH). */
  readonly permission: Permission | 'none';
  readonly handler: (ctx: RouteContext) => Promise<Reply> | Reply;
}

export interface RouterDeps {
  readonly tokens: TokenTable;
  readonly metrics: Metrics;
  readonly log: Log;
}

type Store = { route: Route };

/**
 * ApiRouter dispatches the appliance's own endpoints. `handle` returns false for a
 * path it does not own (the caller hands it to Next). Every failure, thrown or
 * returned, leaves as a problem+json response; nothing a request does can throw
 * out of `handle`.
 */
export class ApiRouter {
  private readonly fmw = FindMyWay({ ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 256 });
  private readonly owned: ((path: string) => boolean)[] = [];

  constructor(
    routes: readonly Route[],
    private readonly deps: RouterDeps,
  ) {
    for (const route of routes) {
      this.fmw.on(route.method, route.path, () => undefined, { route } satisfies Store);
    }
  }

  /** own declares a path prefix (or exact path) as the API's, so unmatched paths under it get 404/405 problems. */
  own(test: (path: string) => boolean): this {
    this.owned.push(test);
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = (req.method ?? 'GET') as HTTPMethod;
    const found = this.fmw.find(method, path);
    if (found === null) {
      if (!this.owned.some((t) => t(path))) return false;
      if (!isDecodable(path)) {
        this.finish(req, res, 'unmatched', performance.now(), this.problem(new ApiError('invalid_path', 'the path is not valid percent-encoded UTF-8'), path));
        return true;
      }
      const allowed = (['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const).filter((m) => this.fmw.find(m, path) !== null);
      const err =
        allowed.length > 0
          ? new ApiError('method_not_allowed', `${method} is not allowed here`, { headers: { allow: allowed.join(', ') } })
          : new ApiError('route_not_found', `no endpoint at ${path}`);
      this.finish(req, res, 'unmatched', performance.now(), this.problem(err, path));
      return true;
    }
    const route = (found.store as Store).route;
    const started = performance.now();
    let reply: Reply;
    try {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(found.params)) {
        if (v !== undefined) params[k] = v;
      }
      const principal = this.authorize(req, route.permission);
      let abort: AbortController | undefined;
      const ctx: RouteContext = {
        req,
        params,
        query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
        principal,
        // Made on first use only (blocking queries): an AbortController per request
        // cost ~14% of the heartbeat path, most of it the DOMException of abort().
        get signal() {
          if (abort === undefined) {
            const ac = (abort = new AbortController());
            res.once('close', () => {
              if (!res.writableFinished) ac.abort();
            });
          }
          return abort.signal;
        },
        readJson: () => readJsonBody(req),
      };
      reply = await route.handler(ctx);
    } catch (err) {
      if (err instanceof ApiError) {
        reply = this.problem(err, path);
      } else if (err instanceof DurabilityError) {
        if (!err.closed) this.deps.log.error('write not made durable', { route: route.path, error: err });
        reply = this.problem(new ApiError(err.closed ? 'shutting_down' : 'storage_failed', undefined, { headers: { 'retry-after': '1' } }), path);
      } else {
        this.deps.log.error('handling request', { route: route.path, method, error: err as Error });
        reply = this.problem(new ApiError('internal'), path);
      }
    }
    this.finish(req, res, route.path, started, reply);
    return true;
  }

  private authorize(req: IncomingMessage, permission: Permission | 'none'): TokenEntry | undefined {
    if (permission === 'none') return undefined;
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header);
    const entry = m === null ? undefined : this.deps.tokens.lookup(m[1]!);
    if (entry === undefined) {
      this.deps.metrics.authFailures.inc({ reason: header === undefined ? 'missing' : 'unknown' });
      throw new ApiError('unauthorized', header === undefined ? 'send Authorization: Bearer <token>' : 'the token is not known', {
        headers: { 'www-authenticate': 'Bearer realm="nekoq-bootstrap"' },
      });
    }
    if (!roleAllows(entry.role, permission)) {
      this.deps.metrics.authFailures.inc({ reason: 'role' });
      throw new ApiError('forbidden', `this needs the ${permission} permission; the token's role is ${entry.role}`);
    }
    return entry;
  }

  private problem(err: ApiError, instance: string): Reply {
    const headers: Record<string, string> = { ...err.headers };
    return {
      status: err.status,
      text: { contentType: 'application/problem+json', data: JSON.stringify(problemBody(err, instance)) },
      headers,
    };
  }

  private finish(req: IncomingMessage, res: ServerResponse, route: string, started: number, reply: Reply): void {
    const { metrics } = this.deps;
    metrics.httpRequests.inc({ route, method: req.method ?? 'GET', status: String(reply.status) });
    metrics.httpDuration.observe({ route }, (performance.now() - started) / 1000);
    if (res.destroyed || res.headersSent) return;
    const data = reply.binary?.data ?? reply.text?.data ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    const headers: Record<string, string | number> = {
      'cache-control': 'no-store',
      ...reply.headers,
      'content-length': typeof data === 'string' ? Buffer.byteLength(data) : data.length,
    };
    if (data.length > 0) headers['content-type'] = reply.binary?.contentType ?? reply.text?.contentType ?? 'application/json';
    // A request whose body we did not read must not leave the connection in an unknown state
    // (HTTP/1 only: HTTP/2 streams end on their own and forbid the header).
    if (!req.complete && req.httpVersionMajor === 1) headers.connection = 'close';
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : data);
  }
}

/** readJsonBody reads at most MAX_BODY_BYTES and parses them as JSON, throwing ApiError on any failure. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]*\+)?json\s*(?:;.*)?$/i.test(type)) {
    throw new ApiError('unsupported_media_type', `send application/json, not ${type.slice(0, 100)}`);
  }
  const text = (await readRawBody(req, MAX_BODY_BYTES)).toString('utf8');
  if (text.length === 0) throw new ApiError('bad_json', 'the body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError('bad_json', (err as Error).message.slice(0, 200));
  }
}

/** validateBody parses a request body with a zod schema, throwing 400 validation_failed with one entry per problem. */
export function validateBody<T>(schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || '(body)',
    message: i.code === 'unrecognized_keys' ? `unknown field ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message,
  }));
  throw new ApiError('validation_failed', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

/**
 * integerQuery reads a decimal query parameter in min..max: undefined when absent,
 * 400 invalid_query naming the range when it is not such an integer.
 */
export function integerQuery(query: URLSearchParams, name: string, max: number, min = 0): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const n = Number(text);
  if (!/^\d{1,16}$/.test(text) || n < min || n > max) throw new ApiError('invalid_query', `${name} must be an integer ${min}..${max}`);
  return n;
}

/** readRawBody reads at most maxBytes of a request body, throwing 413 body_too_large past it. */
export async function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new ApiError('body_too_large', `the body may be at most ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ApiError('body_too_large', `the body may be at most ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
