import { isIPv4 } from 'node:net';
import { asciiLower, readName } from './message';
import { ClientAcl } from './resolver/settings';

/**
 * Response rate limiting for UDP (the scheme of BIND, NSD and Knot, after Vixie
 * and Schryver's "DNS Response Rate Limiting"): a spoofed-source flood must not
 * turn the server into an amplifier aimed at its victim, while a real client
 * whose answers are limited still gets through, because some of the limited
 * answers are sent as empty truncated responses (TC=1) and it retries over TCP,
 * where a spoofed source cannot follow.
 *
 * Responses are counted per client prefix (/24 and /56 by default) and per kind
 * of response:
 * - a positive answer: its name and type (one bucket per distinct answer);
 * - NXDOMAIN, NODATA and referrals: the zone that answered (the owner of the
 *   authority section's first record), so a flood of random names under one
 *   zone shares one bucket, as in BIND;
 * - errors (SERVFAIL, REFUSED, FORMERR, ...): one bucket per rcode.
 * Each bucket is a token bucket: credited `rate` per second up to `rate` (one
 * second of burst), debited one per response sent. With no token left a
 * response is limited, so a flood gets `rate` answers a second and no more (as
 * in NSD and Knot; BIND also counts the limited ones, which starves a flooded
 * prefix entirely). Every `slip`-th limited response is sent truncated, the
 * others dropped (slip 0: drop all; slip 1: truncate all). `allPerSecond`
 * (0 = off) bounds all responses to a prefix together, with the same slip.
 */
export interface RrlOptions {
  readonly responsesPerSecond: number;
  readonly allPerSecond: number;
  readonly slip: number;
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
  /** CIDR prefixes never limited (loopback by default: a spoofed source cannot be on it). */
  readonly exempt: readonly string[];
}

export type RrlAction = 'send' | 'slip' | 'drop';

interface Bucket {
  balance: number;
  /** ms (performance.now) of the last credit. */
  at: number;
  /** Limited responses so far, for slip. */
  limited: number;
}

/** Buckets kept at most; past it the ones longest untouched go first. */
const MAX_BUCKETS = 200_000;
/** Address → prefix key cache bound. */
const MAX_PREFIXES = 65_536;

export class ResponseRateLimiter {
  readonly stats = { slipped: 0, dropped: 0, exempt: 0 };
  private readonly buckets = new Map<string, Bucket>();
  private readonly prefixes = new Map<string, string | null>();
  private readonly exempt: ClientAcl;

  constructor(
    private readonly opts: RrlOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.exempt = new ClientAcl(opts.exempt);
  }

  /** Buckets held (for /metrics). */
  get size(): number {
    return this.buckets.size;
  }

  /** check counts one UDP response to `address` and says whether to send it, send it truncated, or drop it. */
  check(address: string, response: Buffer): RrlAction {
    const prefix = this.prefixOf(address);
    if (prefix === null) {
      this.stats.exempt++;
      return 'send';
    }
    const now = this.now();
    const one = this.bucket(`${prefix}|${responseKind(response)}`, this.opts.responsesPerSecond, now);
    const all = this.opts.allPerSecond > 0 ? this.bucket(`${prefix}|*`, this.opts.allPerSecond, now) : undefined;
    if (one.balance >= 1 && (all === undefined || all.balance >= 1)) {
      one.balance -= 1;
      if (all !== undefined) all.balance -= 1;
      return 'send';
    }
    const limited = one.balance < 1 ? one : all!;
    limited.limited++;
    if (this.opts.slip > 0 && limited.limited % this.opts.slip === 0) {
      this.stats.slipped++;
      return 'slip';
    }
    this.stats.dropped++;
    return 'drop';
  }

  /** bucket finds or makes a bucket and credits it for the time since it was last used. */
  private bucket(key: string, rate: number, now: number): Bucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.evict(now);
      b = { balance: rate, at: now, limited: 0 };
      this.buckets.set(key, b);
    } else if (now > b.at) {
      b.balance = Math.min(rate, b.balance + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    return b;
  }

  /** evict drops the buckets that are full again (unused for a second), or else the oldest tenth. */
  private evict(now: number): void {
    for (const [k, b] of this.buckets) {
      if (now - b.at > 1000) this.buckets.delete(k);
    }
    if (this.buckets.size < MAX_BUCKETS) return;
    let n = Math.ceil(MAX_BUCKETS / 10);
    for (const k of this.buckets.keys()) {
      this.buckets.delete(k);
      if (--n === 0) break;
    }
  }

  /** prefixOf maps an address to its prefix key, or null when it is exempt or not an address. */
  private prefixOf(address: string): string | null {
    let p = this.prefixes.get(address);
    if (p !== undefined) return p;
    p = this.exempt.allows(address) ? null : clientPrefix(address, this.opts.ipv4Prefix, this.opts.ipv6Prefix);
    if (this.prefixes.size >= MAX_PREFIXES) this.prefixes.clear();
    this.prefixes.set(address, p);
    return p;
  }
}

/** clientPrefix is the address masked to its prefix, as text ("4:c0a80100", "6:20010db8..."), or null when it is not an address. */
export function clientPrefix(address: string, v4: number, v6: number): string | null {
  const mapped = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(mapped)) {
    const n = mapped.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const masked = v4 === 0 ? 0 : Math.floor(n / 2 ** (32 - v4)) * 2 ** (32 - v4);
    return `4:${masked.toString(16)}`;
  }
  const groups = expandIPv6(address);
  if (groups === undefined) return null;
  let bits = v6;
  const out: string[] = [];
  for (const g of groups) {
    if (bits <= 0) break;
    const keep = Math.min(16, bits);
    out.push(((g >> (16 - keep)) << (16 - keep)).toString(16));
    bits -= keep;
  }
  return `6:${out.join(':')}`;
}

/** expandIPv6 gives the eight 16-bit groups of an IPv6 literal (a zone index is ignored), or undefined. */
function expandIPv6(address: string): number[] | undefined {
  const text = address.split('%')[0]!;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (i === parts.length - 1 && isIPv4(part)) {
        const o = part.split('.').map(Number);
        out.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/**
 * responseKind names the bucket of a response (see the module comment): "A" +
 * name + type for answers, "N"/"X" + zone for NODATA/referral and NXDOMAIN, "E" +
 * rcode for errors. Names are lower-cased, so 0x20 case games share a bucket.
 */
export function responseKind(r: Buffer): string {
  if (r.length < 12) return 'E?';
  const rcode = r[3]! & 0x0f;
  if (rcode !== 0 && rcode !== 3) return `E${rcode}`;
  const qd = r.readUInt16BE(4);
  const an = r.readUInt16BE(6);
  const ns = r.readUInt16BE(8);
  try {
    let off = 12;
    let qname = '';
    let qtype = 0;
    if (qd > 0) {
      const q = readName(r, off);
      qname = q.name;
      qtype = r.readUInt16BE(q.end);
      off = q.end + 4;
    }
    if (rcode === 0 && an > 0) return `A${asciiLower(qname)}/${qtype}`;
    if (ns === 0) return `${rcode === 3 ? 'X' : 'N'}${asciiLower(qname)}`;
    for (let i = 0; i < an; i++) off = skipRecord(r, off);
    return `${rcode === 3 ? 'X' : 'N'}${asciiLower(readName(r, off).name)}`;
  } catch {
    return `E${rcode}`;
  }
}

function skipRecord(r: Buffer, off: number): number {
  const end = readName(r, off).end;
  return end + 10 + r.readUInt16BE(end + 8);
}

/**
 * truncated is the slip answer: the response's header and question with TC set
 * and every other section empty (RFC 2181 §9: the client retries over TCP).
 */
export function truncated(response: Buffer): Buffer {
  let end = 12;
  if (response.readUInt16BE(4) > 0) {
    try {
      end = readName(response, 12).end + 4;
    } catch {
      end = 12;
    }
  }
  const out = Buffer.from(response.subarray(0, Math.min(end, response.length)));
  out[2] = out[2]! | 0x02; // TC
  out.writeUInt16BE(end > 12 ? 1 : 0, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(0, 10);
  return out;
}
