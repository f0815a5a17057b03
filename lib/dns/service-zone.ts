import { isIP } from 'node:net';
import type { Instance } from '../registry/instance';
import { TYPE } from './constants';
import { makeRRset, type RRset } from './rrset';
import { inZone, type ZoneSource, type ZoneView } from './zone';

/** What the service zone reads from the registry: live instances only. */
export interface ServiceLookup {
  /** The live instances of one service, sorted by id. */
  service(type: string, name: string): Instance[];
  /** The services of one type that have live instances. */
  services(type: string): readonly { readonly instances: readonly Instance[] }[];
  /** The registry index: grows with every change (the SOA serial, mod 2^32). */
  readonly index: number;
}

export interface ServiceZoneOptions {
  /** The zone apex in internal form ("nekoq.internal"). */
  readonly origin: string;
  /** TTL of every record, and the negative TTL ([dns] ttl). */
  readonly ttl: number;
  /** Addresses of this server, published at ns.<origin>; may be empty (then ns.<origin> answers NODATA). */
  readonly nameserverAddresses: readonly string[];
}

/**
 * ServiceZone synthesizes the service zone from the registry at query time
 * (DESIGN.md "DNS names"), so an answer reflects a registration the moment it
 * is acknowledged:
 *
 *   <origin>                                   SOA, NS ns.<origin>
 *   ns.<origin>                                A/AAAA of this server (when known)
 *   <name>.<type>.<origin>                     A/AAAA of every live instance, SRV of every instance
 *   <id>.<name>.<type>.<origin>                A or AAAA of the instance, TXT "key=value" of its meta
 *   _<name>._<protocol>.<type>.<origin>        SRV of the instances of that protocol (RFC 2782)
 *
 * SRV targets are <id>.<name>.<type>.<origin>. RRsets built from instances carry
 * `validUntil` = the earliest lease end among them, so a prebuilt answer is never
 * served after an instance in it expired.
 */
export class ServiceZone implements ZoneView, ZoneSource {
  readonly origin: string;
  private readonly nsName: string;
  private readonly nsNode: ReadonlyMap<number, RRset> | undefined;
  private readonly nsSet: RRset;

  constructor(
    private readonly registry: ServiceLookup,
    private readonly opts: ServiceZoneOptions,
  ) {
    this.origin = opts.origin;
    this.nsName = `ns.${opts.origin}`;
    this.nsSet = makeRRset(opts.origin, TYPE.NS, opts.ttl, [this.nsName]);
    const v4 = opts.nameserverAddresses.filter((a) => isIP(a) === 4);
    const v6 = opts.nameserverAddresses.filter((a) => isIP(a) === 6);
    const node = new Map<number, RRset>();
    if (v4.length > 0) node.set(TYPE.A, makeRRset(this.nsName, TYPE.A, opts.ttl, v4));
    if (v6.length > 0) node.set(TYPE.AAAA, makeRRset(this.nsName, TYPE.AAAA, opts.ttl, v6));
    this.nsNode = node.size > 0 ? node : undefined;
  }

  /** nameserver is this zone's name server, ns.<origin>, in presentation form (the default NS of new operator zones). */
  get nameserver(): string {
    return `${this.nsName}.`;
  }

  zoneFor(name: string): ZoneView | undefined {
    return inZone(name, this.origin) ? this : undefined;
  }

  soa(): RRset {
    return makeRRset(this.origin, TYPE.SOA, this.opts.ttl, [
      {
        mname: this.nsName,
        rname: `hostmaster.${this.origin}`,
        serial: this.registry.index >>> 0,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: this.opts.ttl,
      },
    ]);
  }

  node(name: string): ReadonlyMap<number, RRset> | undefined {
    if (name === this.origin) return new Map([[TYPE.SOA, this.soa()], [TYPE.NS, this.nsSet]]);
    const labels = this.relative(name);
    if (labels === undefined) return undefined;
    if (labels.length === 1 && name === this.nsName) return this.nsNode;
    if (labels.length === 2) return this.serviceNode(name, labels[0]!, labels[1]!);
    if (labels.length === 3) {
      const [first, second, type] = labels as [string, string, string];
      if (first.startsWith('_') && second.startsWith('_')) return this.protocolNode(name, first.slice(1), second.slice(1), type);
      return this.instanceNode(name, first, second, type);
    }
    return undefined;
  }

  exists(name: string): boolean {
    if (this.node(name) !== undefined) return true;
    const labels = this.relative(name);
    if (labels === undefined) return name === this.origin;
    // ns.<origin> is the zone's name server: it exists (NODATA) even when no address is known.
    if (name === this.nsName) return true;
    if (labels.length === 1) return this.registry.services(labels[0]!).length > 0;
    if (labels.length === 2 && labels[0]!.startsWith('_')) {
      // _<protocol>.<type>: an empty non-terminal when an instance of the type uses the protocol.
      const protocol = labels[0]!.slice(1);
      return this.registry.services(labels[1]!).some((s) => s.instances.some((i) => i.protocol === protocol));
    }
    return false;
  }

  /** relative returns the labels of `name` below the apex, or undefined when `name` is not below it. */
  private relative(name: string): string[] | undefined {
    if (name.length <= this.origin.length || !inZone(name, this.origin)) return undefined;
    return name.slice(0, name.length - this.origin.length - 1).split('.');
  }

  private serviceNode(owner: string, name: string, type: string): ReadonlyMap<number, RRset> | undefined {
    const instances = this.registry.service(type, name);
    if (instances.length === 0) return undefined;
    const node = this.addressSets(owner, instances);
    node.set(TYPE.SRV, this.srvSet(owner, instances));
    return node;
  }

  private instanceNode(owner: string, id: string, name: string, type: string): ReadonlyMap<number, RRset> | undefined {
    const inst = this.registry.service(type, name).find((i) => i.id === id);
    if (inst === undefined) return undefined;
    const node = this.addressSets(owner, [inst]);
    const txt = metaStrings(inst.meta);
    if (txt.length > 0) node.set(TYPE.TXT, makeRRset(owner, TYPE.TXT, this.opts.ttl, [txt], inst.expiresAt));
    return node;
  }

  private protocolNode(owner: string, name: string, protocol: string, type: string): ReadonlyMap<number, RRset> | undefined {
    const instances = this.registry.service(type, name).filter((i) => i.protocol === protocol);
    if (instances.length === 0) return undefined;
    return new Map([[TYPE.SRV, this.srvSet(owner, instances)]]);
  }

  private addressSets(owner: string, instances: readonly Instance[]): Map<number, RRset> {
    const node = new Map<number, RRset>();
    const v4 = instances.filter((i) => isIP(i.address) === 4);
    const v6 = instances.filter((i) => isIP(i.address) === 6);
    if (v4.length > 0) node.set(TYPE.A, makeRRset(owner, TYPE.A, this.opts.ttl, unique(v4.map((i) => i.address)), earliest(v4)));
    if (v6.length > 0) node.set(TYPE.AAAA, makeRRset(owner, TYPE.AAAA, this.opts.ttl, unique(v6.map((i) => i.address)), earliest(v6)));
    return node;
  }

  private srvSet(owner: string, instances: readonly Instance[]): RRset {
    const data = instances.map((i) => ({
      priority: i.priority,
      weight: i.weight,
      port: i.port,
      target: `${i.id}.${i.name}.${i.type}.${this.origin}`,
    }));
    return makeRRset(owner, TYPE.SRV, this.opts.ttl, data, earliest(instances));
  }
}

function earliest(instances: readonly Instance[]): number {
  let min = Infinity;
  for (const i of instances) if (i.expiresAt < min) min = i.expiresAt;
  return min;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * metaStrings renders instance meta as TXT character-strings "key=value" in key
 * order (RFC 6763 §6.3 style); a pair longer than 255 bytes is split over
 * consecutive strings.
 */
export function metaStrings(meta: Readonly<Record<string, string>>): Buffer[] {
  const out: Buffer[] = [];
  for (const key of Object.keys(meta).sort()) {
    const pair = Buffer.from(`${key}=${meta[key]}`, 'utf8');
    for (let i = 0; i < pair.length; i += 255) out.push(pair.subarray(i, i + 255));
  }
  return out;
}
