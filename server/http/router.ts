import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ApiAnswer, ApiCall } from '../../lib/appliance';
import type { Permission } from '../../lib/auth/roles';
import { roleAllows } from '../../lib/auth/roles';
import type { TokenEntry, TokenTable } from '../../lib/auth/tokens';
import { DurabilityError } from '../../lib/durability';
import type { z } from 'zod';
import { ApiError, problemBody, type FieldError } from '../../lib/errors';
import type { Log } from '../log';
import type { Metrics } from '../metrics';
import { LimitHits, type LimitName } from '../../lib/limits';

/** Largest JSON body the API reads unless [limits] http_body_bytes says otherwise; larger ones get 413 body_too_large. */
export const DEFAULT_BODY_BYTES = 64 * 1024;

/**
 * What a handler gets: the raw URL and headers, the parsed path and query, the
 * caller, and bounded body readers. It carries no socket or stream, so the same
 * handler serves an HTTP request and an in-process call (ApiRouter.invoke).
 */
export interface RouteContext {
  /** Path and query as sent (still percent-encoded). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's address ('' when unknown). */
  readonly remoteAddress: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly principal: TokenEntry | undefined;
  /** Aborts when the client goes away before the reply is sent. */
  readonly signal: AbortSignal;
  /** readRaw reads the body: 413 body_too_large past maxBytes, counted as a hit of `limit` (http_body_bytes by default). */
  readRaw(maxBytes: number, limit?: LimitName): Promise<Buffer>;
  /** readJson reads and parses the body: 413 past [limits] http_body_bytes, 415 for a non-JSON type, 400 for bad JSON or UTF-8. */
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
  /**
   * The handler reads the body (readRaw/readJson) before it writes anything. Any other
   * route's request body is read (and dropped) before its handler runs, so a request
   * whose body never arrives whole, or is malformed, changes nothing.
   */
  readonly takesBody?: boolean;
  readonly handler: (ctx: RouteContext) => Promise<Reply> | Reply;
}

export interface RouterDeps {
  readonly tokens: TokenTable;
  readonly metrics: Metrics;
  readonly log: Log;
  /** Counts the limits a request hits; a router of its own when absent. */
  readonly hits?: LimitHits;
  /** [limits] http_body_bytes (DEFAULT_BODY_BYTES when absent). */
  readonly bodyBytes?: number;
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
  private readonly hits: LimitHits;
  private readonly bodyBytes: number;

  constructor(
    routes: readonly Route[],
    private readonly deps: RouterDeps,
  ) {
    this.hits = deps.hits ?? new LimitHits();
    this.bodyBytes = deps.bodyBytes ?? DEFAULT_BODY_BYTES;
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
      this.finish(req, res, 'unmatched', performance.now(), this.problem(this.unmatched(method, path), path));
      return true;
    }
    const route = (found.store as Store).route;
    const started = performance.now();
    let abort: AbortController | undefined;
    const bodyFirst = route.takesBody !== true && method !== 'GET' && method !== 'HEAD' && !req.complete;
    const reply = await this.run(route, found.params, path, () => this.authorize(req.headers.authorization, route.permission), (params, principal) => ({
      params,
      principal,
      url,
      headers: req.headers,
      remoteAddress: req.socket?.remoteAddress ?? '',
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
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
      readRaw: (maxBytes, limit) => readRawBody(req, maxBytes, limit),
      readJson: () => readJsonBody(req, this.bodyBytes),
    }), bodyFirst ? () => readRawBody(req, this.bodyBytes) : undefined);
    this.finish(req, res, route.path, started, reply);
    return true;
  }

  /**
   * invoke runs one API request in-process as `principal` (the web manager's
   * signed-in operator): the same route, validation, permission check, errors and
   * metrics as over HTTP, with no socket. It never throws.
   */
  async invoke(call: ApiCall, principal: TokenEntry, signal?: AbortSignal): Promise<ApiAnswer> {
    const url = call.url.startsWith('/') ? call.url : `/${call.url}`;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const method = call.method.toUpperCase() as HTTPMethod;
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(call.headers ?? {})) headers[k.toLowerCase()] = v;
    const found = this.fmw.find(method, path);
    const started = performance.now();
    let routeName = 'unmatched';
    let reply: Reply;
    if (found === null) {
      reply = this.problem(this.unmatched(method, path), path);
    } else {
      const route = (found.store as Store).route;
      routeName = route.path;
      const body = Buffer.from(call.body ?? new Uint8Array(0));
      const readRaw = async (maxBytes: number, limit: LimitName = 'http_body_bytes') => {
        if (body.length > maxBytes) throw new ApiError('body_too_large', `the body may be at most ${maxBytes} bytes`, { limit });
        return body;
      };
      reply = await this.run(route, found.params, path, () => this.permit(principal, route.permission), (params, who) => ({
        params,
        principal: who,
        url,
        headers,
        remoteAddress: call.remoteAddress ?? '',
        query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
        signal: signal ?? new AbortController().signal,
        readRaw,
        readJson: async () => parseJsonBody(headers['content-type'] as string | undefined, await readRaw(this.bodyBytes)),
      }));
    }
    this.count(method, routeName, started, reply);
    const data = reply.binary?.data ?? Buffer.from(reply.text?.data ?? (reply.body === undefined ? '' : JSON.stringify(reply.body)), 'utf8');
    const answerHeaders: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers };
    if (data.length > 0) answerHeaders['content-type'] = reply.binary?.contentType ?? reply.text?.contentType ?? 'application/json';
    // A copy of just these bytes: a small Buffer is a view of a shared pool, and the whole pool would cross to the worker.
    return { status: reply.status, headers: answerHeaders, body: new Uint8Array(data) };
  }

  /** unmatched is the error for a path no route takes with this method: invalid_path, method_not_allowed or route_not_found. */
  private unmatched(method: string, path: string): ApiError {
    if (!isDecodable(path)) return new ApiError('invalid_path', 'the path is not valid percent-encoded UTF-8');
    const allowed = (['GET', 'PUT', 'POST', 'DELETE', 'HEAD'] as const).filter((m) => this.fmw.find(m, path) !== null);
    return allowed.length > 0
      ? new ApiError('method_not_allowed', `${method} is not allowed here`, { headers: { allow: allowed.join(', ') } })
      : new ApiError('route_not_found', `no endpoint at ${path}`);
  }

  /** run calls one route's handler and turns every failure, thrown or returned, into a problem reply. */
  private async run(
    route: Route,
    found: Record<string, string | undefined>,
    path: string,
    authorize: () => TokenEntry | undefined,
    context: (params: Record<string, string>, principal: TokenEntry | undefined) => RouteContext,
    drain?: () => Promise<unknown>,
  ): Promise<Reply> {
    try {
      if (drain !== undefined) await drain();
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(found)) {
        if (v !== undefined) params[k] = v;
      }
      return await route.handler(context(params, authorize()));
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.limit !== undefined) this.hits.hit(err.limit);
        return this.problem(err, path);
      }
      if (err instanceof DurabilityError) {
        if (!err.closed) this.deps.log.error('write not made durable', { route: route.path, error: err });
        return this.problem(new ApiError(err.closed ? 'shutting_down' : 'storage_failed', undefined, { headers: { 'retry-after': '1' } }), path);
      }
      this.deps.log.error('handling request', { route: route.path, method: route.method, error: err as Error });
      return this.problem(new ApiError('internal'), path);
    }
  }

  /** permit checks an already known principal's role against what the route demands. */
  private permit(principal: TokenEntry, permission: Permission | 'none'): TokenEntry | undefined {
    if (permission === 'none') return undefined;
    if (!roleAllows(principal.role, permission)) {
      this.deps.metrics.authFailures.inc({ reason: 'role' });
      throw new ApiError('forbidden', `this needs the ${permission} permission; the role is ${principal.role}`);
    }
    return principal;
  }

  private authorize(header: string | undefined, permission: Permission | 'none'): TokenEntry | undefined {
    if (permission === 'none') return undefined;
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

  private count(method: string, route: string, started: number, reply: Reply): void {
    const { metrics } = this.deps;
    metrics.httpRequests.inc({ route, method, status: String(reply.status) });
    metrics.httpDuration.observe({ route }, (performance.now() - started) / 1000);
  }

  private finish(req: IncomingMessage, res: ServerResponse, route: string, started: number, reply: Reply): void {
    this.count(req.method ?? 'GET', route, started, reply);
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

/** readJsonBody reads at most maxBytes and parses them as JSON, throwing ApiError on any failure. */
export async function readJsonBody(req: IncomingMessage, maxBytes = DEFAULT_BODY_BYTES): Promise<unknown> {
  checkJsonType(req.headers['content-type']);
  return parseJsonBody(undefined, await readRawBody(req, maxBytes));
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkJsonType(type: string | undefined): void {
  if (type !== undefined && !/^application\/(?:[\w.+-]*\+)?json\s*(?:;.*)?$/i.test(type)) {
    throw new ApiError('unsupported_media_type', `send application/json, not ${type.slice(0, 100)}`);
  }
}

/** parseJsonBody checks the content type and parses the bytes as JSON, throwing ApiError on any failure. */
function parseJsonBody(type: string | undefined, raw: Buffer): unknown {
  checkJsonType(type);
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new ApiError('bad_json', 'the body is not valid UTF-8 (RFC 8259 §8.1)');
  }
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

/** HTTP/2 streams cut by http_request_timeout before their body was whole (see HttpFront). */
export const cutStreams = new WeakSet<object>();

/** readRawBody reads at most maxBytes of a request body, throwing 413 body_too_large (a hit of `limit`) past it. */
export async function readRawBody(req: IncomingMessage, maxBytes: number, limit: LimitName = 'http_body_bytes'): Promise<Buffer> {
  const tooLarge = () => new ApiError('body_too_large', `the body may be at most ${maxBytes} bytes`, { limit });
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // The client went away or was cut off ([limits] http_request_timeout) before the body was complete.
    throw new ApiError('body_incomplete', `the body ended after ${size} bytes`);
  }
  // HTTP/1: node's parser sets `complete` only for a whole body. HTTP/2: the compatibility
  // layer ends the body however the stream ended, so a reset by the client shows as
  // `aborted`, one by http_request_timeout as a stream in cutStreams, and any body
  // shorter than its declared length is incomplete.
  const h2 = req as { stream?: object; aborted?: boolean };
  if (!req.complete || h2.aborted === true || (h2.stream !== undefined && cutStreams.has(h2.stream)) || (Number.isFinite(declared) && size !== declared)) {
    throw new ApiError('body_incomplete', `the body ended after ${size} bytes`);
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
