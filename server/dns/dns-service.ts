import { readFileSync } from 'node:fs';
import type { Config } from '../../lib/config/config';
import { localDataStage, QueryEngine, refuseStage } from '../../lib/dns/engine';
import { DnsResponder } from '../../lib/dns/responder';
import { ServiceZone } from '../../lib/dns/service-zone';
import { ZoneStore, type FileZone } from '../../lib/dns/zone-store';
import type { Ledger } from '../../lib/cluster/ledger';
import type { ServiceRegistry } from '../../lib/registry/registry';
import type { Log } from '../log';
import type { Metrics } from '../metrics';
import type { Store } from '../store/store';
import { SqliteZoneJournal } from '../store/zone-journal';
import { TcpListener } from './tcp';
import { UdpListener } from './udp';

/** Queries of one TCP connection being answered later at once (resolver, issue #7). */
const TCP_MAX_IN_FLIGHT = 32;

/**
 * DnsService is the DNS face of a node: the operator zones (SQLite and zone
 * files), the service zone over the registry, the query engine with its stages,
 * the responder with its prebuilt answers, and the UDP and TCP listeners on
 * [dns] listen. DoH reaches the same responder through the HTTP fronts.
 * Every change to local data invalidates the prebuilt answers synchronously.
 */
export class DnsService {
  readonly zones: ZoneStore;
  readonly serviceZone: ServiceZone;
  readonly engine: QueryEngine;
  readonly responder: DnsResponder;
  readonly udp: UdpListener;
  readonly tcp: TcpListener;

  /** create loads the zones (throwing "file:line: reason" for a bad zone file) and builds the listeners; nothing binds yet. */
  private readonly config: Config;

  constructor(deps: { config: Config; store: Store; registry: ServiceRegistry; metrics: Metrics; log: Log; ledger?: Ledger }) {
    const { config, store, registry, metrics, log } = deps;
    this.config = config;
    const files: FileZone[] = config.dns.zoneFiles.map((file) => {
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        throw new Error(`reading zone file ${file}: ${(err as Error).message}`);
      }
    });
    this.zones = new ZoneStore(store.durable, new SqliteZoneJournal(store.db), files, deps.ledger);
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
    // The stages, in order (lib/dns/engine.ts states the contract).
    this.engine = new QueryEngine([localDataStage([this.serviceZone, this.zones]), refuseStage]);
    this.responder = new DnsResponder(this.engine, { ednsPayload: config.dns.ednsUdpSize });
    registry.onChange(() => this.responder.invalidate());
    this.zones.onChange(() => this.responder.invalidate());

    const dnsLog = log.child({ service: 'dns' });
    this.udp = new UdpListener(config.dns.listen, this.responder, dnsLog);
    this.tcp = new TcpListener(
      config.dns.listen,
      this.responder,
      { idleTimeoutMs: config.dns.tcpIdleTimeoutMs, maxConnections: config.dns.tcpMaxConnections, maxInFlight: TCP_MAX_IN_FLIGHT },
      dnsLog,
    );
    const stats = this.responder.stats;
    metrics.counter('nekoq_dns_responses_total', 'DNS responses by path: fast (prebuilt), full, error (FORMERR/NOTIMP/BADVERS/SERVFAIL before lookup); dropped messages', ['path'], (set) => {
      set({ path: 'fast' }, stats.fastAnswers);
      set({ path: 'full' }, stats.fullAnswers);
      set({ path: 'error' }, stats.errors);
      set({ path: 'dropped' }, stats.dropped);
    });
    metrics.gauge('nekoq_dns_prebuilt_answers', 'Prebuilt wire answers held by the fast path', [], (set) => set({}, this.responder.cachedAnswers));
    metrics.gauge('nekoq_dns_tcp_connections', 'Open DNS TCP connections', [], (set) => set({}, this.tcp.connections));
    metrics.counter('nekoq_dns_tcp_rejected_total', 'DNS TCP connections closed at once because tcp_max_connections was reached', [], (set) =>
      set({}, this.tcp.rejected),
    );
    metrics.gauge('nekoq_dns_zones', 'Operator zones served', [], (set) => set({}, this.zones.list().length));
  }

  /**
   * start binds UDP, then TCP on the same port. With port 0 the kernel picks the
   * UDP port; should TCP find it taken, both try again on a new one (a few times).
   */
  async start(): Promise<void> {
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
    await Promise.all([this.udp.stop(), this.tcp.stop()]);
  }
}
