import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ListenAddress } from '../../lib/config/listen';
import type { DnsResponder } from '../../lib/dns/responder';
import type { Log } from '../log';

export interface TcpLimits {
  /** A connection with no complete query for this long is closed (RFC 7766 §6.2.3). */
  readonly idleTimeoutMs: number;
  /** Connections beyond this many are closed at once. */
  readonly maxConnections: number;
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
  /** Connections closed because the limit was reached. */
  rejected = 0;

  constructor(
    private readonly listen: ListenAddress,
    private readonly responder: DnsResponder,
    private readonly limits: TcpLimits,
    private readonly log: Log,
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
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.setTimeout(this.limits.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const client = { address: socket.remoteAddress ?? '', transport: 'tcp' as const };
    let pending: Buffer | undefined;
    let inFlight = 0;
    socket.on('data', (chunk: Buffer) => {
      let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
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
            (late) => {
              if (late !== undefined && !socket.destroyed) socket.write(frame([late]));
            },
            (err: unknown) => this.log.debug('tcp query failed', { error: err as Error }),
          ).finally(() => {
            inFlight--;
            if (inFlight < this.limits.maxInFlight && socket.isPaused()) socket.resume();
          });
        } else if (r !== undefined) {
          out.push(r);
        }
      }
      // Keep only the unfinished message; copy it so the big read buffer can be freed.
      pending = buf.length === 0 ? undefined : Buffer.from(buf);
      if (out.length > 0) socket.write(frame(out));
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
