import { isStamp } from '../../lib/cluster/hlc';
import { KINDS, type Change, type Kind, type Ledger } from '../../lib/cluster/ledger';
import type { DurableLog } from '../../lib/durability';
import type { Log } from '../log';
import type { PeerCursor, SqlitePeerCursors } from '../store/ledger-journal';
import type { Appliers } from './cluster-service';
import { PeerClient, PeerError } from './peer-client';

/** How long a feed request waits for news at the peer (long poll), and the client's allowance beyond it. */
const LONG_POLL_MS = 25_000;
const TIMEOUT_ALLOWANCE_MS = 10_000;
/** Page size while catching up (a snapshot or a backlog). */
const PAGE = 5000;
/** Retry delays after a failure: doubling from the first to the last. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5000;

export interface PullerOptions {
  readonly peer: { readonly name: string; readonly url: string };
  readonly cluster: string;
  readonly node: string;
  readonly secret: string;
  readonly ca: Buffer | undefined;
  readonly ledger: Ledger;
  readonly cursors: SqlitePeerCursors;
  readonly durable: DurableLog;
  readonly applier: Appliers;
  readonly staleAfterMs: number;
  readonly log: Log;
}

/** What GET /v1/peers shows of one peer. */
export interface PeerStatus {
  readonly name: string;
  readonly url: string;
  /** syncing (first snapshot), ok, unreachable (failing, within stale_after), stale, left (said so at shutdown), dropped. */
  readonly state: 'syncing' | 'ok' | 'unreachable' | 'stale' | 'left' | 'dropped';
  readonly reachable: boolean;
  readonly lastSuccess: string | null;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly errors: number;
  readonly lag: { readonly seq: number; readonly ms: number };
  readonly position: { readonly epoch: string | null; readonly seq: number; readonly head: number };
  readonly applied: number;
  readonly bytes: number;
  readonly snapshots: number;
}

interface FeedPage {
  cluster: string;
  node: string;
  epoch: string;
  head: number;
  floor: number;
  leaving: boolean;
  more: boolean;
  changes: { seq: number; kind: string; key: string; hlc: string; value: unknown }[];
}

/**
 * PeerPuller keeps this node up to date with one peer's own data. It long-polls
 * the peer's feed from the last position it applied, applies each page through
 * the stores (each change only if it wins) and only then records the new
 * position, durably: after a crash it asks again from the recorded position,
 * and re-applying a change it already holds is a no-op. A lost or repeated
 * response therefore loses or duplicates nothing.
 *
 * It takes a snapshot — the feed from 0, every row the peer owns — on first
 * contact, when the peer's epoch changed (a new data directory) or when its
 * position is below the peer's floor (tombstones it never saw were forgotten).
 * At the end of a snapshot, keys this node holds from the peer that the snapshot
 * did not carry are deleted with the peer's own stamp (the peer no longer has
 * them). The position is recorded only when the snapshot is complete.
 */
export class PeerPuller {
  readonly name: string;
  private readonly client: PeerClient;
  private cursor: PeerCursor | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  lastSuccess: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private errors = 0;
  private failures = 0;
  private left = false;
  private dropped = false;
  private head = 0;
  private behindSince: number | undefined;
  private applied = 0;
  private bytes = 0;
  private snapshots = 0;

  constructor(private readonly opts: PullerOptions) {
    this.name = opts.peer.name;
    this.client = new PeerClient({ cluster: opts.cluster, node: opts.node, secret: opts.secret, url: opts.peer.url, ca: opts.ca });
    this.cursor = opts.cursors.get(this.name);
    this.head = this.cursor?.seq ?? 0;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.sleeper?.wake();
    this.client.close();
    await this.loop;
  }

  /** forgetCursor drops the recorded position (the peer was released); call it inside a DurableLog write. */
  forgetCursor(): void {
    this.opts.cursors.clear(this.name);
    this.cursor = undefined;
  }

  markDropped(): void {
    this.dropped = true;
  }

  status(dropAfterMs: number): PeerStatus {
    const now = Date.now();
    const reachable = this.failures === 0 && this.lastSuccess !== undefined && !this.left;
    const silentFor = now - (this.lastSuccess ?? now);
    let state: PeerStatus['state'];
    if (this.dropped || (this.lastSuccess !== undefined && silentFor > dropAfterMs)) state = 'dropped';
    else if (this.lastSuccess !== undefined && silentFor > this.opts.staleAfterMs && !reachable) state = 'stale';
    else if (this.left) state = 'left';
    else if (this.cursor === undefined) state = 'syncing';
    else state = reachable ? 'ok' : 'unreachable';
    const seq = this.cursor?.seq ?? 0;
    return {
      name: this.name,
      url: this.opts.peer.url,
      state,
      reachable,
      lastSuccess: this.lastSuccess === undefined ? null : new Date(this.lastSuccess).toISOString(),
      lastError: this.lastError ?? null,
      lastErrorAt: this.lastErrorAt === undefined ? null : new Date(this.lastErrorAt).toISOString(),
      errors: this.errors,
      lag: { seq: Math.max(0, this.head - seq), ms: this.behindSince === undefined ? 0 : now - this.behindSince },
      position: { epoch: this.cursor?.epoch ?? null, seq, head: this.head },
      applied: this.applied,
      bytes: this.bytes,
      snapshots: this.snapshots,
    };
  }

  private async run(): Promise<void> {
    /** Keys received in the snapshot under way, by kind; undefined when not in a snapshot. */
    let snapshot: { epoch: string; seen: Set<string>; since: number } | undefined;
    let more = false;
    while (this.running) {
      const since = snapshot?.since ?? this.cursor?.seq ?? 0;
      const epoch = snapshot?.epoch ?? this.cursor?.epoch;
      // After a failure or a leave, the first request answers at once, so the status shows the peer back without waiting for news.
      const catchingUp = snapshot !== undefined || more || this.cursor === undefined || this.failures > 0 || this.left;
      const wait = catchingUp ? 0 : LONG_POLL_MS;
      const path = `/v1/cluster/changes?since=${since}&limit=${PAGE}&wait=${wait}${epoch === undefined ? '' : `&epoch=${epoch}`}`;
      let page: FeedPage;
      try {
        const res = await this.client.get(path, wait + TIMEOUT_ALLOWANCE_MS);
        this.bytes += res.body.length;
        page = parsePage(res.body, this.opts.cluster, this.name);
      } catch (err) {
        if (!this.running) break;
        this.fail(err as Error);
        await this.sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.failures - 1, 10)));
        continue;
      }
      this.lastSuccess = Date.now();
      this.failures = 0;
      this.dropped = false;
      this.head = page.head;
      if (snapshot === undefined && (this.cursor === undefined || page.epoch !== this.cursor.epoch || since > page.head || (since > 0 && since < page.floor))) {
        // A position this peer cannot serve incrementally: start a snapshot.
        if (this.cursor !== undefined) this.opts.log.info('snapshot from peer', { reason: page.epoch !== this.cursor.epoch ? 'new epoch' : 'behind the floor' });
        snapshot = { epoch: page.epoch, seen: new Set(), since: 0 };
        this.snapshots++;
        if (since !== 0) continue; // otherwise this page is the snapshot's first
      } else if (snapshot !== undefined && page.epoch !== snapshot.epoch) {
        snapshot = undefined; // the peer restarted on a new data directory mid-snapshot: begin again
        continue;
      }
      const changes = page.changes.map((c) => ({ ...c, origin: this.name, value: c.value === null ? null : JSON.stringify(c.value) }) as Change);
      try {
        this.applied += await this.opts.applier.apply(changes);
      } catch (err) {
        this.fail(err as Error);
        await this.sleep(RETRY_MAX_MS);
        continue;
      }
      const last = changes.length > 0 ? changes[changes.length - 1]!.seq : since;
      const next = page.more ? last : Math.max(last, page.head);
      more = page.more;
      if (snapshot !== undefined) {
        for (const c of changes) snapshot.seen.add(`${c.kind} ${c.key}`);
        snapshot.since = next;
        if (page.more) continue;
        await this.finishSnapshot(snapshot.epoch, snapshot.seen, next);
        snapshot = undefined;
      } else if (next !== since || this.cursor === undefined) {
        await this.record({ epoch: page.epoch, seq: next });
      }
      this.behindSince = page.more ? (this.behindSince ?? Date.now()) : undefined;
      if (page.leaving) {
        if (!this.left) this.opts.log.info('peer is leaving');
        this.left = true;
        await this.sleep(1000);
      } else {
        this.left = false;
      }
    }
  }

  /** finishSnapshot deletes what the peer no longer owns, then records the position. */
  private async finishSnapshot(epoch: string, seen: Set<string>, seq: number): Promise<void> {
    const gone: Change[] = [];
    for (const kind of KINDS) {
      for (const r of this.opts.ledger.under(kind, '')) {
        if (r.origin !== this.name || r.value === null || seen.has(`${kind} ${r.key}`)) continue;
        gone.push({ kind: kind as Kind, key: r.key, origin: r.origin, hlc: r.hlc, seq: r.seq, value: null });
      }
    }
    if (gone.length > 0) {
      this.opts.log.info('snapshot: deleting what the peer no longer holds', { entries: gone.length });
      this.applied += await this.opts.applier.apply(gone);
    }
    await this.record({ epoch, seq });
  }

  private record(cursor: PeerCursor): Promise<void> {
    return this.opts.durable.commit(
      () => this.opts.cursors.set(this.name, cursor),
      () => {
        this.cursor = cursor;
      },
    );
  }

  private fail(err: Error): void {
    this.failures++;
    this.errors++;
    const message = err instanceof PeerError || err instanceof SyntaxError || err instanceof FeedError ? err.message : `applying: ${err.message}`;
    if (this.lastError !== message || this.failures === 1) this.opts.log.warn('pulling from peer failed', { error: message, failures: this.failures });
    this.lastError = message;
    this.lastErrorAt = Date.now();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleeper = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleeper = { timer, wake };
    });
  }
}

/** FeedError is an answer that is not a valid feed page of the expected peer. */
class FeedError extends Error {}

function parsePage(body: Buffer, cluster: string, peer: string): FeedPage {
  const p = JSON.parse(body.toString('utf8')) as FeedPage;
  if (p === null || typeof p !== 'object' || !Array.isArray(p.changes)) throw new FeedError('the answer is not a feed page');
  if (p.cluster !== cluster) throw new FeedError(`the peer is in cluster "${String(p.cluster).slice(0, 64)}", not "${cluster}"`);
  if (p.node !== peer) throw new FeedError(`the peer says it is "${String(p.node).slice(0, 64)}", not "${peer}": check [[cluster.peers]]`);
  if (typeof p.epoch !== 'string' || !Number.isSafeInteger(p.head) || !Number.isSafeInteger(p.floor)) throw new FeedError('the feed page lacks epoch, head or floor');
  let last = 0;
  for (const c of p.changes) {
    if (!Number.isSafeInteger(c.seq) || c.seq <= last || !(KINDS as readonly string[]).includes(c.kind) || typeof c.key !== 'string' || !isStamp(c.hlc)) {
      throw new FeedError('a change in the feed page is malformed');
    }
    last = c.seq;
  }
  return p;
}
