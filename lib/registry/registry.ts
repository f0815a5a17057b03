import type { Change, Ledger, LedgerRow } from '../cluster/ledger';
import type { DurableLog } from '../durability';
import { ApiError } from '../errors';
import type { LimitHits } from '../limits';
import { checkKey, CORE_TYPES, registerBodySchema, sameSpec, specOf, type Instance, type InstanceKey, type InstanceSpec } from './instance';

/**
 * InstanceJournal is the registry's durable record of live instances. Its methods
 * run inside a DurableLog write (one storage transaction) and must not be called
 * otherwise. `index` is the registry index the change carries.
 */
export interface InstanceJournal {
  upsert(instance: Instance, index: number): void;
  /** renew records a renewal; it must never move a stored renewal time backwards. */
  renew(key: InstanceKey, renewedAt: number): void;
  remove(key: InstanceKey, index: number): void;
}

/**
 * Renewals are journalled every RENEWAL_FLUSH_MS, after they are answered. A
 * restart after a crash restores each lease so that it never ends before the end
 * that was acknowledged (see SqliteInstanceJournal.load): RESTORE_ALLOWANCE_MS is
 * the margin it adds for the time between the last flush and the crash.
 */
export const RENEWAL_FLUSH_MS = 250;
export const RESTORE_ALLOWANCE_MS = 1000;

/** A change to the set of live instances, as seen by listeners (DNS caches, metrics, peers). */
export interface RegistryChange {
  readonly kind: 'register' | 'update' | 'deregister' | 'expire';
  readonly instance: Instance;
  readonly index: number;
}

export interface ServiceView {
  readonly type: string;
  readonly name: string;
  readonly instances: readonly Instance[];
}

export interface RegistryOptions {
  readonly durable: DurableLog;
  readonly journal: InstanceJournal;
  /** Wall clock in ms since the epoch. */
  readonly now: () => number;
  /** Instances and index read back from the journal at start; expired ones are dropped here. */
  readonly restored?: { readonly instances: readonly Instance[]; readonly index: number; readonly expired?: readonly InstanceKey[] };
  /**
   * The replication ledger: every visible change of an instance this node owns is
   * stamped there in the same write, and peers' instances arrive through applyRemote.
   */
  readonly ledger?: Ledger;
  /** [limits] instances_per_service: a registration of a new instance past it is refused (peers' instances are not). */
  readonly maxInstancesPerService?: number;
  /** Counts the registrations refused by that limit. */
  readonly hits?: LimitHits;
}

/** The replicated form of an instance: its spec and registration time (renewals stay with the owner). */
interface InstanceValue extends InstanceSpec {
  readonly registeredAt: number;
}

const keyOf = (k: InstanceKey) => `${k.type}/${k.name}/${k.id}`;
const serviceKeyOf = (type: string, name: string) => `${type}/${name}`;

/**
 * ServiceRegistry holds the live instances of every service, their leases, and the
 * indexes that blocking queries wait on.
 *
 * Leases: an instance is live while now < expiresAt, where expiresAt = last renewal
 * + ttl. Every read filters on that, so an instance disappears from answers at the
 * exact moment its lease ends; `sweep` then removes it, bumps the indexes and
 * journals the removal. Leases are kept in one-second buckets (a timing wheel), so
 * a renewal and a sweep cost O(1) per instance touched.
 *
 * Indexes: one registry-wide counter grows with every visible change (register
 * with a new spec, deregister, expiry); each service and each type remembers the
 * counter value of its last change. A renewal changes no index.
 */
export class ServiceRegistry {
  private readonly durable: DurableLog;
  private readonly journal: InstanceJournal;
  private readonly now: () => number;
  private readonly ledger: Ledger | undefined;
  private readonly instances = new Map<string, Instance>();
  /** type → name → id → instance: the shape every read wants. */
  private readonly byService = new Map<string, Map<string, Map<string, Instance>>>();
  private readonly buckets = new Map<number, Set<string>>();
  private sweptThrough: number;
  private readonly serviceIndex = new Map<string, number>();
  private readonly typeIndex = new Map<string, number>();
  private readonly watchers = new Set<() => void>();
  private readonly listeners: ((c: RegistryChange) => void)[] = [];
  /** Renewals acknowledged but not yet journalled, one per instance (the latest). */
  private pendingRenewals = new Map<string, { key: InstanceKey; renewedAt: number }>();
  private currentIndex: number;
  /** The index at restore: every view reports at least this, so no index goes back across a restart. */
  private readonly floorIndex: number;
  private closed = false;
  private readonly maxInstancesPerService: number;
  private readonly hits: LimitHits | undefined;
  /** New instances of a service whose registration is being written: they count against instances_per_service. */
  private readonly reservations = new Map<string, number>();

  constructor(opts: RegistryOptions) {
    this.maxInstancesPerService = opts.maxInstancesPerService ?? Number.POSITIVE_INFINITY;
    this.hits = opts.hits;
    this.durable = opts.durable;
    this.journal = opts.journal;
    this.now = opts.now;
    this.ledger = opts.ledger;
    const now = this.now();
    this.sweptThrough = Math.floor(now / 1000) - 1;
    this.currentIndex = opts.restored?.index ?? 0;
    for (const inst of opts.restored?.instances ?? []) {
      if (inst.expiresAt > now) this.put(inst);
      this.currentIndex = Math.max(this.currentIndex, inst.modifyIndex);
    }
    this.floorIndex = this.currentIndex;
    // Leases that ended while the process was down: the journal dropped them; peers learn it here.
    const expired = opts.restored?.expired ?? [];
    if (expired.length > 0 && this.ledger !== undefined) {
      const ledger = this.ledger;
      void this.durable.commit(() => expired.forEach((k) => ledger.local('svc', keyOf(k), null)), () => undefined).catch(() => undefined);
    }
  }

  /** This node's name: the owner of the instances registered here. */
  get node(): string {
    return this.ledger?.node ?? 'local';
  }

  /** The registry-wide index: grows with every visible change. */
  get index(): number {
    return this.currentIndex;
  }

  /** onChange adds a listener called synchronously after every visible change. */
  onChange(listener: (c: RegistryChange) => void): void {
    this.listeners.push(listener);
  }

  /**
   * register stores or replaces an instance, durably, and resolves once it is both
   * on disk and visible. Re-registering an identical spec only renews the lease.
   * The write step allocates the index, so writes that share one group commit get
   * distinct, ordered indexes.
   */
  async register(key: InstanceKey, spec: InstanceSpec): Promise<{ instance: Instance; created: boolean }> {
    const k = keyOf(key);
    let result!: { instance: Instance; created: boolean; change?: RegistryChange['kind'] };
    const sk = serviceKeyOf(key.type, key.name);
    // A new instance takes its place in the service now, before its write is durable,
    // so registrations that share a commit batch cannot pass the limit together.
    const reserved = this.liveEntry(k, this.now()) === undefined;
    if (reserved) this.reserve(sk, key);
    const release = () => {
      if (reserved) this.releaseReservation(sk);
    };
    return this.durable.commit(
      () => {
        const now = this.now();
        const old = this.liveEntry(k, now);
        if (old !== undefined && this.owns(old) && sameSpec(old, spec)) {
          const renewed: Instance = { ...old, renewedAt: now, expiresAt: now + spec.ttl * 1000 };
          this.journal.renew(key, now);
          result = { instance: renewed, created: false };
          return;
        }
        const index = ++this.currentIndex;
        const instance: Instance = {
          type: key.type,
          name: key.name,
          id: key.id,
          ...spec,
          registeredAt: old?.registeredAt ?? now,
          renewedAt: now,
          expiresAt: now + spec.ttl * 1000,
          createIndex: old?.createIndex ?? index,
          modifyIndex: index,
          owner: this.node,
        };
        this.journal.upsert(instance, index);
        this.ledger?.local('svc', k, valueOf(instance));
        result = { instance, created: old === undefined, change: old === undefined ? 'register' : 'update' };
      },
      () => {
        const old = this.instances.get(k);
        if (old !== undefined) this.drop(k, old);
        this.put(result.instance);
        if (result.change !== undefined) this.changed(result.change, result.instance, result.instance.modifyIndex);
        return { instance: result.instance, created: result.created };
      },
    ).finally(release);
  }

  /** reserve holds a place for a new instance of a service, or throws limit_reached when the service is full. */
  private reserve(sk: string, key: InstanceKey): void {
    const max = this.maxInstancesPerService;
    const ids = this.byServiceKey(key.type, key.name);
    // An expired entry of this id not yet swept is replaced, not added to.
    const held = (ids?.size ?? 0) - (ids?.has(key.id) ? 1 : 0) + (this.reservations.get(sk) ?? 0);
    if (held >= max) {
      this.hits?.hit('instances_per_service');
      throw new ApiError('limit_reached', `${key.type}/${key.name} has ${max} instances already ([limits] instances_per_service)`);
    }
    this.reservations.set(sk, (this.reservations.get(sk) ?? 0) + 1);
  }

  private releaseReservation(sk: string): void {
    const n = (this.reservations.get(sk) ?? 1) - 1;
    if (n <= 0) this.reservations.delete(sk);
    else this.reservations.set(sk, n);
  }

  private byServiceKey(type: string, name: string): Map<string, Instance> | undefined {
    return this.byService.get(type)?.get(name);
  }

  /**
   * heartbeat renews a live instance's lease and returns it, or undefined when no
   * live instance has that key (the client must register again). The renewal is
   * visible at once and journalled by the next flushRenewals (see RENEWAL_FLUSH_MS):
   * many heartbeats of one instance cost one row write.
   */
  heartbeat(key: InstanceKey): Instance | undefined {
    const k = keyOf(key);
    const now = this.now();
    const inst = this.liveEntry(k, now);
    if (inst === undefined || !this.owns(inst)) return undefined;
    this.renewInMemory(k, inst, now);
    this.pendingRenewals.set(k, { key, renewedAt: now });
    return inst;
  }

  /**
   * flushRenewals journals the pending renewals in one durable write; the owner calls
   * it every RENEWAL_FLUSH_MS and at shutdown.
   */
  flushRenewals(): Promise<void> {
    if (this.pendingRenewals.size === 0) return Promise.resolve();
    const batch = this.pendingRenewals;
    this.pendingRenewals = new Map();
    return this.durable.commit(
      () => {
        for (const r of batch.values()) this.journal.renew(r.key, r.renewedAt);
      },
      () => undefined,
    );
  }

  /**
   * adopt takes over an instance a peer owns, with the spec it has (a heartbeat
   * that reached this node: the client moved here). Resolves with the instance,
   * now leased here, or undefined when no live instance has that key.
   */
  async adopt(key: InstanceKey): Promise<Instance | undefined> {
    const inst = this.liveEntry(keyOf(key), this.now());
    if (inst === undefined) return undefined;
    if (this.owns(inst)) return this.heartbeat(key);
    return (await this.register(key, specOf(inst))).instance;
  }

  /** deregister removes an instance durably; resolves false when there was no live instance. */
  async deregister(key: InstanceKey): Promise<boolean> {
    const k = keyOf(key);
    if (this.liveEntry(k, this.now()) === undefined) return false;
    let index = 0;
    return this.durable.commit(
      () => {
        index = ++this.currentIndex;
        this.journal.remove(key, index);
        this.ledger?.local('svc', k, null);
      },
      () => {
        const inst = this.instances.get(k);
        if (inst === undefined) return false;
        this.drop(k, inst);
        this.changed('deregister', inst, index);
        return true;
      },
    );
  }

  /** instance returns one live instance, or undefined. */
  instance(key: InstanceKey): Instance | undefined {
    return this.liveEntry(keyOf(key), this.now());
  }

  /** service returns the live instances of one service, sorted by id. */
  service(type: string, name: string): Instance[] {
    const ids = this.byService.get(type)?.get(name);
    if (ids === undefined) return [];
    const now = this.now();
    const out: Instance[] = [];
    for (const inst of ids.values()) if (inst.expiresAt > now) out.push(inst);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * services lists every service with at least one live instance, optionally of
   * one type, ordered by type (the core types first, then the others by name) and name.
   */
  services(type?: string): ServiceView[] {
    const types = type === undefined ? orderTypes([...this.byService.keys()]) : [type];
    const out: ServiceView[] = [];
    for (const t of types) {
      const names = [...(this.byService.get(t)?.keys() ?? [])].sort();
      for (const n of names) {
        const instances = this.service(t, n);
        if (instances.length > 0) out.push({ type: t, name: n, instances });
      }
    }
    return out;
  }

  /** countsByType returns the number of live instances of each type. */
  countsByType(): Map<string, number> {
    const now = this.now();
    const counts = new Map<string, number>();
    for (const [t, names] of this.byService) {
      let n = 0;
      for (const ids of names.values()) for (const i of ids.values()) if (i.expiresAt > now) n++;
      counts.set(t, n);
    }
    return counts;
  }

  /** indexOf returns the index of the last change visible through a view: all, one type, or one service. */
  indexOf(view: { type?: string; name?: string }): number {
    if (view.type === undefined) return this.currentIndex;
    const own = view.name === undefined ? this.typeIndex.get(view.type) : this.serviceIndex.get(serviceKeyOf(view.type, view.name));
    return Math.max(own ?? 0, this.floorIndex);
  }

  /**
   * waitForChange resolves when indexOf(view) passes `after`, when timeoutMs has
   * elapsed, when `signal` aborts (the client went away) or when the registry
   * closes — whichever comes first. An `after` ahead of the current index (a client
   * that saw an older incarnation) resolves at once.
   */
  waitForChange(view: { type?: string; name?: string }, after: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const current = this.indexOf(view);
    if (this.closed || signal?.aborted || current > after || after > this.currentIndex || timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.watchers.delete(check);
        resolve();
      };
      signal?.addEventListener('abort', done);
      const check = () => {
        if (this.closed || this.indexOf(view) > after) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.watchers.add(check);
    });
  }

  /** The number of blocking queries waiting now. */
  get waiting(): number {
    return this.watchers.size;
  }

  /**
   * sweep removes every instance whose lease ended at or before now, journals the
   * removals (without waiting for the disk: a lost removal is redone on restart,
   * when expired rows are dropped) and returns how many expired.
   */
  sweep(): number {
    const now = this.now();
    const nowSecond = Math.floor(now / 1000);
    const expired: Instance[] = [];
    // Walk the due seconds; after a large forward clock jump walk the buckets instead.
    const due =
      nowSecond - this.sweptThrough <= this.buckets.size + 60
        ? Array.from({ length: Math.max(0, nowSecond - this.sweptThrough) }, (_, i) => this.sweptThrough + 1 + i)
        : [...this.buckets.keys()].filter((s) => s <= nowSecond);
    for (const s of due) {
      const bucket = this.buckets.get(s);
      if (bucket === undefined) continue;
      for (const k of bucket) {
        const inst = this.instances.get(k);
        if (inst !== undefined && inst.expiresAt <= now) expired.push(inst);
      }
    }
    this.sweptThrough = nowSecond - 1;
    if (expired.length === 0) return 0;
    const removals: { key: InstanceKey; index: number }[] = [];
    for (const inst of expired) {
      const index = ++this.currentIndex;
      this.drop(keyOf(inst), inst);
      removals.push({ key: inst, index });
      this.changed('expire', inst, index, false);
    }
    this.notifyWatchers();
    void this.durable
      .commit(
        () => {
          for (const r of removals) {
            this.journal.remove(r.key, r.index);
            this.ledger?.local('svc', keyOf(r.key), null);
          }
        },
        () => undefined,
      )
      .catch(() => undefined);
    return expired.length;
  }

  /**
   * applyRemote applies instances (or their removal) replicated from peers; each
   * is stored only when it wins over the version held (Ledger.offer), decided
   * inside the write so that writes queued together see each other. Resolves
   * with the number applied.
   */
  applyRemote(changes: readonly Change[]): Promise<number> {
    const ledger = this.ledger;
    if (ledger === undefined || changes.length === 0) return Promise.resolve(0);
    let decided: { k: string; inst: Instance | null; key: InstanceKey; index: number }[] = [];
    return this.durable.commit(
      () => {
        decided = [];
        for (const c of changes) {
          const key = parseKey(c.key);
          if (key === undefined || !ledger.offer(c)) continue;
          const index = ++this.currentIndex;
          if (c.value === null) {
            this.journal.remove(key, index);
            decided.push({ k: c.key, inst: null, key, index });
            continue;
          }
          const v = parseValue(c.value);
          if (v === undefined) continue;
          const old = this.instances.get(c.key);
          const inst: Instance = {
            ...key,
            ...specOf(v),
            registeredAt: v.registeredAt,
            renewedAt: this.now(),
            expiresAt: Infinity,
            createIndex: old?.createIndex ?? index,
            modifyIndex: index,
            owner: c.origin,
          };
          this.journal.upsert(inst, index);
          decided.push({ k: c.key, inst, key, index });
        }
      },
      () => {
        for (const d of decided) {
          const old = this.instances.get(d.k);
          if (old !== undefined) this.drop(d.k, old);
          if (d.inst !== null) {
            this.put(d.inst);
            this.changed(old === undefined ? 'register' : 'update', d.inst, d.index, false);
          } else if (old !== undefined) {
            this.changed('deregister', old, d.index, false);
          }
        }
        this.notifyWatchers();
        return decided.length;
      },
    );
  }

  /**
   * forget removes the instances of a departed peer (their ledger rows were
   * released in the same write by the caller: see Ledger.release). Call it from
   * the apply step of that write.
   */
  forget(rows: readonly LedgerRow[]): void {
    let any = false;
    for (const r of rows) {
      const inst = this.instances.get(r.key);
      if (inst === undefined || inst.owner !== r.origin) continue;
      this.drop(r.key, inst);
      this.changed('expire', inst, ++this.currentIndex, false);
      any = true;
    }
    if (any) this.notifyWatchers();
  }

  /** journalForget journals the removal of a departed peer's instances; call it inside the same write as Ledger.release. */
  journalForget(rows: readonly LedgerRow[]): void {
    for (const r of rows) {
      const key = parseKey(r.key);
      if (key !== undefined) this.journal.remove(key, this.currentIndex);
    }
  }

  /** close wakes every blocking query so that shutdown does not wait for them. */
  close(): void {
    this.closed = true;
    this.notifyWatchers();
  }

  private owns(inst: Instance): boolean {
    return inst.owner === undefined || inst.owner === this.node;
  }

  private liveEntry(k: string, now: number): Instance | undefined {
    const inst = this.instances.get(k);
    return inst !== undefined && inst.expiresAt > now ? inst : undefined;
  }

  private renewInMemory(k: string, inst: Instance, now: number): void {
    this.unbucket(k, inst.expiresAt);
    inst.renewedAt = now;
    inst.expiresAt = now + inst.ttl * 1000;
    this.bucket(k, inst.expiresAt);
  }

  private put(inst: Instance): void {
    const k = keyOf(inst);
    this.instances.set(k, inst);
    let names = this.byService.get(inst.type);
    if (names === undefined) this.byService.set(inst.type, (names = new Map()));
    let ids = names.get(inst.name);
    if (ids === undefined) names.set(inst.name, (ids = new Map()));
    ids.set(inst.id, inst);
    this.bucket(k, inst.expiresAt);
  }

  private drop(k: string, inst: Instance): void {
    this.instances.delete(k);
    this.unbucket(k, inst.expiresAt);
    const names = this.byService.get(inst.type);
    const ids = names?.get(inst.name);
    ids?.delete(inst.id);
    if (ids !== undefined && ids.size === 0) names!.delete(inst.name);
    if (names !== undefined && names.size === 0) this.byService.delete(inst.type);
  }

  private bucket(k: string, expiresAt: number): void {
    if (!Number.isFinite(expiresAt)) return;
    const s = Math.floor(expiresAt / 1000);
    let b = this.buckets.get(s);
    if (b === undefined) this.buckets.set(s, (b = new Set()));
    b.add(k);
  }

  private unbucket(k: string, expiresAt: number): void {
    if (!Number.isFinite(expiresAt)) return;
    const s = Math.floor(expiresAt / 1000);
    const b = this.buckets.get(s);
    if (b === undefined) return;
    b.delete(k);
    if (b.size === 0) this.buckets.delete(s);
  }

  private changed(kind: RegistryChange['kind'], instance: Instance, index: number, notify = true): void {
    this.currentIndex = Math.max(this.currentIndex, index);
    this.serviceIndex.set(serviceKeyOf(instance.type, instance.name), index);
    this.typeIndex.set(instance.type, index);
    const change: RegistryChange = { kind, instance, index };
    for (const l of this.listeners) l(change);
    if (notify) this.notifyWatchers();
  }

  private notifyWatchers(): void {
    for (const w of [...this.watchers]) w();
  }
}

/** orderTypes puts the core types first (discovery, security, consistency), then the rest by name. */
export function orderTypes(types: readonly string[]): string[] {
  const core = CORE_TYPES.filter((t) => types.includes(t));
  const rest = types.filter((t) => !(CORE_TYPES as readonly string[]).includes(t)).sort();
  return [...core, ...rest];
}

function valueOf(i: Instance): string {
  const v: InstanceValue = { ...specOf(i), registeredAt: i.registeredAt };
  return JSON.stringify(v);
}

/** parseKey splits "type/name/id" (a replicated key); undefined unless it is three DNS labels. */
function parseKey(k: string): InstanceKey | undefined {
  const parts = k.split('/');
  if (parts.length !== 3) return undefined;
  const [type, name, id] = parts as [string, string, string];
  const key = { type, name, id };
  return checkKey(key) === undefined ? key : undefined;
}

const peerSpec = registerBodySchema(30);

/**
 * parseValue reads a peer's instance with the same rules as a registration here,
 * so that no peer (a newer version, a bug) can put into the registry what the
 * API would refuse; undefined when it does not pass.
 */
function parseValue(text: string): InstanceValue | undefined {
  try {
    const raw = JSON.parse(text) as { registeredAt?: unknown };
    const { registeredAt, ...spec } = raw;
    const parsed = peerSpec.safeParse(spec);
    if (!parsed.success || typeof registeredAt !== 'number' || !Number.isFinite(registeredAt)) return undefined;
    return { ...parsed.data, registeredAt };
  } catch {
    return undefined;
  }
}
