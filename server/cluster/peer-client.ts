import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { signRequest } from '../../lib/cluster/peer-auth';

/** The largest feed response a puller reads; a page is at most FEED_MAX_LIMIT changes of bounded size. */
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export interface PeerClientOptions {
  readonly cluster: string;
  readonly node: string;
  readonly secret: string;
  /** Base URL of the peer, http:// or https://, without a trailing slash. */
  readonly url: string;
  /** PEM of the CAs to trust for https:// peers (undefined: the system's). */
  readonly ca?: Buffer;
}

export interface PeerResponse {
  readonly status: number;
  readonly body: Buffer;
}

/** PeerError is a failed exchange with a peer: no answer, or an answer that is not 200. */
export class PeerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

/**
 * PeerClient sends signed requests to one peer over a keep-alive connection
 * (http:// or https:// with certificate verification). Each request is signed
 * afresh (new time and nonce), so a retry is never refused as a replay.
 */
export class PeerClient {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly base: URL;
  private readonly inflight = new Set<{ destroy(err?: Error): void }>();

  constructor(private readonly opts: PeerClientOptions) {
    this.base = new URL(opts.url);
    this.agent =
      this.base.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, maxSockets: 4, ...(opts.ca === undefined ? {} : { ca: opts.ca }) })
        : new HttpAgent({ keepAlive: true, maxSockets: 4 });
  }

  /** get sends a signed GET for `path` (with query) and resolves with the answer; rejects with PeerError. */
  get(path: string, timeoutMs: number): Promise<PeerResponse> {
    const fullPath = `${this.base.pathname.replace(/\/$/, '')}${path}`;
    const headers = signRequest({ cluster: this.opts.cluster, node: this.opts.node, secret: this.opts.secret, method: 'GET', path: fullPath });
    const request = this.base.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port,
          path: fullPath,
          method: 'GET',
          agent: this.agent,
          headers: { ...headers, accept: 'application/json' },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new PeerError(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            this.inflight.delete(req);
            const body = Buffer.concat(chunks);
            if (res.statusCode === 200) resolve({ status: 200, body });
            else reject(new PeerError(`HTTP ${res.statusCode}${problemCode(body)}`, res.statusCode));
          });
          res.on('error', (err) => reject(new PeerError(err.message)));
        },
      );
      this.inflight.add(req);
      req.on('timeout', () => req.destroy(new PeerError(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => {
        this.inflight.delete(req);
        reject(err instanceof PeerError ? err : new PeerError(err.message));
      });
      req.end();
    });
  }

  /** close aborts requests in flight and closes idle connections. */
  close(): void {
    for (const r of this.inflight) r.destroy(new PeerError('closing'));
    this.inflight.clear();
    this.agent.destroy();
  }
}

function problemCode(body: Buffer): string {
  try {
    const p = JSON.parse(body.toString('utf8')) as { code?: unknown };
    return typeof p.code === 'string' ? ` ${p.code}` : '';
  } catch {
    return '';
  }
}
