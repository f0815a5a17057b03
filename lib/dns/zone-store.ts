import { newer, type Change, type Ledger } from '../cluster/ledger';
import type { DurableLog } from '../durability';
import { ApiError } from '../errors';
import type { LimitHits } from '../limits';
import { TYPE, typeName, typeNumber } from './constants';
import { formatName, formatRdata, parseName, parseRdata, PresentationError, SUPPORTED_TYPES } from './presentation';
import { makeRRset, type RRset } from './rrset';
import { formatZoneFile, parseZoneFile, ZoneFileError, type ZoneRecord } from './zone-file';
import { inZone, validateNode, validateZone, Zone, type ZoneSource, type ZoneView } from './zone';

/** One RRset as stored and as the API shows it: values in presentation format. */
export interface StoredRRset {
  /** Owner in internal form (lower case, no trailing dot). */
  readonly name: string;
  /** Type mnemonic ("MX") or "TYPE<n>". */
  readonly type: string;
  readonly ttl: number;
  readonly values: readonly string[];
}

/** ZoneJournal persists the operator zones; each method runs inside the DurableLog's transaction. */
export interface ZoneJournal {
  load(): { zone: string; rrsets: StoredRRset[] }[];
  createZone(zone: string, rrsets: readonly StoredRRset[]): void;
  /** replaceZone replaces every RRset of an existing zone (import). */
  replaceZone(zone: string, rrsets: readonly StoredRRset[]): void;
  putRRset(zone: string, rrset: StoredRRset): void;
  deleteRRset(zone: string, name: string, type: string): void;
  deleteZone(zone: string): void;
}

/** A zone read from a file named in the config: served, exported, never changed through the API. */
export interface FileZone {
  readonly file: string;
  readonly text: string;
}

/**
 * Types the API and zone files accept; the DNSSEC types are the signer's (issue #8),
 * and DNAME is refused until the engine substitutes it (RFC 6672 §3.2).
 */
const WRITABLE_TYPES = new Set(SUPPORTED_TYPES.filter((t) => !['RRSIG', 'NSEC', 'NSEC3', 'DNSKEY', 'OPT', 'DNAME'].includes(t)));

/** Defaults of a zone created through the API without an SOA. */
export const ZONE_DEFAULTS = { ttl: 3600, refresh: 3600, retry: 600, expire: 1_209_600, minimum: 300 } as const;

/** The most RRsets one zone may hold, and the most records one RRset may hold. */
/** rrsets: per zone; recordsPerSet: the default of [limits] records_per_rrset; maxRecordsPerSet: the most it may be set to (and what peers' sets may hold). */
export const ZONE_LIMITS = { rrsets: 100_000, recordsPerSet: 1000, maxRecordsPerSet: 65_535 } as const;

export interface ZoneSummary {
  readonly name: string;
  readonly source: 'api' | 'file';
  readonly file?: string;
  readonly serial: number;
  readonly rrsets: number;
}

/**
 * ZoneStore holds the operator zones: an immutable Zone snapshot per zone for
 * the answer engine, the stored (presentation) form for the API. Every change
 * is validated as a whole zone before it is written (a bad change writes
 * nothing), made durable through the DurableLog, then applied, then announced
 * to onChange listeners (the responder drops its prebuilt answers). A change
 * other than to the SOA itself raises the SOA serial by one (RFC 1982).
 */
export class ZoneStore implements ZoneSource {
  private zones = new Map<string, { zone: Zone; stored: Map<string, StoredRRset>; file?: string }>();
  private readonly listeners: ((zone: string) => void)[] = [];
  private writing: Promise<void> = Promise.resolve();

  /**
   * `ledger` (replication) stamps every change accepted here in the same write:
   * the zone's existence and each RRset (not the serial bumps, which each node
   * makes for itself); peers' changes arrive through applyRemote.
   */
  constructor(
    private readonly durable: DurableLog,
    private readonly journal: ZoneJournal,
    fileZones: readonly FileZone[] = [],
    private readonly ledger?: Ledger,
    private readonly limits: { readonly recordsPerRrset: number; readonly hits?: LimitHits } = { recordsPerRrset: ZONE_LIMITS.recordsPerSet },
  ) {
    for (const { zone, rrsets } of journal.load()) {
      const sets = rrsets.map((r) => toRRset(zone, r));
      this.zones.set(zone, { zone: Zone.build(zone, sets), stored: storedMap(rrsets) });
    }
    for (const f of fileZones) this.loadFile(f);
  }

  /** onChange adds a listener called synchronously after every applied change, with the zone's name. */
  onChange(listener: (zone: string) => void): void {
    this.listeners.push(listener);
  }

  zoneFor(name: string): ZoneView | undefined {
    for (let n = name; ; ) {
      const z = this.zones.get(n);
      if (z !== undefined) return z.zone;
      if (n === '') return undefined;
      const dot = n.indexOf('.');
      n = dot === -1 ? '' : n.slice(dot + 1);
    }
  }

  list(): ZoneSummary[] {
    return [...this.zones.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, z]) => summary(name, z.zone, z.file));
  }

  /** summary describes one zone; throws zone_not_found. */
  summary(name: string): ZoneSummary {
    const z = this.entry(name);
    return summary(parseZoneName(name), z.zone, z.file);
  }

  /** rrsets lists a zone's RRsets in canonical order; throws zone_not_found. */
  rrsets(name: string): StoredRRset[] {
    const z = this.entry(name);
    return z.zone.rrsets().map((s) => z.stored.get(keyOf(s.name, typeName(s.type)))!);
  }

  /** exportZone writes the zone as an RFC 1035 master file; throws zone_not_found. */
  exportZone(name: string): string {
    const z = this.entry(name);
    return formatZoneFile(
      parseZoneName(name),
      z.zone.rrsets().flatMap((s) => s.data.map((data) => ({ name: s.name, ttl: s.ttl, type: typeName(s.type), data }))),
    );
  }

  private async createNow(zoneText: string, opts: { nameservers: readonly string[]; ttl?: number }): Promise<ZoneSummary> {
    const zone = parseZoneName(zoneText);
    if (this.zones.has(zone)) throw new ApiError('zone_exists', `the zone ${formatName(zone)} exists already`);
    const ttl = opts.ttl ?? ZONE_DEFAULTS.ttl;
    const ns = opts.nameservers.map((n) => formatName(parseValueName(n, zone)));
    if (ns.length === 0) throw new ApiError('invalid_record', 'a zone needs at least one name server');
    const rrsets: StoredRRset[] = [
      {
        name: zone,
        type: 'SOA',
        ttl,
        values: [`${ns[0]} hostmaster.${formatName(zone)} 1 ${ZONE_DEFAULTS.refresh} ${ZONE_DEFAULTS.retry} ${ZONE_DEFAULTS.expire} ${ZONE_DEFAULTS.minimum}`],
      },
      { name: zone, type: 'NS', ttl, values: ns },
    ];
    const sets = rrsets.map((r) => toRRset(zone, r));
    const built = Zone.build(zone, sets);
    const stored = storedMap(sets.map(storedOf));
    await this.durable.commit(
      () => {
        this.journal.createZone(zone, [...stored.values()]);
        this.ledger?.local('zone', zone, '{}');
        for (const r of stored.values()) this.ledger?.local('rr', rrKey(zone, r), rrValue(r));
      },
      () => {
        this.zones.set(zone, { zone: built, stored });
        this.changed(zone);
      },
    );
    return summary(zone, built, undefined);
  }

  private async putRRsetNow(zoneText: string, nameText: string, typeText: string, ttl: number, values: readonly string[]): Promise<StoredRRset> {
    const zoneName = parseZoneName(zoneText);
    const z = this.writable(zoneName);
    const name = parseOwner(nameText, zoneName);
    const type = parseType(typeText);
    if (values.length === 0) throw new ApiError('invalid_record', 'values must hold at least one record; DELETE removes an RRset');
    this.checkSize(name, typeText, values.length);
    const set = recordSet(zoneName, name, type, ttl, values);
    let next = z.zone.withRRset(set);
    if (type !== TYPE.SOA) next = next.withRRset(bumpSerial(next.soa()));
    this.check(zoneName, next, name);
    const changed = [storedOf(set), ...(type === TYPE.SOA ? [] : [storedOf(next.soa())])];
    await this.durable.commit(
      () => {
        for (const s of changed) this.journal.putRRset(zoneName, s);
        this.ledger?.local('rr', rrKey(zoneName, changed[0]!), rrValue(changed[0]!));
      },
      () => this.apply(zoneName, next, changed, []),
    );
    return changed[0]!;
  }

  private async deleteRRsetNow(zoneText: string, nameText: string, typeText: string): Promise<void> {
    const zoneName = parseZoneName(zoneText);
    const z = this.writable(zoneName);
    const name = parseOwner(nameText, zoneName);
    const type = parseType(typeText);
    if (type === TYPE.SOA) throw new ApiError('invalid_record', 'the SOA record cannot be deleted; delete the zone instead');
    if (z.zone.node(name)?.get(type) === undefined) {
      throw new ApiError('rrset_not_found', `${formatName(name)} has no ${typeName(type)} records`);
    }
    let next = z.zone.withoutRRset(name, type);
    next = next.withRRset(bumpSerial(next.soa()));
    const soa = storedOf(next.soa());
    await this.durable.commit(
      () => {
        this.journal.deleteRRset(zoneName, name, typeName(type));
        this.journal.putRRset(zoneName, soa);
        this.ledger?.local('rr', rrKey(zoneName, { name, type: typeName(type) }), null);
      },
      () => this.apply(zoneName, next, [soa], [keyOf(name, typeName(type))]),
    );
  }

  /** checkSize refuses an RRset of more records than [limits] records_per_rrset (limit_reached, counted). */
  private checkSize(name: string, type: string, records: number): void {
    if (records <= this.limits.recordsPerRrset) return;
    this.limits.hits?.hit('records_per_rrset');
    throw new ApiError('limit_reached', `${name} ${type}: ${records} records; an RRset may hold at most ${this.limits.recordsPerRrset} ([limits] records_per_rrset)`);
  }

  private async importZoneNow(zoneText: string, text: string): Promise<ZoneSummary> {
    const zoneName = parseZoneName(zoneText);
    this.writable(zoneName);
    const sets = zoneFromText(zoneName, text, (line, reason) => new ApiError('invalid_zone_file', `line ${line}: ${reason}`, { errors: [{ path: `line ${line}`, message: reason }] }));
    for (const set of sets) this.checkSize(set.name, typeName(set.type), set.rdata.length);
    const next = Zone.build(zoneName, sets);
    const stored = storedMap(sets.map(storedOf));
    const before = this.zones.get(zoneName)!.stored;
    await this.durable.commit(
      () => {
        this.journal.replaceZone(zoneName, [...stored.values()]);
        for (const [k, r] of before) if (!stored.has(k)) this.ledger?.local('rr', rrKey(zoneName, r), null);
        for (const r of stored.values()) this.ledger?.local('rr', rrKey(zoneName, r), rrValue(r));
      },
      () => {
        this.zones.set(zoneName, { zone: next, stored });
        this.changed(zoneName);
      },
    );
    return summary(zoneName, next, undefined);
  }

  private async deleteZoneNow(zoneText: string): Promise<void> {
    const zoneName = parseZoneName(zoneText);
    const z = this.writable(zoneName);
    await this.durable.commit(
      () => {
        this.journal.deleteZone(zoneName);
        this.ledger?.local('zone', zoneName, null);
        for (const r of z.stored.values()) this.ledger?.local('rr', rrKey(zoneName, r), null);
      },
      () => {
        this.zones.delete(zoneName);
        this.changed(zoneName);
      },
    );
  }

  /**
   * create makes a zone with an SOA and NS records: the defaults name `nameservers`
   * ([ns.<service zone>] unless given), hostmaster.<zone> as the mailbox, serial 1.
   * Throws zone_exists, invalid_record.
   */
  create(zoneText: string, opts: { nameservers: readonly string[]; ttl?: number }): Promise<ZoneSummary> {
    return this.serialized(() => this.createNow(zoneText, opts));
  }

  /**
   * putRRset replaces the RRset of `name` and `type` with `values` (presentation
   * format; relative names are relative to the zone). Throws zone_not_found,
   * zone_read_only, invalid_record (bad value, name outside the zone, CNAME beside
   * other data).
   */
  putRRset(zoneText: string, nameText: string, typeText: string, ttl: number, values: readonly string[]): Promise<StoredRRset> {
    return this.serialized(() => this.putRRsetNow(zoneText, nameText, typeText, ttl, values));
  }

  /** deleteRRset removes the RRset of `name` and `type`; throws zone_not_found, zone_read_only, rrset_not_found, invalid_record (the SOA). */
  deleteRRset(zoneText: string, nameText: string, typeText: string): Promise<void> {
    return this.serialized(() => this.deleteRRsetNow(zoneText, nameText, typeText));
  }

  /**
   * importZone replaces the whole content of a zone with an RFC 1035 zone file
   * (relative names are relative to the zone unless the file sets $ORIGIN). The
   * file must hold the zone's SOA. Throws zone_not_found, zone_read_only,
   * invalid_zone_file with the line number.
   */
  importZone(zoneText: string, text: string): Promise<ZoneSummary> {
    return this.serialized(() => this.importZoneNow(zoneText, text));
  }

  /** deleteZone removes a zone and its records; throws zone_not_found, zone_read_only. */
  deleteZone(zoneText: string): Promise<void> {
    return this.serialized(() => this.deleteZoneNow(zoneText));
  }

  /**
   * applyRemote applies zone changes replicated from peers (zone existence and
   * RRsets), serialized with the local writes. A change is applied only when it
   * wins over the version held (newest clock, then node name). A zone holds the
   * live RRsets stamped at or after its own creation stamp, so a record written
   * before a zone was deleted and created again stays out everywhere alike. Peers'
   * RRsets are parsed with this node's rules (a value it cannot read is skipped)
   * but not checked against the rest of the zone: two nodes may each accept a
   * write that is valid alone (a CNAME on one, an A record at the same name on the
   * other); the answer engine serves what is there. Every applied batch raises the
   * zone's serial here; the serial is each node's own. Resolves with the number of
   * changes that won.
   */
  applyRemote(changes: readonly Change[]): Promise<number> {
    if (this.ledger === undefined || changes.length === 0) return Promise.resolve(0);
    return this.serialized(() => this.applyRemoteNow(changes));
  }

  private async applyRemoteNow(changes: readonly Change[]): Promise<number> {
    const ledger = this.ledger!;
    // Zone writes are serialized, so the ledger holds every committed zone change: decide the winners now.
    const winners = new Map<string, Change>();
    for (const c of changes) {
      if (c.kind === 'zone' ? !validZoneKey(c.key) : parseRRKey(c.key) === undefined) continue;
      const held = winners.get(`${c.kind} ${c.key}`) ?? ledger.current(c.kind, c.key);
      if (held === undefined || newer(c, held)) winners.set(`${c.kind} ${c.key}`, c);
    }
    if (winners.size === 0) return 0;
    const touched = new Set<string>();
    const perZone = new Map<string, number>();
    for (const c of winners.values()) {
      const z = c.kind === 'zone' ? c.key : parseRRKey(c.key)!.zone;
      touched.add(z);
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
    }
    const held = (kind: 'zone' | 'rr', key: string) => {
      const w = winners.get(`${kind} ${key}`);
      return w ?? ledger.current(kind, key);
    };
    type Plan =
      | { op: 'delete'; zone: string }
      | { op: 'create'; zone: string; built: Zone; stored: Map<string, StoredRRset> }
      | { op: 'update'; zone: string; next: Zone; put: StoredRRset[]; removed: string[] };
    const plans: Plan[] = [];
    for (const zone of touched) {
      const mine = this.zones.get(zone);
      if (mine?.file !== undefined) continue; // a file zone is served as the file says
      const zoneRow = held('zone', zone);
      if (zoneRow === undefined || zoneRow.value === null) {
        if (mine !== undefined) plans.push({ op: 'delete', zone });
        continue;
      }
      const inZoneLife = (c: Change) => c.hlc >= zoneRow.hlc;
      if (mine === undefined || winners.has(`zone ${zone}`)) {
        // Materialize from the ledger: every live RRset of this life of the zone.
        const rows = new Map(ledger.under('rr', rrPrefix(zone)).map((r) => [r.key, r as Change]));
        for (const w of winners.values()) if (w.kind === 'rr' && parseRRKey(w.key)!.zone === zone) rows.set(w.key, w);
        const sets: RRset[] = [];
        for (const r of rows.values()) {
          if (r.value === null || !inZoneLife(r)) continue;
          const set = remoteSet(zone, r);
          if (set !== undefined) sets.push(set);
        }
        if (!sets.some((x) => x.type === TYPE.SOA && x.name === zone)) continue; // its SOA has not arrived yet
        const built = Zone.build(zone, sets);
        plans.push({ op: 'create', zone, built, stored: storedMap(sets.map(storedOf)) });
        continue;
      }
      // A few changes go in copy-on-write; a large page (a snapshot, a backlog) is built into the zone once.
      const draft = (perZone.get(zone) ?? 0) > 16 ? new Map(mine.zone.rrsets().map((x) => [keyOf(x.name, typeName(x.type)), x])) : undefined;
      let next = mine.zone;
      const has = (name: string, type: number) => (draft ? draft.has(keyOf(name, typeName(type))) : next.node(name)?.get(type) !== undefined);
      const soaNow = () => (draft ? draft.get(keyOf(zone, 'SOA'))! : next.soa());
      const setIt = (set: RRset) => (draft ? void draft.set(keyOf(set.name, typeName(set.type)), set) : void (next = next.withRRset(set)));
      const put: StoredRRset[] = [];
      const removed: string[] = [];
      let soaGiven = false;
      for (const w of winners.values()) {
        if (w.kind !== 'rr') continue;
        const k = parseRRKey(w.key)!;
        if (k.zone !== zone || !inZoneLife(w)) continue;
        const type = typeNumber(k.type)!;
        if (w.value === null) {
          if (type === TYPE.SOA || !has(k.name, type)) continue;
          if (draft) draft.delete(keyOf(k.name, k.type));
          else next = next.withoutRRset(k.name, type);
          removed.push(keyOf(k.name, k.type));
          continue;
        }
        let set = remoteSet(zone, w);
        if (set === undefined) continue;
        if (type === TYPE.SOA) {
          if (k.name !== zone) continue;
          const here = (soaNow().data[0] as { serial: number }).serial;
          const d = set.data[0] as { serial: number };
          set = makeRRset(set.name, TYPE.SOA, set.ttl, [{ ...d, serial: Math.max((here + 1) >>> 0, d.serial) }]);
          soaGiven = true;
        }
        setIt(set);
        put.push(storedOf(set));
      }
      if (put.length === 0 && removed.length === 0) continue;
      if (!soaGiven) {
        const soa = bumpSerial(soaNow());
        setIt(soa);
        put.push(storedOf(soa));
      }
      if (draft) next = Zone.build(zone, draft.values());
      plans.push({ op: 'update', zone, next, put, removed });
    }
    let applied = 0;
    await this.durable.commit(
      () => {
        for (const c of winners.values()) if (ledger.offer(c)) applied++;
        for (const p of plans) {
          if (p.op === 'delete') this.journal.deleteZone(p.zone);
          else if (p.op === 'create') {
            if (this.zones.has(p.zone)) this.journal.replaceZone(p.zone, [...p.stored.values()]);
            else this.journal.createZone(p.zone, [...p.stored.values()]);
          } else {
            for (const k of p.removed) {
              const [name, type] = k.split(' ') as [string, string];
              this.journal.deleteRRset(p.zone, name, type);
            }
            for (const r of p.put) this.journal.putRRset(p.zone, r);
          }
        }
      },
      () => {
        for (const p of plans) {
          if (p.op === 'delete') {
            this.zones.delete(p.zone);
            this.changed(p.zone);
          } else if (p.op === 'create') {
            this.zones.set(p.zone, { zone: p.built, stored: p.stored });
            this.changed(p.zone);
          } else {
            this.apply(p.zone, p.next, p.put, p.removed);
          }
        }
      },
    );
    return applied;
  }

  /**
   * serialized runs zone writes one at a time: each is validated against the
   * snapshot the previous one left, after that one is durable and applied (group
   * commit applies later in the turn, so two writes started together would
   * otherwise both build on the same snapshot and the second would undo the first).
   */
  private serialized<T>(write: () => Promise<T>): Promise<T> {
    const run = this.writing.then(write);
    this.writing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private loadFile(f: FileZone): void {
    let sets: RRset[];
    try {
      sets = zoneFromText(undefined, f.text, (line, reason) => new ZoneFileError(line, reason));
    } catch (err) {
      if (err instanceof ZoneFileError) throw new Error(`zone file ${f.file}:${err.line}: ${err.reason}`, { cause: err });
      throw err;
    }
    const origin = sets.find((s) => s.type === TYPE.SOA)!.name;
    if (this.zones.has(origin)) {
      throw new Error(`${f.file}: the zone ${formatName(origin)} is also stored through the API (or in another file); delete one`);
    }
    this.zones.set(origin, { zone: Zone.build(origin, sets), stored: storedMap(sets.map(storedOf)), file: f.file });
  }

  private entry(zoneText: string) {
    const name = parseZoneName(zoneText);
    const z = this.zones.get(name);
    if (z === undefined) throw new ApiError('zone_not_found', `there is no zone ${formatName(name)}`);
    return z;
  }

  private writable(zone: string) {
    const z = this.entry(zone);
    if (z.file !== undefined) throw new ApiError('zone_read_only', `the zone ${formatName(zone)} comes from ${z.file}; edit that file`);
    return z;
  }

  /** check validates a change to the RRsets of one name (the rest of the zone was valid before). */
  private check(zone: string, next: Zone, name: string): void {
    if (next.size > ZONE_LIMITS.rrsets) throw new ApiError('invalid_record', `a zone may hold at most ${ZONE_LIMITS.rrsets} RRsets`);
    const problem = validateNode(zone, name, next.node(name));
    if (problem !== undefined) throw new ApiError('invalid_record', problem);
  }

  private apply(zone: string, next: Zone, put: readonly StoredRRset[], removed: readonly string[]): void {
    const z = this.zones.get(zone);
    if (z === undefined) return;
    const stored = new Map(z.stored);
    for (const k of removed) stored.delete(k);
    for (const s of put) stored.set(keyOf(s.name, s.type), s);
    this.zones.set(zone, { zone: next, stored });
    this.changed(zone);
  }

  private changed(zone: string): void {
    for (const l of this.listeners) l(zone);
  }
}

function summary(name: string, zone: Zone, file: string | undefined): ZoneSummary {
  const serial = (zone.soa().data[0] as { serial: number }).serial;
  return file === undefined
    ? { name: formatName(name), source: 'api', serial, rrsets: zone.size }
    : { name: formatName(name), source: 'file', file, serial, rrsets: zone.size };
}

const keyOf = (name: string, type: string) => `${name} ${type}`;

/**
 * The replicated key of an RRset: the JSON array [zone, owner, type] (a label may
 * hold any byte, so no separator character is safe). rrPrefix(zone) starts every
 * key of one zone.
 */
function rrKey(zone: string, r: { name: string; type: string }): string {
  return JSON.stringify([zone, r.name, r.type]);
}

function rrPrefix(zone: string): string {
  return `[${JSON.stringify(zone)},`;
}

function rrValue(r: StoredRRset): string {
  return JSON.stringify({ ttl: r.ttl, values: r.values });
}

function validZoneKey(key: string): boolean {
  try {
    return parseZoneName(key) === key;
  } catch {
    return false;
  }
}

/** parseRRKey splits a replicated RRset key; undefined unless the zone is canonical, the owner in it and the type writable. */
function parseRRKey(key: string): { zone: string; name: string; type: string } | undefined {
  let parts: unknown;
  try {
    parts = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === 'string')) return undefined;
  const [zone, name, type] = parts as [string, string, string];
  if (!validZoneKey(zone) || !inZone(name, zone) || name !== name.toLowerCase()) return undefined;
  const t = typeNumber(type);
  if (t === undefined || typeName(t) !== type || !WRITABLE_TYPES.has(type)) return undefined;
  return { zone, name, type };
}

/** remoteSet parses a peer's RRset with this node's rules; undefined when it does not pass. */
function remoteSet(zone: string, c: Change): RRset | undefined {
  const k = parseRRKey(c.key);
  if (k === undefined || c.value === null) return undefined;
  try {
    const v = JSON.parse(c.value) as { ttl?: unknown; values?: unknown };
    if (!Array.isArray(v.values) || v.values.length === 0 || v.values.length > ZONE_LIMITS.maxRecordsPerSet) return undefined;
    if (!v.values.every((x) => typeof x === 'string')) return undefined;
    return recordSet(zone, k.name, typeNumber(k.type)!, v.ttl as number, v.values as string[]);
  } catch {
    return undefined;
  }
}

function storedMap(rrsets: readonly StoredRRset[]): Map<string, StoredRRset> {
  return new Map(rrsets.map((r) => [keyOf(r.name, r.type), r]));
}

function storedOf(set: RRset): StoredRRset {
  const type = typeName(set.type);
  return { name: set.name, type, ttl: set.ttl, values: set.data.map((d) => formatRdata(type, d)) };
}

function toRRset(zone: string, r: StoredRRset): RRset {
  return recordSet(zone, r.name, parseType(r.type), r.ttl, r.values);
}

/** recordSet parses presentation values into an RRset, dropping duplicates (RFC 2181 §5); throws invalid_record. */
function recordSet(zone: string, name: string, type: number, ttl: number, values: readonly string[]): RRset {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw new ApiError('invalid_record', `ttl ${ttl} is not a number of seconds 0..2147483647`);
  const mnemonic = typeName(type);
  const data: unknown[] = [];
  for (const [i, v] of values.entries()) {
    try {
      data.push(parseRdata(mnemonic, v, zone));
    } catch (err) {
      if (err instanceof PresentationError) throw new ApiError('invalid_record', `values[${i}]: ${err.message}`, { errors: [{ path: `values.${i}`, message: err.message }] });
      throw err;
    }
  }
  let set: RRset;
  try {
    set = makeRRset(name, type, ttl, data);
  } catch (err) {
    throw new ApiError('invalid_record', `${mnemonic} value cannot be encoded: ${(err as Error).message}`);
  }
  const seen = new Set<string>();
  const keep = set.rdata.map((r) => {
    const k = r.toString('latin1');
    const fresh = !seen.has(k);
    seen.add(k);
    return fresh;
  });
  if (keep.every(Boolean)) return set;
  return makeRRset(name, type, ttl, data.filter((_, i) => keep[i]));
}

/**
 * zoneFromText parses a zone file into validated RRsets. With `zone` given, the
 * file's names must be in that zone; without, the zone is the owner of the SOA.
 * Records of one name and type must share one TTL (RFC 2181 §5.2): the smallest wins.
 */
function zoneFromText(zone: string | undefined, text: string, fail: (line: number, reason: string) => Error): RRset[] {
  let parsed: { origin: string | undefined; records: ZoneRecord[] };
  try {
    parsed = parseZoneFile(text, zone === undefined ? {} : { origin: zone });
  } catch (err) {
    if (err instanceof ZoneFileError) throw fail(err.line, err.reason);
    throw err;
  }
  if (parsed.records.length > ZONE_LIMITS.rrsets * 10) throw fail(1, `a zone may hold at most ${ZONE_LIMITS.rrsets} RRsets`);
  const soa = parsed.records.find((r) => r.type === 'SOA');
  if (soa === undefined) throw fail(1, 'the file has no SOA record');
  const origin = zone ?? soa.name;
  const groups = new Map<string, { name: string; type: number; ttl: number; data: unknown[]; line: number }>();
  for (const r of parsed.records) {
    if (!inZone(r.name, origin)) throw fail(r.line, `${formatName(r.name)} is outside the zone ${formatName(origin)}`);
    const type = typeNumber(r.type);
    if (type === undefined || !WRITABLE_TYPES.has(typeName(type))) throw fail(r.line, `record type ${r.type} is not accepted`);
    const k = keyOf(r.name, r.type);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, { name: r.name, type, ttl: r.ttl, data: [r.data], line: r.line });
    else {
      g.ttl = Math.min(g.ttl, r.ttl);
      g.data.push(r.data);
    }
  }
  if (groups.size > ZONE_LIMITS.rrsets) throw fail(1, `a zone may hold at most ${ZONE_LIMITS.rrsets} RRsets`);
  const sets: RRset[] = [];
  for (const g of groups.values()) {
    if (g.data.length > ZONE_LIMITS.maxRecordsPerSet) throw fail(g.line, `an RRset may hold at most ${ZONE_LIMITS.maxRecordsPerSet} records`);
    try {
      sets.push(makeRRset(g.name, g.type, g.ttl, g.data));
    } catch (err) {
      throw fail(g.line, `${typeName(g.type)} value cannot be encoded: ${(err as Error).message}`);
    }
  }
  const problem = validateZone(origin, sets);
  if (problem !== undefined) {
    const where = groups.values().next().value?.line ?? 1;
    throw fail(lineOfProblem(problem, groups) ?? where, problem);
  }
  return sets;
}

function lineOfProblem(problem: string, groups: Map<string, { name: string; line: number }>): number | undefined {
  for (const g of groups.values()) if (problem.startsWith(`${formatName(g.name)} `)) return g.line;
  return undefined;
}

function bumpSerial(soa: RRset): RRset {
  const d = soa.data[0] as { serial: number };
  return makeRRset(soa.name, TYPE.SOA, soa.ttl, [{ ...d, serial: (d.serial + 1) >>> 0 }]);
}

/** parseZoneName accepts "example.com" or "example.com." (any case) and returns the internal form; throws invalid_path. */
export function parseZoneName(text: string): string {
  try {
    const name = parseName(text.endsWith('.') ? text : `${text}.`, undefined).toLowerCase();
    if (name === '') throw new PresentationError('the root zone cannot be served here');
    return name;
  } catch (err) {
    throw new ApiError('invalid_path', `zone "${text.slice(0, 100)}": ${(err as Error).message}`);
  }
}

/** parseOwner reads a record owner: "@" is the apex, "www" is relative to the zone, "www.example.com." is absolute. */
function parseOwner(text: string, zone: string): string {
  let name: string;
  try {
    name = parseName(text, zone).toLowerCase();
  } catch (err) {
    throw new ApiError('invalid_path', `name "${text.slice(0, 100)}": ${(err as Error).message}`);
  }
  if (!inZone(name, zone)) throw new ApiError('invalid_record', `${formatName(name)} is outside the zone ${formatName(zone)}`);
  return name;
}

function parseValueName(text: string, zone: string): string {
  try {
    return parseName(text, zone);
  } catch (err) {
    throw new ApiError('invalid_record', `name server "${text.slice(0, 100)}": ${(err as Error).message}`);
  }
}

function parseType(text: string): number {
  const type = typeNumber(text);
  if (type === undefined || !WRITABLE_TYPES.has(typeName(type))) {
    throw new ApiError('invalid_record', `record type "${text.slice(0, 20)}" is not accepted; use one of ${[...WRITABLE_TYPES].join(', ')}`);
  }
  return type;
}
