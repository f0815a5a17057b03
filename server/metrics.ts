import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Metrics is the appliance's Prometheus registry (not prom-client's global one) and
 * the instruments every service records into; /metrics renders it.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route'>;
  readonly authFailures: Counter<'reason'>;
  readonly leaseExpiries: Counter;
  readonly commitBatches: Histogram;
  /** gauge registers a gauge whose value is read at scrape time. */
  gauge(name: string, help: string, labelNames: readonly string[], collect: (set: (labels: Record<string, string>, v: number) => void) => void): void;
  /** counter registers a counter whose running totals are read at scrape time (from counters a service keeps itself). */
  counter(name: string, help: string, labelNames: readonly string[], collect: (set: (labels: Record<string, string>, v: number) => void) => void): void;
}

/** createMetrics builds the registry with process metrics (RSS, CPU, event loop lag, GC). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'nekoq_http_requests_total',
      help: 'HTTP requests by route pattern, method and status code',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'nekoq_http_request_duration_seconds',
      help: 'HTTP request handling time by route pattern (blocking queries included)',
      labelNames: ['route'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10, 60, 600],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'nekoq_auth_failures_total',
      help: 'API requests refused for authentication (missing/unknown token) or authorization (role)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    leaseExpiries: new Counter({
      name: 'nekoq_registry_lease_expiries_total',
      help: 'Instances removed because their lease ran out',
      registers: [registry],
    }),
    commitBatches: new Histogram({
      name: 'nekoq_store_commit_batch_ops',
      help: 'Writes per group-commit transaction (one fsync each)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers: [registry],
    }),
    gauge(name, help, labelNames, collect) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect((labels, v) => this.set(labels, v));
        },
      });
    },
    counter(name, help, labelNames, collect) {
      new Counter({
        name,
        help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          collect((labels, v) => this.inc(labels, v));
        },
      });
    },
  };
}
