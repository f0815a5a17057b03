import type { LimitHits } from '../lib/limits';
import type { Ledger } from '../lib/cluster/ledger';
import { RENEWAL_FLUSH_MS, RESTORE_ALLOWANCE_MS, ServiceRegistry } from '../lib/registry/registry';
import type { Log } from './log';
import type { Metrics } from './metrics';
import { SqliteInstanceJournal } from './store/instance-journal';
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

  constructor(deps: { store: Store; metrics: Metrics; log: Log; ledger?: Ledger; now?: () => number; maxInstancesPerService?: number; hits?: LimitHits }) {
    const now = deps.now ?? Date.now;
    this.log = deps.log;
    const journal = new SqliteInstanceJournal(deps.store.db);
    const restored = journal.load(now(), RESTORE_ALLOWANCE_MS, deps.ledger?.node);
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

  /** flushRenewals queues the pending renewals for the next group commit (the store's close commits what is queued). */
  flushRenewals(): void {
    this.registry.flushRenewals().catch((err: Error) => this.log.error('journalling lease renewals', { error: err }));
  }
}
