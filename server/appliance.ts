import { readFileSync } from 'node:fs';
import type { ApplianceInfo, ApplianceOperations } from '../lib/appliance';
import { verifyPassword } from '../lib/auth/password';
import { TokenTable } from '../lib/auth/tokens';
import type { Config } from '../lib/config/config';
import { formatListen } from '../lib/config/listen';
import { Ledger } from '../lib/cluster/ledger';
import { ApiError } from '../lib/errors';
import { KvStore } from '../lib/kv/kv';
import { ClusterService } from './cluster/cluster-service';
import { DnsService } from './dns/dns-service';
import { dohRoutes, dohStreamHandler } from './dns/doh';
import { HttpFront } from './http/http-front';
import { ApiRouter, type Route } from './http/router';
import { operationRoutes } from './http/routes/operations';
import { kvRoutes } from './http/routes/kv';
import { serviceRoutes } from './http/routes/services';
import { zoneRoutes } from './http/routes/zones';
import type { Log } from './log';
import { createMetrics } from './metrics';
import { RegistryService } from './registry-service';
import { ensureSecrets, type FirstStartCredentials } from './secrets';
import { SqliteKvJournal } from './store/kv-journal';
import { SqliteLedgerJournal } from './store/ledger-journal';
import type { Store } from './store/store';
import { WebManager } from './web';

export interface ApplianceDeps {
  readonly log: Log;
  readonly store: Store;
  readonly root: string;
  readonly version: string;
  readonly dev: boolean;
  /** Called once with credentials generated on this start, to show them to the operator (never logged). */
  readonly showCredentials: (c: FirstStartCredentials) => void;
}

/**
 * RunningAppliance wires every service of one node, explicitly and in one place:
 * create() builds them all (constructors validate, nothing listens yet), start()
 * starts them in the order of `startOrder`, shutdown() stops them in reverse and
 * closes the store.
 */
export class RunningAppliance {
  private readonly startedAt = Date.now();
  private readonly fronts: HttpFront[];
  private stopping: Promise<void> | undefined;
  private started = false;
  /** Resolves when shutdown has finished. */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  private constructor(
    private readonly config: Config,
    private readonly deps: ApplianceDeps,
    private readonly registryService: RegistryService,
    private readonly dns: DnsService,
    private readonly kv: KvStore,
    private readonly cluster: ClusterService,
    private readonly web: WebManager,
    private readonly http: HttpFront,
    private readonly https: HttpFront | undefined,
  ) {
    this.fronts = https === undefined ? [http] : [http, https];
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
  }

  /** create builds the node's services from the config; it binds nothing. */
  static async create(config: Config, deps: ApplianceDeps): Promise<RunningAppliance> {
    const { log, store } = deps;
    const { secrets, shown } = await ensureSecrets(config, store);
    if (shown.adminPassword !== undefined || shown.adminToken !== undefined) deps.showCredentials(shown);

    const metrics = createMetrics();
    store.durable.onBatch = (ops) => metrics.commitBatches.observe(ops);
    const ledger = new Ledger({ node: config.node.name, journal: new SqliteLedgerJournal(store.db) });
    const registryService = new RegistryService({ store, metrics, ledger, log: log.child({ service: 'registry' }) });
    const dns = new DnsService({ config, store, registry: registryService.registry, metrics, log, ledger });
    const kv = new KvStore(store.durable, new SqliteKvJournal(store.db), ledger);
    const cluster = new ClusterService({
      config: config.cluster,
      node: config.node.name,
      store,
      ledger,
      registry: registryService.registry,
      zones: dns.zones,
      kv,
      metrics,
      log: log.child({ service: 'cluster' }),
    });
    metrics.gauge('nekoq_kv_keys', 'Keys in the KV store', [], (set) => set({}, kv.size));
    metrics.gauge('nekoq_kv_index', 'KV store-wide index', [], (set) => set({}, kv.index));
    metrics.gauge('nekoq_kv_blocking_queries', 'Blocking KV reads waiting for a change', [], (set) => set({}, kv.waiting));

    let self: RunningAppliance | undefined;
    // An observer serves what it pulls and accepts no writes: nobody pulls from it, so a write there would reach no one.
    const dataRoutes = (routes: Route[]) => (config.cluster.observer ? routes.map(readOnly) : routes);
    const router = new ApiRouter(
      [
        ...cluster.routes(),
        ...operationRoutes({
          ready: () => self?.readiness() ?? { ok: false, reasons: ['starting'] },
          metrics: metrics.registry,
          shutdown: (reason) => void self?.shutdown(reason),
        }),
        ...dataRoutes([
          ...serviceRoutes({
            registry: registryService.registry,
            defaultTtl: config.registry.defaultTtlSeconds,
            nodeName: config.node.name,
            version: deps.version,
            kv,
            bootstrapPrefix: config.kv.bootstrapPrefix,
          }),
          ...kvRoutes(kv),
          ...zoneRoutes({ zones: dns.zones, defaultNameservers: [dns.serviceZone.nameserver] }),
        ]),
        ...dohRoutes(dns.responder),
      ],
      { tokens: new TokenTable(secrets.tokens), metrics, log: log.child({ service: 'http' }) },
    ).own((p) => p === '/v1' || p.startsWith('/v1/') || p === '/dns-query');

    // What the web manager's worker may call (lib/appliance.ts).
    const operations: ApplianceOperations = {
      info: () => self!.info(),
      verifyAdmin: async (user, password) => {
        const passwordOk = await verifyPassword(password, secrets.adminPasswordHash);
        return passwordOk && user === secrets.adminUser;
      },
      services: (type) => registryService.registry.services(type),
    };
    const web = new WebManager(
      { dir: deps.root, dev: deps.dev, hostname: config.http.listen.host, port: config.http.listen.port, sessionSecret: secrets.sessionSecret, log: log.child({ service: 'web' }) },
      operations,
    );
    const frontDeps = { router, fallback: web.handle, http2Stream: dohStreamHandler(dns.responder), log: log.child({ service: 'http' }) };
    const http = new HttpFront(config.http.listen, frontDeps);
    const https =
      config.https === undefined
        ? undefined
        : new HttpFront(config.https.listen, frontDeps, {
            cert: readFileSync(config.https.certFile),
            key: readFileSync(config.https.keyFile),
          });

    self = new RunningAppliance(config, deps, registryService, dns, kv, cluster, web, http, https);
    return self;
  }

  /** start brings the node up: sweeper, listeners, then the web manager; readiness follows. */
  async start(): Promise<void> {
    const startOrder: [string, () => Promise<void> | void][] = [
      ['registry', () => this.registryService.start()],
      ['dns', () => this.dns.start()],
      ...this.fronts.map((f, i) => [i === 0 ? 'http' : 'https', () => f.start()] as [string, () => Promise<void>]),
      ['cluster', () => this.cluster.start()],
      ['web manager', () => this.web.start()],
    ];
    for (const [, start] of startOrder) await start();
    this.started = true;
  }

  /** readiness is what /readyz reports: store open, every listener bound, web manager loaded, not stopping. */
  readiness(): { ok: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.deps.store.isOpen) reasons.push('store closed');
    if (!this.started) reasons.push('starting');
    for (const f of this.fronts) if (f.address === undefined) reasons.push('listener not bound');
    if (this.dns.udp.address === undefined || this.dns.tcp.address === undefined) reasons.push('dns listener not bound');
    if (this.started && !this.web.running) reasons.push('web manager not running');
    if (this.stopping !== undefined) reasons.push('shutting down');
    return { ok: reasons.length === 0, reasons };
  }

  info(): ApplianceInfo {
    const listeners = this.fronts.flatMap((f, i) =>
      f.address === undefined ? [] : [{ name: i === 0 ? 'http' : 'https', address: formatListen({ host: f.address.address, port: f.address.port }) }],
    );
    for (const [name, l] of [['dns-udp', this.dns.udp], ['dns-tcp', this.dns.tcp]] as const) {
      if (l.address !== undefined) listeners.push({ name, address: formatListen({ host: l.address.address, port: l.address.port }) });
    }
    return {
      node: this.config.node.name,
      version: this.deps.version,
      startedAt: this.startedAt,
      listeners,
      ready: this.readiness().ok,
    };
  }

  /**
   * shutdown stops the node gracefully: readiness turns 503, blocking queries are
   * woken, listeners stop accepting and drain (bounded by [node] shutdown_timeout),
   * then the store closes. Calling it again returns the same promise.
   */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      const { log } = this.deps;
      log.info('shutting down', { reason, drain_ms: this.config.node.shutdownTimeoutMs });
      // Peers waiting on our feed hear at once that we are leaving, before the listeners drain.
      this.cluster.leave();
      this.registryService.stop();
      this.kv.close();
      await Promise.all([this.dns.stop(), ...this.fronts.map((f) => f.stop(this.config.node.shutdownTimeoutMs))]);
      await this.web.stop().catch((err: Error) => log.warn('stopping web manager', { error: err }));
      await this.cluster.stop();
      this.registryService.flushRenewals();
      this.deps.store.close();
      log.info('stopped');
      this.markStopped();
    })();
    return this.stopping;
  }
}

/** readOnly turns a write route into a refusal (observer nodes); reads pass. */
function readOnly(route: Route): Route {
  if (route.method === 'GET' || route.method === 'HEAD') return route;
  return {
    ...route,
    handler: () => {
      throw new ApiError('observer_read_only', 'this node is an observer; send writes to a member of the cluster');
    },
  };
}
