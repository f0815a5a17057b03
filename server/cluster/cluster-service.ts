import { readFileSync } from 'node:fs';
import { PeerVerifier } from '../../lib/cluster/peer-auth';
import { KINDS, type Change, type Kind, type Ledger } from '../../lib/cluster/ledger';
import type { ClusterConfig } from '../../lib/config/config';
import type { ZoneStore } from '../../lib/dns/zone-store';
import type { DurableLog } from '../../lib/durability';
import { ApiError } from '../../lib/errors';
import type { KvStore } from '../../lib/kv/kv';
import type { ServiceRegistry } from '../../lib/registry/registry';
import { integerQuery, type Route } from '../http/router';
import type { Log } from '../log';
import type { Metrics } from '../metrics';
import { SqlitePeerCursors } from '../store/ledger-journal';
import type { Store } from '../store/store';
import { PeerPuller, type PeerStatus } from './puller';

/** The most changes one feed page carries, and the default. */
export const FEED_MAX_LIMIT = 10_000;
export const FEED_DEFAULT_LIMIT = 2000;
/** The longest a feed request may wait for news. */
export const FEED_MAX_WAIT_MS = 60_000;
/** How often departed peers are checked, and how often tombstones past their life are forgotten. */
const HOUSEKEEPING_MS = 1000;
const COLLECT_EVERY_MS = 60_000;

export interface ClusterDeps {
  readonly config: ClusterConfig;
  readonly node: string;
  readonly store: Store;
  readonly ledger: Ledger;
  readonly registry: ServiceRegistry;
  readonly zones: ZoneStore;
  readonly kv: KvStore;
  readonly metrics: Metrics;
  readonly log: Log;
}

/**
 * The domain stores a replicated change is applied to, by kind: what a puller
 * calls. Each applies only the changes that win (Ledger.offer) and resolves
 * once they are durable and visible.
 */
export interface Appliers {
  apply(changes: readonly Change[]): Promise<number>;
}

/**
 * ClusterService is one node's part of the cluster: it serves this node's change
 * feed to peers (GET /v1/cluster/changes, signed), runs one PeerPuller per listed
 * peer, reports peers (GET /v1/peers, /metrics), forgets old tombstones, releases
 * the data of peers gone longer than drop_after, and on shutdown answers every
 * waiting puller at once with `leaving` (graceful leave).
 */
export class ClusterService {
  private readonly verifier: PeerVerifier;
  private readonly pullers: PeerPuller[];
  private readonly waiters = new Set<() => void>();
  private leaving = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly authFailures = new Map<string, number>();
  private readonly startedAt = Date.now();
  private readonly released = new Set<string>();
  private lastCollect = 0;
  private readonly durable: DurableLog;

  constructor(private readonly deps: ClusterDeps) {
    const { config, ledger } = deps;
    this.durable = deps.store.durable;
    this.verifier = new PeerVerifier({ cluster: config.name, secret: config.secret });
    ledger.onOwnChange(() => this.wake());
    const cursors = new SqlitePeerCursors(deps.store.db);
    const ca = config.caFile === undefined ? undefined : readFileSync(config.caFile);
    const applier: Appliers = { apply: (changes) => this.applyChanges(changes) };
    this.pullers =
      config.secret === undefined
        ? []
        : config.peers.map(
            (p) =>
              new PeerPuller({
                peer: p,
                cluster: config.name,
                node: deps.node,
                secret: config.secret!,
                ca,
                ledger,
                cursors,
                durable: this.durable,
                applier,
                staleAfterMs: config.staleAfterMs,
                log: deps.log.child({ peer: p.name }),
              }),
          );
    this.registerMetrics(deps.metrics);
  }

  /** The routes: the signed feed for peers, and peer status for operators. */
  routes(): Route[] {
    return [
      { method: 'GET', path: '/v1/cluster/changes', permission: 'none', handler: (ctx) => this.feed(ctx.url, ctx.headers, ctx.query, ctx.signal) },
      { method: 'GET', path: '/v1/peers', permission: 'read', handler: () => ({ status: 200, body: this.status() }) },
    ];
  }

  start(): void {
    for (const p of this.pullers) p.start();
    this.timer = setInterval(() => void this.housekeeping(), HOUSEKEEPING_MS);
    this.timer.unref();
  }

  /** leave answers every waiting feed request with `leaving` and refuses to wait for new ones: the graceful leave. */
  leave(): void {
    this.leaving = true;
    this.wake();
  }

  /** stop ends the pullers (aborting their requests) and the timers. */
  async stop(): Promise<void> {
    this.leave();
    clearInterval(this.timer);
    await Promise.all(this.pullers.map((p) => p.stop()));
  }

  /** status is GET /v1/peers: this node, then each listed peer. */
  status() {
    const owned = this.deps.ledger.ownership();
    return {
      node: this.deps.node,
      cluster: this.deps.config.name,
      observer: this.deps.config.observer,
      epoch: this.deps.ledger.epoch,
      head: this.deps.ledger.head,
      owned: owned.get(this.deps.node) ?? 0,
      peers: this.pullers.map((p) => ({ ...p.status(this.deps.config.dropAfterMs), owned: owned.get(p.name) ?? 0 })),
    };
  }

  /** applyChanges hands one page of a peer's changes to the stores, by kind, and resolves when all are durable. */
  private async applyChanges(changes: readonly Change[]): Promise<number> {
    const by = new Map<Kind, Change[]>(KINDS.map((k) => [k, []]));
    for (const c of changes) by.get(c.kind)?.push(c);
    const zoneChanges = [...by.get('zone')!, ...by.get('rr')!];
    const counts = await Promise.all([
      this.deps.registry.applyRemote(by.get('svc')!),
      this.deps.zones.applyRemote(zoneChanges),
      this.deps.kv.applyRemote(by.get('kv')!),
    ]);
    return counts.reduce((a, b) => a + b, 0);
  }

  private async feed(url: string, headers: Record<string, string | string[] | undefined>, query: URLSearchParams, signal: AbortSignal) {
    const verdict = this.verifier.verify({ method: 'GET', path: url, headers });
    if (!verdict.ok) {
      this.authFailures.set(verdict.reason, (this.authFailures.get(verdict.reason) ?? 0) + 1);
      this.deps.log.warn('peer request refused', { reason: verdict.reason, node: typeof headers['x-nekoq-node'] === 'string' ? headers['x-nekoq-node'].slice(0, 63) : undefined });
      throw new ApiError('peer_unauthorized', `peer request refused: ${verdict.reason}`);
    }
    const since = integerQuery(query, 'since', Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = integerQuery(query, 'limit', FEED_MAX_LIMIT, 1) ?? FEED_DEFAULT_LIMIT;
    const waitMs = integerQuery(query, 'wait', FEED_MAX_WAIT_MS) ?? 0;
    const epoch = query.get('epoch');
    const { ledger } = this.deps;
    // Only wait when the position is valid here and nothing is new.
    const usable = (epoch === null || epoch === ledger.epoch) && since <= ledger.head && (since === 0 || since >= ledger.floor);
    if (usable && waitMs > 0 && !this.leaving && ledger.head === since) {
      await this.waitForNews(since, waitMs, signal);
    }
    const page = ledger.changes(since, limit);
    // The body is written by hand: each value is stored as JSON text and goes out as is.
    const parts = page.changes.map(
      (c) => `{"seq":${c.seq},"kind":"${c.kind}","key":${JSON.stringify(c.key)},"hlc":"${c.hlc}","value":${c.value ?? 'null'}}`,
    );
    const head = {
      cluster: this.deps.config.name,
      node: this.deps.node,
      epoch: ledger.epoch,
      head: ledger.head,
      floor: ledger.floor,
      leaving: this.leaving,
      more: page.more,
    };
    const data = `${JSON.stringify(head).slice(0, -1)},"changes":[${parts.join(',')}]}`;
    return { status: 200, text: { contentType: 'application/json', data }, headers: { 'cache-control': 'no-store' } };
  }

  private waitForNews(since: number, waitMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (this.leaving || this.deps.ledger.head > since) done();
      };
      const timer = setTimeout(done, waitMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * housekeeping forgets tombstones past their life and releases the data of
   * nodes not heard from for drop_after: listed peers since their last success
   * (or since this start), and origins no listed peer owns (a node removed from
   * the config) after drop_after from this start.
   */
  private async housekeeping(): Promise<void> {
    const { ledger, config, registry } = this.deps;
    const now = Date.now();
    try {
      if (now - this.lastCollect >= COLLECT_EVERY_MS) {
        this.lastCollect = now;
        await this.durable.commit(() => void ledger.collect(config.tombstoneTtlMs), () => undefined);
      }
      const gone: string[] = [];
      for (const p of this.pullers) {
        if (now - (p.lastSuccess ?? this.startedAt) > config.dropAfterMs && !this.released.has(p.name)) gone.push(p.name);
      }
      if (now - this.startedAt > config.dropAfterMs) {
        const listed = new Set(this.pullers.map((p) => p.name));
        for (const origin of ledger.ownership().keys()) {
          if (origin !== this.deps.node && !listed.has(origin) && !this.released.has(origin)) gone.push(origin);
        }
      }
      for (const origin of gone) {
        let rows: ReturnType<Ledger['release']> = { dropped: [], adopted: 0 };
        await this.durable.commit(
          () => {
            rows = ledger.release(origin, new Set<Kind>(['svc']));
            registry.journalForget(rows.dropped);
            this.pullers.find((p) => p.name === origin)?.forgetCursor();
          },
          () => registry.forget(rows.dropped),
        );
        this.released.add(origin);
        this.pullers.find((p) => p.name === origin)?.markDropped();
        this.deps.log.warn('released a departed node', { origin, instances_dropped: rows.dropped.length, entries_adopted: rows.adopted });
      }
      for (const p of this.pullers) if (p.lastSuccess !== undefined && now - p.lastSuccess <= config.dropAfterMs) this.released.delete(p.name);
    } catch (err) {
      this.deps.log.error('cluster housekeeping', { error: err as Error });
    }
  }

  private registerMetrics(m: Metrics): void {
    m.counter('nekoq_peer_auth_failures_total', 'Peer requests refused (401 peer_unauthorized), by reason', ['reason'], (set) => {
      for (const [reason, n] of this.authFailures) set({ reason }, n);
    });
    const each = (f: (s: PeerStatus) => number) => (set: (l: Record<string, string>, v: number) => void) => {
      for (const p of this.pullers) set({ peer: p.name }, f(p.status(this.deps.config.dropAfterMs)));
    };
    m.gauge('nekoq_peer_reachable', 'Whether the last exchange with the peer succeeded (1) or not (0)', ['peer'], each((s) => (s.reachable ? 1 : 0)));
    m.gauge('nekoq_peer_stale', 'Whether the peer has not answered for longer than stale_after (1)', ['peer'], each((s) => (s.state === 'stale' || s.state === 'dropped' ? 1 : 0)));
    m.gauge('nekoq_peer_lag_seq', "Changes of the peer's feed not yet applied here", ['peer'], each((s) => s.lag.seq));
    m.gauge('nekoq_peer_lag_seconds', 'How long this node has been behind the peer (0 when caught up)', ['peer'], each((s) => s.lag.ms / 1000));
    m.gauge('nekoq_peer_last_success_timestamp_seconds', 'When the last exchange with the peer succeeded', ['peer'], each((s) => (s.lastSuccess === null ? 0 : Date.parse(s.lastSuccess) / 1000)));
    m.counter('nekoq_peer_errors_total', 'Failed exchanges with the peer', ['peer'], each((s) => s.errors));
    m.counter('nekoq_peer_changes_applied_total', "The peer's changes that won here and were applied", ['peer'], each((s) => s.applied));
    m.counter('nekoq_peer_received_bytes_total', "Bytes of the peer's feed received", ['peer'], each((s) => s.bytes));
    m.counter('nekoq_peer_snapshots_total', 'Snapshots taken from the peer', ['peer'], each((s) => s.snapshots));
    m.gauge('nekoq_cluster_feed_head', "This node's change feed position", [], (set) => set({}, this.deps.ledger.head));
  }
}
