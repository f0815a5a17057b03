import { Agent, request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Log } from '../log';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); HTTP/2 forbids them (RFC 9113 §8.2.2). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

/**
 * LoopbackProxy forwards requests over keep-alive connections to an HTTP/1.1
 * server on 127.0.0.1 (the web manager's, in its worker thread) and streams the
 * answers back. It takes node:http and HTTP/2 compatibility objects alike, so the
 * web manager is reached over HTTP/1.1 and HTTP/2. The Host header is kept;
 * X-Forwarded-Host, -Proto and -For are set here (a client's are replaced).
 */
export class LoopbackProxy {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 128 });

  constructor(
    private readonly port: number,
    private readonly log: Log,
  ) {}

  /** forward sends one request on and streams the answer back; 502 when the upstream fails. */
  forward(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, secure: boolean): void {
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!k.startsWith(':') && v !== undefined && !HOP_BY_HOP.includes(k)) headers[k] = v;
    }
    headers.host = (req.headers[':authority'] as string | undefined) ?? req.headers.host;
    // next-auth builds redirects from X-Forwarded-Host when present: never take a client's.
    headers['x-forwarded-host'] = headers.host;
    headers['x-forwarded-proto'] = secure ? 'https' : 'http';
    headers['x-forwarded-for'] = req.socket?.remoteAddress ?? '';
    const upstream = request({ host: '127.0.0.1', port: this.port, method: req.method, path: req.url, headers, agent: this.agent }, (answer) => {
      const back: OutgoingHttpHeaders = { ...answer.headers };
      for (const h of HOP_BY_HOP) delete back[h];
      (res as ServerResponse).writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res as ServerResponse);
    });
    upstream.on('error', (err) => {
      this.log.warn('forwarding to the web manager failed', { error: err });
      if (res.headersSent) {
        // Cut the answer rather than end it: a truncated page must not look complete.
        (res as ServerResponse).destroy();
        return;
      }
      (res as ServerResponse).writeHead(502, { 'content-type': 'text/plain' });
      res.end();
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    (req as IncomingMessage).pipe(upstream);
  }

  /** close drops the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
