import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import type { Instance } from '../registry/instance';
import { RCODE, rcodeName, TYPE, typeName, typeNumber } from './constants';
import { localDataStage, QueryEngine, refuseStage, type Outcome } from './engine';
import { formatName, formatRdata } from './presentation';
import { DnsResponder } from './responder';
import type { RRset } from './rrset';
import { ServiceZone, type ServiceLookup } from './service-zone';
import { parseZoneFile } from './zone-file';
import { Zone, type ZoneSource } from './zone';
import { makeRRset } from './rrset';
import { parseQuery, type Query } from './wire';

const ZONE = `
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
dangling IN CNAME gone
svc      IN CNAME api.discovery.nekoq.internal.
*.wild   IN A   192.0.2.99
*.wild   IN TXT "wild"
sub      IN NS  ns.sub
ns.sub   IN A   192.0.2.53
a.b.ent  IN A   192.0.2.7
`;

function zoneOf(text: string): Zone {
  const { records } = parseZoneFile(text, {});
  const groups = new Map<string, { name: string; type: number; ttl: number; data: unknown[] }>();
  for (const r of records) {
    const k = `${r.name}/${r.type}`;
    const g = groups.get(k) ?? { name: r.name, type: typeNumber(r.type)!, ttl: r.ttl, data: [] };
    g.data.push(r.data);
    groups.set(k, g);
  }
  return Zone.build('example.com', [...groups.values()].map((g) => makeRRset(g.name, g.type, g.ttl, g.data)));
}

function instance(id: string, address: string, extra: Partial<Instance> = {}): Instance {
  return {
    type: 'discovery',
    name: 'api',
    id,
    address,
    port: 8080,
    protocol: 'tcp',
    tags: [],
    meta: {},
    weight: 1,
    priority: 0,
    ttl: 30,
    registeredAt: 0,
    renewedAt: 0,
    expiresAt: 10_000,
    createIndex: 1,
    modifyIndex: 1,
    ...extra,
  };
}

/** A registry fake: a fixed list of instances; reads filter on the lease like the real one. */
class FakeRegistry implements ServiceLookup {
  index = 5;
  now = 0;
  constructor(public instances: Instance[]) {}
  service(type: string, name: string) {
    return this.instances.filter((i) => i.type === type && i.name === name && i.expiresAt > this.now).sort((a, b) => a.id.localeCompare(b.id));
  }
  services(type: string) {
    const names = new Set(this.instances.filter((i) => i.type === type && i.expiresAt > this.now).map((i) => i.name));
    return [...names].map((n) => ({ instances: this.service(type, n) }));
  }
}

function setup() {
  const zone = zoneOf(ZONE);
  const operator: ZoneSource = { zoneFor: (n) => (n === 'example.com' || n.endsWith('.example.com') ? zone : undefined) };
  const registry = new FakeRegistry([
    instance('i1', '192.0.2.10', { meta: { zone: 'a', version: '1.2' } }),
    instance('i2', '2001:db8::10', { port: 9090, protocol: 'udp', priority: 5, weight: 3, expiresAt: 5_000 }),
  ]);
  const services = new ServiceZone(registry, { origin: 'nekoq.internal', ttl: 30, nameserverAddresses: ['127.0.0.1'] });
  const engine = new QueryEngine([localDataStage([services, operator]), refuseStage]);
  return { engine, registry, services };
}

const show = (sets: readonly RRset[]) =>
  sets.flatMap((s) => s.data.map((d) => `${formatName(s.name)} ${s.ttl} ${typeName(s.type)} ${formatRdata(typeName(s.type), d)}`));

function ask(engine: QueryEngine, name: string, type: string): Outcome {
  const q = parseQuery(dnsPacket.encode({ id: 1, type: 'query', questions: [{ name, type: type as dnsPacket.RecordType, class: 'IN' }] })) as Query;
  return engine.answer(q, { address: '127.0.0.1', transport: 'udp' }) as Outcome;
}

interface Case {
  q: [string, string];
  rcode: keyof typeof RCODE;
  aa: boolean;
  answer?: string[];
  authority?: string[];
  additional?: string[];
}

const SOA_NEG = 'example.com. 60 SOA ns1.example.com. hostmaster.example.com. 1 3600 600 1209600 60';
const NS = 'example.com. 300 NS ns1.example.com.';
const GLUE = 'ns1.example.com. 300 A 192.0.2.1';
const SVC_NS = 'nekoq.internal. 30 NS ns.nekoq.internal.';
const SVC_GLUE = 'ns.nekoq.internal. 30 A 127.0.0.1';
const SVC_SOA = 'nekoq.internal. 30 SOA ns.nekoq.internal. hostmaster.nekoq.internal. 5 3600 600 86400 30';

const CASES: Case[] = [
  { q: ['web.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: ['web.example.com. 300 A 192.0.2.80'], authority: [NS], additional: [GLUE] },
  { q: ['WEB.Example.com', 'A'], rcode: 'NOERROR', aa: true, answer: ['web.example.com. 300 A 192.0.2.80'], authority: [NS], additional: [GLUE] },
  { q: ['web.example.com', 'AAAA'], rcode: 'NOERROR', aa: true, answer: [], authority: [SOA_NEG] },
  { q: ['nope.example.com', 'A'], rcode: 'NXDOMAIN', aa: true, answer: [], authority: [SOA_NEG] },
  { q: ['b.ent.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: [], authority: [SOA_NEG] },
  { q: ['ent.example.com', 'TXT'], rcode: 'NOERROR', aa: true, answer: [], authority: [SOA_NEG] },
  {
    q: ['example.com', 'MX'],
    rcode: 'NOERROR',
    aa: true,
    answer: ['example.com. 300 MX 10 mail.example.com.'],
    authority: [NS],
    additional: ['mail.example.com. 300 A 192.0.2.25', GLUE, 'mail.example.com. 300 AAAA 2001:db8::25'],
  },
  { q: ['www.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: ['www.example.com. 300 CNAME web.example.com.', 'web.example.com. 300 A 192.0.2.80'], authority: [NS], additional: [GLUE] },
  { q: ['www.example.com', 'CNAME'], rcode: 'NOERROR', aa: true, answer: ['www.example.com. 300 CNAME web.example.com.'], authority: [NS], additional: [GLUE] },
  { q: ['dangling.example.com', 'A'], rcode: 'NXDOMAIN', aa: true, answer: ['dangling.example.com. 300 CNAME gone.example.com.'], authority: [SOA_NEG] },
  { q: ['out.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: ['out.example.com. 300 CNAME www.elsewhere.org.'], authority: [NS], additional: [GLUE] },
  { q: ['loop1.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: ['loop1.example.com. 300 CNAME loop2.example.com.', 'loop2.example.com. 300 CNAME loop1.example.com.'], authority: [NS], additional: [GLUE] },
  {
    q: ['svc.example.com', 'A'],
    rcode: 'NOERROR',
    aa: true,
    answer: ['svc.example.com. 300 CNAME api.discovery.nekoq.internal.', 'api.discovery.nekoq.internal. 30 A 192.0.2.10'],
    authority: [SVC_NS],
    additional: [SVC_GLUE],
  },
  { q: ['x.wild.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: ['x.wild.example.com. 300 A 192.0.2.99'], authority: [NS], additional: [GLUE] },
  { q: ['y.x.wild.example.com', 'TXT'], rcode: 'NOERROR', aa: true, answer: ['y.x.wild.example.com. 300 TXT "wild"'], authority: [NS], additional: [GLUE] },
  { q: ['x.wild.example.com', 'MX'], rcode: 'NOERROR', aa: true, answer: [], authority: [SOA_NEG] },
  { q: ['wild.example.com', 'A'], rcode: 'NOERROR', aa: true, answer: [], authority: [SOA_NEG] },
  { q: ['host.sub.example.com', 'A'], rcode: 'NOERROR', aa: false, answer: [], authority: ['sub.example.com. 300 NS ns.sub.example.com.'], additional: ['ns.sub.example.com. 300 A 192.0.2.53'] },
  { q: ['sub.example.com', 'NS'], rcode: 'NOERROR', aa: false, answer: [], authority: ['sub.example.com. 300 NS ns.sub.example.com.'], additional: ['ns.sub.example.com. 300 A 192.0.2.53'] },
  { q: ['sub.example.com', 'DS'], rcode: 'NOERROR', aa: true, answer: [], authority: [SOA_NEG] },
  { q: ['web.example.com', 'ANY'], rcode: 'NOERROR', aa: true, answer: ['web.example.com. 300 A 192.0.2.80'], authority: [NS], additional: [GLUE] },
  { q: ['www.example.org', 'A'], rcode: 'REFUSED', aa: false, answer: [], authority: [] },
  { q: ['nekoq.internal', 'NS'], rcode: 'NOERROR', aa: true, answer: ['nekoq.internal. 30 NS ns.nekoq.internal.'], additional: ['ns.nekoq.internal. 30 A 127.0.0.1'] },
  { q: ['api.discovery.nekoq.internal', 'A'], rcode: 'NOERROR', aa: true, answer: ['api.discovery.nekoq.internal. 30 A 192.0.2.10'], authority: [SVC_NS], additional: [SVC_GLUE] },
  { q: ['api.discovery.nekoq.internal', 'AAAA'], rcode: 'NOERROR', aa: true, answer: ['api.discovery.nekoq.internal. 30 AAAA 2001:db8::10'], authority: [SVC_NS], additional: [SVC_GLUE] },
  {
    q: ['api.discovery.nekoq.internal', 'SRV'],
    rcode: 'NOERROR',
    aa: true,
    answer: ['api.discovery.nekoq.internal. 30 SRV 0 1 8080 i1.api.discovery.nekoq.internal.', 'api.discovery.nekoq.internal. 30 SRV 5 3 9090 i2.api.discovery.nekoq.internal.'],
    authority: [SVC_NS],
    additional: ['i1.api.discovery.nekoq.internal. 30 A 192.0.2.10', SVC_GLUE, 'i2.api.discovery.nekoq.internal. 30 AAAA 2001:db8::10'],
  },
  {
    q: ['_api._udp.discovery.nekoq.internal', 'SRV'],
    rcode: 'NOERROR',
    aa: true,
    answer: ['_api._udp.discovery.nekoq.internal. 30 SRV 5 3 9090 i2.api.discovery.nekoq.internal.'],
    authority: [SVC_NS],
    additional: [SVC_GLUE, 'i2.api.discovery.nekoq.internal. 30 AAAA 2001:db8::10'],
  },
  { q: ['_api._sctp.discovery.nekoq.internal', 'SRV'], rcode: 'NXDOMAIN', aa: true, answer: [], authority: [SVC_SOA] },
  { q: ['_udp.discovery.nekoq.internal', 'SRV'], rcode: 'NOERROR', aa: true, answer: [], authority: [SVC_SOA] },
  { q: ['i1.api.discovery.nekoq.internal', 'TXT'], rcode: 'NOERROR', aa: true, answer: ['i1.api.discovery.nekoq.internal. 30 TXT "version=1.2" "zone=a"'], authority: [SVC_NS], additional: [SVC_GLUE] },
  { q: ['i2.api.discovery.nekoq.internal', 'TXT'], rcode: 'NOERROR', aa: true, answer: [], authority: [SVC_SOA] },
  { q: ['discovery.nekoq.internal', 'A'], rcode: 'NOERROR', aa: true, answer: [], authority: [SVC_SOA] },
  { q: ['security.nekoq.internal', 'A'], rcode: 'NXDOMAIN', aa: true, answer: [], authority: [SVC_SOA] },
  { q: ['i9.api.discovery.nekoq.internal', 'A'], rcode: 'NXDOMAIN', aa: true, answer: [], authority: [SVC_SOA] },
];

describe('query engine: answers from local data', () => {
  const { engine } = setup();
  for (const c of CASES) {
    test(`${c.q[0]} ${c.q[1]} → ${c.rcode}`, () => {
      const out = ask(engine, ...c.q);
      assert.equal(rcodeName(out.rcode), c.rcode);
      assert.equal(out.aa, c.aa, 'aa');
      if (c.answer !== undefined) assert.deepEqual(show(out.answer), c.answer);
      assert.deepEqual(show(out.authority), c.authority ?? []);
      assert.deepEqual(show(out.additional), c.additional ?? []);
    });
  }

  test('zone transfers are refused, MAILA is not implemented, other classes are refused', () => {
    assert.equal(ask(engine, 'example.com', 'AXFR').rcode, RCODE.REFUSED);
    const maila = parseQuery(Buffer.from('000100000001000000000000076578616d706c6503636f6d0000fe0001', 'hex')) as Query;
    assert.equal((engine.answer(maila, { address: '', transport: 'udp' }) as Outcome).rcode, RCODE.NOTIMP);
    const q = parseQuery(dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'example.com', type: 'A', class: 'CH' }] })) as Query;
    assert.equal((engine.answer(q, { address: '', transport: 'udp' }) as Outcome).rcode, RCODE.REFUSED);
  });

  test('answers built from leases may be cached until the earliest lease in them ends', () => {
    assert.equal(ask(engine, 'api.discovery.nekoq.internal', 'SRV').cacheUntil, 5_000);
    assert.equal(ask(engine, 'web.example.com', 'A').cacheUntil, Infinity);
  });
});

describe('responder: prebuilt answers', () => {
  const wireQuery = (name: string, type: dnsPacket.RecordType = 'A', id = 7, flags = 0) =>
    dnsPacket.encode({ id, type: 'query', flags, questions: [{ name, type, class: 'IN' }] });
  const client = { address: '127.0.0.1', transport: 'udp' as const };

  test('the second query is served from the prebuilt answer with its own id, RD bit and case', () => {
    const { engine } = setup();
    const r = new DnsResponder(engine);
    const first = r.respond(wireQuery('web.example.com'), client) as Buffer;
    assert.equal(r.stats.fullAnswers, 1);
    const second = r.respond(wireQuery('WEB.example.COM', 'A', 99, dnsPacket.RECURSION_DESIRED), client) as Buffer;
    assert.equal(r.stats.fastAnswers, 1);
    const d = dnsPacket.decode(second);
    assert.equal(d.id, 99);
    assert.equal(d.flag_rd, true);
    assert.equal(d.questions![0]!.name, 'WEB.example.COM');
    assert.equal(d.answers![0]!.name, 'WEB.example.COM');
    assert.deepEqual(second.subarray(12 + 17), first.subarray(12 + 17));
  });

  test('invalidate() drops prebuilt answers: a registration shows at once', () => {
    const { engine, registry } = setup();
    const r = new DnsResponder(engine);
    const before = dnsPacket.decode(r.respond(wireQuery('web2.discovery.nekoq.internal'), client) as Buffer);
    assert.equal(rcodeOf(before), 'NXDOMAIN');
    registry.instances.push(instance('w1', '192.0.2.77', { name: 'web2' }));
    r.invalidate();
    const after = dnsPacket.decode(r.respond(wireQuery('web2.discovery.nekoq.internal'), client) as Buffer);
    assert.equal(rcodeOf(after), 'NOERROR');
    assert.equal((after.answers![0] as { data: string }).data, '192.0.2.77');
  });

  test('a prebuilt answer is not served past the earliest lease in it', () => {
    const { engine, registry } = setup();
    let now = 0;
    const r = new DnsResponder(engine, { now: () => now });
    r.respond(wireQuery('api.discovery.nekoq.internal', 'AAAA'), client);
    r.respond(wireQuery('api.discovery.nekoq.internal', 'AAAA'), client);
    assert.equal(r.stats.fastAnswers, 1);
    now = registry.now = 5_000;
    const d = dnsPacket.decode(r.respond(wireQuery('api.discovery.nekoq.internal', 'AAAA'), client) as Buffer);
    assert.equal(r.stats.fastAnswers, 1);
    assert.equal(d.answers!.length, 0);
  });

  test('a prebuilt answer too large for this UDP query is truncated by the full path', () => {
    const { engine } = setup();
    const r = new DnsResponder(engine, { now: () => 0 });
    const q = (size: number) =>
      dnsPacket.encode({
        id: 3,
        type: 'query',
        questions: [{ name: 'api.discovery.nekoq.internal', type: 'SRV', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: size, flags: 0 } as unknown as dnsPacket.Answer],
      });
    const tcp = r.respond(q(1232), { address: '', transport: 'tcp' }) as Buffer;
    assert.ok(tcp.length > 200);
    const small = dnsPacket.decode(r.respond(q(200), client) as Buffer);
    assert.equal(small.answers!.length, 2, 'answer fits in 512');
    assert.equal(r.stats.fastAnswers, 1);
  });

  test('an answer too large for plain UDP is prebuilt once, not stored again for every such query', () => {
    const { engine, registry } = setup();
    for (let i = 0; i < 60; i++) registry.instances.push(instance(`b${i}`, `192.0.2.${i + 1}`, { name: 'big' }));
    const r = new DnsResponder(engine, { now: () => 0 });
    for (let i = 0; i < 5; i++) {
      const d = dnsPacket.decode(r.respond(wireQuery('big.discovery.nekoq.internal'), client) as Buffer);
      assert.equal(d.flag_tc, true);
    }
    assert.equal(r.cachedAnswers, 1);
    const tcp = dnsPacket.decode(r.respond(wireQuery('big.discovery.nekoq.internal'), { address: '', transport: 'tcp' }) as Buffer);
    assert.equal(tcp.answers!.length, 60);
    assert.equal(r.stats.fastAnswers, 1);
  });

  test('at its byte or count budget the cache drops its oldest answers and keeps the newest', () => {
    const { engine } = setup();
    const r = new DnsResponder(engine, { now: () => 0, maxCachedBytes: 1000 });
    for (let i = 0; i < 30; i++) r.respond(wireQuery(`n${i}.example.com`), client);
    assert.ok(r.cachedAnswers > 0 && r.cachedAnswers < 30, `${r.cachedAnswers} answers held`);
    const counted = new DnsResponder(engine, { now: () => 0, maxCachedAnswers: 8 });
    for (let i = 0; i < 20; i++) counted.respond(wireQuery(`m${i}.example.com`), client);
    assert.ok(counted.cachedAnswers <= 8);
    counted.respond(wireQuery('m19.example.com'), client);
    assert.equal(counted.stats.fastAnswers, 1, 'the newest answer is still held');
    counted.respond(wireQuery('m0.example.com'), client);
    assert.equal(counted.stats.fastAnswers, 1, 'the oldest was dropped');
  });

  test('malformed messages get FORMERR, responses are dropped, and nothing throws', () => {
    const { engine } = setup();
    const r = new DnsResponder(engine);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: (i % 60) + 1 }, (_, j) => (i * 31 + j * 7) & 0xff));
      const out = r.respond(junk, client);
      if (out instanceof Buffer) assert.ok(out.length >= 12);
    }
    const formerr = r.respond(Buffer.from('000101000000000000000000', 'hex'), client) as Buffer;
    assert.equal(rcodeOf(dnsPacket.decode(formerr)), 'FORMERR');
  });
});

/** rcodeOf reads the rcode dns-packet decodes (its types leave it out). */
function rcodeOf(d: dnsPacket.DecodedPacket): string | undefined {
  return (d as { rcode?: string }).rcode;
}
