import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  constants as h2constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { ListenAddress } from '../../lib/config/listen';
import type { LimitsConfig } from '../../lib/config/config';
import { ApiError, ERRORS, problemBody, type ErrorCode } from '../../lib/errors';
import type { LimitHits } from '../../lib/limits';
import type { Log } from '../log';
import { cutStreams, type ApiRouter } from './router';

/** Hands a request the API does not own to the web manager (Next); `secure` says it came over TLS. */
export type FallbackHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, secure: boolean) => void;

export interface HttpFrontDeps {
  readonly router: ApiRouter;
  readonly fallback: FallbackHandler;
  readonly log: Log;
  /** Takes raw HTTP/2 streams before the compatibility layer (DoH); returns false for the others. */
  readonly http2Stream?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;
  /** POSTs to this path watch a shutdown (the web manager's step stream): counted apart from the requests a drain waits for. */
  readonly watcherPath?: string;
  /** [limits]: timeouts and the connection cap (node's defaults when absent, in tests of the front alone). */
  readonly limits?: Pick<LimitsConfig, 'httpHeaderTimeoutMs' | 'httpRequestTimeoutMs' | 'httpKeepAliveTimeoutMs' | 'httpMaxConnections'>;
  readonly hits?: LimitHits;
}

/** Requests being answered on one listener: `watchers` are shutdown watchers, `others` everything else. */
export interface InFlight {
  others: number;
  watchers: number;
}

/**
 * HttpFront is one HTTP listener: plain HTTP/1.1, or with a certificate TLS
 * speaking HTTP/2 and HTTP/1.1 (ALPN; DoH clients such as kdig need HTTP/2).
 * Requests go to the API router first, then to Next. stop() stops accepting,
 * lets in-flight requests finish for up to `drainMs`, then cuts what is left.
 */
export class HttpFront {
  private server: Server | Http2SecureServer | undefined;
  private readonly inFlight: InFlight = { others: 0, watchers: 0 };
  private bound: AddressInfo | undefined;
  /** TLS listener only: open sockets and their requests in flight, and HTTP/2 sessions (for the drain). */
  private readonly sockets = new Map<Socket, number>();
  /** HTTP/2 sessions and their open streams. */
  private readonly sessions = new Map<Http2Session, number>();
  /** HTTP/1 sockets whose request's headers have arrived and whose body has not (a timeout there is the request's, not the headers'). */
  private readonly readingBody = new WeakSet<Socket>();
  /** TLS listener only: how long a session or socket may be silent (limits.http_keepalive_timeout). */
  private idleMs = 65_000;

  constructor(
    private readonly listen: ListenAddress,
    private readonly deps: HttpFrontDeps,
    private readonly tls?: { cert: Buffer; key: Buffer },
  ) {}

  /** address is the bound address (with the real port when configured as 0), once started. */
  get address(): AddressInfo | undefined {
    return this.bound;
  }

  async start(): Promise<void> {
    const limits = this.deps.limits;
    const hits = this.deps.hits;
    const options = {
      keepAliveTimeout: limits?.httpKeepAliveTimeoutMs ?? 65_000,
      headersTimeout: limits?.httpHeaderTimeoutMs ?? 20_000,
      requestTimeout: limits?.httpRequestTimeoutMs ?? 60_000,
      // How often node looks for requests past those timeouts (its default, 30 s, would let a 2 s limit run 30 s).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, (limits?.httpHeaderTimeoutMs ?? 20_000) / 4)),
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void this.dispatch(req, res);
    const server = this.tls === undefined ? createServer(options, onRequest) : this.createTlsServer(onRequest, options);
    const scheme = this.tls === undefined ? 'http' : 'https';
    if (limits !== undefined) server.maxConnections = limits.httpMaxConnections;
    // Connections past maxConnections are closed by node before any byte is read.
    server.on('drop', () => hits?.hit('http_max_connections'));
    // CONNECT is no method of ours: node hands it to 'connect' listeners or closes the socket without a word.
    server.on('connect', (_req: IncomingMessage, socket: Socket) => socket.end('HTTP/1.1 405 Method Not Allowed\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      // What node's parser refuses (400), headers over its 16 KiB (431), and a request (its headers,
      // or all of it) that did not arrive in time (408): answered with a problem document, then closed.
      const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (timedOut) hits?.hit(this.readingBody.has(socket) ? 'http_request_timeout' : 'http_header_timeout');
      const reply = rawProblem(timedOut ? 'request_timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request');
      // Bytes after a complete request (a body longer than its length, say) are an error of the
      // connection, not of that request: its own answer goes out first, then the 400 and the close.
      const answering = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      // (A timeout is the stuck request's own: it is answered 408 at once.)
      if (!timedOut && answering && !answering.writableFinished && !socket.destroyed) answering.once('finish', () => socket.end(reply));
      else if (socket.writable && !socket.destroyed) socket.end(reply);
      else socket.destroy();
      this.deps.log.debug('http client error', { code: err.code });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`binding ${scheme} ${this.listen.host}:${this.listen.port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`)),
      );
      server.listen({ host: this.listen.host, port: this.listen.port, exclusive: true }, () => resolve());
    });
    this.server = server;
    this.bound = server.address() as AddressInfo;
  }

  private createTlsServer(
    onRequest: (req: IncomingMessage, res: ServerResponse) => void,
    timeouts: { keepAliveTimeout: number; headersTimeout: number; requestTimeout: number },
  ): Http2SecureServer {
    // A TLS handshake must finish within the header timeout too (node's default is 120 s).
    const server = createSecureServer({ ...this.tls, allowHTTP1: true, handshakeTimeout: timeouts.headersTimeout }, (req, res) => {
      if (req.httpVersionMajor === 1) {
        // HTTP/1.1 over TLS: count requests per socket so the drain can close the idle ones.
        const socket = req.socket as Socket;
        this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
        res.once('close', () => {
          const n = this.sockets.get(socket);
          if (n !== undefined) this.sockets.set(socket, n - 1);
        });
      }
      if (req.httpVersionMajor === 2) void this.dispatchHttp2(req, res);
      else onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
    // HTTP/1.1 connections on this listener are served by node:http's connection handler,
    // which reads these from the server object: header and request timeouts (408) and the
    // keep-alive timeout work as on the plain listener.
    Object.assign(server, timeouts);
    // Inactivity: an HTTP/2 session, or an HTTP/1.1 socket, with nothing going on for the
    // keep-alive timeout. Node would destroy it whatever it carries, cutting a blocking
    // query (which may wait minutes in silence); onInactive spares those.
    this.idleMs = timeouts.keepAliveTimeout;
    server.setTimeout(timeouts.keepAliveTimeout);
    server.on('timeout', (conn: Http2Session | Socket) => this.onInactive(conn));
    const take = this.deps.http2Stream;
    const requestTimeout = timeouts.requestTimeout;
    // The compatibility layer turns each stream into a request/response pair through its own 'stream'
    // listener; streams `take` answers skip it (and its allocations), the others go on to it unchanged.
    const compat = server.listeners('stream') as ((...args: unknown[]) => void)[];
    server.removeAllListeners('stream');
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
      const session = stream.session;
      if (session !== undefined && this.sessions.has(session)) {
        this.sessions.set(session, this.sessions.get(session)! + 1);
        stream.once('close', () => {
          const n = this.sessions.get(session);
          if (n !== undefined) this.sessions.set(session, n - 1);
        });
      }
      if (!stream.endAfterHeaders && requestTimeout > 0) this.boundRequest(stream, requestTimeout);
      if (take?.(stream, headers) === true) return;
      for (const l of compat) l.call(server, stream, headers, ...rest);
    });
    server.on('secureConnection', (socket: Socket) => {
      this.sockets.set(socket, 0);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('session', (session: Http2Session) => {
      this.sessions.set(session, 0);
      session.once('close', () => this.sessions.delete(session));
    });
    return server;
  }

  /**
   * boundRequest gives an HTTP/2 request with a body http_request_timeout to arrive
   * whole, as node does for HTTP/1: past it the stream is answered 408 (when nothing
   * was answered yet) and reset, and the hit is counted. A request whose body came
   * in time may take as long as its answer needs.
   */
  private boundRequest(stream: ServerHttp2Stream, ms: number): void {
    const timer = setTimeout(() => {
      if (stream.destroyed || stream.closed || stream.state.remoteClose === 1) return;
      this.deps.hits?.hit('http_request_timeout');
      cutStreams.add(stream);
      try {
        if (!stream.headersSent) {
          const body = problemJson('request_timeout');
          stream.respond({ ':status': 408, 'content-type': 'application/problem+json', 'content-length': String(Buffer.byteLength(body)) });
          stream.end(body);
        }
      } catch {
        // The stream went away between the check and the answer: the reset below is all there is to do.
      }
      // After a complete answer, NO_ERROR asks the client to stop sending (RFC 9113 §8.1).
      stream.close(stream.headersSent ? h2constants.NGHTTP2_NO_ERROR : h2constants.NGHTTP2_CANCEL);
    }, ms);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  }

  /**
   * onInactive is called for an HTTP/2 session or HTTP/1.1-over-TLS socket that has
   * been silent for the keep-alive timeout. Idle (no request open): closed. Waiting
   * on an answer that is still being worked out (a blocking query): kept. An
   * HTTP/1.1 socket holding output the client does not read: destroyed, so a
   * client that stops reading cannot keep the connection and its buffers forever.
   */
  private onInactive(conn: Http2Session | Socket): void {
    const streams = this.sessions.get(conn as Http2Session);
    if (streams !== undefined) {
      // HTTP/2 flow control already bounds what a session holds for a client that does not read.
      const session = conn as Http2Session;
      if (streams === 0) session.close();
      // Node's listener for a session's timeout runs once: it is armed anew, with this check.
      else session.setTimeout(this.idleMs, () => this.onInactive(session));
      return;
    }
    const socket = conn as Socket;
    if ((this.sockets.get(socket) ?? 0) === 0 || socket.writableLength > 0) socket.destroy();
  }

  /** requests counts the requests being answered now (what a drain waits for, and the shutdown's watchers). */
  requests(): Readonly<InFlight> {
    return { ...this.inFlight };
  }

  /** track counts one request until its response closes (finished or cut). */
  private track(req: { method?: string; url?: string }, res: { once(event: 'close', f: () => void): unknown }): void {
    const kind = req.method === 'POST' && req.url === this.deps.watcherPath ? 'watchers' : 'others';
    this.inFlight[kind] += 1;
    res.once('close', () => (this.inFlight[kind] -= 1));
  }

  /** stop closes the listener and waits for in-flight requests, at most drainMs. */
  async stop(drainMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const closeIdle = () => {
      if ('closeIdleConnections' in server) {
        server.closeIdleConnections();
        return;
      }
      // HTTP/2 sessions finish their open streams and then close; idle HTTP/1.1 sockets go now.
      for (const session of this.sessions.keys()) session.close();
      for (const [socket, inFlight] of this.sockets) {
        if (inFlight === 0 && !(socket as Socket & { alpnProtocol?: string | false }).alpnProtocol?.toString().startsWith('h2')) socket.destroy();
      }
    };
    closeIdle();
    const idleSweep = setInterval(closeIdle, 100);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), drainMs);
    });
    const cut = await Promise.race([closed.then(() => false), timedOut]);
    clearInterval(idleSweep);
    clearTimeout(timer);
    if (cut) {
      this.deps.log.warn('http drain timed out: closing remaining connections', { drain_ms: drainMs });
      if ('closeAllConnections' in server) server.closeAllConnections();
      for (const session of this.sessions.keys()) session.destroy();
      for (const socket of this.sockets.keys()) socket.destroy();
      await closed;
    }
  }

  /** dispatchHttp2 answers the API and DoH directly on the HTTP/2 compatibility objects and hands the rest to the web manager. */
  private async dispatchHttp2(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    this.track(req, res);
    try {
      if (await this.deps.router.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse)) return;
      this.deps.fallback(req, res, true);
    } catch (err) {
      this.deps.log.error('http request failed', { url: req.url?.slice(0, 200), error: err as Error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.track(req, res);
    if (!req.complete) {
      const socket = req.socket;
      this.readingBody.add(socket);
      req.once('end', () => this.readingBody.delete(socket));
    }
    try {
      if (await this.deps.router.handle(req, res)) return;
      this.deps.fallback(req, res, this.tls !== undefined);
    } catch (err) {
      this.deps.log.error('http request failed', { url: req.url?.slice(0, 200), error: err as Error });
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
        res.end('internal error\n');
      } else {
        res.destroy();
      }
    }
  }
}

/** problemJson is the problem document of `code`, for answers written below the router. */
function problemJson(code: ErrorCode): string {
  return JSON.stringify(problemBody(new ApiError(code)));
}

/** rawProblem is a whole HTTP/1.1 answer carrying the problem document of `code`, closing the connection (for node's parse errors and timeouts). */
function rawProblem(code: ErrorCode): string {
  const body = problemJson(code);
  const status = ERRORS[code].status;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/problem+json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
