import { isIP } from 'node:net';

/** A socket address to bind: an IP literal and a port (0 = any free port). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * parseListen reads "127.0.0.1:8080" or "[::1]:8053" into a ListenAddress, or
 * returns a reason string when the text is not an IP literal with a port 0–65535.
 */
export function parseListen(text: string): ListenAddress | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return 'expected "ip:port" or "[ipv6]:port"';
  const host = (m[1] ?? m[2]) as string;
  const port = Number(m[3]);
  if (m[1] !== undefined && isIP(host) !== 6) return `"${host}" is not an IPv6 address`;
  if (m[2] !== undefined && isIP(host) !== 4) return `"${host}" is not an IPv4 address (write IPv6 as [addr]:port)`;
  if (port > 65535) return `port ${port} is out of range 0-65535`;
  return { host, port };
}

/** formatListen renders a ListenAddress the way parseListen reads it. */
export function formatListen(a: ListenAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
