import { BlockList, isIP } from 'node:net';
import { isDomainName } from '../../labels';
import type { RootHint, Upstream } from './resolver';

/*
 * The [recursion] values that need more than a type check: upstream URLs, root
 * hints, and the client allow-list. Each parse function returns the value or a
 * string saying what is wrong (the config schema turns it into a ConfigError).
 */

/** The root servers (IANA root hints, named.root of 2024), IPv4 and IPv6. */
export const IANA_ROOT_HINTS: readonly string[] = [
  ['a', '198.41.0.4', '2001:503:ba3e::2:30'],
  ['b', '170.247.170.2', '2801:1b8:10::b'],
  ['c', '192.33.4.12', '2001:500:2::c'],
  ['d', '199.7.91.13', '2001:500:2d::d'],
  ['e', '192.203.230.10', '2001:500:a8::e'],
  ['f', '192.5.5.241', '2001:500:2f::f'],
  ['g', '192.112.36.4', '2001:500:12::d0d'],
  ['h', '198.97.190.53', '2001:500:1::53'],
  ['i', '192.36.148.17', '2001:7fe::53'],
  ['j', '192.58.128.30', '2001:503:c27::2:30'],
  ['k', '193.0.14.129', '2001:7fd::1'],
  ['l', '199.7.83.42', '2001:500:9f::42'],
  ['m', '202.12.27.33', '2001:dc3::35'],
].flatMap(([letter, v4, v6]) => [`${letter}.root-servers.net=${v4}`, `${letter}.root-servers.net=${v6}`]);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * parseUpstream reads "udp://addr[:port]", "tcp://addr[:port]" (an IP literal,
 * IPv6 in brackets; port 53 by default) or a DoH URL "https://host[:port]/path".
 * Plain "http://" is accepted only for a loopback host (a DoH server on the same
 * machine): DNS in clear over the network should be udp or tcp, not look like DoH.
 */
export function parseUpstream(text: string): Upstream | string {
  const plain = /^(udp|tcp):\/\//.exec(text);
  if (plain !== null) {
    const m = /^(?:udp|tcp):\/\/(\[[0-9a-fA-F:.]+\]|[0-9.]+)(?::(\d{1,5}))?\/?$/.exec(text);
    if (m === null) return 'must be udp://<ip>[:port] or tcp://<ip>[:port] with an IP literal (IPv6 in brackets)';
    const address = m[1]!.replace(/^\[|\]$/g, '');
    const port = m[2] === undefined ? 53 : Number(m[2]);
    if (isIP(address) === 0) return `"${address}" is not an IP address`;
    if (port < 1 || port > 65535) return `port ${port} is outside 1..65535`;
    return { transport: plain[1] === 'udp' ? 'udp' : 'tcp', address, port, label: text };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL such as "udp://192.0.2.53:53", "tcp://[2001:db8::53]" or "https://dns.example/dns-query"';
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return 'must not carry credentials or a fragment';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    return { transport: 'https', url: url.href, label: text };
  }
  if (url.protocol === 'http:') return 'plain http:// is allowed only for a loopback host; use https:// for DoH';
  return `unknown scheme "${url.protocol}"; use udp://, tcp:// or https://`;
}

/** parseRootHint reads "name=address", e.g. "a.root-servers.net=198.41.0.4". */
export function parseRootHint(text: string): RootHint | string {
  const eq = text.indexOf('=');
  if (eq === -1) return 'must be "<name>=<address>", such as "a.root-servers.net=198.41.0.4"';
  let name = text.slice(0, eq).trim().toLowerCase();
  const address = text.slice(eq + 1).trim();
  if (!name.endsWith('.')) name += '.';
  if (!isDomainName(name)) return `"${text.slice(0, eq)}" is not a domain name`;
  if (isIP(address) === 0) return `"${address}" is not an IP address`;
  return { name: name.slice(0, -1), address };
}

/** parseCidr reads "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128). */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | string {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `"${address}" is not an IP address`;
  const max = family === 4 ? 32 : 128;
  const prefix = slash === -1 ? max : Number(text.slice(slash + 1));
  if (!/^\d{1,3}$/.test(slash === -1 ? String(max) : text.slice(slash + 1)) || prefix > max) return `prefix length must be 0..${max}`;
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Results kept per address; the table starts over when full (a scan of many addresses costs a lookup each, never memory). */
const MAX_REMEMBERED = 4096;

/**
 * ClientAcl says whether a client address may use the resolver. IPv4 clients
 * seen through an IPv6 socket (::ffff:a.b.c.d) match IPv4 prefixes. Answers are
 * remembered per address string because the check runs on every query of the
 * fast path.
 */
export class ClientAcl {
  private readonly list = new BlockList();
  private readonly seen = new Map<string, boolean>();

  constructor(readonly prefixes: readonly string[]) {
    for (const p of prefixes) {
      const c = parseCidr(p);
      if (typeof c === 'string') throw new Error(`allow "${p}": ${c}`);
      this.list.addSubnet(c.address, c.prefix, c.family);
    }
  }

  allows(address: string): boolean {
    const known = this.seen.get(address);
    if (known !== undefined) return known;
    const family = isIP(address);
    const ok = family !== 0 && this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.set(address, ok);
    return ok;
  }
}
