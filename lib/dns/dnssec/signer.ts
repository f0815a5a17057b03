import { randomInt } from 'node:crypto';
import { lowerName } from '../authority';
import { RCODE, TYPE } from '../constants';
import type { RRset } from '../rrset';
import { ownCopy, type Response } from '../wire';
import { inZone, parentName, type ZoneSource, type ZoneView } from '../zone';
import { dnskeyRdataOf, type Keyring, type ZoneKey } from './keyring';
import { nsecRdata } from './nsec';
import { signRRset } from './sign';
import { asciiLower } from '../message';

/*
 * Online signing (issue #8). Answers from local zones are signed as they are
 * built, for queries with DO only (RFC 3225, RFC 4035 §3.1): every answer and
 * authority RRset of the zone gets its RRSIG, the apex gets a DNSKEY RRset,
 * and denial of existence is made of "white lies" (RFC 4470): NSEC records
 * synthesized for the one name asked about, whose owner and next name are the
 * name's immediate neighbours, so they cover that name and nothing else. Why
 * NSEC white lies rather than NSEC3 or compact denial: they cannot be walked
 * (each NSEC covers one name that does not exist), they need no hashing, every
 * validator understands them, and unlike compact denial (RFC 9824) they keep
 * the NXDOMAIN rcode that clients and operators look at.
 *
 * Signatures are cached per RRset (zone, owner, type and signing key), one
 * version each: a new version of an RRset (registry churn changes a service's
 * A and SRV sets many times a second) replaces the signature of the old one
 * instead of adding to it, and one not asked for within `idleMs` (the A record
 * of an instance that left) is dropped, so the cache holds about one entry per
 * RRset in use. A signature is made again when its RRset changed or when less than
 * `refreshMs` of it is left; each is valid from an hour before
 * it was made (clock skew) until validityMs later minus a random jitter of up to
 * refreshMs/2, so the signatures of a zone do not all expire together.
 */

export interface SignerOptions {
  readonly validityMs: number;
  readonly refreshMs: number;
  readonly dnskeyTtl: number;
  readonly now?: () => number;
  /** Most cached signatures (the oldest quarter is dropped when reached). */
  readonly maxCached?: number;
  /** Most bytes they may take (keys, the RRsets' content and RRSIG RDATA, estimated); 16 MiB by default. */
  readonly maxCachedBytes?: number;
  /** A cached signature not used for this long is dropped (5 min by default): the RRsets of instances that left are never asked for again. */
  readonly idleMs?: number;
}

/** How often the cache is swept for idle signatures, at most. */
const IDLE_SWEEP_MS = 60_000;

/** Bytes counted per cached entry besides its key and RDATA (the Map entry, the objects). */
const ENTRY_OVERHEAD = 200;

/** The cached signature of one RRset, with the content (TTL and RDATA) it was made over. */
interface CacheEntry {
  readonly content: string;
  readonly sig: CachedSig;
  /** ms since the epoch: last asked for. */
  used: number;
}

interface CachedSig {
  readonly sigs: RRset;
  /** ms since the epoch: made again after this. */
  readonly refreshAt: number;
  readonly keyTags: string;
}

/** The result of signing a response: the response with its DNSSEC records, and until when it may be served as it is. */
export interface Signed {
  readonly response: Response;
  readonly until: number;
}

const SKEW_MS = 3_600_000;

export class ZoneSigner {
  private readonly now: () => number;
  private readonly cache = new Map<string, CacheEntry>();
  /** The signature last given for one RRset object (a zone's data are reused between queries), with its cache entry. */
  private readonly byObject = new WeakMap<RRset, { readonly sig: CachedSig; readonly entry: CacheEntry }>();
  private readonly maxCached: number;
  private readonly maxCachedBytes: number;
  private cachedBytes = 0;
  private readonly idleMs: number;
  private lastSweep: number;
  private readonly views = new WeakMap<ZoneView, SignedView>();
  /** NSECs made for one name asked about: signed each time, never cached (a flood of random names would fill the cache with them; the prebuilt answer keeps a repeat cheap). */
  private readonly oneOff = new WeakSet<RRset>();
  private readonly dnskeys = new Map<string, { version: number; set: RRset; until: number }>();
  /** Counters for /metrics. */
  readonly stats = { signatures: 0, cacheHits: 0 };

  constructor(
    readonly keyring: Keyring,
    private readonly opts: SignerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.maxCached = opts.maxCached ?? 100_000;
    this.maxCachedBytes = opts.maxCachedBytes ?? 16 * 1024 * 1024;
    this.idleMs = opts.idleMs ?? 300_000;
    this.lastSweep = this.now();
  }

  /** view gives `zone` with its DNSKEY RRset at the apex (the only record the signer adds to a zone's data). */
  view(zone: ZoneView): ZoneView {
    let v = this.views.get(zone);
    if (v === undefined) this.views.set(zone, (v = new SignedView(zone, this)));
    return v;
  }

  /** dnskeySet is the zone's DNSKEY RRset: every published key. */
  dnskeySet(zone: string, now = this.now()): RRset {
    const hit = this.dnskeys.get(zone);
    if (hit !== undefined && hit.version === this.keyring.version && now < hit.until) return hit.set;
    const keys = this.keyring.published(zone, now);
    const rdata = keys.map(dnskeyRdataOf);
    const set: RRset = { name: zone, type: TYPE.DNSKEY, ttl: this.opts.dnskeyTtl, data: rdata, rdata };
    this.dnskeys.set(zone, { version: this.keyring.version, set, until: this.keyring.nextChange(zone, now) });
    return set;
  }

  /**
   * signatures returns the RRSIG RRset over `set` (owned by `zone`): the DNSKEY
   * RRset is signed by every active KSK, everything else by the active ZSK. A
   * set synthesized from a wildcard (`expandedFrom`) is signed under the
   * wildcard's owner and the RRSIG is given the name asked about (RFC 4035 §3.1.3.3).
   */
  signatures(set: RRset, zone: string, now = this.now()): CachedSig {
    const signers = this.keyring.signers(zone, now);
    const keys: ZoneKey[] = set.type === TYPE.DNSKEY ? signers.ksks : [signers.zsk];
    const keyTags = keys.map((k) => `${k.keyTag}/${k.createdAt}`).join(',');
    const byObject = this.byObject.get(set);
    if (byObject !== undefined && byObject.sig.keyTags === keyTags && now < byObject.sig.refreshAt) {
      this.stats.cacheHits++;
      byObject.entry.used = now;
      return byObject.sig;
    }
    const source = set.expandedFrom ?? set.name;
    if (this.oneOff.has(set)) return this.sign(set, source, zone, keys, keyTags, now);
    const key = `${zone}\u0000${keyTags}\u0000${source}\u0000${set.type}`;
    const content = `${set.ttl}\u0000${set.rdata.map((r) => r.toString('latin1')).join('\u0001')}`;
    let entry = this.cache.get(key);
    if (entry === undefined || entry.content !== content || now >= entry.sig.refreshAt) {
      if (entry !== undefined) {
        this.cache.delete(key);
        this.cachedBytes -= entryBytes(key, entry);
      }
      if (now - this.lastSweep >= IDLE_SWEEP_MS) this.sweepIdle(now);
      entry = { content, sig: this.sign(set, source, zone, keys, keyTags, now), used: now };
      const size = entryBytes(key, entry);
      if (this.cache.size >= this.maxCached || this.cachedBytes + size > this.maxCachedBytes) this.evict();
      this.cache.set(key, entry);
      this.cachedBytes += size;
    } else {
      this.stats.cacheHits++;
      entry.used = now;
    }
    let hit = entry.sig;
    // One signature serves every name a wildcard answers for: the RRSIG takes the name asked about.
    if (hit.sigs.name !== set.name) hit = { ...hit, sigs: { ...hit.sigs, name: set.name } };
    this.byObject.set(set, { sig: hit, entry });
    return hit;
  }

  /** sign makes the RRSIGs over `set` (signed under `source`, its wildcard owner when expanded) with `keys`. */
  private sign(set: RRset, source: string, zone: string, keys: readonly ZoneKey[], keyTags: string, now: number): CachedSig {
    const expiration = now + this.opts.validityMs - randomInt(0, Math.max(1, Math.floor(this.opts.refreshMs / 2)));
    const validity = { inception: Math.floor((now - SKEW_MS) / 1000), expiration: Math.floor(expiration / 1000) };
    const signed = source === set.name ? set : { ...set, name: source };
    // Copied out of node's shared 8 KiB pool: a cached 100-byte signature must not keep a whole slab alive.
    const rdata = keys.map((k) => ownCopy(signRRset(signed, k.key, zone, validity)));
    this.stats.signatures += rdata.length;
    return { sigs: { name: set.name, type: TYPE.RRSIG, ttl: set.ttl, data: rdata, rdata }, refreshAt: expiration - this.opts.refreshMs, keyTags };
  }

  /** sweepIdle drops the signatures not asked for within idleMs. */
  private sweepIdle(now: number): void {
    this.lastSweep = now;
    for (const [k, e] of this.cache) {
      if (now - e.used < this.idleMs) continue;
      this.cache.delete(k);
      this.cachedBytes -= entryBytes(k, e);
    }
  }

  /** evict drops the oldest quarter of the cached signatures. */
  private evict(): void {
    let drop = Math.ceil(this.cache.size / 4);
    for (const [k, v] of this.cache) {
      if (drop-- <= 0) break;
      this.cache.delete(k);
      this.cachedBytes -= entryBytes(k, v);
    }
  }

  /** cachedSignatures is the number of RRSIG RRsets held. */
  get cachedSignatures(): number {
    return this.cache.size;
  }

  /**
   * signResponse adds DNSSEC records to a response that answerFromZone built for
   * `qname`/`qtype` from `zone` (the deepest local zone of the name), with
   * `local` giving the zone of every other name (a CNAME chain may cross zones).
   */
  signResponse(local: ZoneSource, zone: ZoneView, qname: string, qtype: number, response: Response, now = this.now()): Signed {
    let until = Infinity;
    const zonesUsed = new Set<string>([zone.origin]);
    const sign = (set: RRset, z: ZoneView): RRset => {
      zonesUsed.add(z.origin);
      const s = this.signatures(set, z.origin, now);
      if (s.refreshAt < until) until = s.refreshAt;
      return s.sigs;
    };
    // The zone whose data a set is (and which signs it): none for a child's NS or glue at or below a cut; a DS belongs to the parent's side.
    const zoneOf = (set: RRset, name = set.name): ZoneView | undefined => {
      const z = local.zoneFor(name);
      if (z === undefined || !inZone(name, z.origin)) return undefined;
      const cut = belowCut(z, name);
      if (cut !== undefined) return undefined;
      if (name !== z.origin && set.type !== TYPE.DS && z.node(name)?.has(TYPE.NS) === true) return undefined;
      return z;
    };
    /** The proof a referral needs: the DS (signed) or the NSEC at the cut that shows there is none (RFC 4035 §3.1.4). */
    const cutProof = (ns: RRset, out: RRset[]) => {
      const parent = local.zoneFor(ns.name) ?? zone;
      const ds = parent.node(ns.name)?.get(TYPE.DS);
      if (ds !== undefined) out.push(ds, sign(ds, parent));
      else {
        const nsec = this.nsecAt(parent, ns.name);
        out.push(nsec, sign(nsec, parent));
      }
    };
    const isCut = (set: RRset) => set.type === TYPE.NS && set.name !== (local.zoneFor(set.name)?.origin ?? set.name);
    const answer: RRset[] = [];
    let last = qname;
    let lastZone = zone;
    for (const set of response.answer) {
      answer.push(set);
      const z = zoneOf(set) ?? zone;
      answer.push(sign(set, z));
      if (set.type === TYPE.CNAME && set.name === last && qtype !== TYPE.CNAME) {
        last = lowerName(set.data[0] as string);
        lastZone = local.zoneFor(last) ?? lastZone;
      }
    }
    const authority: RRset[] = [];
    const extra: RRset[] = [];
    // A referral, alone or at the end of a CNAME chain: the child's NS unsigned, with the parent's proof about DS.
    const cuts = response.authority.filter(isCut);
    if (cuts.length > 0) {
      for (const set of response.authority) {
        authority.push(set);
        if (isCut(set)) cutProof(set, authority);
      }
    } else {
      for (const set of response.authority) {
        authority.push(set);
        const z = zoneOf(set);
        if (z !== undefined) authority.push(sign(set, z));
      }
      // Why the answer ends where it does: NXDOMAIN, NODATA, or a wildcard that had to be used.
      const denial = response.rcode === RCODE.NXDOMAIN || (response.rcode === RCODE.NOERROR && !answer.some((s) => s.name === last && (s.type === qtype || qtype === TYPE.ANY) && s.type !== TYPE.RRSIG));
      if (denial) {
        for (const nsec of this.denial(lastZone, last, response.rcode === RCODE.NXDOMAIN)) authority.push(nsec, sign(nsec, lastZone));
      }
    }
    for (const set of response.answer) {
      if (set.expandedFrom === undefined) continue;
      const z = zoneOf(set, set.expandedFrom) ?? zone;
      const nsec = this.covering(z, nextCloser(set.name, parentName(set.expandedFrom)));
      this.oneOff.add(nsec);
      if (!authority.some((s) => s.type === TYPE.NSEC && s.name === nsec.name)) authority.push(nsec, sign(nsec, z));
    }
    for (const set of response.additional) {
      extra.push(set);
      const z = zoneOf(set);
      if (z !== undefined) extra.push(sign(set, z));
    }
    let keysUntil = Infinity;
    for (const origin of zonesUsed) keysUntil = Math.min(keysUntil, this.keyring.nextChange(origin, now));
    return { response: { ...response, answer, authority, additional: extra }, until: Math.min(until, keysUntil) };
  }

  /**
   * denial gives the NSEC records that prove why `name` has no answer in `zone`:
   *   - the name exists (data or an empty non-terminal): one NSEC at the name
   *     listing its types (NODATA, RFC 4035 §3.1.3.1 and §3.1.3.2);
   *   - it does not, and a wildcard at its closest encloser lacks the type: an
   *     NSEC covering the next closer name and the NSEC at the wildcard (§3.1.3.4);
   *   - it does not (NXDOMAIN): an NSEC covering the next closer name and one
   *     covering the wildcard at the closest encloser (§3.1.3.2).
   */
  private denial(zone: ZoneView, name: string, nxdomain: boolean): RRset[] {
    if (!inZone(name, zone.origin)) return [];
    if (zone.exists(name) || name === zone.origin) return [this.nsecAt(zone, name)];
    let encloser = parentName(name);
    while (encloser !== zone.origin && !zone.exists(encloser)) encloser = parentName(encloser);
    const wildcard = encloser === '' ? '*' : `*.${encloser}`;
    const cover = this.covering(zone, nextCloser(name, encloser));
    this.oneOff.add(cover);
    if (!nxdomain && zone.exists(wildcard)) return [cover, this.nsecAt(zone, wildcard)];
    return [cover, this.covering(zone, wildcard)];
  }

  /** nsecAt is the NSEC owned by an existing name: its types, and the next name just after it (RFC 4470 §3). */
  private nsecAt(zone: ZoneView, name: string): RRset {
    const types = new Set<number>([TYPE.RRSIG, TYPE.NSEC]);
    for (const t of zone.node(name)?.keys() ?? []) types.add(t);
    if (name === zone.origin) types.add(TYPE.DNSKEY);
    const rd = nsecRdata(successor(name), [...types].sort((a, b) => a - b));
    return { name, type: TYPE.NSEC, ttl: negativeTtl(zone), data: [rd], rdata: [rd] };
  }

  /**
   * covering is an NSEC whose owner is just before `name` and whose next name is
   * just after it and its subtree: it covers nothing else. The owner is made up
   * (RFC 4470 §4.1) unless the immediate predecessor is a name of the zone (the
   * parent, for a first label of one zero byte): then it is that name, with its
   * own types in the bitmap, so no signed NSEC ever misstates a real name.
   */
  private covering(zone: ZoneView, name: string): RRset {
    const parent = parentName(name);
    const label = name.slice(0, name.length - parent.length - (parent === '' ? 0 : 1));
    const b = labelBytes(label);
    let owner: string;
    if (b.length === 1 && b[0] === 0) {
      // Nothing sorts between a name and "\000.<name>".
      owner = parent;
    } else if (b[b.length - 1] === 0) {
      // Between "a.<parent>" and "a\000.<parent>" lie only the names below "a.<parent>": the greatest of them.
      const prefix = joinName(labelText(b.subarray(0, b.length - 1)), parent);
      const room = Math.min(63, 254 - wireLength(prefix));
      owner = room >= 1 ? joinName(labelText(Buffer.alloc(room, 0xff)), prefix) : prefix;
    } else {
      owner = joinName(predecessorLabel(label, Math.min(63, 254 - wireLength(parent))), parent);
    }
    const types = new Set<number>([TYPE.RRSIG, TYPE.NSEC]);
    if (zone.exists(owner) || owner === zone.origin) {
      for (const t of zone.node(owner)?.keys() ?? []) types.add(t);
      if (owner === zone.origin) types.add(TYPE.DNSKEY);
    }
    const rd = nsecRdata(joinName(successorLabel(label), parent), [...types].sort((x, y) => x - y));
    return { name: owner, type: TYPE.NSEC, ttl: negativeTtl(zone), data: [rd], rdata: [rd] };
  }
}

/** A zone as signed: its data plus the DNSKEY RRset at the apex. */
class SignedView implements ZoneView {
  readonly origin: string;
  private apex: { inner: ReadonlyMap<number, RRset> | undefined; dnskey: RRset; node: ReadonlyMap<number, RRset> } | undefined;

  constructor(
    private readonly inner: ZoneView,
    private readonly signer: ZoneSigner,
  ) {
    this.origin = inner.origin;
  }

  node(name: string): ReadonlyMap<number, RRset> | undefined {
    if (name !== this.origin) return this.inner.node(name);
    const inner = this.inner.node(name);
    const dnskey = this.signer.dnskeySet(this.origin);
    if (this.apex === undefined || this.apex.inner !== inner || this.apex.dnskey !== dnskey) {
      const node = new Map(inner ?? []);
      node.set(TYPE.DNSKEY, dnskey);
      this.apex = { inner, dnskey, node };
    }
    return this.apex.node;
  }

  exists(name: string): boolean {
    return this.inner.exists(name);
  }

  soa(): RRset {
    return this.inner.soa();
  }
}

/** The negative TTL (RFC 2308 §5, RFC 9077): min(SOA TTL, SOA MINIMUM). */
function negativeTtl(zone: ZoneView): number {
  const soa = zone.soa();
  return Math.min(soa.ttl, (soa.data[0] as { minimum: number }).minimum);
}

/** belowCut returns the delegation point above `name` in `zone` (its data there is glue or the child's), if any. */
export function belowCut(zone: ZoneView, name: string): string | undefined {
  for (let n = parentName(name); inZone(n, zone.origin) && n !== zone.origin; n = parentName(n)) {
    if (zone.node(n)?.has(TYPE.NS) === true) return n;
    if (n === '') break;
  }
  return undefined;
}

/** nextCloser is the ancestor of `name` (or the name) one label below `encloser`. */
function nextCloser(name: string, encloser: string): string {
  let n = name;
  while (parentName(n) !== encloser && n !== '') n = parentName(n);
  return n;
}

const joinName = (label: string, parent: string): string => (parent === '' ? label : `${label}.${parent}`);

function wireLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}

/** Label bytes in canonical (lower-case) form, and back to the internal form (latin1, "." as U+2024). */
const labelBytes = (label: string): Buffer => Buffer.from(asciiLower(label.replaceAll('\u2024', '.')), 'latin1');
const labelText = (b: Buffer): string => b.toString('latin1').replaceAll('.', '\u2024');

/**
 * predecessorLabel is the greatest label below `label` in canonical order that
 * fits in `room` bytes: the last byte lowered by one (never onto an upper-case
 * letter, which sorts as lower case) and filled up with 0xff (RFC 4470 §4.1).
 * The label's last byte is not zero (covering() handles those).
 */
function predecessorLabel(label: string, room: number): string {
  const b = labelBytes(label);
  let dec = b[b.length - 1]! - 1;
  if (dec >= 0x41 && dec <= 0x5a) dec = 0x40;
  const out = Buffer.alloc(Math.max(room, b.length), 0xff);
  b.copy(out, 0, 0, b.length - 1);
  out[b.length - 1] = dec;
  return labelText(out);
}

/** successorLabel is the least label above `label` and every name below it: the label with a zero byte appended, or (63 bytes long) its last byte raised. */
function successorLabel(label: string): string {
  const b = labelBytes(label);
  if (b.length < 63) return labelText(Buffer.concat([b, Buffer.from([0])]));
  let i = b.length - 1;
  while (i >= 0 && b[i] === 0xff) i--;
  const out = Buffer.from(b.subarray(0, i + 1));
  let inc = out[i]! + 1;
  if (inc >= 0x41 && inc <= 0x5a) inc = 0x5b;
  out[i] = inc;
  return labelText(out);
}

/**
 * successor is the name right after `name` in canonical order: "\000.<name>"
 * (RFC 4470 §4.1); when that would be too long, `name` can have no descendants
 * and the least label after its own, under the same parent, follows it.
 */
function successor(name: string): string {
  if (wireLength(name) + 2 <= 255) return joinName('\u0000', name);
  const parent = parentName(name);
  return joinName(successorLabel(name.slice(0, name.length - parent.length - 1)), parent);
}

function entryBytes(key: string, e: CacheEntry): number {
  let n = key.length + e.content.length + ENTRY_OVERHEAD;
  for (const r of e.sig.sigs.rdata) n += r.length;
  return n;
}
