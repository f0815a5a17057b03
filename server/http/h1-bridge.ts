import { Agent, createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Log } from '../log';

/** Response headers HTTP/2 forbids (RFC 9113 §8.2.2). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

/**
 * Http1Bridge serves HTTP/2 requests with a handler that only works on node:http
 * objects — Next's request handler calls ServerResponse internals that the HTTP/2
 * compatibility API lacks — by forwarding them over keep-alive loopback connections
 * to a private HTTP/1.1 server on 127.0.0.1 that runs the handler. Only the web
 * manager takes this path; the API and DoH answer HTTP/2 directly.
 */
export class Http1Bridge {
  private server: Server | undefined;
  private port = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
    private readonly log: Log,
  ) {}

  async start(): Promise<void> {
    const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      this.handler(req, res).catch((err: Error) => {
        this.log.error('web manager request failed', { url: req.url?.slice(0, 200), error: err });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** forward sends one HTTP/2 request through the bridge and streams the answer back (502 when the bridge fails). */
  forward(req: Http2ServerRequest, res: Http2ServerResponse): void {
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(':') && v !== undefined) headers[k] = v;
    headers.host = req.authority ?? req.headers.host;
    headers['x-forwarded-proto'] = 'https';
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    const out = request({ host: '127.0.0.1', port: this.port, method: req.method, path: req.url, headers, agent: this.agent }, (answer) => {
      const back: OutgoingHttpHeaders = { ...answer.headers };
      for (const h of HOP_BY_HOP) delete back[h];
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res as unknown as NodeJS.WritableStream);
    });
    out.on('error', (err) => {
      this.log.warn('http/2 bridge request failed', { error: err });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end();
    });
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.agent.destroy();
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
