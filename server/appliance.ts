import { readFileSync } from 'node:fs';
import { SHUTDOWN_WATCH_PATH, type ApplianceInfo, type ApplianceOperations } from '../lib/appliance';
import { LoginLimiter } from '../lib/auth/login-limiter';
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
import { nodeRoutes } from './http/routes/node';
import { dnssecRoutes } from './http/routes/dnssec';
import { resolverRoutes } from './http/routes/resolver';
import { serviceRoutes } from './http/routes/services';
import { zoneRoutes } from './http/routes/zones';
import type { Log } from './log';
import { createMetrics } from './metrics';
import { Gate, LimitHits } from '../lib/limits';
import { RegistryService } from './registry-service';
import { ensureSecrets, type FirstStartCredentials } from './secrets';
import { ShutdownMonitor } from './shutdown-monitor';
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
  /** The steps of a shutdown, for the operators watching it in the web manager. */
  readonly shutdownMonitor = new ShutdownMonitor();
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
    const hits = new LimitHits();
    metrics.counter('nekoq_limit_hits_total', 'Requests, queries and connections turned away by a configured limit ([limits]), by limit', ['limit'], (set) => {
      for (const [limit, n] of hits.entries()) set({ limit }, n);
    });
    const waiters = new Gate(config.limits.blockingQueries, hits, 'blocking_queries');
    metrics.gauge('nekoq_blocking_queries', 'Blocking queries (registry, KV, start-up bundle) waiting now', [], (set) => set({}, waiters.active));
    store.durable.onBatch = (ops) => metrics.commitBatches.observe(ops);
    const ledger = new Ledger({ node: config.node.name, journal: new SqliteLedgerJournal(store.db) });
    const registryService = new RegistryService({ store, metrics, ledger, log: log.child({ service: 'registry' }), maxInstancesPerService: config.limits.instancesPerService, hits });
    const dns = new DnsService({ config, store, registry: registryService.registry, metrics, log, ledger, hits });
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
    const monitor = () => self!.shutdownMonitor;
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
            waiters,
          }),
          ...kvRoutes(kv, { valueBytes: config.limits.kvValueBytes, waiters }),
          ...zoneRoutes({ zones: dns.zones, defaultNameservers: [dns.serviceZone.nameserver] }),
        ]),
        ...nodeRoutes({
          info: () => self!.info(),
          counts: () => {
            const services = registryService.registry.services();
            const zones = dns.zones.list();
            return {
              serviceTypes: new Set(services.map((s) => s.type)).size,
              services: services.length,
              instances: services.reduce((n, s) => n + s.instances.length, 0),
              zones: zones.length,
              rrsets: zones.reduce((n, z) => n + z.rrsets, 0),
              kvKeys: kv.size,
            };
          },
          cluster: () => {
            const s = cluster.status();
            return { name: s.cluster, observer: s.observer, peers: s.peers.map((p) => ({ name: p.name, state: p.state })) };
          },
        }),
        ...resolverRoutes({ config: config.recursion, resolver: dns.resolver, flush: (name, subtree) => dns.flushResolver(name, subtree) }),
        ...dnssecRoutes({ config: config.dnssec, signer: dns.signer, zones: () => dns.signedZones(), validating: dns.resolver?.validator !== undefined }),
        ...dohRoutes(dns.responder),
      ],
      { tokens: new TokenTable(secrets.tokens), metrics, log: log.child({ service: 'http' }), hits, bodyBytes: config.limits.httpBodyBytes },
    ).own((p) => p === '/v1' || p.startsWith('/v1/') || p === '/dns-query');

    // What the web manager's worker may call (lib/appliance.ts). Data goes through the API's router only.
    const limiter = new LoginLimiter();
    const logins = { ok: 0, refused: 0, limited: 0 };
    metrics.counter('nekoq_web_logins_total', 'Web manager sign-in attempts by result (ok, refused, limited)', ['result'], (set) => {
      for (const [result, n] of Object.entries(logins)) set({ result }, n);
    });
    const operations: ApplianceOperations = {
      info: () => self!.info(),
      verifyAdmin: async (user, password, client) => {
        const allowed = limiter.check(client);
        if (!allowed.allowed) {
          logins.limited += 1;
          return { result: 'limited', retryAfterS: Math.ceil(allowed.retryAfterMs / 1000) };
        }
        // Counted as a failure before the (slow, async) hash check and cleared on success: attempts sent
        // all at once are each counted before any is answered, so a burst cannot slip past the limit.
        limiter.failed(client);
        // The hash is checked whatever the user name, so that timing does not tell a wrong user from a wrong password.
        const passwordOk = await verifyPassword(password, secrets.adminPasswordHash);
        if (passwordOk && user === secrets.adminUser) {
          limiter.succeeded(client);
          logins.ok += 1;
          return { result: 'ok' };
        }
        logins.refused += 1;
        log.warn('web manager sign-in refused', { client: client.slice(0, 64) });
        return { result: 'refused' };
      },
      api: (call, operator, signal) => router.invoke(call, { name: `web manager user "${operator}"`, sha256: '', role: 'admin' }, signal),
      shutdownProgress: (after, waitMs) => monitor().progress(after, waitMs),
    };
    const web = new WebManager(
      { dir: deps.root, dev: deps.dev, hostname: config.http.listen.host, port: config.http.listen.port, sessionSecret: secrets.sessionSecret, log: log.child({ service: 'web' }) },
      operations,
    );
    const frontDeps = {
      router,
      fallback: web.handle,
      http2Stream: dohStreamHandler(dns.responder),
      watcherPath: SHUTDOWN_WATCH_PATH,
      log: log.child({ service: 'http' }),
      limits: config.limits,
      hits,
    };
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
   * watchDrain records the requests in flight while the listeners drain. Once
   * only the requests of operators watching the shutdown are left, it records
   * `drained` (their last step), so that they end their streams and the drain
   * can finish.
   */
  private async watchDrain(drained: Promise<unknown>): Promise<void> {
    const step = this.shutdownMonitor;
    let done = false;
    let last = -1;
    const finished = drained.then(() => (done = true));
    while (!done) {
      const now = this.fronts.map((f) => f.requests()).reduce((a, b) => ({ others: a.others + b.others, watchers: a.watchers + b.watchers }));
      if (now.others === 0 && now.watchers > 0) {
        step.record('drained', `every request has finished (${now.watchers} watching this shutdown)`);
        await finished;
        return;
      }
      if (now.others !== last) step.record('draining', `${now.others} request(s) still in flight`);
      last = now.others;
      await Promise.race([finished, new Promise((r) => setTimeout(r, DRAIN_TICK_MS))]);
    }
    step.record('drained', 'every listener has drained');
  }

  /**
   * shutdown stops the node gracefully: readiness turns 503, blocking queries are
   * woken, listeners stop accepting and drain (bounded by [node] shutdown_timeout),
   * then the store closes. Calling it again returns the same promise.
   */
  shutdown(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      const { log } = this.deps;
      const step = this.shutdownMonitor;
      const drainMs = this.config.node.shutdownTimeoutMs;
      log.info('shutting down', { reason, drain_ms: drainMs });
      step.record('requested', `shutdown ${reason}`);
      step.record('not-ready', '/readyz answers 503 from now on');
      // Peers waiting on our feed hear at once that we are leaving, before the listeners drain.
      this.cluster.leave();
      step.record('peers-told', 'peers waiting on this node\'s change feed were told that it is leaving');
      this.registryService.stop();
      this.kv.close();
      step.record('waking', 'lease sweeper stopped; blocking queries answered');
      const listeners = this.info().listeners.map((l) => `${l.name} ${l.address}`).join(', ');
      const drained = Promise.all([this.dns.stop(), ...this.fronts.map((f) => f.stop(drainMs))]);
      step.record('draining', `listeners closed (${listeners}); waiting up to ${drainMs} ms for requests in flight`);
      await this.watchDrain(drained);
      step.record('web-stopping', 'stopping the web manager; then the store closes and the process exits');
      await this.web.stop().catch((err: Error) => log.warn('stopping web manager', { error: err }));
      await this.cluster.stop();
      this.registryService.flushRenewals();
      this.deps.store.close();
      this.registryService.closed();
      log.info('stopped');
      this.markStopped();
    })();
    return this.stopping;
  }
}

/** How often the drain's progress is looked at. */
const DRAIN_TICK_MS = 200;

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
