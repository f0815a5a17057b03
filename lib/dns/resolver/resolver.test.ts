import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { RCODE, TYPE } from '../constants';
import { decodeMessage } from '../message';
import { RANK, RecordCache } from './cache';
import type { Exchanger, ServerAddress } from './exchange';
import { ExchangeError } from './exchange';
import { Resolver, type ResolverOptions } from './resolver';

/*
 * The resolver's reading of responses, against servers scripted here: what a
 * well-behaved server never sends (poison outside its bailiwick, answers to
 * other questions, referral loops) is exactly what needs a test. The real
 * resolution against NSD and Unbound is in server/dns/resolver-tree.test.ts.
 */

type Answer = (q: { name: string; type: string; id: number }) => dnsPacket.Packet | undefined;

/** A scripted network: each server address answers with its function; undefined = no answer (timeout). */
function network(servers: Record<string, Answer>) {
  const log: { server: string; name: string; type: string; id: number }[] = [];
  const exchanger: Exchanger = {
    async udp(server: ServerAddress, query: Buffer) {
      const q = decodeMessage(query);
      const entry = { server: server.address, name: q.question!.name, type: dnsPacket.decode(query).questions![0]!.type, id: q.id };
      log.push(entry);
      const answer = servers[server.address]?.(entry);
      if (answer === undefined) throw new ExchangeError('timeout', 'no answer');
      // dns-packet takes the rcode only inside flags.
      const rcode = (answer as { rcode?: string }).rcode === 'NXDOMAIN' ? RCODE.NXDOMAIN : 0;
      return dnsPacket.encode({ ...answer, flags: (answer.flags ?? 0) | rcode, type: 'response', id: answer.id ?? q.id, questions: answer.questions ?? [{ name: entry.name, type: entry.type as dnsPacket.RecordType, class: 'IN' }] });
    },
    tcp() {
      return Promise.reject(new ExchangeError('unreachable', 'no tcp here'));
    },
    doh() {
      return Promise.reject(new ExchangeError('unreachable', 'no doh here'));
    },
  };
  return { exchanger, log };
}

const AA = dnsPacket.AUTHORITATIVE_ANSWER;
const soa = (zone: string) => ({ name: zone, type: 'SOA' as const, ttl: 300, data: { mname: `ns.${zone}`, rname: `h.${zone}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 300 } });

/** root (10.0.0.1) → test. (10.0.0.2) → example.test. (10.0.0.3); each function may add mischief. */
function tree(overrides: Partial<Record<string, Answer>> = {}) {
  const base: Record<string, Answer> = {
    '10.0.0.1': (q) => ({
      authorities: [{ name: 'test', type: 'NS', ttl: 3600, data: 'ns.test' }],
      additionals: [{ name: 'ns.test', type: 'A', ttl: 3600, data: '10.0.0.2' }],
      id: undefined,
      ...(q.name.endsWith('test') ? {} : { rcode: 'NXDOMAIN', flags: AA, authorities: [soa('.')], additionals: [] }),
    }) as dnsPacket.Packet,
    '10.0.0.2': () => ({
      authorities: [{ name: 'example.test', type: 'NS', ttl: 3600, data: 'ns.example.test' }],
      additionals: [{ name: 'ns.example.test', type: 'A', ttl: 3600, data: '10.0.0.3' }],
    }),
    '10.0.0.3': (q) =>
      q.name === 'www.example.test' && q.type === 'A'
        ? { flags: AA, answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }] }
        : ({ flags: AA, rcode: 'NXDOMAIN', authorities: [soa('example.test')] } as dnsPacket.Packet),
  };
  return network({ ...base, ...(overrides as Record<string, Answer>) });
}

function resolver(exchanger: Exchanger, opts: Partial<ResolverOptions> = {}) {
  const cache = new RecordCache({ maxEntries: 1000, maxTtl: 86400, maxNegativeTtl: 3600, staleWindowMs: 0 });
  const r = new Resolver(
    { mode: 'iterative', upstreams: [], rootHints: [{ name: 'root', address: '10.0.0.1' }], timeoutMs: 2000, qnameMinimisation: false, serveStale: false, staleAnswerTtl: 30, ednsPayload: 1232, ...opts },
    cache,
    exchanger,
  );
  return { r, cache };
}

test('follows referrals with glue down to the answer, with a random ID per query', async () => {
  const net = tree();
  const { r } = resolver(net.exchanger);
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.NOERROR);
  assert.deepEqual(res.answer[0]?.data, ['192.0.2.1']);
  assert.deepEqual(net.log.map((l) => l.server), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.equal(new Set(net.log.map((l) => l.id)).size, 3);
  const nx = await r.resolve('nope.example.test', TYPE.A);
  assert.equal(nx.rcode, RCODE.NXDOMAIN);
  assert.equal(nx.authority[0]?.type, TYPE.SOA);
  assert.equal(net.log.length, 4, 'the delegation to example.test came from the cache');
});

test('glue for a name outside the delegating zone is not kept (no poisoning through the additional section)', async () => {
  const net = tree({
    '10.0.0.2': () => ({
      authorities: [{ name: 'example.test', type: 'NS', ttl: 3600, data: 'ns.example.test' }, { name: 'example.test', type: 'NS', ttl: 3600, data: 'ns.victim.org' }],
      additionals: [
        { name: 'ns.example.test', type: 'A', ttl: 3600, data: '10.0.0.3' },
        { name: 'ns.victim.org', type: 'A', ttl: 3600, data: '203.0.113.66' },
        { name: 'www.bank.org', type: 'A', ttl: 3600, data: '203.0.113.66' },
      ],
    }),
  });
  const { r, cache } = resolver(net.exchanger);
  assert.equal((await r.resolve('www.example.test', TYPE.A)).rcode, RCODE.NOERROR);
  assert.equal(cache.rrset('ns.victim.org', TYPE.A, RANK.GLUE), undefined);
  assert.equal(cache.rrset('www.bank.org', TYPE.A, RANK.GLUE), undefined);
  assert.ok(r.stats.outOfBailiwick >= 1);
});

test('answer and authority records outside the zone asked are dropped', async () => {
  const net = tree({
    '10.0.0.3': () => ({
      flags: AA,
      answers: [
        { name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' },
        { name: 'www.bank.org', type: 'A', ttl: 300, data: '203.0.113.66' },
      ],
      authorities: [{ name: 'test', type: 'NS', ttl: 300, data: 'ns.evil.org' }],
    }),
  });
  const { r, cache } = resolver(net.exchanger);
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.deepEqual(res.answer.map((s) => s.name), ['www.example.test']);
  assert.equal(cache.rrset('www.bank.org', TYPE.A, RANK.GLUE), undefined);
  assert.deepEqual(cache.rrset('test', TYPE.NS, RANK.REFERRAL)?.data, ['ns.test'], 'the TLD delegation was not replaced by the leaf server');
});

test('a response to another question is not used; when every server does that the answer is SERVFAIL', async () => {
  const net = tree({
    '10.0.0.3': () => ({ flags: AA, questions: [{ name: 'www.bank.org', type: 'A', class: 'IN' }], answers: [{ name: 'www.bank.org', type: 'A', ttl: 300, data: '203.0.113.66' }] }),
  });
  const { r, cache } = resolver(net.exchanger);
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.SERVFAIL);
  assert.equal(cache.rrset('www.bank.org', TYPE.A, RANK.GLUE), undefined);
});

test('a referral upwards is lame; a referral loop ends in SERVFAIL within the limits', async () => {
  const upward = tree({ '10.0.0.3': () => ({ authorities: [{ name: 'test', type: 'NS', ttl: 300, data: 'ns.test' }], additionals: [{ name: 'ns.test', type: 'A', ttl: 300, data: '10.0.0.2' }] }) });
  const a = resolver(upward.exchanger);
  const res = await a.r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.SERVFAIL);
  assert.match(res.reason ?? '', /lame/);

  // Each level refers one label deeper, forever: the referral limit stops it.
  let depth = 0;
  const deep = network({
    '10.0.0.1': (q) => {
      depth++;
      const labels = q.name.split('.');
      const child = labels.slice(labels.length - Math.min(labels.length, depth)).join('.');
      return { authorities: [{ name: child, type: 'NS', ttl: 300, data: `ns.${child}` }], additionals: [{ name: `ns.${child}`, type: 'A', ttl: 300, data: '10.0.0.1' }] };
    },
  });
  const b = resolver(deep.exchanger, { limits: { maxReferrals: 5 } });
  const name = Array.from({ length: 20 }, (_, i) => `l${i}`).join('.');
  const looped = await b.r.resolve(name, TYPE.A);
  assert.equal(looped.rcode, RCODE.SERVFAIL);
  assert.ok(deep.log.length <= 6, `${deep.log.length} queries`);
});

test('NS names without glue are resolved first; a CNAME to another zone is followed; a CNAME loop is SERVFAIL', async () => {
  const net = tree({
    '10.0.0.2': (q) =>
      q.name.endsWith('noglue.test')
        ? { authorities: [{ name: 'noglue.test', type: 'NS', ttl: 300, data: 'ns.example.test' }] }
        : {
            authorities: [{ name: 'example.test', type: 'NS', ttl: 3600, data: 'ns.example.test' }],
            additionals: [{ name: 'ns.example.test', type: 'A', ttl: 3600, data: '10.0.0.3' }],
          },
    '10.0.0.3': (q) => {
      if (q.name === 'ns.example.test') return { flags: AA, answers: [{ name: 'ns.example.test', type: 'A', ttl: 300, data: '10.0.0.3' }] };
      if (q.name === 'www.noglue.test') return { flags: AA, answers: [{ name: 'www.noglue.test', type: 'CNAME', ttl: 300, data: 'www.example.test' }] };
      if (q.name === 'www.example.test') return { flags: AA, answers: [{ name: 'www.example.test', type: 'A', ttl: 300, data: '192.0.2.1' }] };
      if (q.name === 'loop1.example.test') return { flags: AA, answers: [{ name: 'loop1.example.test', type: 'CNAME', ttl: 300, data: 'loop2.example.test' }] };
      if (q.name === 'loop2.example.test') return { flags: AA, answers: [{ name: 'loop2.example.test', type: 'CNAME', ttl: 300, data: 'loop1.example.test' }] };
      return undefined;
    },
  });
  const { r } = resolver(net.exchanger);
  const res = await r.resolve('www.noglue.test', TYPE.A);
  assert.equal(res.rcode, RCODE.NOERROR);
  assert.deepEqual(res.answer.map((s) => s.type), [TYPE.CNAME, TYPE.A]);
  const loop = await r.resolve('loop1.example.test', TYPE.A);
  assert.equal(loop.rcode, RCODE.SERVFAIL);
  assert.match(loop.reason ?? '', /loop/);
});

test('with QNAME minimisation each server sees one label more than its zone, as type A', async () => {
  const net = tree();
  const { r } = resolver(net.exchanger, { qnameMinimisation: true });
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.NOERROR);
  assert.deepEqual(
    net.log.map((l) => `${l.server} ${l.name} ${l.type}`),
    ['10.0.0.1 test A', '10.0.0.2 example.test A', '10.0.0.3 www.example.test A'],
  );
});

test('silent servers cost the time budget, not more: SERVFAIL with EDE 22', async () => {
  const net = network({ '10.0.0.1': () => undefined });
  const { r } = resolver(net.exchanger, { timeoutMs: 300 });
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.SERVFAIL);
  assert.equal(res.ede, 22);
  // The failure is remembered for a few seconds: no new queries for the same question.
  const sent = net.log.length;
  assert.equal((await r.resolve('www.example.test', TYPE.A)).rcode, RCODE.SERVFAIL);
  assert.equal(net.log.length, sent);
});

test('serve-stale: when the servers stop answering, expired data is served with the stale TTL and EDE 3', async () => {
  let t = 1_000_000;
  const now = () => t;
  let silent = false;
  const net = tree();
  const exchanger: Exchanger = {
    ...net.exchanger,
    udp: (server, query, timeoutMs) => (silent ? Promise.reject(new ExchangeError('timeout', 'silent')) : net.exchanger.udp(server, query, timeoutMs)),
  };
  const cache = new RecordCache({ maxEntries: 1000, maxTtl: 86400, maxNegativeTtl: 3600, staleWindowMs: 3_600_000, now });
  const opts: ResolverOptions = { mode: 'iterative', upstreams: [], rootHints: [{ name: 'root', address: '10.0.0.1' }], timeoutMs: 2000, qnameMinimisation: false, serveStale: true, staleAnswerTtl: 30, ednsPayload: 1232, now };
  const r = new Resolver(opts, cache, exchanger);
  assert.equal((await r.resolve('www.example.test', TYPE.A)).answer[0]?.ttl, 300);
  t += 301_000;
  silent = true;
  const stale = await r.resolve('www.example.test', TYPE.A);
  assert.equal(stale.rcode, RCODE.NOERROR);
  assert.equal(stale.stale, true);
  assert.equal(stale.ede, 3);
  assert.deepEqual(stale.answer[0]?.data, ['192.0.2.1']);
  assert.equal(stale.answer[0]?.ttl, 30);
  // Without serve-stale the same failure is a SERVFAIL.
  const strict = new Resolver({ ...opts, serveStale: false }, cache, exchanger);
  assert.equal((await strict.resolve('www.example.test', TYPE.A)).rcode, RCODE.SERVFAIL);
});

test('resolutions under way are bounded: beyond the limit a new name is SERVFAIL at once', async () => {
  const pending: (() => void)[] = [];
  const net = tree();
  const exchanger: Exchanger = {
    ...net.exchanger,
    udp: (server, query, timeoutMs) => new Promise((resolve, reject) => pending.push(() => net.exchanger.udp(server, query, timeoutMs).then(resolve, reject))),
  };
  const { r } = resolver(exchanger, { limits: { maxInflight: 2 } });
  const a = r.resolve('www.example.test', TYPE.A);
  const b = r.resolve('www.example.test', TYPE.AAAA);
  const c = await r.resolve('other.example.test', TYPE.A);
  assert.equal(c.rcode, RCODE.SERVFAIL);
  assert.equal(r.stats.overloaded, 1);
  while (pending.length > 0) {
    pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal((await a).rcode, RCODE.NOERROR);
  const bb = await b;
  assert.equal(bb.rcode, RCODE.NXDOMAIN, JSON.stringify(bb));
});

test('a zone whose NS names are inside it stays reachable after the answer that replaced its glue expires', async () => {
  let t = 1_000_000;
  const now = () => t;
  const net = tree({
    '10.0.0.3': (q) =>
      q.name === 'ns.example.test'
        ? { flags: AA, answers: [{ name: 'ns.example.test', type: 'A', ttl: 60, data: '10.0.0.3' }] }
        : q.name === 'www.example.test'
          ? { flags: AA, answers: [{ name: 'www.example.test', type: 'A', ttl: 30, data: '192.0.2.1' }] }
          : undefined,
  });
  const cache = new RecordCache({ maxEntries: 1000, maxTtl: 86400, maxNegativeTtl: 3600, staleWindowMs: 0, now });
  const r = new Resolver(
    { mode: 'iterative', upstreams: [], rootHints: [{ name: 'root', address: '10.0.0.1' }], timeoutMs: 2000, qnameMinimisation: false, serveStale: false, staleAnswerTtl: 30, ednsPayload: 1232, now },
    cache,
    net.exchanger,
  );
  assert.equal((await r.resolve('ns.example.test', TYPE.A)).rcode, RCODE.NOERROR);
  t += 61_000; // the authoritative A of ns.example.test (60 s) is gone; the NS set (3600 s) is not
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.NOERROR, res.reason);
  assert.deepEqual(net.log.slice(-2).map((l) => l.server), ['10.0.0.2', '10.0.0.3'], 'the parent was asked again for fresh glue');
});

test('what a client is given obeys max_ttl and the negative TTL rule, as the cache does', async () => {
  const net = tree({
    '10.0.0.3': (q) =>
      q.name === 'www.example.test'
        ? { flags: AA, answers: [{ name: 'www.example.test', type: 'A', ttl: 2_000_000_000, data: '192.0.2.1' }] }
        : ({ flags: AA, rcode: 'NXDOMAIN', authorities: [{ ...soa('example.test'), ttl: 86400, data: { ...soa('example.test').data, minimum: 60 } }] } as dnsPacket.Packet),
  });
  const cache = new RecordCache({ maxEntries: 1000, maxTtl: 3600, maxNegativeTtl: 30, staleWindowMs: 0 });
  const r = new Resolver(
    { mode: 'iterative', upstreams: [], rootHints: [{ name: 'root', address: '10.0.0.1' }], timeoutMs: 2000, qnameMinimisation: false, serveStale: false, staleAnswerTtl: 30, ednsPayload: 1232 },
    cache,
    net.exchanger,
  );
  assert.equal((await r.resolve('www.example.test', TYPE.A)).answer[0]?.ttl, 3600);
  const nx = await r.resolve('nope.example.test', TYPE.A);
  assert.equal(nx.rcode, RCODE.NXDOMAIN);
  assert.equal(nx.authority[0]?.ttl, 30, 'min(SOA TTL 86400, MINIMUM 60, max_negative_ttl 30)');
});

test('with QNAME minimisation, a server that errs on a shortened name is asked the full name', async () => {
  const net = tree({
    '10.0.0.2': (q) =>
      q.name === 'test'
        ? ({ flags: AA, rcode: 'REFUSED' } as dnsPacket.Packet)
        : {
            authorities: [{ name: 'example.test', type: 'NS', ttl: 3600, data: 'ns.example.test' }],
            additionals: [{ name: 'ns.example.test', type: 'A', ttl: 3600, data: '10.0.0.3' }],
          },
  });
  // REFUSED has to reach the wire: dns-packet reads the rcode from the flags only.
  const refusing: Exchanger = {
    ...net.exchanger,
    async udp(server, query, timeoutMs) {
      const out = await net.exchanger.udp(server, query, timeoutMs);
      const q = decodeMessage(query);
      if (server.address === '10.0.0.2' && q.question!.name === 'example.test') out[3] = (out[3]! & 0xf0) | RCODE.REFUSED;
      return out;
    },
  };
  const { r } = resolver(refusing, { qnameMinimisation: true });
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.NOERROR, res.reason);
  assert.deepEqual(
    net.log.map((l) => `${l.server} ${l.name} ${l.type}`),
    ['10.0.0.1 test A', '10.0.0.2 example.test A', '10.0.0.2 www.example.test A', '10.0.0.3 www.example.test A'],
  );
});

function forwarder(answer: Answer, upstreams = 2) {
  const servers: Record<string, Answer> = {};
  for (let i = 1; i <= upstreams; i++) servers[`10.9.0.${i}`] = answer;
  const net = network(servers);
  const cache = new RecordCache({ maxEntries: 1000, maxTtl: 86400, maxNegativeTtl: 3600, staleWindowMs: 0 });
  const r = new Resolver(
    {
      mode: 'forward',
      upstreams: Object.keys(servers).map((a) => ({ transport: 'udp' as const, address: a, port: 53, label: `udp://${a}` })),
      rootHints: [],
      timeoutMs: 2000,
      qnameMinimisation: false,
      serveStale: false,
      staleAnswerTtl: 30,
      ednsPayload: 1232,
    },
    cache,
    net.exchanger,
  );
  return { r, net };
}

test('forward: when every upstream answers SERVFAIL, that is the answer, after one query to each', async () => {
  const { r, net } = forwarder(() => ({ flags: 2 }));
  const res = await r.resolve('www.example.test', TYPE.A);
  assert.equal(res.rcode, RCODE.SERVFAIL);
  assert.equal(net.log.length, 2);
});

test('forward: NOERROR without records or SOA is NODATA, not a failure', async () => {
  const { r, net } = forwarder(() => ({ flags: dnsPacket.RECURSION_AVAILABLE }));
  const res = await r.resolve('host.lan', TYPE.AAAA);
  assert.equal(res.rcode, RCODE.NOERROR);
  assert.deepEqual(res.answer, []);
  assert.equal(net.log.length, 1);
});
