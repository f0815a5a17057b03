import { dirname } from 'node:path';
import type { LimitHits } from '../lib/limits';
import type { Ledger } from '../lib/cluster/ledger';
import { RENEWAL_FLUSH_MS, RESTORE_ALLOWANCE_MS, ServiceRegistry } from '../lib/registry/registry';
import type { Log } from './log';
import type { Metrics } from './metrics';
import { SqliteInstanceJournal } from './store/instance-journal';
import { LeaseMark } from './store/lease-mark';
import type { Store } from './store/store';

/** How often leases are swept: an expired instance is gone from reads at once and from indexes within this. */
export const SWEEP_INTERVAL_MS = 250;

/**
 * RegistryService owns the ServiceRegistry's life: it restores the journalled
 * instances, sweeps expired leases every SWEEP_INTERVAL_MS, and reports the
 * registry to /metrics.
 */
export class RegistryService {
  readonly registry: ServiceRegistry;
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly log: Log;
  private readonly now: () => number;
  private readonly mark: LeaseMark;
  /** When the last flush tick ran, and before when every acknowledged renewal is journalled (see LeaseMark). */
  private aliveAt = 0;
  private durableAt = 0;
  /** A renewal batch failed to commit: durableAt stays where it was. */
  private journalFailed = false;
  private markFailed = false;

  constructor(deps: { store: Store; metrics: Metrics; log: Log; ledger?: Ledger; now?: () => number; maxInstancesPerService?: number; hits?: LimitHits }) {
    const now = deps.now ?? Date.now;
    this.now = now;
    this.log = deps.log;
    this.mark = new LeaseMark(dirname(deps.store.path));
    const journal = new SqliteInstanceJournal(deps.store.db);
    const restored = journal.load(now(), RESTORE_ALLOWANCE_MS, deps.ledger?.node, this.mark.previous);
    this.registry = new ServiceRegistry({
      durable: deps.store.durable,
      journal,
      now,
      restored,
      ledger: deps.ledger,
      ...(deps.maxInstancesPerService === undefined ? {} : { maxInstancesPerService: deps.maxInstancesPerService }),
      ...(deps.hits === undefined ? {} : { hits: deps.hits }),
    });
    if (restored.instances.length > 0) deps.log.info('restored live instances', { instances: restored.instances.length, index: restored.index });
    this.registry.onChange((c) => {
      if (c.kind === 'expire') deps.metrics.leaseExpiries.inc();
    });
    deps.metrics.gauge('nekoq_registry_instances', 'Live instances by service type', ['type'], (set) => {
      for (const [type, n] of this.registry.countsByType()) set({ type }, n);
    });
    deps.metrics.gauge('nekoq_registry_index', 'Registry change index', [], (set) => set({}, this.registry.index));
    deps.metrics.gauge('nekoq_registry_blocking_queries', 'Blocking queries waiting for a change', [], (set) => set({}, this.registry.waiting));
  }

  start(): void {
    // Nothing is acknowledged yet: every renewal so far is journalled.
    this.aliveAt = this.durableAt = this.now();
    this.writeMark();
    this.timer = setInterval(() => this.registry.sweep(), SWEEP_INTERVAL_MS);
    this.flushTimer = setInterval(() => this.flushRenewals(), RENEWAL_FLUSH_MS);
  }

  /**
   * stop ends the timers and wakes blocking queries so the HTTP drain is not held up
   * by them. Renewals acknowledged during the drain are journalled by a last
   * flushRenewals just before the store closes.
   */
  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.flushTimer);
    this.registry.close();
  }

  /**
   * flushRenewals queues the pending renewals for the next group commit (the
   * store's close commits what is queued) and keeps the lease mark current: alive
   * now, and journalled up to this tick once the commit is durable.
   */
  flushRenewals(): void {
    const tick = this.now();
    this.aliveAt = tick;
    this.writeMark();
    this.registry.flushRenewals().then(
      () => {
        if (this.journalFailed || tick <= this.durableAt) return;
        this.durableAt = tick;
        this.writeMark();
      },
      (err: Error) => {
        this.journalFailed = true;
        this.log.error('journalling lease renewals', { error: err });
      },
    );
  }

  /** closed marks a graceful stop, once the store has committed the last renewals and closed. */
  closed(): void {
    this.aliveAt = this.durableAt = this.now();
    this.writeMark(true);
    this.mark.close();
  }

  /** writeMark records aliveAt and durableAt; a failed write is logged once (the next restart then restores leases by the journal and an older mark). */
  private writeMark(clean = false): void {
    try {
      this.mark.write(this.aliveAt, this.durableAt, clean);
    } catch (err) {
      if (!this.markFailed) this.log.error('writing the lease mark', { error: err as Error });
      this.markFailed = true;
    }
  }
}
