import { CLASS, OPCODE, RCODE, TYPE } from './constants';
import type { RRset } from './rrset';

/*
 * The DNS wire format (RFC 1035 §4): parsing queries and encoding responses.
 * Our own code, not dns-packet's, because this is the hot path: a query is read
 * without copying its labels more than once, and a response is written with name
 * compression (RFC 1035 §4.1.4) and RRset-wise truncation (RFC 2181 §9).
 */

/** Largest UDP payload we ever send when the client does not ask for less (RFC 6891 §6.2.5; the DNS flag day 2020 value). */
export const DEFAULT_EDNS_PAYLOAD = 1232;
/** A DNS message over TCP is at most 65535 bytes (RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;
/** Classic UDP limit without EDNS (RFC 1035 §2.3.4). */
export const CLASSIC_UDP = 512;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const FLAG_RA = 0x0080;
const FLAG_AD = 0x0020;
const FLAG_CD = 0x0010;
const EDNS_DO = 0x8000;
const EDNS_OPTION_EDE = 15;

/** The EDNS0 part of a query (RFC 6891 §6.1.3). */
export interface Edns {
  /** Requestor's UDP payload size, raised to 512 when smaller (RFC 6891 §6.2.5). */
  readonly payload: number;
  readonly version: number;
  /** DNSSEC OK (RFC 3225). */
  readonly do: boolean;
}

/** A parsed query: one question, its header bits and EDNS. */
export interface Query {
  readonly id: number;
  readonly opcode: number;
  readonly rd: boolean;
  readonly cd: boolean;
  /** The question name in the internal form: lower case, no trailing dot, root = "". */
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly edns: Edns | undefined;
  /** The raw message; bytes 12..questionEnd are the question as asked (echoed, case and all). */
  readonly raw: Buffer;
  readonly questionEnd: number;
}

/** A query we must answer with an error rcode before any lookup, or drop. */
export interface BadQuery {
  readonly error: number;
  readonly id: number;
  /** Header flags of the query (opcode and RD are echoed). */
  readonly flags: number;
  /** The parsed query, for BADVERS (answered with the question and an OPT). */
  readonly query?: Query;
}

/**
 * parseQuery reads one DNS query message. It returns a Query; a BadQuery with
 * FORMERR (malformed message, qdcount ≠ 1, answer or authority records, a bad or
 * second OPT: RFC 1035 §4.1.1, RFC 6891 §6.1.1), NOTIMP (opcode other than QUERY)
 * or BADVERS (EDNS version > 0, RFC 6891 §6.1.3); or undefined when the message
 * must be dropped silently (shorter than a header, or a response: QR set).
 */
export function parseQuery(buf: Buffer): Query | BadQuery | undefined {
  if (buf.length < 12) return undefined;
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if ((flags & FLAG_QR) !== 0) return undefined;
  const opcode = (flags >> 11) & 0xf;
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const formerr: BadQuery = { error: RCODE.FORMERR, id, flags };
  if (qdcount !== 1) return opcode === OPCODE.QUERY ? formerr : { error: RCODE.NOTIMP, id, flags };

  const q = readQuestionName(buf, 12);
  if (q === undefined || q.end + 4 > buf.length) return formerr;
  const type = buf.readUInt16BE(q.end);
  const klass = buf.readUInt16BE(q.end + 2);
  const questionEnd = q.end + 4;
  const base = {
    id,
    opcode,
    rd: (flags & FLAG_RD) !== 0,
    cd: (flags & FLAG_CD) !== 0,
    name: q.name,
    type,
    class: klass,
    raw: buf,
    questionEnd,
  };
  if (opcode !== OPCODE.QUERY) return { error: RCODE.NOTIMP, id, flags };
  if (ancount !== 0 || nscount !== 0) return formerr;

  let edns: Edns | undefined;
  let off = questionEnd;
  for (let i = 0; i < arcount; i++) {
    const nameEnd = skipName(buf, off);
    if (nameEnd === undefined || nameEnd + 10 > buf.length) return formerr;
    const rrType = buf.readUInt16BE(nameEnd);
    const rdlength = buf.readUInt16BE(nameEnd + 8);
    const rdEnd = nameEnd + 10 + rdlength;
    if (rdEnd > buf.length) return formerr;
    if (rrType === TYPE.OPT) {
      // One OPT, owned by the root, with well-formed options (RFC 6891 §6.1.1).
      if (edns !== undefined || nameEnd !== off + 1 || buf[off] !== 0) return formerr;
      for (let o = nameEnd + 10; o < rdEnd; ) {
        if (o + 4 > rdEnd) return formerr;
        o += 4 + buf.readUInt16BE(o + 2);
        if (o > rdEnd) return formerr;
      }
      edns = {
        payload: Math.max(CLASSIC_UDP, buf.readUInt16BE(nameEnd + 2)),
        version: buf[nameEnd + 5]!,
        do: (buf.readUInt16BE(nameEnd + 6) & EDNS_DO) !== 0,
      };
    }
    off = rdEnd;
  }
  if (off !== buf.length) return formerr;
  const query: Query = { ...base, edns };
  if (edns !== undefined && edns.version > 0) return { error: RCODE.BADVERS, id, flags, query };
  return query;
}

/** isBadQuery tells a BadQuery from a Query. */
export function isBadQuery(q: Query | BadQuery): q is BadQuery {
  return (q as BadQuery).error !== undefined;
}

/**
 * readQuestionName reads an uncompressed name (a question has nothing earlier to
 * point to) into the internal form. Labels are read as latin1 so that every byte
 * maps to one character; upper-case ASCII is lowered (RFC 4343). A dot inside a
 * label becomes U+2024, which no stored name contains, so such a name can match
 * only a wildcard.
 */
function readQuestionName(buf: Buffer, start: number): { name: string; end: number } | undefined {
  let off = start;
  let name = '';
  let wire = 0;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) return { name, end: off + 1 };
    if (len > 63) return undefined;
    wire += len + 1;
    if (wire > 254 || off + 1 + len > buf.length) return undefined;
    let label = buf.toString('latin1', off + 1, off + 1 + len);
    if (/[A-Z]/.test(label)) label = label.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    if (label.includes('.')) label = label.replaceAll('.', '\u2024');
    name = name === '' ? label : `${name}.${label}`;
    off += 1 + len;
  }
}

/** skipName returns the offset after a possibly compressed name, or undefined when it is malformed. */
function skipName(buf: Buffer, start: number): number | undefined {
  let off = start;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : undefined;
    if (len > 63) return undefined;
    off += 1 + len;
  }
}

/** A response to encode: rcode (may be extended, e.g. BADVERS), header bits and the three sections as RRsets. */
export interface Response {
  readonly rcode: number;
  readonly aa: boolean;
  readonly ra?: boolean;
  /** Authentic Data: a resolved answer that passed DNSSEC validation (RFC 4035 §3.2.3). */
  readonly ad?: boolean;
  /** Extended DNS Error (RFC 8914) sent in the OPT when the query had EDNS: 18 Prohibited, 20 Not Authoritative. */
  readonly ede?: number;
  readonly answer: readonly RRset[];
  readonly authority: readonly RRset[];
  readonly additional: readonly RRset[];
}

const scratch = Buffer.allocUnsafe(MAX_MESSAGE);

/**
 * ownCopy gives a buffer of its own holding `b`. Buffer.from copies small buffers
 * into slices of node's shared 8 KiB pool, and one long-lived slice keeps its whole
 * slab alive: anything kept in a cache is copied out with this instead.
 */
export function ownCopy(b: Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

/**
 * encodeResponse writes the response to `query` in at most `limit` bytes. The
 * question is copied from the query as asked. RRsets are written whole: when an
 * answer or authority RRset does not fit, TC is set and nothing after it is
 * written; an additional RRset, or the NS RRset beside a positive answer, that
 * does not fit is left out without TC (RFC 2181 §9). The OPT record is sent when the query had one (RFC 6891 §7), with
 * `payload` as our UDP size and the DO bit echoed (RFC 3225 §3). When `ttlOffsets`
 * is given, the offset of every record's TTL field written is pushed to it (the
 * responder counts TTLs down in prebuilt copies of resolved answers).
 */
export function encodeResponse(query: Query, resp: Response, limit: number, payload = DEFAULT_EDNS_PAYLOAD, ttlOffsets?: number[]): Buffer {
  const buf = scratch;
  const optSize = query.edns === undefined ? 0 : resp.ede === undefined ? 11 : 17;
  const max = Math.min(limit, MAX_MESSAGE) - optSize;
  const qlen = query.questionEnd - 12;
  query.raw.copy(buf, 12, 12, query.questionEnd);
  const names = new Compressor(buf, query);
  let off = 12 + qlen;
  let tc = false;
  const counts = [0, 0, 0];
  const sections = [resp.answer, resp.authority, resp.additional];
  outer: for (let s = 0; s < 3; s++) {
    const list = sections[s]!;
    for (let i = 0; i < list.length; i++) {
      const set = list[i]!;
      const mark = names.mark();
      const ttlMark = ttlOffsets?.length ?? 0;
      let end = writeRRset(buf, off, max, set, names, ttlOffsets);
      // An RRset and the RRSIGs that follow it go in together or not at all.
      const sigs = list[i + 1];
      if (sigs !== undefined && sigs.type === TYPE.RRSIG && set.type !== TYPE.RRSIG && sigs.name === set.name) {
        i++;
        if (end >= 0) end = writeRRset(buf, end, max, sigs, names, ttlOffsets);
        if (end >= 0) counts[s]! += sigs.rdata.length;
      }
      if (end < 0) {
        names.rollback(mark);
        if (ttlOffsets !== undefined) ttlOffsets.length = ttlMark;
        // Required: the answer, and the authority of a negative answer or referral. The NS RRset that
        // accompanies a positive answer is optional, like additional data (RFC 2181 §9).
        const optional = s === 2 || (s === 1 && set.type === TYPE.NS && resp.answer.length > 0);
        if (!optional) {
          tc = true;
          break outer;
        }
        continue;
      }
      off = end;
      counts[s]! += set.rdata.length;
    }
  }
  let arcount = counts[2]!;
  if (query.edns !== undefined) {
    buf[off] = 0;
    buf.writeUInt16BE(TYPE.OPT, off + 1);
    buf.writeUInt16BE(payload, off + 3);
    buf[off + 5] = resp.rcode >> 4;
    buf[off + 6] = 0;
    buf.writeUInt16BE(query.edns.do ? EDNS_DO : 0, off + 7);
    if (resp.ede === undefined) {
      buf.writeUInt16BE(0, off + 9);
      off += 11;
    } else {
      buf.writeUInt16BE(6, off + 9);
      buf.writeUInt16BE(EDNS_OPTION_EDE, off + 11);
      buf.writeUInt16BE(2, off + 13);
      buf.writeUInt16BE(resp.ede, off + 15);
      off += 17;
    }
    arcount++;
  }
  let flags = FLAG_QR | (query.opcode << 11) | (resp.rcode & 0xf);
  if (resp.aa) flags |= FLAG_AA;
  if (tc) flags |= FLAG_TC;
  if (query.rd) flags |= FLAG_RD;
  if (resp.ra === true) flags |= FLAG_RA;
  if (resp.ad === true) flags |= FLAG_AD;
  if (query.cd) flags |= FLAG_CD;
  buf.writeUInt16BE(query.id, 0);
  buf.writeUInt16BE(flags, 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(counts[0]!, 6);
  buf.writeUInt16BE(counts[1]!, 8);
  buf.writeUInt16BE(arcount, 10);
  return Buffer.from(buf.subarray(0, off));
}

/**
 * encodeError writes a header-only (or header and question) error response:
 * a bare header for FORMERR on an unreadable question and for NOTIMP (as NSD
 * does), the question echoed and the OPT included for BADVERS (RFC 6891 §7).
 */
export function encodeError(bad: BadQuery): Buffer {
  if (bad.query !== undefined) {
    return encodeResponse(bad.query, { rcode: bad.error, aa: false, answer: [], authority: [], additional: [] }, MAX_MESSAGE);
  }
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(bad.id, 0);
  buf.writeUInt16BE(FLAG_QR | (bad.flags & 0x7900) | (bad.error & 0xf), 2);
  return buf;
}

/** Types whose RDATA names may be compressed (RFC 3597 §4: the well-known types of RFC 1035). */
const COMPRESSIBLE = new Set<number>([TYPE.NS, TYPE.CNAME, TYPE.PTR, TYPE.MX, TYPE.SOA]);

function writeRRset(buf: Buffer, start: number, max: number, set: RRset, names: Compressor, ttlOffsets: number[] | undefined): number {
  let off = start;
  const compress = COMPRESSIBLE.has(set.type);
  for (let i = 0; i < set.rdata.length; i++) {
    off = names.write(set.name, off, max);
    if (off < 0 || off + 10 > max) return -1;
    buf.writeUInt16BE(set.type, off);
    buf.writeUInt16BE(CLASS.IN, off + 2);
    buf.writeUInt32BE(set.ttl, off + 4);
    ttlOffsets?.push(off + 4);
    const rdStart = off + 10;
    let end: number;
    if (compress) {
      end = writeCompressedRdata(buf, rdStart, max, set.type, set.data[i], names);
    } else {
      const rd = set.rdata[i]!;
      end = rdStart + rd.length;
      if (end <= max) rd.copy(buf, rdStart);
    }
    if (end < 0 || end > max) return -1;
    buf.writeUInt16BE(end - rdStart, off + 8);
    off = end;
  }
  return off;
}

function writeCompressedRdata(buf: Buffer, off: number, max: number, type: number, data: unknown, names: Compressor): number {
  switch (type) {
    case TYPE.MX: {
      const mx = data as { preference: number; exchange: string };
      if (off + 2 > max) return -1;
      buf.writeUInt16BE(mx.preference, off);
      return names.write(mx.exchange, off + 2, max);
    }
    case TYPE.SOA: {
      const soa = data as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
      let o = names.write(soa.mname, off, max);
      if (o < 0) return -1;
      o = names.write(soa.rname, o, max);
      if (o < 0 || o + 20 > max) return -1;
      buf.writeUInt32BE(soa.serial >>> 0, o);
      buf.writeUInt32BE(soa.refresh >>> 0, o + 4);
      buf.writeUInt32BE(soa.retry >>> 0, o + 8);
      buf.writeUInt32BE(soa.expire >>> 0, o + 12);
      buf.writeUInt32BE(soa.minimum >>> 0, o + 16);
      return o + 20;
    }
    default:
      return names.write(data as string, off, max);
  }
}

/**
 * Compressor writes names with RFC 1035 §4.1.4 pointers. It knows every suffix of
 * the question name (so answers for the question point at it and show its case)
 * and every name suffix written since. Matching is case-insensitive.
 */
class Compressor {
  private readonly offsets = new Map<string, number>();
  private readonly added: string[] = [];

  constructor(
    private readonly buf: Buffer,
    query: Query,
  ) {
    let off = 12;
    let rest = query.name;
    while (rest !== '') {
      this.offsets.set(rest, off);
      off += 1 + query.raw[off]!;
      const dot = rest.indexOf('.');
      rest = dot === -1 ? '' : rest.slice(dot + 1);
    }
  }

  mark(): number {
    return this.added.length;
  }

  rollback(mark: number): void {
    while (this.added.length > mark) this.offsets.delete(this.added.pop()!);
  }

  /** write puts `name` at off and returns the offset after it, or -1 when it would pass max. */
  write(name: string, start: number, max: number): number {
    const buf = this.buf;
    let off = start;
    let rest = name;
    while (rest !== '') {
      const key = /[A-Z]/.test(rest) ? rest.toLowerCase() : rest;
      const ptr = this.offsets.get(key);
      if (ptr !== undefined) {
        if (off + 2 > max) return -1;
        buf.writeUInt16BE(0xc000 | ptr, off);
        return off + 2;
      }
      const dot = rest.indexOf('.');
      const label = dot === -1 ? rest : rest.slice(0, dot);
      const len = label.length;
      if (off + 1 + len > max) return -1;
      if (off < 0x3fff) {
        this.offsets.set(key, off);
        this.added.push(key);
      }
      buf[off] = len;
      buf.write(label.replaceAll('\u2024', '.'), off + 1, len, 'latin1');
      off += 1 + len;
      rest = dot === -1 ? '' : rest.slice(dot + 1);
    }
    if (off + 1 > max) return -1;
    buf[off] = 0;
    return off + 1;
  }
}

/** udpLimit is the most we may send over UDP to this query: 512 without EDNS, else its payload size capped by ours. */
export function udpLimit(query: Query, ourPayload = DEFAULT_EDNS_PAYLOAD): number {
  return query.edns === undefined ? CLASSIC_UDP : Math.min(query.edns.payload, ourPayload);
}

/**
 * minTtl returns the smallest TTL of the records in a response (OPT excluded),
 * or undefined when it has none or cannot be read; DoH uses it for
 * Cache-Control max-age (RFC 8484 §5.1).
 */
export function minTtl(msg: Buffer): number | undefined {
  if (msg.length < 12) return undefined;
  const qd = msg.readUInt16BE(4);
  const rr = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const end = skipName(msg, off);
    if (end === undefined) return undefined;
    off = end + 4;
  }
  let min: number | undefined;
  for (let i = 0; i < rr; i++) {
    const end = skipName(msg, off);
    if (end === undefined || end + 10 > msg.length) return undefined;
    if (msg.readUInt16BE(end) !== TYPE.OPT) {
      const ttl = msg.readUInt32BE(end + 4);
      if (min === undefined || ttl < min) min = ttl;
    }
    off = end + 10 + msg.readUInt16BE(end + 8);
  }
  return min;
}
