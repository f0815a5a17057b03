import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../../lib/config/listen';
import type { Log } from '../log';
import type { ApiRouter } from './router';

/** Hands a request the API does not own to the web manager (Next). */
export type FallbackHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface HttpFrontDeps {
  readonly router: ApiRouter;
  readonly fallback: FallbackHandler;
  readonly log: Log;
}

/**
 * HttpFront is one HTTP listener (plain, or TLS when given a certificate): the API
 * router first, then Next. stop() stops accepting, lets in-flight requests finish
 * for up to `drainMs`, then cuts what is left.
 */
export class HttpFront {
  private server: Server | undefined;
  private bound: AddressInfo | undefined;

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
    const options = { keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 60_000 };
    const onRequest = (req: IncomingMessage, res: ServerResponse) => void this.dispatch(req, res);
    const server: Server = this.tls === undefined ? createServer(options, onRequest) : createTlsServer({ ...options, ...this.tls }, onRequest);
    const scheme = this.tls === undefined ? 'http' : 'https';
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
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

  /** stop closes the listener and waits for in-flight requests, at most drainMs. */
  async stop(drainMs: number): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), drainMs);
    });
    const cut = await Promise.race([closed.then(() => false), timedOut]);
    clearInterval(idleSweep);
    clearTimeout(timer);
    if (cut) {
      this.deps.log.warn('http drain timed out: closing remaining connections', { drain_ms: drainMs });
      server.closeAllConnections();
      await closed;
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (await this.deps.router.handle(req, res)) return;
      await this.deps.fallback(req, res);
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
