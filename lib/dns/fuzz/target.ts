import { typeNumber } from '../constants';
import { ALGORITHM } from '../dnssec/keys';
import { Keyring, type KeyJournal, type StoredKey } from '../dnssec/keyring';
import { ZoneSigner } from '../dnssec/signer';
import { localDataStage, QueryEngine, refuseStage, type Client } from '../engine';
import { decodeMessage, MessageError } from '../message';
import { DnsResponder } from '../responder';
import { makeRRset } from '../rrset';
import { ServiceZone, type ServiceLookup } from '../service-zone';
import { parseQuery } from '../wire';
import { parseZoneFile } from '../zone-file';
import { Zone, type ZoneSource } from '../zone';
import type { Instance } from '../../registry/instance';

/*
 * The in-process fuzz target: the whole DNS front as the listeners use it —
 * DnsResponder over the query engine with an operator zone (CNAME loops,
 * wildcards, a delegation, empty non-terminals) and the service zone, both
 * signed — plus the two parsers on their own. checkCase says what is wrong
 * with the handling of one message, or undefined when nothing is.
 */

/** The operator zone of the target (also served by the appliance in the network phase). */
export const ZONE = `
$ORIGIN example.com.
$TTL 300
@        IN SOA ns1 hostmaster 1 3600 600 1209600 60
         IN NS  ns1
         IN MX  10 mail
ns1      IN A   192.0.2.1
mail     IN A   192.0.2.25
         IN AAAA 2001:db8::25
www      IN CNAME web
web      IN A   192.0.2.80
loop1    IN CNAME loop2
loop2    IN CNAME loop1
out      IN CNAME www.elsewhere.org.
svc      IN CNAME api.discovery.nekoq.internal.
*.wild   IN A   192.0.2.99
*.wild   IN TXT "wild"
sub      IN NS  ns.sub
ns.sub   IN A   192.0.2.53
a.b.ent  IN A   192.0.2.7
big      IN TXT "${'x'.repeat(200)}" "${'y'.repeat(200)}"
`;

/** The names fuzz seeds are made from. */
export const SEED_NAMES: readonly string[] = [
  'example.com',
  'www.example.com',
  'loop1.example.com',
  'x.y.wild.example.com',
  'a.sub.example.com',
  'b.ent.example.com',
  'nope.example.com',
  'big.example.com',
  'svc.example.com',
  'api.discovery.nekoq.internal',
  '_api._tcp.discovery.nekoq.internal',
  'i1.api.discovery.nekoq.internal',
  'nekoq.internal',
  'elsewhere.org',
  '',
];

class MemoryKeys implements KeyJournal {
  private rows: StoredKey[] = [];
  load = () => [...this.rows];
  insert = (k: StoredKey) => void this.rows.push(k);
  schedule(): void {}
  remove(): void {}
}

function operatorZone(): Zone {
  const { records } = parseZoneFile(ZONE, {});
  const groups = new Map<string, { name: string; type: number; ttl: number; data: unknown[] }>();
  for (const r of records) {
    const k = `${r.name}/${r.type}`;
    const g = groups.get(k) ?? { name: r.name, type: typeNumber(r.type)!, ttl: r.ttl, data: [] };
    g.data.push(r.data);
    groups.set(k, g);
  }
  return Zone.build('example.com', [...groups.values()].map((g) => makeRRset(g.name, g.type, g.ttl, g.data)));
}

function instance(id: string, address: string, port: number): Instance {
  return { type: 'discovery', name: 'api', id, address, port, protocol: 'tcp', tags: [], meta: { zone: 'a' }, weight: 1, priority: 0, ttl: 30, registeredAt: 0, renewedAt: 0, expiresAt: Number.MAX_SAFE_INTEGER, createIndex: 1, modifyIndex: 1 };
}

/** makeTarget builds the responder under test. */
export function makeTarget(): DnsResponder {
  const zone = operatorZone();
  const operator: ZoneSource = { zoneFor: (n) => (n === 'example.com' || n.endsWith('.example.com') ? zone : undefined) };
  const instances = [instance('i1', '192.0.2.10', 8080), instance('i2', '2001:db8::10', 9090)];
  const registry: ServiceLookup = {
    index: 7,
    service: (type, name) => instances.filter((i) => i.type === type && i.name === name),
    services: (type) => (type === 'discovery' ? [{ instances }] : []),
  };
  const services = new ServiceZone(registry, { origin: 'nekoq.internal', ttl: 30, nameserverAddresses: ['127.0.0.1'] });
  const keyring = new Keyring(new MemoryKeys(), { algorithm: ALGORITHM.ECDSAP256SHA256, dnskeyTtl: 300, propagationDelayMs: 0, zskLifetimeMs: 0, maxTtl: () => 300 });
  const signer = new ZoneSigner(keyring, { validityMs: 86_400_000, refreshMs: 3_600_000, dnskeyTtl: 300 });
  const engine = new QueryEngine([localDataStage([services, operator], signer), refuseStage]);
  // A small prebuilt cache, so that eviction runs too.
  return new DnsResponder(engine, { maxCachedAnswers: 500 });
}

const CLIENTS: readonly Client[] = [
  { address: '127.0.0.1', transport: 'udp' },
  { address: '127.0.0.1', transport: 'tcp' },
  { address: '::1', transport: 'doh' },
];

/**
 * checkCase runs one message through both parsers and the responder (over each
 * transport) and returns what went wrong, or undefined. Wrong: a parser throwing
 * anything but its own error, the responder throwing or rejecting, a response
 * that our own decoder cannot read, that is not a response, whose ID is not the
 * query's, or that is larger than the transport allows.
 */
export async function checkCase(responder: DnsResponder, msg: Buffer): Promise<string | undefined> {
  try {
    parseQuery(msg);
  } catch (err) {
    return `parseQuery threw: ${(err as Error).stack ?? String(err)}`;
  }
  try {
    decodeMessage(msg);
  } catch (err) {
    if (!(err instanceof MessageError)) return `decodeMessage threw ${(err as Error).stack ?? String(err)}`;
  }
  for (const client of CLIENTS) {
    let out: Buffer | undefined;
    const bugs = responder.stats.bugs;
    try {
      out = await responder.respond(msg, client);
    } catch (err) {
      return `respond (${client.transport}) threw: ${(err as Error).stack ?? String(err)}`;
    }
    if (responder.stats.bugs !== bugs) return `the engine threw or rejected (${client.transport}); the responder answered SERVFAIL`;
    if (out === undefined) continue;
    let decoded;
    try {
      decoded = decodeMessage(out);
    } catch (err) {
      return `the response (${client.transport}) does not decode: ${(err as Error).message}; ${out.toString('hex').slice(0, 200)}`;
    }
    if (!decoded.qr) return `the response (${client.transport}) has QR clear`;
    if (msg.length >= 2 && out.readUInt16BE(0) !== msg.readUInt16BE(0)) return `the response (${client.transport}) has another ID`;
    if (out.length > 65535) return `the response (${client.transport}) is ${out.length} bytes`;
    if (client.transport === 'udp' && out.length > 1232) return `the UDP response is ${out.length} bytes, above our EDNS size`;
  }
  return undefined;
}
