import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ListenAddress } from '../../lib/config/listen';
import type { DnsResponder } from '../../lib/dns/responder';
import { LimitHits } from '../../lib/limits';
import { clientPrefix } from '../../lib/dns/rrl';
import type { Log } from '../log';

/** Answers written but not yet taken by the client, past which reading pauses (a client that sends and never reads). */
const MAX_UNSENT = 256 * 1024;

export interface TcpLimits {
  /** A connection with no query for this long is closed (RFC 7766 §6.2.3). */
  readonly idleTimeoutMs: number;
  /** A message begun must arrive whole within this ([limits] dns_tcp_read_timeout). */
  readonly readTimeoutMs: number;
  /** Connections beyond this many are closed at once. */
  readonly maxConnections: number;
  /** Connections of one client (an IPv4 address, an IPv6 /64) beyond this many are closed at once. */
  readonly maxPerClient: number;
  /** Queries of one connection answered later (by the resolver) at the same time; reading pauses past it. */
  readonly maxInFlight: number;
}

/**
 * TcpListener is DNS over TCP (RFC 1035 §4.2.2, RFC 7766): two-byte length
 * prefixed messages, any number per connection, pipelined. All the answers a
 * read produces leave in one write; answers that come later (resolver) are
 * written as they come, so responses may be out of order (RFC 7766 §7).
 */
export class TcpListener {
  private server: Server | undefined;
  private bound: AddressInfo | undefined;
  private readonly sockets = new Set<Socket>();
  /** Open connections per client key (see clientKey). */
  private readonly perClient = new Map<string, number>();
  /** Connections closed because the limit was reached. */
  rejected = 0;

  constructor(
    private readonly listen: ListenAddress,
    private readonly responder: DnsResponder,
    private readonly limits: TcpLimits,
    private readonly log: Log,
    private readonly hits: LimitHits = new LimitHits(),
  ) {}

  get address(): AddressInfo | undefined {
    return this.bound;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** start binds [dns] listen, or `port` instead of its port (DnsService puts UDP and TCP on one port when it is 0). */
  async start(port = this.listen.port): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`binding tcp ${this.listen.host}:${port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`)),
      );
      server.listen({ host: this.listen.host, port, exclusive: true }, () => resolve());
    });
    server.removeAllListeners('error');
    server.on('error', (err) => this.log.warn('tcp listener error', { error: err }));
    this.server = server;
    this.bound = server.address() as AddressInfo;
  }

  /** stop closes the listener and every connection; answers still being computed are dropped. */
  stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    if (this.sockets.size >= this.limits.maxConnections) {
      this.rejected++;
      this.hits.hit('dns_tcp_connections');
      socket.destroy();
      return;
    }
    const key = clientPrefix(socket.remoteAddress ?? '', 32, 64) ?? '';
    const held = this.perClient.get(key) ?? 0;
    if (held >= this.limits.maxPerClient) {
      this.rejected++;
      this.hits.hit('dns_tcp_connections_per_client');
      socket.destroy();
      return;
    }
    this.perClient.set(key, held + 1);
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      const n = (this.perClient.get(key) ?? 1) - 1;
      if (n <= 0) this.perClient.delete(key);
      else this.perClient.set(key, n);
    });
    socket.on('error', () => socket.destroy());
    const client = { address: socket.remoteAddress ?? '', transport: 'tcp' as const };
    // Unread bytes: kept as a list and joined only when a whole message is there, so a
    // message trickled in byte by byte costs linear, not quadratic, copying.
    let chunks: Buffer[] = [];
    let buffered = 0;
    let need = 2;
    let inFlight = 0;
    let writeBlocked = false;
    // Reading pauses while too many answers wait for the resolver or the client does not read what we write.
    const readIfAllowed = () => {
      if (inFlight < this.limits.maxInFlight && !writeBlocked && socket.isPaused()) socket.resume();
    };
    const send = (data: Buffer) => {
      if (socket.destroyed) return;
      if (!socket.write(data) && socket.writableLength > MAX_UNSENT) {
        writeBlocked = true;
        socket.pause();
        socket.once('drain', () => {
          writeBlocked = false;
          readIfAllowed();
        });
      }
    };
    // A message must arrive whole within the read timeout of its first byte: trickling a
    // byte now and then does not keep a connection (RFC 7766 §6.2.3 wants servers to bound this).
    // Between messages the (longer) idle timeout applies.
    let partialSince = 0;
    const readTimedOut = () => {
      this.hits.hit('dns_tcp_read_timeout');
      socket.destroy();
    };
    socket.setTimeout(this.limits.idleTimeoutMs, () => {
      if (buffered > 0) readTimedOut();
      else {
        this.hits.hit('dns_tcp_idle_timeout');
        socket.destroy();
      }
    });
    let armedFor = this.limits.idleTimeoutMs;
    const arm = (ms: number) => {
      if (armedFor !== ms) socket.setTimeout((armedFor = ms));
    };
    socket.on('data', (chunk: Buffer) => {
      if (buffered === 0) partialSince = performance.now();
      else if (performance.now() - partialSince > this.limits.readTimeoutMs) {
        readTimedOut();
        return;
      }
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered < need) {
        arm(Math.min(this.limits.readTimeoutMs, this.limits.idleTimeoutMs));
        return;
      }
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      const out: Buffer[] = [];
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        let r: Buffer | undefined | Promise<Buffer | undefined>;
        try {
          r = this.responder.respond(msg, client);
        } catch (err) {
          this.log.debug('tcp query failed', { error: err as Error });
          continue;
        }
        if (r instanceof Promise) {
          inFlight++;
          if (inFlight >= this.limits.maxInFlight) socket.pause();
          r.then(
            (late) => late !== undefined && send(frame([late])),
            (err: unknown) => this.log.debug('tcp query failed', { error: err as Error }),
          ).finally(() => {
            inFlight--;
            readIfAllowed();
          });
        } else if (r !== undefined) {
          out.push(r);
        }
      }
      // Keep only the unfinished message; copy it so the big read buffer can be freed.
      chunks = buf.length === 0 ? [] : [Buffer.from(buf)];
      if (buf.length > 0 && buffered !== buf.length) partialSince = performance.now();
      buffered = buf.length;
      need = buf.length >= 2 ? 2 + buf.readUInt16BE(0) : 2;
      arm(buffered > 0 ? Math.min(this.limits.readTimeoutMs, this.limits.idleTimeoutMs) : this.limits.idleTimeoutMs);
      if (out.length > 0) send(frame(out));
    });
  }
}

/** frame puts each message behind its two-byte length, all in one buffer. */
function frame(messages: readonly Buffer[]): Buffer {
  let size = 0;
  for (const m of messages) size += 2 + m.length;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  for (const m of messages) {
    buf.writeUInt16BE(m.length, off);
    m.copy(buf, off + 2);
    off += 2 + m.length;
  }
  return buf;
}
