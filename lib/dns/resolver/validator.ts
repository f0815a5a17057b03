import { lowerName } from '../authority';
import { RCODE, TYPE } from '../constants';
import type { TrustAnchor } from '../dnssec/anchors';
import {
  dsMatchesKey,
  nsec3ProvesNodata,
  nsec3ProvesNoDs,
  nsec3ProvesNxdomain,
  nsec3ProvesWildcardAnswer,
  parseDnskey,
  parseRrsig,
  provesNodata,
  provesNoDs,
  provesNxdomain,
  provesWildcardAnswer,
  verifyRRset,
  type DenialRecord,
  type Proof,
} from '../dnssec/verify';
import { labelCount } from '../dnssec/sign';
import type { RRset } from '../rrset';
import { inZone, parentName } from '../zone';
import type { Resolution } from './resolver';

/*
 * DNSSEC validation of resolved answers (RFC 4033 §5, RFC 4035 §5): a chain of
 * trust from the configured anchors down to the zone that signed each RRset,
 * DS by DS and DNSKEY by DNSKEY, and the NSEC/NSEC3 proofs of negative answers
 * and wildcard expansions. An answer is
 *   secure    every RRset verified with a key the chain vouches for;
 *   insecure  some RRset lies below a delegation proven to have no DS (or
 *             outside every anchor), the rest verified;
 *   bogus     anything else: a bad, missing or expired signature where the
 *             chain says there must be one, a denial that does not prove.
 * Zone key states and answer verdicts are remembered for their TTLs.
 */

export type Security = 'secure' | 'insecure' | 'bogus';

export interface Verdict {
  readonly security: Security;
  readonly reason?: string;
  /** ms since the epoch: the verdict holds until then. */
  readonly until: number;
}

/** A verdict as held: tied to the very records it judged (their RDATA arrays, shared by the cache's copies). */
interface HeldVerdict extends Verdict {
  readonly data: readonly (readonly Buffer[])[];
}

/** A zone's key state: its verified DNSKEYs when secure. */
type KeyState = { readonly security: 'secure'; readonly keys: readonly Buffer[]; readonly until: number } | { readonly security: 'insecure' | 'bogus'; readonly reason: string; readonly until: number };

/** Fetches (name, type) without validation: the resolver's own lookup with its cache. */
export type Fetch = (name: string, type: number) => Promise<Resolution>;

/** How long a bogus key state or verdict is kept (RFC 4035 §4.7 suggests limiting the retries of bogus data). */
const BOGUS_HOLD_MS = 30_000;
const MAX_HELD = 50_000;
/** A verdict is held at most this long, whatever the TTLs. */
const MAX_VERDICT_MS = 3_600_000;
/**
 * Work bounds against KeyTrap-style responses (CVE-2023-50387, -50868): RRSIGs
 * tried per RRset, keys tried per RRSIG (key-tag collisions), NSEC/NSEC3 RRsets
 * and signatures looked at per proof.
 */
const MAX_SIGS_PER_SET = 8;
const MAX_KEYS_PER_TAG = 4;
const MAX_DENIAL_SETS = 16;
const MAX_SIGS_PER_DENIAL = 2;

export class Validator {
  private readonly keyStates = new Map<string, KeyState>();
  private readonly pending = new Map<string, Promise<KeyState>>();
  private readonly verdicts = new Map<string, HeldVerdict>();
  readonly stats = { secure: 0, insecure: 0, bogus: 0 };

  constructor(
    private readonly anchors: readonly TrustAnchor[],
    private readonly fetch: Fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * verdictFor is the remembered verdict about `r`, the answer to (name, type),
   * if still valid and about these very records: data replaced in the cache since
   * (by a later response, spoofed or not) has no verdict until validated again.
   * With `allowExpired` (serve-stale), a verdict past its time still counts.
   */
  verdictFor(name: string, type: number, r: Resolution, allowExpired = false): Verdict | undefined {
    const key = `${type}/${name}`;
    const v = this.verdicts.get(key);
    if (v === undefined) return undefined;
    if (v.until <= this.now() && !allowExpired) return undefined;
    const data = dataOf(r);
    if (data.length !== v.data.length || data.some((d, i) => d !== v.data[i])) return undefined;
    return v;
  }

  /** flush forgets every key state and verdict (with a cache flush). */
  flush(): void {
    this.keyStates.clear();
    this.verdicts.clear();
  }

  /** validate judges a resolution of (name, type) and remembers the verdict for the answer's shortest TTL. */
  async validate(name: string, type: number, r: Resolution): Promise<Verdict> {
    let v: Verdict;
    try {
      v = await this.judge(name, type, r);
    } catch (err) {
      v = { security: 'bogus', reason: `validation failed: ${(err as Error).message}`, until: this.now() + BOGUS_HOLD_MS };
    }
    v = { ...v, until: Math.min(v.until, this.now() + MAX_VERDICT_MS) };
    this.stats[v.security]++;
    if (this.verdicts.size >= MAX_HELD) this.verdicts.delete(this.verdicts.keys().next().value as string);
    this.verdicts.set(`${type}/${name}`, { ...v, data: dataOf(r) });
    return v;
  }

  private async judge(name: string, type: number, r: Resolution): Promise<Verdict> {
    const now = this.now();
    let until = Infinity;
    let insecure: string | undefined;
    const sets = [...r.answer, ...r.authority];
    for (const set of sets) until = Math.min(until, now + set.ttl * 1000);
    // Each RRset of the chain; a CNAME synthesized from a DNAME has no signature of its own (RFC 6672 §5.3.1).
    for (const set of r.answer) {
      if (set.type === TYPE.CNAME && (set.sigs === undefined || set.sigs.length === 0) && r.answer.some((d) => d.type === TYPE.DNAME && inZone(set.name, d.name) && d.name !== set.name)) continue;
      const s = await this.checkSet(set);
      if (s.security === 'bogus') return { security: 'bogus', reason: s.reason, until: now + BOGUS_HOLD_MS };
      if (s.security === 'insecure') insecure ??= s.reason;
      if (s.security === 'secure' && s.wildcard) {
        const d = records(await this.verifiedDenial(set, s.zone));
        const proof = d.nsec3.length > 0 ? nsec3ProvesWildcardAnswer(set.name, s.wildcardLabels, d.nsec3, s.zone) : provesWildcardAnswer(set.name, s.wildcardLabels, d.nsec, s.zone);
        if (!proof.ok) return { security: 'bogus', reason: `wildcard answer for ${set.name} without proof that the name does not exist: ${proof.reason}`, until: now + BOGUS_HOLD_MS };
      }
    }
    // A negative answer: the SOA, and the NSEC/NSEC3 records that prove it.
    if (r.rcode === RCODE.NXDOMAIN || (r.rcode === RCODE.NOERROR && !r.answer.some((s) => s.type === type || type === TYPE.ANY))) {
      const last = lastName(name, r.answer);
      const soa = r.authority.find((s) => s.type === TYPE.SOA);
      if (soa === undefined) {
        const s = await this.securityOfName(last);
        if (s.security === 'secure') return { security: 'bogus', reason: `negative answer for ${last} without SOA in a signed zone`, until: now + BOGUS_HOLD_MS };
        insecure ??= s.reason;
      } else {
        const s = await this.checkSet(soa);
        if (s.security === 'bogus') return { security: 'bogus', reason: s.reason, until: now + BOGUS_HOLD_MS };
        if (s.security === 'insecure') insecure ??= s.reason;
        else {
          const d = records(await this.verifiedDenial(soa, s.zone));
          const proof = r.rcode === RCODE.NXDOMAIN ? proveNxdomain(last, d, s.zone) : proveNodata(last, type, d, s.zone);
          if (!proof.ok && proof.insecure) insecure ??= `${last}: ${proof.reason}`;
          else if (!proof.ok) return { security: 'bogus', reason: `the denial of ${last} does not prove: ${proof.reason}`, until: now + BOGUS_HOLD_MS };
        }
      }
    }
    return insecure === undefined ? { security: 'secure', until } : { security: 'insecure', reason: insecure, until };
  }

  /**
   * checkSet verifies one RRset: with its RRSIGs against the signer's keys when
   * the chain makes the signer secure; without RRSIGs it is insecure only when
   * its name is proven to lie in an unsigned zone.
   */
  private async checkSet(set: RRset): Promise<{ security: Security; reason: string; zone: string; wildcard: boolean; wildcardLabels: number }> {
    // Only an RRSIG by a zone at or above the owner (strictly above, for DS: the parent's side) can vouch for it (RFC 4035 §5.3.1).
    const sigs = (set.sigs ?? []).filter((sig) => {
      try {
        const signer = parseRrsig(sig).signer;
        return inZone(set.name, signer) && (set.type !== TYPE.DS || signer !== set.name);
      } catch {
        return false;
      }
    });
    if (sigs.length === 0) {
      // A DS RRset belongs to the parent's side of the cut (RFC 4035 §2.4).
      const s = await this.securityOfName(set.type === TYPE.DS ? parentName(set.name) : set.name);
      if (s.security === 'secure') return { security: 'bogus', reason: `no RRSIG over ${set.name}/${set.type} in a signed zone`, zone: '', wildcard: false, wildcardLabels: 0 };
      return { security: s.security, reason: s.reason ?? '', zone: '', wildcard: false, wildcardLabels: 0 };
    }
    // The deepest signer named is the zone (a set is signed by one zone; other signers' RRSIGs are ignored).
    let signer = '';
    for (const sig of sigs) {
      const sn = parseRrsig(sig).signer;
      if (sn.length > signer.length || (signer === '' && sn !== '')) signer = sn;
    }
    const keys = await this.keysOf(signer);
    if (keys.security !== 'secure') return { security: keys.security, reason: keys.reason, zone: signer, wildcard: false, wildcardLabels: 0 };
    const reasons: string[] = [];
    const nowSec = Math.floor(this.now() / 1000);
    for (const sig of sigs.filter((x) => parseRrsig(x).signer === signer).slice(0, MAX_SIGS_PER_SET)) {
      const tag = parseRrsig(sig).keyTag;
      const candidates = keys.keys.filter((k) => keyTagOf(k) === tag).slice(0, MAX_KEYS_PER_TAG);
      const result = verifyRRset(set, sig, candidates, signer, nowSec);
      if (result === 'ok') {
        const labels = parseRrsig(sig).labels;
        return { security: 'secure', reason: '', zone: signer, wildcard: labels < labelCount(set.name), wildcardLabels: labels };
      }
      reasons.push(result);
    }
    return { security: 'bogus', reason: `RRSIG over ${set.name}/${set.type} by ${signer || '.'}: ${reasons.join(', ')}`, zone: signer, wildcard: false, wildcardLabels: 0 };
  }

  /** verifiedDenial returns the NSEC/NSEC3 sets attached to `set` whose signatures verify with the zone's keys (others are ignored). */
  private async verifiedDenial(set: RRset, zone: string): Promise<RRset[]> {
    const keys = await this.keysOf(zone);
    if (keys.security !== 'secure') return [];
    const nowSec = Math.floor(this.now() / 1000);
    return (set.denial ?? [])
      .slice(0, MAX_DENIAL_SETS)
      .filter((n) => inZone(n.name, zone) && (n.sigs ?? []).slice(0, MAX_SIGS_PER_DENIAL).some((sig) => verifyRRset(n, sig, keys.keys.filter((k) => keyTagOf(k) === sigTag(sig)).slice(0, MAX_KEYS_PER_TAG), zone, nowSec) === 'ok'));
  }

  /** anchorFor is the deepest trust anchor at or above `name`. */
  private anchorFor(name: string): string | undefined {
    let best: string | undefined;
    for (const a of this.anchors) if (inZone(name, a.owner) && (best === undefined || a.owner.length > best.length)) best = a.owner;
    return best;
  }

  /**
   * securityOfName says whether `name` lies in a signed zone: walking down from
   * its anchor, each ancestor is asked for DS; a delegation proven to have no DS
   * makes everything below it insecure.
   */
  private async securityOfName(name: string): Promise<{ security: Security; reason?: string }> {
    const anchor = this.anchorFor(name);
    if (anchor === undefined) return { security: 'insecure', reason: `no trust anchor above ${name || '.'}` };
    const below: string[] = [];
    for (let n = name; n !== anchor; n = parentName(n)) below.unshift(n);
    for (const n of below) {
      const s = await this.keysOf(n, true);
      if (s.security === 'insecure') return { security: 'insecure', reason: s.reason };
      if (s.security === 'bogus') return { security: 'bogus', reason: s.reason };
    }
    return { security: 'secure' };
  }

  /**
   * keysOf gives the key state of zone `zone`; with `cutOnly`, a name that
   * turns out not to be a zone cut (no DS, and the proof shows no delegation)
   * is reported secure (it belongs to its parent's zone).
   */
  private keysOf(zone: string, cutOnly = false): Promise<KeyState> {
    const key = `${cutOnly ? 'c' : 'z'}/${zone}`;
    const held = this.keyStates.get(key);
    if (held !== undefined && held.until > this.now()) return Promise.resolve(held);
    let p = this.pending.get(key);
    if (p === undefined) {
      p = this.loadKeys(zone, cutOnly)
        .catch((err: unknown): KeyState => ({ security: 'bogus', reason: `keys of ${zone || '.'}: ${(err as Error).message}`, until: this.now() + BOGUS_HOLD_MS }))
        .then((s) => {
          if (this.keyStates.size >= MAX_HELD) this.keyStates.delete(this.keyStates.keys().next().value as string);
          this.keyStates.set(key, s);
          return s;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async loadKeys(zone: string, cutOnly: boolean): Promise<KeyState> {
    const now = this.now();
    const bogus = (reason: string): KeyState => ({ security: 'bogus', reason, until: now + BOGUS_HOLD_MS });
    const anchor = this.anchorFor(zone);
    if (anchor === undefined) return { security: 'insecure', reason: `no trust anchor above ${zone || '.'}`, until: now + 3_600_000 };
    let dsRdata: Buffer[];
    let until = Infinity;
    if (anchor === zone) {
      const own = this.anchors.filter((a) => a.owner === zone);
      const direct = own.filter((a) => a.type === TYPE.DNSKEY).map((a) => a.rdata);
      dsRdata = own.filter((a) => a.type === TYPE.DS).map((a) => a.rdata);
      if (direct.length > 0 && dsRdata.length === 0) return this.withDnskeys(zone, (k) => direct.some((d) => d.equals(k)), until);
    } else {
      // The parent vouches for the DS RRset (its RRSIG names the parent's zone), or proves there is none.
      const r = await this.fetch(zone, TYPE.DS);
      const ds = r.answer.find((s) => s.type === TYPE.DS && s.name === zone);
      if (ds !== undefined) {
        const checked = await this.checkSet(ds);
        if (checked.security !== 'secure') return checked.security === 'insecure' ? { security: 'insecure', reason: checked.reason, until: now + ds.ttl * 1000 } : bogus(checked.reason);
        dsRdata = [...ds.rdata];
        until = now + ds.ttl * 1000;
      } else {
        if (r.rcode === RCODE.SERVFAIL) return bogus(`DS of ${zone}: ${r.reason ?? 'SERVFAIL'}`);
        const soa = r.authority.find((s) => s.type === TYPE.SOA);
        if (soa === undefined) return bogus(`no DS for ${zone} and no signed denial`);
        // The denial must come from the parent's side of the cut (RFC 4035 §3.1.4.1): a child-side answer proves nothing about DS.
        if (soa.name === zone || !inZone(zone, soa.name)) return bogus(`the DS denial for ${zone} comes from ${soa.name || '.'}, not its parent`);
        const checked = await this.checkSet(soa);
        if (checked.security !== 'secure') return checked.security === 'insecure' ? { security: 'insecure', reason: checked.reason, until: now + soa.ttl * 1000 } : bogus(checked.reason);
        const d = records(await this.verifiedDenial(soa, checked.zone));
        const ttl = now + soa.ttl * 1000;
        const noDs = d.nsec3.length > 0 ? nsec3ProvesNoDs(zone, d.nsec3, checked.zone) : provesNoDs(zone, d.nsec);
        if (noDs.ok) return { security: 'insecure', reason: `${zone} is delegated without DS (proven${noDs.optOut === true ? ' by opt-out' : ''})`, until: ttl };
        if (noDs.insecure) return { security: 'insecure', reason: `${zone}: ${noDs.reason}`, until: ttl };
        // Not a delegation: an ordinary name (or empty non-terminal) of the parent's zone.
        if (cutOnly && (r.rcode === RCODE.NOERROR || r.rcode === RCODE.NXDOMAIN)) {
          const plain = r.rcode === RCODE.NXDOMAIN ? proveNxdomain(zone, d, checked.zone) : proveNodata(zone, TYPE.DS, d, checked.zone);
          if (plain.ok) return { security: 'secure', keys: [], until: ttl };
        }
        return bogus(`no DS for ${zone}, and the denial does not prove it: ${noDs.reason}`);
      }
    }
    return this.withDnskeys(zone, (k) => dsRdata.some((d) => dsMatchesKey(zone, d, k)), until);
  }

  /** withDnskeys fetches the zone's DNSKEY RRset and accepts it when a key that `trusted` vouches for signs it. */
  private async withDnskeys(zone: string, trusted: (dnskey: Buffer) => boolean, until: number): Promise<KeyState> {
    const now = this.now();
    const r = await this.fetch(zone, TYPE.DNSKEY);
    const set = r.answer.find((s) => s.type === TYPE.DNSKEY && s.name === zone);
    const bogus = (reason: string): KeyState => ({ security: 'bogus', reason, until: now + BOGUS_HOLD_MS });
    if (set === undefined) return bogus(`no DNSKEY for ${zone || '.'} (${r.reason ?? `rcode ${r.rcode}`})`);
    const entry = set.rdata.filter((k) => trusted(k) && (parseDnskey(k).flags & 0x0100) !== 0);
    if (entry.length === 0) return bogus(`no DNSKEY of ${zone || '.'} matches its DS or anchor`);
    const nowSec = Math.floor(now / 1000);
    const reasons: string[] = [];
    for (const sig of (set.sigs ?? []).slice(0, MAX_SIGS_PER_SET)) {
      const result = verifyRRset(set, sig, entry, zone, nowSec);
      if (result === 'ok') return { security: 'secure', keys: set.rdata, until: Math.min(until, now + set.ttl * 1000) };
      reasons.push(result);
    }
    return bogus(`the DNSKEY RRset of ${zone || '.'} is not signed by a trusted key${reasons.length > 0 ? `: ${reasons.join(', ')}` : ''}`);
  }

}

interface Records {
  readonly nsec: DenialRecord[];
  readonly nsec3: DenialRecord[];
}

/** records splits denial RRsets into NSEC and NSEC3 records. */
function records(sets: readonly RRset[]): Records {
  const out: Records = { nsec: [], nsec3: [] };
  for (const s of sets) for (const rdata of s.rdata) (s.type === TYPE.NSEC3 ? out.nsec3 : out.nsec).push({ owner: s.name, rdata });
  return out;
}

/** A zone uses NSEC or NSEC3; the proof follows what it sent. */
const proveNxdomain = (name: string, d: Records, zone: string): Proof => (d.nsec3.length > 0 ? nsec3ProvesNxdomain(name, d.nsec3, zone) : provesNxdomain(name, d.nsec, zone));
const proveNodata = (name: string, type: number, d: Records, zone: string): Proof =>
  d.nsec3.length > 0 ? nsec3ProvesNodata(name, type, d.nsec3, zone) : provesNodata(name, type, d.nsec, zone);

/** dataOf lists the RDATA arrays of a resolution's sets (and their proofs): a verdict is about these very records. */
function dataOf(r: Resolution): (readonly Buffer[])[] {
  const out: (readonly Buffer[])[] = [];
  for (const set of [...r.answer, ...r.authority]) {
    out.push(set.rdata);
    for (const d of set.denial ?? []) out.push(d.rdata);
  }
  return out;
}

const tagCache = new WeakMap<Buffer, number>();
/** keyTagOf is a DNSKEY RDATA's key tag (remembered per buffer). */
function keyTagOf(dnskey: Buffer): number {
  let t = tagCache.get(dnskey);
  if (t === undefined) tagCache.set(dnskey, (t = parseDnskey(dnskey).keyTag));
  return t;
}

const sigTag = (rrsig: Buffer): number => (rrsig.length >= 18 ? rrsig.readUInt16BE(16) : -1);

/** lastName follows the CNAME chain of an answer from `name` to the name it ends at. */
function lastName(name: string, answer: readonly RRset[]): string {
  let n = name;
  for (let i = 0; i < 16; i++) {
    const c = answer.find((s) => s.type === TYPE.CNAME && s.name === n);
    if (c === undefined) return n;
    n = lowerName(c.data[0] as string);
  }
  return n;
}
