import type { LimitHits } from '../limits';
import { RCODE } from './constants';
import type { Client, Outcome, QueryEngine } from './engine';
import { DEFAULT_EDNS_PAYLOAD, encodeError, encodeResponse, isBadQuery, MAX_MESSAGE, ownCopy, parseQuery, udpLimit, type Query } from './wire';

export interface ResponderOptions {
  /** Our EDNS UDP payload size: the largest UDP response we send ([dns] edns_udp_size). */
  readonly ednsPayload?: number;
  /** Most prebuilt answers kept, and most bytes they may take; the cache starts over when either is reached. */
  readonly maxCachedAnswers?: number;
  readonly maxCachedBytes?: number;
  /**
   * Which clients may recurse ([recursion] allow): their responses carry RA, and
   * only they are given resolved answers. Absent when recursion is off.
   */
  readonly recursion?: { allows(address: string): boolean };
  readonly now?: () => number;
  /** [limits] dns_message_bytes: a longer message (over any transport) is answered FORMERR, header only, and counted. */
  readonly maxMessage?: number;
  readonly hits?: LimitHits;
}

interface CachedAnswer {
  readonly wire: Buffer;
  /** ms since the epoch; Infinity = until the next invalidate(). */
  readonly until: number;
  /** A resolved answer: where its TTLs are, and when it was built (they count down from then). */
  readonly resolved?: { readonly ttlOffsets: readonly number[]; readonly builtAt: number };
}

/** The part of a query the fast path reads without a full parse. */
interface FastKey {
  readonly key: string;
  /** 0: no EDNS, 1: EDNS, 2: EDNS with DO; plus 3 when the query has CD (a resolved answer may differ). */
  readonly variant: number;
  readonly questionEnd: number;
  /** The UDP limit of this query (512 without EDNS). */
  readonly udpLimit: number;
}

/**
 * DnsResponder turns a DNS message into its response bytes for every transport:
 * `respond(bytes, client)` returns the response, undefined when the message must
 * be dropped (not a query), or a promise of either when a stage answers later.
 *
 * Fast path: a plain query (one question, opcode QUERY, no records but an OPT of
 * version 0) whose answer was built before is answered by copying the prebuilt
 * wire response and patching in the ID, the RD and CD bits and the question as
 * asked (so its case is echoed). The prebuilt answers are keyed by the lower-cased
 * question, EDNS presence, the DO bit and the CD bit; `invalidate()` drops them all and must
 * be called the moment local data changes; an answer built from leases is also
 * dropped once its earliest lease ends. A prebuilt answer larger than the UDP
 * limit of the query goes to the full path, which truncates it. The cache holds at
 * most maxCachedAnswers answers and maxCachedBytes bytes; reaching either drops
 * the oldest quarter (a flood of distinct names costs hit rate, never memory).
 *
 * The RA bit is set per client: for those that may recurse. Resolved answers
 * (from the resolver stage) are prebuilt too, until their shortest TTL runs out;
 * a copy served later has every TTL lowered by the whole seconds since it was
 * built, and is given only to clients that may recurse (the others take the full
 * path, which refuses them).
 */
export class DnsResponder {
  /** Prebuilt answers by variant (0: no EDNS, 1: EDNS, 2: EDNS with DO; 3..5 the same with CD), each keyed by the lower-cased question bytes. */
  private cache: Map<string, CachedAnswer>[] = newMaps();
  private cachedBytes = 0;
  private generation = 0;
  private readonly payload: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly recursion: { allows(address: string): boolean } | undefined;
  private readonly maxMessage: number;
  private readonly hits: LimitHits | undefined;
  /** Counters for /metrics; `bugs` counts engine throws and rejections (answered SERVFAIL: each one is a bug). */
  readonly stats = { fastAnswers: 0, fullAnswers: 0, dropped: 0, errors: 0, bugs: 0 };

  constructor(
    private readonly engine: QueryEngine,
    opts: ResponderOptions = {},
  ) {
    this.payload = opts.ednsPayload ?? DEFAULT_EDNS_PAYLOAD;
    this.maxEntries = opts.maxCachedAnswers ?? 20_000;
    this.maxBytes = opts.maxCachedBytes ?? 32 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
    this.recursion = opts.recursion;
    this.maxMessage = opts.maxMessage ?? MAX_MESSAGE;
    this.hits = opts.hits;
  }

  /** invalidate forgets every prebuilt answer; call it synchronously with every change to local data. */
  invalidate(): void {
    this.generation++;
    if (this.cachedBytes > 0) this.cache = newMaps();
    this.cachedBytes = 0;
  }

  /** cachedAnswers is the number of prebuilt answers held. */
  get cachedAnswers(): number {
    let n = 0;
    for (const m of this.cache) n += m.size;
    return n;
  }

  respond(msg: Buffer, client: Client): Buffer | undefined | Promise<Buffer | undefined> {
    if (msg.length > this.maxMessage) return this.tooLong(msg);
    const fast = fastKey(msg);
    if (fast !== undefined) {
      const hit = this.cache[fast.variant]!.get(fast.key);
      if (hit !== undefined) {
        const now = hit.until === Infinity ? 0 : this.now();
        if (now >= hit.until) {
          this.cache[fast.variant]!.delete(fast.key);
          this.cachedBytes -= hit.wire.length;
        } else if (client.transport !== 'udp' || hit.wire.length <= Math.min(fast.udpLimit, this.payload)) {
          const ra = this.recursion !== undefined && this.recursion.allows(client.address);
          if (ra || hit.resolved === undefined) {
            this.stats.fastAnswers++;
            return patch(hit, msg, fast.questionEnd, ra, fast.variant % 3 === 2, now);
          }
        }
      }
    }
    const parsed = parseQuery(msg);
    if (parsed === undefined) {
      this.stats.dropped++;
      return undefined;
    }
    if (isBadQuery(parsed)) {
      this.stats.errors++;
      return encodeError(parsed);
    }
    this.stats.fullAnswers++;
    const generation = this.generation;
    let out: Outcome | Promise<Outcome>;
    try {
      out = this.engine.answer(parsed, client);
    } catch {
      return this.servfail(parsed);
    }
    if (out instanceof Promise) {
      return out.then(
        (o) => this.encode(parsed, o, client, fast, generation),
        () => this.servfail(parsed),
      );
    }
    return this.encode(parsed, out, client, fast, generation);
  }

  /** tooLong answers a message over [limits] dns_message_bytes: FORMERR with the header only (nothing of it is read); not even that for a response. */
  private tooLong(msg: Buffer): Buffer | undefined {
    this.hits?.hit('dns_message_bytes');
    if (msg.length < 12 || (msg[2]! & 0x80) !== 0) {
      this.stats.dropped++;
      return undefined;
    }
    this.stats.errors++;
    return encodeError({ error: RCODE.FORMERR, id: msg.readUInt16BE(0), flags: msg.readUInt16BE(2) });
  }

  private encode(query: Query, answer: Outcome, client: Client, fast: FastKey | undefined, generation: number): Buffer {
    const limit = client.transport === 'udp' ? udpLimit(query, this.payload) : MAX_MESSAGE;
    const ra = this.recursion !== undefined && this.recursion.allows(client.address);
    const out = answer.ra === ra ? answer : { ...answer, ra };
    const cacheable =
      fast !== undefined &&
      out.cacheUntil !== undefined &&
      generation === this.generation &&
      out.cacheUntil > this.now() &&
      // Held already: this query is one its UDP limit keeps from the prebuilt answer.
      !this.cache[fast.variant]!.has(fast.key);
    // AD only for a client that asked for it, by DO or by AD in its query (RFC 6840 §5.7, §5.8); a prebuilt copy keeps it and patch() decides.
    const adOk = query.edns?.do === true || (query.raw[3]! & 0x20) !== 0;
    if (!cacheable) return encodeResponse(query, adOk || out.ad !== true ? out : { ...out, ad: false }, limit, this.payload);
    const ttlOffsets = out.resolved === true ? [] : undefined;
    const full = encodeResponse(query, out, MAX_MESSAGE, this.payload, ttlOffsets);
    if (full.length <= MAX_CACHED_ANSWER) {
      if (this.cachedAnswers >= this.maxEntries || this.cachedBytes + full.length > this.maxBytes) this.evictOldest();
      // The RA bit of the stored copy does not matter: patch() sets it for each client.
      const resolved = ttlOffsets === undefined ? undefined : { ttlOffsets, builtAt: this.now() };
      this.cache[fast.variant]!.set(fast.key, { wire: ownCopy(full), until: out.cacheUntil!, resolved });
      this.cachedBytes += full.length;
    }
    const sent = full.length <= limit ? full : encodeResponse(query, out, limit, this.payload);
    if (out.ad !== true || adOk) return sent;
    const copy = Buffer.from(sent);
    copy[3] = copy[3]! & ~0x20;
    return copy;
  }

  /**
   * evictOldest makes room by dropping the oldest quarter of each variant's answers
   * (Maps iterate in insertion order): a flood of distinct names pushes out old
   * answers instead of emptying the cache, and an answer still in use is rebuilt
   * on its next query.
   */
  private evictOldest(): void {
    for (const map of this.cache) {
      let drop = Math.ceil(map.size / 4);
      for (const [key, answer] of map) {
        if (drop-- <= 0) break;
        map.delete(key);
        this.cachedBytes -= answer.wire.length;
      }
    }
  }

  private servfail(query: Query): Buffer {
    this.stats.errors++;
    this.stats.bugs++;
    return encodeResponse(query, { rcode: RCODE.SERVFAIL, aa: false, answer: [], authority: [], additional: [] }, MAX_MESSAGE, this.payload);
  }
}

/**
 * patch copies a prebuilt response and gives it the query's ID, RD and CD bits
 * and question bytes, the client's RA bit, and — for a resolved answer — TTLs
 * lowered by the whole seconds since it was built.
 */
function patch(hit: CachedAnswer, query: Buffer, questionEnd: number, ra: boolean, dnssecOk: boolean, now: number): Buffer {
  const wire = hit.wire;
  const out = Buffer.allocUnsafe(wire.length);
  wire.copy(out);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out[2] = (wire[2]! & 0xfe) | (query[2]! & 0x01);
  // AD only for a client that asked for it, by DO or by AD in its query (RFC 6840 §5.7, §5.8).
  const ad = (wire[3]! & 0x20) !== 0 && (dnssecOk || (query[3]! & 0x20) !== 0);
  out[3] = (wire[3]! & 0x4f) | (query[3]! & 0x10) | (ra ? 0x80 : 0) | (ad ? 0x20 : 0);
  query.copy(out, 12, 12, questionEnd);
  if (hit.resolved !== undefined) {
    const elapsed = Math.floor((now - hit.resolved.builtAt) / 1000);
    if (elapsed > 0) for (const off of hit.resolved.ttlOffsets) out.writeUInt32BE(Math.max(0, wire.readUInt32BE(off) - elapsed), off);
  }
  return out;
}

const newMaps = (): Map<string, CachedAnswer>[] => Array.from({ length: 6 }, () => new Map<string, CachedAnswer>());

const lowerScratch = Buffer.allocUnsafe(512);
/** Answers larger than this are built each time (rare, and they would crowd the cache out). */
const MAX_CACHED_ANSWER = 16 * 1024;

/**
 * fastKey reads a plain query — QR clear, opcode QUERY, qdcount 1, no answer or
 * authority records, at most one additional record which is an OPT of version 0
 * owned by the root, nothing after it — and returns its cache key. Anything else
 * returns undefined and takes the full path.
 */
function fastKey(buf: Buffer): FastKey | undefined {
  const len = buf.length;
  if (len < 17 || (buf[2]! & 0xf8) !== 0) return undefined;
  if (buf[4] !== 0 || buf[5] !== 1 || buf[6] !== 0 || buf[7] !== 0 || buf[8] !== 0 || buf[9] !== 0 || buf[10] !== 0) return undefined;
  const arcount = buf[11]!;
  if (arcount > 1) return undefined;
  let off = 12;
  let upper = false;
  for (;;) {
    const l = buf[off]!;
    if (l === 0) break;
    if (l > 63) return undefined;
    const end = off + 1 + l;
    if (end >= len) return undefined;
    for (let i = off + 1; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x41 && c <= 0x5a) upper = true;
    }
    off = end;
  }
  const questionEnd = off + 5;
  if (questionEnd > len || questionEnd - 12 > 300) return undefined;
  let variant = 0;
  let limit = 512;
  if (arcount === 0) {
    if (questionEnd !== len) return undefined;
  } else {
    const o = questionEnd;
    if (o + 11 > len || buf[o] !== 0 || buf[o + 1] !== 0 || buf[o + 2] !== 41 || buf[o + 6] !== 0) return undefined;
    const rdEnd = o + 11 + buf.readUInt16BE(o + 9);
    if (rdEnd !== len) return undefined;
    for (let p = o + 11; p < rdEnd; ) {
      if (p + 4 > rdEnd) return undefined;
      p += 4 + buf.readUInt16BE(p + 2);
      if (p > rdEnd) return undefined;
    }
    limit = Math.max(512, buf.readUInt16BE(o + 3));
    variant = (buf[o + 7]! & 0x80) !== 0 ? 2 : 1;
  }
  let key: string;
  if (!upper) {
    key = buf.toString('latin1', 12, questionEnd);
  } else {
    const n = questionEnd - 12;
    buf.copy(lowerScratch, 0, 12, questionEnd);
    for (let i = 0; i < n - 4; i++) {
      const c = lowerScratch[i]!;
      if (c >= 0x41 && c <= 0x5a) lowerScratch[i] = c | 0x20;
    }
    key = lowerScratch.toString('latin1', 0, n);
  }
  if ((buf[3]! & 0x10) !== 0) variant += 3;
  return { key, variant, questionEnd, udpLimit: limit };
}
