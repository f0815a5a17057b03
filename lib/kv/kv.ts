import type { Change as Replicated, Ledger } from '../cluster/ledger';
import type { DurableLog } from '../durability';

/** One key and its value, with Consul's bookkeeping: the index that created it and the one that last changed it. */
export interface KvEntry {
  readonly key: string;
  readonly value: Buffer;
  /** An opaque unsigned integer the client stores with the value (0 to 2^53-1). */
  readonly flags: number;
  readonly createIndex: number;
  readonly modifyIndex: number;
}

/** Limits on keys, values and transactions (issue #4); the README states the same numbers. */
export const KV_LIMITS = { keyBytes: 512, valueBytes: 512 * 1024, txnOps: 64 } as const;

/** The largest value [limits] kv_value_bytes may allow: what a node takes from its peers, whatever its own limit. */
export const KV_MAX_VALUE_BYTES = 16 * 1024 * 1024;

/**
 * KvJournal persists the KV store: each method runs inside the DurableLog's
 * transaction; `index` is the store-wide index after the write.
 */
export interface KvJournal {
  load(): { entries: KvEntry[]; index: number };
  put(entry: KvEntry, index: number): void;
  remove(key: string, index: number): void;
}

/** A view a blocking read watches: one key, or every key under a prefix. */
export type KvView = { readonly key: string } | { readonly prefix: string };

/** One operation of a transaction (POST /v1/txn). */
export type TxnOp =
  | { readonly verb: 'set'; readonly key: string; readonly value: Buffer; readonly flags?: number }
  | { readonly verb: 'cas'; readonly key: string; readonly value: Buffer; readonly flags?: number; readonly index: number }
  | { readonly verb: 'delete'; readonly key: string }
  | { readonly verb: 'delete-tree'; readonly key: string }
  | { readonly verb: 'check-index'; readonly key: string; readonly index: number }
  | { readonly verb: 'get'; readonly key: string };

/** TxnError names the operation that made a transaction fail; nothing of the transaction was written. */
export class TxnError extends Error {
  constructor(
    readonly op: number,
    readonly reason: string,
  ) {
    super(`ops[${op}]: ${reason}`);
    this.name = 'TxnError';
  }
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * checkKey returns why `key` is not a valid key, or undefined: non-empty UTF-8 of
 * at most 512 bytes, no leading slash, no empty segment (so no "//" and no
 * trailing slash), no control characters.
 */
export function checkKey(key: string): string | undefined {
  if (key.length === 0) return 'the key is empty';
  return checkPrefix(key) ?? (key.endsWith('/') ? 'a key may not end with "/" (an empty segment)' : undefined);
}

/** checkPrefix is checkKey for prefixes (recurse, keys, delete-tree): may be empty and may end with "/". */
export function checkPrefix(prefix: string): string | undefined {
  if (utf8Bytes(prefix) > KV_LIMITS.keyBytes) return `a key is at most ${KV_LIMITS.keyBytes} bytes of UTF-8`;
  if (prefix.startsWith('/')) return 'a key may not start with "/"';
  if (prefix.includes('//')) return 'a key may not hold an empty segment ("//")';
  // Lone surrogates cannot be stored as UTF-8; control characters break logs and shells.
  if (LONE_SURROGATE.test(prefix)) return 'a key must be valid UTF-8';
  if (/[\u0000-\u001f\u007f]/.test(prefix)) return 'a key may not hold control characters';
  return undefined;
}

/** A change decided but not yet durable: the entry after it, or null for a deletion. */
type Pending = KvEntry | null;

interface Waiter {
  readonly view: KvView;
  readonly resolve: () => void;
}

/** How many deletions are remembered for blocking reads; an older index returns at once. */
const DELETE_LOG = 10_000;

/**
 * KvStore is the durable key/value store. Reads see only acknowledged (durable)
 * writes. Each write is decided when it arrives — against the durable state plus
 * the writes queued before it, so that compare-and-set is exact under group
 * commit — gets the next store-wide index, is made durable, then becomes visible
 * and wakes the blocking reads that watch it. One exception, for a disk that fails:
 * a write decided against a queued write whose commit then fails still commits.
 */
export class KvStore {
  private readonly entries = new Map<string, KvEntry>();
  /** The keys of `entries`, sorted (code-unit order), for prefix reads. */
  private sorted: string[] = [];
  private readonly pending = new Map<string, Pending>();
  private committedIndex: number;
  private allocated: number;
  private readonly deletes: { key: string; index: number }[] = [];
  /** Blocking reads from before this index cannot be answered exactly (deletions forgotten, or a restart). */
  private floor: number;
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  /**
   * `ledger` (replication) stamps every write accepted here in the same write;
   * peers' writes arrive through applyRemote.
   */
  constructor(
    private readonly durable: DurableLog,
    private readonly journal: KvJournal,
    private readonly ledger?: Ledger,
  ) {
    const { entries, index } = journal.load();
    for (const e of entries) this.entries.set(e.key, e);
    this.sorted = [...this.entries.keys()].sort();
    this.committedIndex = this.allocated = this.floor = index;
  }

  /** index is the store-wide index: it grows with every acknowledged write. */
  get index(): number {
    return this.committedIndex;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): KvEntry | undefined {
    return this.entries.get(key);
  }

  /** list returns the entries whose keys start with `prefix`, sorted by key. */
  list(prefix: string): KvEntry[] {
    return this.keysUnder(prefix).map((k) => this.entries.get(k)!);
  }

  /**
   * keys lists the keys under `prefix`; with a separator, a key that has the
   * separator after the prefix is cut just after it and listed once (Consul's
   * `?keys&separator=`).
   */
  keys(prefix: string, separator?: string): string[] {
    const all = this.keysUnder(prefix);
    if (separator === undefined || separator === '') return all;
    const out: string[] = [];
    for (const k of all) {
      const at = k.indexOf(separator, prefix.length);
      const name = at === -1 ? k : k.slice(0, at + separator.length);
      if (out[out.length - 1] !== name) out.push(name);
    }
    return out;
  }

  /**
   * put stores `value` under `key`. With `cas`, only if the key's modifyIndex is
   * `cas` (0: only if the key does not exist). Resolves with ok false (nothing
   * written) when the check fails; rejects with DurabilityError when the store
   * cannot write.
   */
  put(key: string, value: Buffer, opts: { cas?: number; flags?: number } = {}): Promise<{ ok: boolean; index: number }> {
    const current = this.view(key);
    if (opts.cas !== undefined && !casMatches(current, opts.cas)) return Promise.resolve({ ok: false, index: this.committedIndex });
    return this.commit([[key, 'put', value, opts.flags ?? 0]]).then((index) => ({ ok: true, index }));
  }

  /** delete removes `key`; with `cas`, only if its modifyIndex is `cas`. Deleting a missing key succeeds (as in Consul). */
  delete(key: string, opts: { cas?: number } = {}): Promise<{ ok: boolean; index: number }> {
    const current = this.view(key);
    if (opts.cas !== undefined && (current === undefined || current.modifyIndex !== opts.cas)) {
      return Promise.resolve({ ok: false, index: this.committedIndex });
    }
    if (current === undefined) return Promise.resolve({ ok: true, index: this.committedIndex });
    return this.commit([[key, 'delete']]).then((index) => ({ ok: true, index }));
  }

  /** deleteTree removes every key under `prefix` ("" is the whole store). */
  deleteTree(prefix: string): Promise<{ ok: boolean; index: number }> {
    const keys = this.viewKeysUnder(prefix);
    if (keys.length === 0) return Promise.resolve({ ok: true, index: this.committedIndex });
    return this.commit(keys.map((k) => [k, 'delete'] as const)).then((index) => ({ ok: true, index }));
  }

  /**
   * txn applies up to 64 operations atomically: all are checked in order against
   * the state the earlier ones leave; the first that fails throws TxnError naming
   * it and nothing is written. Otherwise every change is written under one index.
   * `get` results are the entries as the transaction sees them.
   */
  async txn(ops: readonly TxnOp[]): Promise<{ index: number; results: (KvEntry | null)[] }> {
    if (ops.length > KV_LIMITS.txnOps) throw new TxnError(KV_LIMITS.txnOps, `a transaction holds at most ${KV_LIMITS.txnOps} operations`);
    const local = new Map<string, Pending>();
    // A transaction that only reads answers from durable state; one that writes decides against queued writes too.
    const readOnly = ops.every((op) => op.verb === 'get' || op.verb === 'check-index');
    const see = (k: string) => (local.has(k) ? (local.get(k) ?? undefined) : readOnly ? this.entries.get(k) : this.view(k));
    const changes: Change[] = [];
    /** Entries this transaction sets: their indexes are known only at commit. */
    const placeholders = new Set<KvEntry>();
    const results: (KvEntry | null)[] = [];
    ops.forEach((op, i) => {
      const current = see(op.key);
      switch (op.verb) {
        case 'cas':
          if (!casMatches(current, op.index)) {
            throw new TxnError(i, current === undefined ? `${op.key} does not exist (cas ${op.index})` : `${op.key} has modifyIndex ${current.modifyIndex}, not ${op.index}`);
          }
        // falls through
        case 'set': {
          changes.push([op.key, 'put', op.value, op.flags ?? 0]);
          const entry = placeholder(op.key, op.value, op.flags ?? 0, current);
          placeholders.add(entry);
          local.set(op.key, entry);
          results.push(entry);
          return;
        }
        case 'delete':
          if (current !== undefined) changes.push([op.key, 'delete']);
          local.set(op.key, null);
          results.push(null);
          return;
        case 'delete-tree': {
          const under = new Set(this.viewKeysUnder(op.key));
          for (const [k, v] of local) {
            if (!k.startsWith(op.key)) continue;
            if (v === null) under.delete(k);
            else under.add(k);
          }
          for (const k of under) {
            changes.push([k, 'delete']);
            local.set(k, null);
          }
          results.push(null);
          return;
        }
        case 'check-index':
          if (current === undefined || current.modifyIndex !== op.index) {
            throw new TxnError(i, current === undefined ? `${op.key} does not exist` : `${op.key} has modifyIndex ${current.modifyIndex}, not ${op.index}`);
          }
          results.push(null);
          return;
        case 'get':
          if (current === undefined) throw new TxnError(i, `${op.key} does not exist`);
          results.push(current);
          return;
      }
    });
    if (changes.length === 0) return { index: this.committedIndex, results };
    const index = await this.commit(changes);
    const filled = (r: KvEntry | null) =>
      r !== null && placeholders.has(r) ? { ...r, createIndex: r.createIndex === 0 ? index : r.createIndex, modifyIndex: index } : r;
    return { index, results: results.map(filled) };
  }

  /** changedSince reports whether the view saw a write with an index above `after` (true when that cannot be known). */
  changedSince(view: KvView, after: number): boolean {
    if (after < this.floor) return true;
    if ('key' in view) {
      if ((this.entries.get(view.key)?.modifyIndex ?? 0) > after) return true;
    } else {
      for (const k of this.keysUnder(view.prefix)) if (this.entries.get(k)!.modifyIndex > after) return true;
    }
    for (let i = this.deletes.length - 1; i >= 0 && this.deletes[i]!.index > after; i--) {
      if (matches(view, this.deletes[i]!.key)) return true;
    }
    return false;
  }

  /**
   * waitForChange resolves when the view changes after `after` (at once if it did
   * already), when timeoutMs passes, when `signal` aborts, or on close().
   */
  waitForChange(view: KvView, after: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.closed || this.changedSince(view, after) || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { view, resolve: done };
      this.waiters.add(waiter);
      timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** waiting is the number of blocking reads waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** close wakes every blocking read and makes later ones return at once (shutdown). */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w.resolve();
  }

  /** view is what a new write decides against: the durable entry, unless a queued write changed it. */
  private view(key: string): KvEntry | undefined {
    if (this.pending.has(key)) return this.pending.get(key) ?? undefined;
    return this.entries.get(key);
  }

  /** viewKeysUnder lists the keys under prefix as a new write sees them (durable ones and queued ones). */
  private viewKeysUnder(prefix: string): string[] {
    const keys = new Set(this.keysUnder(prefix));
    for (const [k, v] of this.pending) {
      if (!k.startsWith(prefix)) continue;
      if (v === null) keys.delete(k);
      else keys.add(k);
    }
    return [...keys].sort();
  }

  private keysUnder(prefix: string): string[] {
    if (prefix === '') return [...this.sorted];
    const out: string[] = [];
    for (let i = lowerBound(this.sorted, prefix); i < this.sorted.length && this.sorted[i]!.startsWith(prefix); i++) out.push(this.sorted[i]!);
    return out;
  }

  /** commit writes a set of changes under one new index, durably, then applies them; it resolves with the index. */
  private async commit(changes: readonly Change[]): Promise<number> {
    const index = ++this.allocated;
    const decided = new Map<string, Pending>();
    for (const [key, kind, value, flags] of changes) {
      if (kind === 'delete') {
        decided.set(key, null);
      } else {
        const before = decided.has(key) ? (decided.get(key) ?? undefined) : this.view(key);
        decided.set(key, { key, value: value!, flags: flags!, createIndex: before?.createIndex ?? index, modifyIndex: index });
      }
    }
    for (const [k, v] of decided) this.pending.set(k, v);
    try {
      await this.durable.commit(
        () => {
          for (const [k, v] of decided) {
            if (v === null) this.journal.remove(k, index);
            else this.journal.put(v, index);
            this.ledger?.local('kv', k, v === null ? null : valueOf(v));
          }
        },
        () => this.apply(decided, index),
      );
    } catch (err) {
      for (const [k, v] of decided) if (this.pending.get(k) === v) this.pending.delete(k);
      throw err;
    }
    return index;
  }

  /**
   * applyRemote applies KV writes replicated from peers; each is stored only when
   * it wins over the version held (Ledger.offer), decided inside the write. They
   * share one new local index. A peer's key or value that this node's API would
   * refuse is skipped. Resolves with the number applied.
   */
  applyRemote(changes: readonly Replicated[]): Promise<number> {
    const ledger = this.ledger;
    if (ledger === undefined || changes.length === 0) return Promise.resolve(0);
    const index = ++this.allocated;
    let decided = new Map<string, Pending>();
    return this.durable.commit(
      () => {
        decided = new Map();
        for (const c of changes) {
          if (checkKey(c.key) !== undefined) continue;
          const v = c.value === null ? null : parseValue(c.value);
          if (v === undefined || !ledger.offer(c)) continue;
          if (v === null) {
            this.journal.remove(c.key, index);
            decided.set(c.key, null);
            continue;
          }
          const before = decided.has(c.key) ? (decided.get(c.key) ?? undefined) : this.entries.get(c.key);
          const entry: KvEntry = { key: c.key, value: v.value, flags: v.flags, createIndex: before?.createIndex ?? index, modifyIndex: index };
          this.journal.put(entry, index);
          decided.set(c.key, entry);
        }
      },
      () => {
        if (decided.size > 0) this.apply(decided, index);
        return decided.size;
      },
    );
  }

  private apply(decided: Map<string, Pending>, index: number): void {
    // A few keys are spliced into the sorted list; many (a large delete-tree) rebuild it once.
    const bulk = decided.size > 64;
    let removed: Set<string> | undefined;
    let added = false;
    for (const [k, v] of decided) {
      if (this.pending.get(k) === v) this.pending.delete(k);
      const had = this.entries.has(k);
      if (v === null) {
        if (had) {
          this.entries.delete(k);
          if (bulk) (removed ??= new Set()).add(k);
          else this.sorted.splice(lowerBound(this.sorted, k), 1);
        }
        this.deletes.push({ key: k, index });
      } else {
        this.entries.set(k, v);
        if (!had) {
          if (bulk) added = true;
          else this.sorted.splice(lowerBound(this.sorted, k), 0, k);
        }
      }
    }
    if (added) this.sorted = [...this.entries.keys()].sort();
    else if (removed !== undefined) this.sorted = this.sorted.filter((k) => !removed.has(k));
    if (this.deletes.length > DELETE_LOG) {
      const dropped = this.deletes.splice(0, this.deletes.length - DELETE_LOG);
      this.floor = Math.max(this.floor, dropped[dropped.length - 1]!.index);
    }
    this.committedIndex = Math.max(this.committedIndex, index);
    if (this.waiters.size === 0) return;
    const changed = [...decided.keys()].sort();
    for (const w of [...this.waiters]) {
      // Changed keys are sorted: a key view is a lookup, a prefix view the first changed key at or after the prefix.
      const probe = 'key' in w.view ? w.view.key : w.view.prefix;
      const next = changed[lowerBound(changed, probe)];
      if (next !== undefined && matches(w.view, next)) w.resolve();
    }
  }
}

type Change = readonly [key: string, kind: 'put' | 'delete', value?: Buffer, flags?: number];

/** valueOf is the replicated form of an entry: the value in base64 and the flags (indexes are each node's own). */
function valueOf(e: KvEntry): string {
  return JSON.stringify({ v: e.value.toString('base64'), f: e.flags });
}

function parseValue(text: string): { value: Buffer; flags: number } | undefined {
  try {
    const raw = JSON.parse(text) as { v?: unknown; f?: unknown };
    if (typeof raw.v !== 'string' || !Number.isSafeInteger(raw.f) || (raw.f as number) < 0) return undefined;
    const value = Buffer.from(raw.v, 'base64');
    return value.length <= KV_MAX_VALUE_BYTES ? { value, flags: raw.f as number } : undefined;
  } catch {
    return undefined;
  }
}

function casMatches(current: KvEntry | undefined, cas: number): boolean {
  return cas === 0 ? current === undefined : current !== undefined && current.modifyIndex === cas;
}

/** placeholder stands for a value set in a transaction: index 0 until the commit gives the real one. */
function placeholder(key: string, value: Buffer, flags: number, before: KvEntry | undefined): KvEntry {
  return { key, value, flags, createIndex: before?.createIndex ?? 0, modifyIndex: 0 };
}

function matches(view: KvView, key: string): boolean {
  return 'key' in view ? view.key === key : key.startsWith(view.prefix);
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
