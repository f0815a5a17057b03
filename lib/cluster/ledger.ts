import { randomBytes } from 'node:crypto';
import { HybridClock } from './hlc';

/**
 * What replicates: service instances, operator zones (existence), their RRsets,
 * and KV entries. Keys: svc "type/name/id"; zone "example.com"; rr
 * ["example.com","name","TYPE"] (JSON); kv the KV key.
 */
export const KINDS = ['svc', 'zone', 'rr', 'kv'] as const;
export type Kind = (typeof KINDS)[number];

/**
 * One replicated change: the newest version of one key as its owner wrote it.
 * `value` is the domain's JSON text, null for a deletion (a tombstone). `seq` is
 * the owner's sequence number of this version (its change feed's position).
 */
export interface Change {
  readonly kind: Kind;
  readonly key: string;
  readonly origin: string;
  readonly hlc: string;
  readonly seq: number;
  readonly value: string | null;
}

/** A change as stored, with the local time it was stored (tombstones live a bounded time from it). */
export interface LedgerRow extends Change {
  readonly at: number;
}

/**
 * LedgerJournal is the ledger's table. Every method but `state` runs inside the
 * DurableLog's transaction (the same one that changes the domain's own tables),
 * so the ledger and the data it describes never disagree after a crash.
 */
export interface LedgerJournal {
  state(): { epoch: string | undefined; head: number; floor: number; newest: string | undefined };
  setEpoch(epoch: string): void;
  setHead(head: number): void;
  setFloor(floor: number): void;
  get(kind: Kind, key: string): LedgerRow | undefined;
  put(row: LedgerRow): void;
  remove(kind: Kind, key: string): void;
  /** since lists the rows of one origin with seq > `since`, in seq order, at most `limit`. */
  since(origin: string, since: number, limit: number): LedgerRow[];
  /** under lists the rows of a kind whose key starts with `prefix`. */
  under(kind: Kind, prefix: string): LedgerRow[];
  ofOrigin(origin: string): LedgerRow[];
  /** tombstones lists tombstones stored before `at`, at most `limit`. */
  tombstones(before: number, limit: number): LedgerRow[];
  /** origins lists every origin that owns at least one row, with its count. */
  origins(): Map<string, number>;
}

/**
 * newer reports whether version a wins over version b: newest clock, then the
 * greater node name, then a deletion over a value. The last rule only meets
 * versions of one write: a snapshot that no longer holds a key the puller has
 * from that peer says the key is gone (its tombstone was forgotten), and the
 * puller deletes it with the same stamp.
 */
export function newer(a: { hlc: string; origin: string; value?: string | null }, b: { hlc: string; origin: string; value?: string | null }): boolean {
  if (a.hlc !== b.hlc) return a.hlc > b.hlc;
  if (a.origin !== b.origin) return a.origin > b.origin;
  return a.value === null && b.value !== null && b.value !== undefined;
}

export interface LedgerOptions {
  readonly node: string;
  readonly journal: LedgerJournal;
  readonly now?: () => number;
}

/**
 * Ledger is this node's replication state: for every replicated key, which node
 * owns its newest version and the clock stamp of that version (last writer wins,
 * node name breaking ties), and this node's change feed.
 *
 * The feed is the ledger's own rows ordered by seq: one row per key, the latest
 * version, so it never grows beyond the data set and needs no per-puller queue.
 * A puller that asks `since` its last applied seq gets every own row changed
 * after it (a row rewritten meanwhile moves to a higher seq and is seen there),
 * so a lost or repeated response loses or duplicates nothing. Two things make an
 * old position unusable, and both are announced: `floor` rises when a tombstone
 * past its life is forgotten (a puller behind it could miss that deletion), and
 * `epoch` changes when the data directory is new (seqs restart). A puller behind
 * the floor or on another epoch takes a snapshot (the feed from 0) instead.
 */
export class Ledger {
  readonly node: string;
  readonly epoch: string;
  private readonly journal: LedgerJournal;
  private readonly now: () => number;
  readonly clock: HybridClock;
  private headSeq: number;
  private floorSeq: number;
  private readonly listeners: (() => void)[] = [];
  private notifyQueued = false;

  constructor(opts: LedgerOptions) {
    this.node = opts.node;
    this.journal = opts.journal;
    this.now = opts.now ?? Date.now;
    this.clock = new HybridClock(this.now);
    const s = this.journal.state();
    this.headSeq = s.head;
    this.floorSeq = s.floor;
    if (s.newest !== undefined) this.clock.observe(s.newest);
    if (s.epoch === undefined) {
      this.epoch = randomBytes(8).toString('hex');
      this.journal.setEpoch(this.epoch);
    } else {
      this.epoch = s.epoch;
    }
  }

  /** The seq of this node's newest own change. */
  get head(): number {
    return this.headSeq;
  }

  /** Positions below this (other than 0) can no longer be served incrementally. */
  get floor(): number {
    return this.floorSeq;
  }

  /** onOwnChange adds a listener called (once per turn) after own changes were committed: the feed has news. */
  onOwnChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /**
   * local stamps a change accepted by this node; call it inside a DurableLog write.
   * A local change always wins: its stamp is newer than any this node has seen.
   */
  local(kind: Kind, key: string, value: string | null): Change {
    const row: LedgerRow = { kind, key, origin: this.node, hlc: this.clock.tick(), seq: ++this.headSeq, value, at: this.now() };
    this.journal.put(row);
    this.journal.setHead(this.headSeq);
    this.announce();
    return row;
  }

  /**
   * offer stores a peer's change when it wins over the version this node holds,
   * and reports whether it did; call it inside a DurableLog write and change the
   * domain's data in the same write only when it returns true.
   */
  offer(change: Change): boolean {
    const held = this.journal.get(change.kind, change.key);
    this.clock.observe(change.hlc);
    if (held !== undefined && !newer(change, held)) return false;
    this.journal.put({ ...change, at: this.now() });
    return true;
  }

  /** current is the version this node holds of a key (a tombstone has value null), or undefined. */
  current(kind: Kind, key: string): LedgerRow | undefined {
    return this.journal.get(kind, key);
  }

  /** under lists the versions held of a kind's keys under a prefix (an operator zone's RRsets). */
  under(kind: Kind, prefix: string): LedgerRow[] {
    return this.journal.under(kind, prefix);
  }

  /**
   * changes is the feed: own rows after `since`, in seq order, at most `limit`;
   * `more` says whether more are waiting.
   */
  changes(since: number, limit: number): { changes: Change[]; more: boolean } {
    const rows = this.journal.since(this.node, since, limit + 1);
    const more = rows.length > limit;
    return { changes: (more ? rows.slice(0, limit) : rows).map(({ at: _at, ...c }) => c), more };
  }

  /**
   * collect forgets tombstones stored more than lifeMs ago (at most `limit` per
   * call); call it inside a DurableLog write. Forgetting an own tombstone raises
   * the floor to its seq.
   */
  collect(lifeMs: number, limit = 10_000): LedgerRow[] {
    const old = this.journal.tombstones(this.now() - lifeMs, limit);
    let floor = this.floorSeq;
    for (const r of old) {
      this.journal.remove(r.kind, r.key);
      if (r.origin === this.node) floor = Math.max(floor, r.seq);
    }
    if (floor !== this.floorSeq) {
      this.floorSeq = floor;
      this.journal.setFloor(floor);
    }
    return old;
  }

  /**
   * release ends a departed peer's ownership; call it inside a DurableLog write.
   * Rows of the kinds in `drop` are removed and returned (the domain removes the
   * data: leased instances, whose owner can no longer renew or expire them). The
   * other rows, durable data that was acknowledged to a client, are adopted:
   * this node serves them from its own feed under the same clock stamp, so no
   * value changes and a node that joins later still receives them.
   */
  release(origin: string, drop: ReadonlySet<Kind>): { dropped: LedgerRow[]; adopted: number } {
    if (origin === this.node) return { dropped: [], adopted: 0 };
    const dropped: LedgerRow[] = [];
    let adopted = 0;
    for (const r of this.journal.ofOrigin(origin)) {
      if (drop.has(r.kind)) {
        this.journal.remove(r.kind, r.key);
        dropped.push(r);
      } else {
        this.journal.put({ ...r, origin: this.node, seq: ++this.headSeq, at: this.now() });
        adopted++;
      }
    }
    if (adopted > 0) {
      this.journal.setHead(this.headSeq);
      this.announce();
    }
    return { dropped, adopted };
  }

  /** ownership counts the rows each node owns here (for /v1/peers). */
  ownership(): Map<string, number> {
    return this.journal.origins();
  }

  private announce(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    // The write runs inside a transaction that commits before microtasks run.
    queueMicrotask(() => {
      this.notifyQueued = false;
      for (const l of this.listeners) l();
    });
  }
}
