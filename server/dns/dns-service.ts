import { readFileSync } from 'node:fs';
import type { Config } from '../../lib/config/config';
import { ALGORITHM } from '../../lib/dns/dnssec/keys';
import { Keyring } from '../../lib/dns/dnssec/keyring';
import { ZoneSigner } from '../../lib/dns/dnssec/signer';
import { parseZoneName } from '../../lib/dns/zone-store';
import { localDataStage, QueryEngine, refuseStage, type Stage } from '../../lib/dns/engine';
import { RecordCache } from '../../lib/dns/resolver/cache';
import { Resolver } from '../../lib/dns/resolver/resolver';
import { ClientAcl } from '../../lib/dns/resolver/settings';
import { resolverStage } from '../../lib/dns/resolver/stage';
import { DnsResponder } from '../../lib/dns/responder';
import { ServiceZone } from '../../lib/dns/service-zone';
import { ZoneStore, type FileZone } from '../../lib/dns/zone-store';
import type { Ledger } from '../../lib/cluster/ledger';
import type { ServiceRegistry } from '../../lib/registry/registry';
import type { Log } from '../log';
import type { Metrics } from '../metrics';
import type { Store } from '../store/store';
import { SqliteKeyJournal } from '../store/key-journal';
import { SqliteZoneJournal } from '../store/zone-journal';
import { TcpListener } from './tcp';
import { LimitHits } from '../../lib/limits';
import { ResponseRateLimiter } from '../../lib/dns/rrl';
import { UdpListener } from './udp';
import { SocketExchanger } from './upstream';

/** Queries of one TCP connection being answered at once (resolved answers come later, and out of order). */
const TCP_MAX_IN_FLIGHT = 32;

/**
 * DnsService is the DNS face of a node: the operator zones (SQLite and zone
 * files), the service zone over the registry, the query engine with its stages,
 * the resolver with its cache when [recursion] mode is not off, the responder
 * with its prebuilt answers, and the UDP and TCP listeners on [dns] listen. DoH
 * reaches the same responder through the HTTP fronts. Every change to local data
 * and every cache flush invalidates the prebuilt answers synchronously.
 */
export class DnsService {
  readonly zones: ZoneStore;
  readonly serviceZone: ServiceZone;
  readonly engine: QueryEngine;
  /** The resolver; undefined when [recursion] mode is off. */
  readonly resolver: Resolver | undefined;
  readonly exchanger: SocketExchanger | undefined;
  readonly responder: DnsResponder;
  /** The signer and its keys; undefined when [dnssec] enabled is false. */
  readonly signer: ZoneSigner | undefined;
  private maintenance: NodeJS.Timeout | undefined;
  readonly udp: UdpListener;
  readonly tcp: TcpListener;

  /** create loads the zones (throwing "file:line: reason" for a bad zone file) and builds the listeners; nothing binds yet. */
  private readonly config: Config;

  constructor(deps: { config: Config; store: Store; registry: ServiceRegistry; metrics: Metrics; log: Log; ledger?: Ledger; hits?: LimitHits }) {
    const { config, store, registry, metrics, log } = deps;
    const hits = deps.hits ?? new LimitHits();
    const limits = config.limits;
    this.config = config;
    const files: FileZone[] = config.dns.zoneFiles.map((file) => {
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        throw new Error(`reading zone file ${file}: ${(err as Error).message}`);
      }
    });
    this.zones = new ZoneStore(store.durable, new SqliteZoneJournal(store.db), files, deps.ledger, { recordsPerRrset: limits.recordsPerRrset, hits });
    this.serviceZone = new ServiceZone(
      {
        service: (type, name) => registry.service(type, name),
        services: (type) => registry.services(type),
        get index() {
          return registry.index;
        },
      },
      { origin: config.dns.serviceZone.slice(0, -1), ttl: config.dns.ttl, nameserverAddresses: config.dns.nameserverAddresses },
    );
    const rc = config.recursion;
    const acl = rc.mode === 'off' ? undefined : new ClientAcl(rc.allow);
    if (rc.mode !== 'off') {
      this.exchanger = new SocketExchanger();
      const cache = new RecordCache({ maxEntries: rc.cacheSize, maxBytes: rc.cacheMaxBytes, maxTtl: rc.maxTtl, maxNegativeTtl: rc.maxNegativeTtl, staleWindowMs: rc.serveStale ? rc.maxStaleMs : 0 });
      this.resolver = new Resolver(
        {
          mode: rc.mode,
          upstreams: rc.upstreams,
          rootHints: rc.rootHints,
          timeoutMs: rc.timeoutMs,
          qnameMinimisation: rc.qnameMinimisation,
          serveStale: rc.serveStale,
          staleAnswerTtl: rc.staleAnswerTtl,
          ednsPayload: config.dns.ednsUdpSize,
          trustAnchors: config.dnssec.trustAnchors,
        },
        cache,
        this.exchanger,
      );
    }
    const ds = config.dnssec;
    if (ds.enabled) {
      const keyring = new Keyring(new SqliteKeyJournal(store.db), {
        algorithm: ALGORITHM[ds.algorithm],
        dnskeyTtl: ds.dnskeyTtl,
        propagationDelayMs: ds.propagationDelayMs,
        zskLifetimeMs: ds.zskLifetimeMs,
        maxTtl: (zone) => this.maxTtl(zone),
      });
      this.signer = new ZoneSigner(keyring, { validityMs: ds.signatureValidityMs, refreshMs: ds.signatureRefreshMs, dnskeyTtl: ds.dnskeyTtl });
      keyring.onChange(() => this.responder.invalidate());
    }
    // The stages, in order (lib/dns/engine.ts states the contract).
    const stages: Stage[] = [localDataStage([this.serviceZone, this.zones], this.signer)];
    if (this.resolver !== undefined && acl !== undefined) stages.push(resolverStage(this.resolver, acl, Date.now, { perClient: limits.resolutionsPerClient, hits }));
    stages.push(refuseStage);
    this.engine = new QueryEngine(stages);
    this.responder = new DnsResponder(this.engine, { ednsPayload: config.dns.ednsUdpSize, recursion: acl, maxMessage: limits.dnsMessageBytes, hits });
    registry.onChange(() => this.responder.invalidate());
    this.zones.onChange(() => this.responder.invalidate());

    const dnsLog = log.child({ service: 'dns' });
    const rrl = config.rrl.enabled ? new ResponseRateLimiter(config.rrl) : undefined;
    this.udp = new UdpListener(config.dns.listen, this.responder, dnsLog, rrl);
    this.tcp = new TcpListener(
      config.dns.listen,
      this.responder,
      {
        idleTimeoutMs: limits.dnsTcpIdleTimeoutMs,
        readTimeoutMs: limits.dnsTcpReadTimeoutMs,
        maxConnections: limits.dnsTcpConnections,
        maxPerClient: limits.dnsTcpConnectionsPerClient,
        maxInFlight: TCP_MAX_IN_FLIGHT,
      },
      dnsLog,
      hits,
    );
    if (rrl !== undefined) {
      metrics.counter('nekoq_dns_rrl_limited_total', 'UDP responses held back by response rate limiting ([rrl]): slipped (sent truncated) or dropped', ['action'], (set) => {
        set({ action: 'slipped' }, rrl.stats.slipped);
        set({ action: 'dropped' }, rrl.stats.dropped);
      });
      metrics.gauge('nekoq_dns_rrl_buckets', 'Response rate limiting buckets held (client prefix and kind of response)', [], (set) => set({}, rrl.size));
    }
    const stats = this.responder.stats;
    metrics.counter('nekoq_dns_responses_total', 'DNS responses by path: fast (prebuilt), full, error (FORMERR/NOTIMP/BADVERS/SERVFAIL before lookup); dropped messages', ['path'], (set) => {
      set({ path: 'fast' }, stats.fastAnswers);
      set({ path: 'full' }, stats.fullAnswers);
      set({ path: 'error' }, stats.errors);
      set({ path: 'dropped' }, stats.dropped);
    });
    metrics.gauge('nekoq_dns_prebuilt_answers', 'Prebuilt wire answers held by the fast path', [], (set) => set({}, this.responder.cachedAnswers));
    metrics.gauge('nekoq_dns_tcp_connections', 'Open DNS TCP connections', [], (set) => set({}, this.tcp.connections));
    metrics.counter('nekoq_dns_tcp_rejected_total', 'DNS TCP connections closed at once because [limits] dns_tcp_connections or dns_tcp_connections_per_client was reached', [], (set) =>
      set({}, this.tcp.rejected),
    );
    metrics.gauge('nekoq_dns_zones', 'Operator zones served', [], (set) => set({}, this.zones.list().length));
    if (this.resolver !== undefined) this.resolverMetrics(metrics, this.resolver, this.exchanger!);
    const signer = this.signer;
    if (signer !== undefined) {
      metrics.counter('nekoq_dnssec_signatures_total', 'RRSIGs made by the online signer, and signature cache hits', ['result'], (set) => {
        set({ result: 'made' }, signer.stats.signatures);
        set({ result: 'cached' }, signer.stats.cacheHits);
      });
      metrics.gauge('nekoq_dnssec_cached_signatures', 'RRSIG RRsets held by the signature cache', [], (set) => set({}, signer.cachedSignatures));
    }
    const validator = this.resolver?.validator;
    if (validator !== undefined) {
      metrics.counter('nekoq_dnssec_validations_total', 'Resolved answers judged by the validator, by verdict (secure: AD; insecure: no AD; bogus: SERVFAIL unless CD)', ['verdict'], (set) => {
        set({ verdict: 'secure' }, validator.stats.secure);
        set({ verdict: 'insecure' }, validator.stats.insecure);
        set({ verdict: 'bogus' }, validator.stats.bogus);
      });
    }
  }

  /** signedZones lists the zones the signer serves (internal form): the service zone and every operator zone. */
  signedZones(): string[] {
    return [this.serviceZone.origin, ...this.zones.list().map((z) => parseZoneName(z.name))];
  }

  /** maxTtl is the longest TTL a zone's signed data can have in a cache: its RRsets, negative answers, NSEC and DNSKEY. */
  private maxTtl(zone: string): number {
    let max = this.config.dnssec.dnskeyTtl;
    if (zone === this.serviceZone.origin) return Math.max(max, this.config.dns.ttl);
    for (const r of this.zones.rrsets(zone === '' ? '.' : `${zone}.`)) max = Math.max(max, r.ttl);
    return max;
  }

  /** maintainKeys makes the keys of zones that have none, drops keys of deleted zones and finished rollovers, and starts due ZSK rollovers. */
  maintainKeys(): void {
    if (this.signer === undefined) return;
    const zones = this.signedZones();
    for (const z of zones) this.signer.keyring.keys(z);
    this.signer.keyring.maintain(zones);
  }

  /** flushResolver drops cached records (all, one name, or a subtree) and every prebuilt answer; returns the entries dropped. */
  flushResolver(name?: string, subtree = false): number {
    if (this.resolver === undefined) return 0;
    const n = this.resolver.flush(name, subtree);
    this.responder.invalidate();
    return n;
  }

  private resolverMetrics(metrics: Metrics, resolver: Resolver, exchanger: SocketExchanger): void {
    const cache = resolver.cache;
    const rs = resolver.stats;
    metrics.gauge('nekoq_resolver_cache_entries', 'RRsets and negative answers held by the resolver cache', [], (set) => set({}, cache.size));
    metrics.gauge('nekoq_resolver_cache_bytes', 'Approximate bytes held by the resolver cache', [], (set) => set({}, cache.bytes));
    metrics.counter('nekoq_resolver_cache_lookups_total', 'Resolver cache lookups by result (hit, miss, stale)', ['result'], (set) => {
      set({ result: 'hit' }, cache.stats.hits);
      set({ result: 'miss' }, cache.stats.misses);
      set({ result: 'stale' }, cache.stats.staleHits);
    });
    metrics.counter('nekoq_resolver_cache_evictions_total', 'Resolver cache entries dropped to stay within cache_size', [], (set) => set({}, cache.stats.evictions));
    metrics.counter('nekoq_resolver_resolutions_total', 'Resolutions started (cache misses of client queries), shared by concurrent identical queries, failed (SERVFAIL), answered stale, refused because 1000 were under way', ['result'], (set) => {
      set({ result: 'started' }, rs.resolutions);
      set({ result: 'shared' }, rs.shared);
      set({ result: 'failed' }, rs.failures);
      set({ result: 'stale' }, rs.staleAnswers);
      set({ result: 'overloaded' }, rs.overloaded);
    });
    metrics.counter('nekoq_resolver_upstream_queries_total', 'Queries the resolver sent to other servers, and how many got no usable response', ['result'], (set) => {
      set({ result: 'sent' }, rs.upstreamQueries);
      set({ result: 'failed' }, rs.upstreamFailures);
      set({ result: 'unreadable' }, rs.badResponses);
      set({ result: 'tcp_retry' }, rs.truncatedRetries);
    });
    metrics.counter('nekoq_resolver_out_of_bailiwick_total', 'RRsets dropped from responses because they lie outside the bailiwick of the server that sent them', [], (set) => set({}, rs.outOfBailiwick));
    metrics.counter('nekoq_resolver_mismatched_responses_total', 'Datagrams and messages ignored because they did not match the query (ID, question, source)', [], (set) => set({}, exchanger.stats.mismatched));
  }

  /**
   * start binds UDP, then TCP on the same port. With port 0 the kernel picks the
   * UDP port; should TCP find it taken, both try again on a new one (a few times).
   */
  async start(): Promise<void> {
    if (this.signer !== undefined) {
      this.maintainKeys();
      this.maintenance = setInterval(() => this.maintainKeys(), 60_000);
      this.maintenance.unref();
    }
    for (let attempt = 0; ; attempt++) {
      await this.udp.start();
      try {
        await this.tcp.start(this.udp.address!.port);
        return;
      } catch (err) {
        await this.udp.stop();
        if (this.config.dns.listen.port !== 0 || attempt >= 4) throw err;
      }
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.maintenance);
    await Promise.all([this.udp.stop(), this.tcp.stop()]);
  }
}
