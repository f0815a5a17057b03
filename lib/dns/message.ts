import { CLASS, TYPE } from './constants';
import type { RRset } from './rrset';

/*
 * Whole DNS messages as a resolver meets them (RFC 1035 §4): the queries it sends
 * upstream and the responses it reads back. Our own code rather than dns-packet's:
 * every record keeps its RDATA byte for byte (names decompressed, case kept), which
 * the cache serves unchanged and DNSSEC validation needs, and a hostile response
 * can only ever make decodeMessage throw MessageError.
 */

/** MessageError: the bytes are not a well-formed DNS message. */
export class MessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageError';
  }
}

/** One resource record of a decoded message; names in the internal form (lower case, no trailing dot, root ""). */
export interface WireRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  /** Uncompressed RDATA: names inside it decompressed, their case as sent. */
  readonly rdata: Buffer;
}

export interface Question {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

/** A decoded message. The OPT record is not in `additional`; its fields are in `edns`. */
export interface Message {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly ra: boolean;
  readonly ad: boolean;
  readonly cd: boolean;
  /** The full rcode: the header's 4 bits and, with EDNS, the OPT's upper 8 bits (RFC 6891 §6.1.3). */
  readonly rcode: number;
  readonly question: Question | undefined;
  readonly answer: readonly WireRecord[];
  readonly authority: readonly WireRecord[];
  readonly additional: readonly WireRecord[];
  readonly edns: { readonly payload: number; readonly version: number; readonly do: boolean } | undefined;
}

/** Types whose RDATA holds names that a sender may have compressed and that we therefore expand (RFC 3597 §4, RFC 4034 §6.2). */
export const NAME_LAYOUT: ReadonlyMap<number, readonly ('name' | number)[]> = new Map<number, readonly ('name' | number)[]>([
  [TYPE.NS, ['name']],
  [3, ['name']], // MD
  [4, ['name']], // MF
  [TYPE.CNAME, ['name']],
  [TYPE.SOA, ['name', 'name', 20]],
  [7, ['name']], // MB
  [8, ['name']], // MG
  [9, ['name']], // MR
  [TYPE.PTR, ['name']],
  [14, ['name', 'name']], // MINFO
  [TYPE.MX, [2, 'name']],
  [TYPE.RP, ['name', 'name']],
  [18, [2, 'name']], // AFSDB
  [21, [2, 'name']], // RT
  [26, [2, 'name', 'name']], // PX
  [TYPE.SRV, [6, 'name']],
  [36, [2, 'name']], // KX
  [TYPE.DNAME, ['name']],
]);

const MAX_POINTER_HOPS = 64;

/**
 * decodeMessage reads a whole DNS message; it throws MessageError when the
 * message is truncated, a name is malformed (a label over 63 bytes, a name over
 * 255, a compression pointer that loops or points forward), a record's RDATA
 * does not match its type's layout, or bytes follow the last record.
 */
export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new MessageError('shorter than a DNS header');
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  if (qd > 1) throw new MessageError(`${qd} questions`);
  let off = 12;
  let question: Question | undefined;
  if (qd === 1) {
    const n = readName(buf, off);
    if (n.end + 4 > buf.length) throw new MessageError('truncated question');
    question = { name: n.name, type: buf.readUInt16BE(n.end), class: buf.readUInt16BE(n.end + 2) };
    off = n.end + 4;
  }
  const sections: WireRecord[][] = [[], [], []];
  let edns: Message['edns'];
  let rcode = flags & 0xf;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]!; i++) {
      const n = readName(buf, off);
      if (n.end + 10 > buf.length) throw new MessageError('truncated record header');
      const type = buf.readUInt16BE(n.end);
      const klass = buf.readUInt16BE(n.end + 2);
      const ttl = buf.readUInt32BE(n.end + 4);
      const rdlength = buf.readUInt16BE(n.end + 8);
      const rdStart = n.end + 10;
      const rdEnd = rdStart + rdlength;
      if (rdEnd > buf.length) throw new MessageError('truncated RDATA');
      if (type === TYPE.OPT) {
        if (s !== 2 || edns !== undefined || n.name !== '') throw new MessageError('misplaced or second OPT record');
        edns = { payload: klass, version: (ttl >>> 16) & 0xff, do: (ttl & 0x8000) !== 0 };
        rcode |= (ttl >>> 24) << 4;
      } else {
        // RFC 2181 §8: a TTL with the top bit set is treated as zero.
        sections[s]!.push({ name: n.name, type, class: klass, ttl: ttl > 0x7fffffff ? 0 : ttl, rdata: readRdata(buf, rdStart, rdEnd, type) });
      }
      off = rdEnd;
    }
  }
  if (off !== buf.length) throw new MessageError('bytes after the last record');
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode,
    question,
    answer: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
    edns,
  };
}

/** readRdata returns the RDATA with compressed names expanded (case kept); other types are copied as they are. */
function readRdata(buf: Buffer, start: number, end: number, type: number): Buffer {
  const layout = NAME_LAYOUT.get(type);
  if (layout === undefined) return Buffer.from(buf.subarray(start, end));
  const parts: Buffer[] = [];
  let off = start;
  for (const field of layout) {
    if (field === 'name') {
      const n = readName(buf, off, end);
      parts.push(n.wire);
      off = n.end;
    } else {
      if (off + field > end) throw new MessageError(`RDATA of type ${type} too short`);
      parts.push(buf.subarray(off, off + field));
      off += field;
    }
  }
  if (off !== end) throw new MessageError(`RDATA of type ${type} has ${end - off} extra bytes`);
  return Buffer.concat(parts);
}

/**
 * readName reads a possibly compressed name at `start` and returns it in the
 * internal form, its uncompressed wire form (case kept) and the offset after it
 * in the message. `limit` bounds where the name may sit (RDATA end); pointers
 * must point backwards, and at most MAX_POINTER_HOPS are followed.
 */
export function readName(buf: Buffer, start: number, limit = buf.length): { name: string; wire: Buffer; end: number } {
  let off = start;
  let end = -1;
  let hops = 0;
  let name = '';
  const wire: number[] = [];
  for (;;) {
    const bound = end === -1 ? limit : buf.length;
    if (off >= bound) throw new MessageError('name runs past its bounds');
    const len = buf[off]!;
    if ((len & 0xc0) === 0xc0) {
      if (off + 2 > bound) throw new MessageError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | buf[off + 1]!;
      if (end === -1) end = off + 2;
      if (target >= off || ++hops > MAX_POINTER_HOPS) throw new MessageError('bad compression pointer');
      off = target;
      continue;
    }
    if (len > 63) throw new MessageError('bad label type');
    wire.push(len);
    if (len === 0) break;
    if (off + 1 + len > bound) throw new MessageError('truncated label');
    if (wire.length + len > 255) throw new MessageError('name longer than 255 bytes');
    for (let i = off + 1; i <= off + len; i++) wire.push(buf[i]!);
    let label = buf.toString('latin1', off + 1, off + 1 + len);
    // ASCII only (RFC 4343): other bytes are not letters, whatever latin1 makes of them.
    if (/[A-Z]/.test(label)) label = label.replace(/[A-Z]+/g, (m) => m.toLowerCase());
    if (label.includes('.')) label = label.replaceAll('.', '\u2024');
    name = name === '' ? label : `${name}.${label}`;
    off += 1 + len;
  }
  return { name, wire: Buffer.from(wire), end: end === -1 ? off + 1 : end };
}

/** nameToWire writes a name in the internal form as uncompressed wire labels. */
export function nameToWire(name: string): Buffer {
  if (name === '') return Buffer.from([0]);
  const labels = name.split('.');
  const out = Buffer.allocUnsafe(name.length + 2);
  let off = 0;
  for (const label of labels) {
    out[off] = label.length;
    out.write(label.replaceAll('\u2024', '.'), off + 1, 'latin1');
    off += 1 + label.length;
  }
  out[off] = 0;
  return out.subarray(0, off + 1);
}

export interface QueryOptions {
  readonly id: number;
  readonly rd: boolean;
  readonly cd?: boolean;
  /** With EDNS (an OPT record advertising `payload`), or none at all when undefined. */
  readonly payload?: number;
  readonly do?: boolean;
}

/** encodeQuery builds a query message for one question of class IN. */
export function encodeQuery(name: string, type: number, opts: QueryOptions): Buffer {
  const qname = nameToWire(name);
  const edns = opts.payload !== undefined;
  const buf = Buffer.alloc(12 + qname.length + 4 + (edns ? 11 : 0));
  buf.writeUInt16BE(opts.id, 0);
  buf.writeUInt16BE((opts.rd ? 0x0100 : 0) | (opts.cd === true ? 0x0010 : 0), 2);
  buf.writeUInt16BE(1, 4);
  buf.writeUInt16BE(edns ? 1 : 0, 10);
  qname.copy(buf, 12);
  let off = 12 + qname.length;
  buf.writeUInt16BE(type, off);
  buf.writeUInt16BE(CLASS.IN, off + 2);
  off += 4;
  if (edns) {
    buf[off] = 0;
    buf.writeUInt16BE(TYPE.OPT, off + 1);
    buf.writeUInt16BE(opts.payload!, off + 3);
    buf.writeUInt32BE(opts.do === true ? 0x8000 : 0, off + 5);
    buf.writeUInt16BE(0, off + 9);
  }
  return buf;
}

/**
 * isResponseTo says whether `response` answers `query` (both raw): QR set, the
 * same ID and the same question (name compared case-insensitively, RFC 4343).
 * Transports drop any datagram for which this is false (RFC 5452 §9.1).
 */
export function isResponseTo(response: Buffer, query: Buffer): boolean {
  if (response.length < 12 || (response[2]! & 0x80) === 0) return false;
  if (response[0] !== query[0] || response[1] !== query[1]) return false;
  // A response without a question (FORMERR from some servers) cannot be matched further.
  if (response.readUInt16BE(4) === 0) return response.readUInt16BE(6) === 0;
  if (response.readUInt16BE(4) !== 1) return false;
  let off = 12;
  for (;;) {
    if (off >= query.length || off >= response.length) return false;
    const len = query[off]!;
    if (response[off] !== len) return false;
    if (len === 0) break;
    if (off + 1 + len > response.length) return false;
    for (let i = off + 1; i <= off + len; i++) {
      let a = query[i]!;
      let b = response[i]!;
      if (a >= 0x41 && a <= 0x5a) a |= 0x20;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (a !== b) return false;
    }
    off += 1 + len;
  }
  return off + 5 <= response.length && response.readUInt32BE(off + 1) === query.readUInt32BE(off + 1);
}

/**
 * groupRRsets turns records into RRsets (same owner, type and class IN), in the
 * order their first record appears; the set's TTL is the smallest of its
 * records' (RFC 2181 §5.2). Duplicate records are kept once (RFC 2181 §5).
 * `data` is filled for the types the engine and resolver read (see rrsetData).
 */
export function groupRRsets(records: readonly WireRecord[]): RRset[] {
  const sets = new Map<string, { name: string; type: number; ttl: number; rdata: Buffer[]; seen: Set<string> }>();
  for (const r of records) {
    if (r.class !== CLASS.IN) continue;
    const key = `${r.type}/${r.name}`;
    const set = sets.get(key);
    if (set === undefined) sets.set(key, { name: r.name, type: r.type, ttl: r.ttl, rdata: [r.rdata], seen: new Set([r.rdata.toString('latin1')]) });
    else {
      if (r.ttl < set.ttl) set.ttl = r.ttl;
      const id = r.rdata.toString('latin1');
      if (!set.seen.has(id)) {
        set.seen.add(id);
        set.rdata.push(r.rdata);
      }
    }
  }
  return [...sets.values()].map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, rdata: s.rdata, data: s.rdata.map((d) => rdataData(s.type, d)) }));
}

/**
 * rdataData gives a record's value in the shape the engine's encoder and the
 * resolver read: a name (internal form) for NS, CNAME, PTR and DNAME; an address
 * string for A and AAAA; {preference, exchange} for MX; the SOA fields for SOA;
 * the raw RDATA Buffer for every other type (never re-encoded: the encoder copies
 * `rdata` for types it does not compress).
 */
export function rdataData(type: number, rdata: Buffer): unknown {
  switch (type) {
    case TYPE.A:
      return rdata.length === 4 ? `${rdata[0]}.${rdata[1]}.${rdata[2]}.${rdata[3]}` : rdata;
    case TYPE.AAAA: {
      if (rdata.length !== 16) return rdata;
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(rdata.readUInt16BE(i).toString(16));
      return groups.join(':');
    }
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
    case TYPE.DNAME:
      return readName(rdata, 0).name;
    case TYPE.MX:
      return { preference: rdata.readUInt16BE(0), exchange: readName(rdata, 2).name };
    case TYPE.SOA: {
      const m = readName(rdata, 0);
      const r = readName(rdata, m.end);
      const o = r.end;
      return {
        mname: m.name,
        rname: r.name,
        serial: rdata.readUInt32BE(o),
        refresh: rdata.readUInt32BE(o + 4),
        retry: rdata.readUInt32BE(o + 8),
        expire: rdata.readUInt32BE(o + 12),
        minimum: rdata.readUInt32BE(o + 16),
      };
    }
    default:
      return rdata;
  }
}

/** asciiLower lowers the ASCII letters of a name only: DNS compares A–Z without case, every other byte as it is (RFC 4343). */
export function asciiLower(name: string): string {
  return /[A-Z]/.test(name) ? name.replace(/[A-Z]+/g, (c) => c.toLowerCase()) : name;
}
