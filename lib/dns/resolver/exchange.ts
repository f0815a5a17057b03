/**
 * How the resolver reaches other servers. lib/ opens no sockets: the server
 * passes an Exchanger (server/dns/upstream.ts) and the tests may pass their own.
 *
 * Every method sends one query message (built by the caller with a random ID)
 * and resolves with the first response that comes from that server and answers
 * that query (isResponseTo in ../message.ts: QR set, same ID, same question);
 * any other datagram is ignored, as RFC 5452 §9.1 asks. It rejects with an
 * ExchangeError when the time is up, the signal aborts, the server cannot be
 * reached, or (DoH) the HTTP status is not 200 with application/dns-message.
 */
export interface Exchanger {
  /** UDP from a fresh socket on a port the kernel picks at random (RFC 5452 §4.5), closed afterwards. */
  udp(server: ServerAddress, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer>;
  /** TCP with the 2-byte length prefix (RFC 1035 §4.2.2), one query per connection. */
  tcp(server: ServerAddress, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer>;
  /** DNS over HTTPS (RFC 8484): POST application/dns-message to `url`. */
  doh(url: string, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer>;
}

export interface ServerAddress {
  /** An IPv4 or IPv6 literal. */
  readonly address: string;
  readonly port: number;
}

/** Why an exchange failed: 'timeout', 'unreachable' (refused, no route, reset, HTTP error), 'aborted'. */
export class ExchangeError extends Error {
  constructor(
    readonly reason: 'timeout' | 'unreachable' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'ExchangeError';
  }
}
