import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../../lib/config/listen';
import type { DnsResponder } from '../../lib/dns/responder';
import { truncated, type ResponseRateLimiter } from '../../lib/dns/rrl';
import type { Log } from '../log';

/** Asks the kernel for this much receive buffer; Linux caps it at net.core.rmem_max. */
const RECV_BUFFER = 4 * 1024 * 1024;

/**
 * UdpListener is DNS over UDP (RFC 1035 §4.2.1): each datagram goes to the
 * responder and its answer goes back to the sender. Nothing a datagram holds can
 * throw out of the handler; a failure is counted and logged at debug level.
 */
export class UdpListener {
  private socket: Socket | undefined;
  private bound: AddressInfo | undefined;
  /** Datagrams whose handling threw (a bug), or whose answer could not be sent. */
  failures = 0;

  constructor(
    private readonly listen: ListenAddress,
    private readonly responder: DnsResponder,
    private readonly log: Log,
    /** Response rate limiting ([rrl]); undefined when off. */
    private readonly rrl?: ResponseRateLimiter,
  ) {}

  get address(): AddressInfo | undefined {
    return this.bound;
  }

  /** start binds [dns] listen, or `port` instead of its port (DnsService puts UDP and TCP on one port when it is 0). */
  async start(port = this.listen.port): Promise<void> {
    const family = isIPv6(this.listen.host) ? 6 : 4;
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      // Answers go to the literal address the query came from: skip dns.lookup and its extra tick on every send.
      lookup: (address: string, _family: unknown, cb: (err: Error | null, address: string, family: number) => void) => cb(null, address, family),
    } as Parameters<typeof createSocket>[0]);
    socket.on('message', (msg, rinfo) => this.onMessage(socket, msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`binding udp ${this.listen.host}:${port}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`)),
      );
      socket.bind({ address: this.listen.host, port, exclusive: true }, () => resolve());
    });
    socket.removeAllListeners('error');
    socket.on('error', (err) => this.log.warn('udp socket error', { error: err }));
    try {
      socket.setRecvBufferSize(RECV_BUFFER);
      socket.setSendBufferSize(RECV_BUFFER);
    } catch {
      // The kernel's limit applies; the defaults work, only bursts lose more.
    }
    this.socket = socket;
    this.bound = socket.address();
  }

  stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return Promise.resolve();
    return new Promise((resolve) => socket.close(() => resolve()));
  }

  private onMessage(socket: Socket, msg: Buffer, rinfo: RemoteInfo): void {
    try {
      const out = this.responder.respond(msg, { address: rinfo.address, transport: 'udp' });
      if (out === undefined) return;
      if (out instanceof Promise) {
        out.then(
          (r) => {
            const sent = r === undefined ? undefined : this.limited(r, rinfo.address);
            if (sent !== undefined && this.socket === socket) socket.send(sent, rinfo.port, rinfo.address, this.onSent);
          },
          (err: unknown) => this.fail(err),
        );
        return;
      }
      const sent = this.limited(out, rinfo.address);
      // No callback: a failed send is reported as the socket's 'error' event (logged), and a callback per datagram costs.
      if (sent !== undefined) socket.send(sent, rinfo.port, rinfo.address);
    } catch (err) {
      this.fail(err);
    }
  }

  /** limited applies response rate limiting: the response, its truncated copy (slip), or undefined (dropped). */
  private limited(response: Buffer, address: string): Buffer | undefined {
    if (this.rrl === undefined) return response;
    const action = this.rrl.check(address, response);
    return action === 'send' ? response : action === 'slip' ? truncated(response) : undefined;
  }

  private readonly onSent = (err: Error | null) => {
    if (err !== null) this.fail(err);
  };

  private fail(err: unknown): void {
    this.failures++;
    this.log.debug('udp query failed', { error: err as Error });
  }
}
