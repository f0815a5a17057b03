import { createSocket } from 'node:dgram';
import { BlockList, connect, isIP } from 'node:net';
import { isResponseTo } from '../../lib/dns/message';
import { ExchangeError, type Exchanger, type ServerAddress } from '../../lib/dns/resolver/exchange';

/** A DNS message is at most 65535 bytes: the TCP length prefix has two bytes (RFC 1035 §4.2.2), and DoH bodies are held to the same. */
const MAX_MESSAGE = 65535;
const MEDIA_TYPE = 'application/dns-message';

/** What the exchanger has done since it was made, all transports together (exposed in /metrics). */
export interface ExchangeStats {
  /** Queries handed to the kernel (UDP, TCP) or to fetch (DoH). */
  sent: number;
  /** Responses accepted: from the server asked, answering the query asked. */
  received: number;
  /** Exchanges that ended because their time was up. */
  timeouts: number;
  /** Exchanges that ended because the server could not be reached or answered with an HTTP error or an unusable body. */
  unreachable: number;
  /** Messages ignored (UDP, TCP) or refused (DoH) because they did not answer the query: wrong ID, no QR, another question. */
  mismatched: number;
}

/** Settles one exchange: with an error, or with the accepted response. Calls after the first do nothing. */
type Finish = (err: ExchangeError | null, response?: Buffer) => void;

/**
 * SocketExchanger is the Exchanger of the running appliance: it reaches other
 * servers over real sockets and fetch. Each exchange owns its socket (or fetch)
 * and its timer and releases both however it ends; what a server sends can only
 * make the promise resolve or reject with an ExchangeError. A query longer than
 * 65535 bytes or a server that is not an IP literal is refused with 'unreachable'.
 */
export class SocketExchanger implements Exchanger {
  readonly stats: ExchangeStats = { sent: 0, received: 0, timeouts: 0, unreachable: 0, mismatched: 0 };

  udp(server: ServerAddress, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
    const what = `querying udp ${hostPort(server)}`;
    return this.exchange(what, timeoutMs, signal, (finish) => {
      const family = checkServer(what, server, query);
      const fromServer = addressMatcher(server.address, family);
      const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
      let closed = false;
      // Connected, the socket hears only from the server, and an ICMP port unreachable
      // comes back as ECONNREFUSED on the next receive, so a server that is down fails at once.
      socket.on('error', (err) => finish(unreachable(what, err)));
      socket.on('message', (msg, rinfo) => {
        if (rinfo.port === server.port && fromServer(rinfo.address) && isResponseTo(msg, query)) finish(null, msg);
        else this.stats.mismatched++;
      });
      // Port 0: the kernel picks the source port at random from its ephemeral range (RFC 5452 §4.5).
      socket.bind(0, () => {
        if (closed) return;
        socket.connect(server.port, server.address, (err?: Error) => {
          if (closed) return;
          if (err) return finish(unreachable(what, err));
          socket.send(query, (sendErr) => {
            if (sendErr) finish(unreachable(what, sendErr));
            else this.stats.sent++;
          });
        });
      });
      return () => {
        closed = true;
        socket.close();
      };
    });
  }

  tcp(server: ServerAddress, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
    const what = `querying tcp ${hostPort(server)}`;
    return this.exchange(what, timeoutMs, signal, (finish) => {
      checkServer(what, server, query);
      const framed = Buffer.allocUnsafe(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      query.copy(framed, 2);
      const socket = connect({ host: server.address, port: server.port, noDelay: true });
      socket.on('error', (err) => finish(unreachable(what, err)));
      socket.on('close', () => finish(new ExchangeError('unreachable', `${what}: connection closed before an answer`)));
      socket.on('connect', () => {
        socket.write(framed);
        this.stats.sent++;
      });
      // Unread bytes kept as a list and joined only when a whole message is there.
      let chunks: Buffer[] = [];
      let buffered = 0;
      let need = 2;
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        buffered += chunk.length;
        if (buffered < need) return;
        let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          if (isResponseTo(msg, query)) return finish(null, Buffer.from(msg));
          // Another message on this connection: keep reading until the deadline.
          this.stats.mismatched++;
        }
        chunks = buf.length === 0 ? [] : [buf];
        buffered = buf.length;
        need = buf.length >= 2 ? 2 + buf.readUInt16BE(0) : 2;
      });
      return () => socket.destroy();
    });
  }

  doh(url: string, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
    const what = `querying doh ${url}`;
    return this.exchange(what, timeoutMs, signal, (finish) => {
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new ExchangeError('unreachable', `${what}: not an http or https URL`);
      if (query.length > MAX_MESSAGE) throw new ExchangeError('unreachable', `${what}: the query is longer than ${MAX_MESSAGE} bytes`);
      // One controller per exchange, aborted when it ends however it ends: that cancels
      // fetch or the body still being read, and leaves no timer behind (AbortSignal.timeout would).
      const controller = new AbortController();
      const ask = async (): Promise<Buffer> => {
        this.stats.sent++;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': MEDIA_TYPE, accept: MEDIA_TYPE },
          // A copy: the DOM typing of fetch (tsconfig.json) takes no Buffer, whose memory may be shared.
          body: new Uint8Array(query),
          signal: controller.signal,
          // A redirect is an HTTP error here: the resolver is configured with the URL to use.
          redirect: 'manual',
        });
        if (res.status !== 200) throw new ExchangeError('unreachable', `${what}: http status ${res.status}`);
        const type = res.headers.get('content-type');
        if (type === null || type.split(';')[0]!.trim().toLowerCase() !== MEDIA_TYPE) {
          throw new ExchangeError('unreachable', `${what}: content-type ${type === null ? 'missing' : type.slice(0, 100)}, not ${MEDIA_TYPE}`);
        }
        const body = await readBody(res, what);
        if (!isResponseTo(body, query)) {
          this.stats.mismatched++;
          throw new ExchangeError('unreachable', `${what}: the response does not answer the query`);
        }
        return body;
      };
      ask().then(
        (body) => finish(null, body),
        (err: unknown) => finish(err instanceof ExchangeError ? err : unreachable(what, err)),
      );
      return () => controller.abort();
    });
  }

  /**
   * exchange runs one exchange: `start` sets it going and returns how to release
   * what it holds; that runs once, at the first of answer, error, timeout or abort.
   * What `start` throws becomes the rejection.
   */
  private exchange(what: string, timeoutMs: number, signal: AbortSignal | undefined, start: (finish: Finish) => () => void): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new ExchangeError('aborted', `${what}: aborted`));
        return;
      }
      let settled = false;
      let release: (() => void) | undefined;
      const releaseOnce = () => {
        const r = release;
        release = undefined;
        try {
          r?.();
        } catch {
          // Already closed: nothing left to release.
        }
      };
      const onAbort = () => finish(new ExchangeError('aborted', `${what}: aborted`));
      const timer = setTimeout(() => finish(new ExchangeError('timeout', `${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const finish: Finish = (err, response) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        releaseOnce();
        if (err === null) {
          this.stats.received++;
          resolve(response!);
          return;
        }
        if (err.reason === 'timeout') this.stats.timeouts++;
        else if (err.reason === 'unreachable') this.stats.unreachable++;
        reject(err);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        release = start(finish);
      } catch (err) {
        finish(err instanceof ExchangeError ? err : unreachable(what, err));
      }
      // start may have finished the exchange before handing over its release.
      if (settled) releaseOnce();
    });
  }
}

/** checkServer refuses a server that is not an IP literal and a query that does not fit a message; returns the address family. */
function checkServer(what: string, server: ServerAddress, query: Buffer): 4 | 6 {
  const family = isIP(server.address);
  if (family === 0) throw new ExchangeError('unreachable', `${what}: ${JSON.stringify(server.address)} is not an IP address`);
  if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) throw new ExchangeError('unreachable', `${what}: port ${server.port} is out of range`);
  if (query.length > MAX_MESSAGE) throw new ExchangeError('unreachable', `${what}: the query is longer than ${MAX_MESSAGE} bytes`);
  return family as 4 | 6;
}

/** addressMatcher says whether a datagram's source address is `address`, however either is spelled (`::1` and `0:0::1`). */
function addressMatcher(address: string, family: 4 | 6): (source: string) => boolean {
  // Built only when a datagram's source is spelled differently (rare: the socket is connected).
  let list: BlockList | null | undefined;
  return (source) => {
    if (source === address) return true;
    if (list === undefined) {
      try {
        list = new BlockList();
        list.addAddress(address, family === 6 ? 'ipv6' : 'ipv4');
      } catch {
        // A literal BlockList cannot parse (an IPv6 zone index): only the same spelling matches.
        list = null;
      }
    }
    if (list === null) return false;
    try {
      return list.check(source, isIP(source) === 6 ? 'ipv6' : 'ipv4');
    } catch {
      return false;
    }
  };
}

/** readBody reads a DoH response body of at most 65535 bytes; a longer one is cancelled and refused. */
async function readBody(res: Response, what: string): Promise<Buffer> {
  const tooLong = () => new ExchangeError('unreachable', `${what}: the response is longer than ${MAX_MESSAGE} bytes`);
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > MAX_MESSAGE) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLong();
  }
  if (res.body === null) return Buffer.alloc(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_MESSAGE) {
      await reader.cancel().catch(() => undefined);
      throw tooLong();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** hostPort spells a server as `192.0.2.1:53` or `[2001:db8::1]:53`. */
function hostPort(server: ServerAddress): string {
  return server.address.includes(':') ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
}

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  ETIMEDOUT: 'timed out',
  EPIPE: 'connection closed',
};

/** unreachable turns a socket or fetch error into ExchangeError('unreachable') naming the exchange and the cause. */
function unreachable(what: string, err: unknown): ExchangeError {
  // fetch rejects with TypeError('fetch failed') and the socket's error as its cause.
  let e = err as (Error & { code?: unknown; cause?: unknown }) | undefined;
  if (e instanceof TypeError && e.cause instanceof Error) e = e.cause as Error & { code?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = (code !== undefined ? ERRNO_TEXT[code] : undefined) ?? (e instanceof Error ? e.message : String(err));
  return new ExchangeError('unreachable', `${what}: ${text}`);
}
