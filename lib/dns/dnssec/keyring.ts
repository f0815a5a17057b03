import { dnskeyRdata, dsRdata, exportPrivateKey, FLAGS, fromPrivateKey, generateKey, type Algorithm, type SigningKey } from './keys';

/*
 * The zones' signing keys and their timeline. Every zone has a KSK (flags 257,
 * signs the DNSKEY RRset; its DS goes to the parent) and ZSKs (flags 256, sign
 * everything else). A key's state follows from four times, as BIND's key
 * timing metadata does (RFC 7583 §3.3):
 *
 *   publishAt   ≤ now < removeAt      the key is in the DNSKEY RRset
 *   activateAt  ≤ now < inactiveAt    the key signs
 *
 * A ZSK rollover is the pre-publication method (RFC 6781 §4.1.1.1, RFC 7583
 * §3.2): the new ZSK is published at once and starts signing only after the
 * DNSKEY TTL and the propagation delay have passed, so every validator that
 * sees its signatures has it in the DNSKEY RRset it holds; the old ZSK stops
 * signing at that moment and stays published for the longest TTL in the zone
 * plus the propagation delay, so every signature it made can still be checked
 * until it has left every cache. No answer is ever without a usable signature.
 */

export type KeyRole = 'ksk' | 'zsk';

/** One key of one zone, as kept in the database (private key as PKCS#8 DER). */
export interface StoredKey {
  readonly zone: string;
  readonly keyTag: number;
  readonly role: KeyRole;
  readonly algorithm: Algorithm;
  readonly privateKey: Buffer;
  readonly createdAt: number;
  readonly publishAt: number;
  readonly activateAt: number;
  /** ms since the epoch; null = not scheduled. */
  readonly inactiveAt: number | null;
  readonly removeAt: number | null;
}

/** KeyJournal keeps the keys durably; every call commits before it returns. */
export interface KeyJournal {
  load(): StoredKey[];
  insert(key: StoredKey): void;
  schedule(zone: string, keyTag: number, createdAt: number, inactiveAt: number | null, removeAt: number | null): void;
  remove(zone: string, keyTag: number, createdAt: number): void;
}

export interface ZoneKey extends Omit<StoredKey, 'privateKey'> {
  readonly key: SigningKey;
}

/** A key as the API shows it: public parts and timeline only. */
export interface KeyInfo {
  readonly keyTag: number;
  readonly role: KeyRole;
  readonly algorithm: Algorithm;
  readonly state: 'published' | 'active' | 'retired' | 'removed';
  readonly dnskey: string;
  /** The DS record for the parent (KSKs only), digest type 2 (SHA-256). */
  readonly ds?: string;
  readonly createdAt: string;
  readonly publishAt: string;
  readonly activateAt: string;
  readonly inactiveAt: string | null;
  readonly removeAt: string | null;
}

export interface KeyringOptions {
  readonly algorithm: Algorithm;
  readonly dnskeyTtl: number;
  readonly propagationDelayMs: number;
  /** A ZSK older than this is rolled over by maintain(); 0 = only on request. */
  readonly zskLifetimeMs: number;
  /** The longest TTL of the zone's data (including negative answers), in seconds: how long an old ZSK's signatures can live in caches. */
  readonly maxTtl: (zone: string) => number;
  readonly now?: () => number;
}

const FIRST_KEYS_BACKDATE_MS = 3_600_000;

/** How long the keys of a zone no longer served are kept. */
const UNSERVED_GRACE_MS = 86_400_000;

/** RolloverError: a rollover cannot start now (one is under way). */
export class RolloverError extends Error {}

export class Keyring {
  private readonly byZone = new Map<string, ZoneKey[]>();
  private readonly now: () => number;
  /** Grows with every key change; signers cache by it. */
  version = 0;
  private readonly listeners: (() => void)[] = [];
  /** Zones seen unserved by maintain(), and since when. */
  private readonly unserved = new Map<string, number>();

  constructor(
    private readonly journal: KeyJournal,
    private readonly opts: KeyringOptions,
  ) {
    this.now = opts.now ?? Date.now;
    for (const k of journal.load()) {
      const { privateKey, ...rest } = k;
      const key = fromPrivateKey(k.algorithm, k.role === 'ksk' ? FLAGS.KSK : FLAGS.ZSK, privateKey);
      this.list(k.zone).push({ ...rest, key });
    }
  }

  /** onChange is called after keys are made, scheduled or removed (the responder drops its prebuilt answers). */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  private list(zone: string): ZoneKey[] {
    let l = this.byZone.get(zone);
    if (l === undefined) this.byZone.set(zone, (l = []));
    return l;
  }

  /** keys returns a zone's keys, making a KSK and a ZSK when the zone has none usable (its first signing, or an algorithm change). */
  keys(zone: string): readonly ZoneKey[] {
    const l = this.list(zone);
    if (!l.some((k) => k.role === 'ksk') || !l.some((k) => k.role === 'zsk') || l.some((k) => k.algorithm !== this.opts.algorithm)) {
      // A new algorithm in the config replaces the zone's keys (the parent's DS must then be replaced too).
      for (const k of l.filter((k) => k.algorithm !== this.opts.algorithm)) {
        this.journal.remove(zone, k.keyTag, k.createdAt);
        this.replace(zone, k, undefined);
      }
      // A zone's first keys count from an hour back (like a signature's inception): a caller that took
      // its `now` a moment before asking must find them published and active, never a zone without keys.
      const since = this.now() - FIRST_KEYS_BACKDATE_MS;
      for (const role of ['ksk', 'zsk'] as const) if (!l.some((k) => k.role === role)) this.add(zone, role, since, since);
      this.changed();
    }
    return l;
  }

  private add(zone: string, role: KeyRole, publishAt: number, activateAt: number): ZoneKey {
    const key = generateKey(this.opts.algorithm, role === 'ksk' ? FLAGS.KSK : FLAGS.ZSK);
    const now = this.now();
    const stored: StoredKey = {
      zone,
      keyTag: key.keyTag,
      role,
      algorithm: this.opts.algorithm,
      privateKey: exportPrivateKey(key),
      createdAt: now,
      publishAt,
      activateAt,
      inactiveAt: null,
      removeAt: null,
    };
    this.journal.insert(stored);
    const { privateKey: _secret, ...rest } = stored;
    const zk: ZoneKey = { ...rest, key };
    this.list(zone).push(zk);
    return zk;
  }

  private changed(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  /** published lists the keys in the zone's DNSKEY RRset at `now`. */
  published(zone: string, now = this.now()): ZoneKey[] {
    return this.keys(zone).filter((k) => k.publishAt <= now && (k.removeAt === null || now < k.removeAt));
  }

  /** signers returns the keys that sign at `now`: every active KSK (for DNSKEY) and the newest active ZSK. */
  signers(zone: string, now = this.now()): { ksks: ZoneKey[]; zsk: ZoneKey } {
    const keys = this.keys(zone);
    const active = keys.filter((k) => k.activateAt <= now && (k.inactiveAt === null || now < k.inactiveAt));
    // Never without a signer: should the clock step back before a key's activation, the newest key of the role signs.
    const newest = (role: KeyRole) => keys.filter((k) => k.role === role).sort((a, b) => b.activateAt - a.activateAt);
    const ksks = active.filter((k) => k.role === 'ksk');
    const zsks = active.filter((k) => k.role === 'zsk').sort((a, b) => b.activateAt - a.activateAt);
    return { ksks: ksks.length > 0 ? ksks : newest('ksk').slice(0, 1), zsk: zsks[0] ?? newest('zsk')[0]! };
  }

  /** nextChange is the first key time after `now` in the zone (an answer built now may be served until then); Infinity when none. */
  nextChange(zone: string, now = this.now()): number {
    let next = Infinity;
    for (const k of this.list(zone)) {
      for (const t of [k.publishAt, k.activateAt, k.inactiveAt, k.removeAt]) if (t !== null && t > now && t < next) next = t;
    }
    return next;
  }

  /**
   * rollZsk starts a pre-publication ZSK rollover: a new ZSK published now and
   * signing after dnskey_ttl + propagation_delay; the current one retired then
   * and removed after the zone's longest TTL + propagation_delay more.
   * Throws RolloverError when a rollover is under way.
   */
  rollZsk(zone: string, now = this.now()): ZoneKey {
    const zsks = this.keys(zone).filter((k) => k.role === 'zsk' && (k.removeAt === null || now < k.removeAt));
    if (zsks.length !== 1 || zsks[0]!.inactiveAt !== null) throw new RolloverError(`a ZSK rollover of ${zone || '.'} is under way; it ends at ${new Date(Math.max(...zsks.map((k) => k.removeAt ?? 0))).toISOString()}`);
    const old = zsks[0]!;
    const activateAt = now + this.opts.dnskeyTtl * 1000 + this.opts.propagationDelayMs;
    const removeAt = activateAt + this.opts.maxTtl(zone) * 1000 + this.opts.propagationDelayMs;
    const fresh = this.add(zone, 'zsk', now, activateAt);
    this.journal.schedule(zone, old.keyTag, old.createdAt, activateAt, removeAt);
    this.replace(zone, old, { ...old, inactiveAt: activateAt, removeAt });
    this.changed();
    return fresh;
  }

  private replace(zone: string, old: ZoneKey, next: ZoneKey | undefined): void {
    const l = this.list(zone);
    const i = l.indexOf(old);
    if (i === -1) return;
    if (next === undefined) l.splice(i, 1);
    else l[i] = next;
  }

  /**
   * maintain forgets keys whose removal time has passed and starts the rollover
   * of every ZSK older than zsk_lifetime; `zones` are the zones being served
   * (the keys of a zone unserved for a day are dropped).
   */
  maintain(zones: readonly string[], now = this.now()): void {
    let changed = false;
    const served = new Set(zones);
    for (const zone of served) this.unserved.delete(zone);
    for (const [zone, l] of this.byZone) {
      // The keys of a zone no longer served go after a day: a zone deleted by mistake and made again keeps its DS.
      let gone = false;
      if (!served.has(zone)) {
        const since = this.unserved.get(zone);
        if (since === undefined) this.unserved.set(zone, now);
        gone = since !== undefined && now - since >= UNSERVED_GRACE_MS;
      }
      for (const k of [...l]) {
        if ((k.removeAt !== null && k.removeAt <= now) || gone) {
          this.journal.remove(zone, k.keyTag, k.createdAt);
          this.replace(zone, k, undefined);
          changed = true;
        }
      }
      if (l.length === 0) {
        this.byZone.delete(zone);
        this.unserved.delete(zone);
      }
    }
    if (changed) this.changed();
    if (this.opts.zskLifetimeMs > 0) {
      for (const zone of zones) {
        const zsks = (this.byZone.get(zone) ?? []).filter((k) => k.role === 'zsk');
        if (zsks.length === 1 && zsks[0]!.inactiveAt === null && now - zsks[0]!.activateAt >= this.opts.zskLifetimeMs) this.rollZsk(zone, now);
      }
    }
  }

  /** info describes a zone's keys for the API and the UI: DNSKEY and DS records, state and timeline; never the private key. */
  info(zone: string, now = this.now()): KeyInfo[] {
    const owner = zone === '' ? '.' : `${zone}.`;
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return this.keys(zone).map((k) => {
      const state =
        k.removeAt !== null && now >= k.removeAt
          ? 'removed'
          : k.inactiveAt !== null && now >= k.inactiveAt
            ? 'retired'
            : k.activateAt <= now
              ? 'active'
              : 'published';
      const dnskey = `${owner} ${this.opts.dnskeyTtl} IN DNSKEY ${k.key.flags} 3 ${k.algorithm} ${k.key.publicKey.toString('base64')}`;
      const dsHex = k.role === 'ksk' ? dsRdata(zone, k.key).subarray(4).toString('hex').toUpperCase() : undefined;
      return {
        keyTag: k.keyTag,
        role: k.role,
        algorithm: k.algorithm,
        state,
        dnskey,
        ...(dsHex === undefined ? {} : { ds: `${owner} IN DS ${k.keyTag} ${k.algorithm} 2 ${dsHex}` }),
        createdAt: iso(k.createdAt)!,
        publishAt: iso(k.publishAt)!,
        activateAt: iso(k.activateAt)!,
        inactiveAt: iso(k.inactiveAt),
        removeAt: iso(k.removeAt),
      };
    });
  }
}

/** dnskeyRdataOf is the DNSKEY RDATA of a zone key. */
export const dnskeyRdataOf = (k: ZoneKey): Buffer => dnskeyRdata(k.key);
