import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signRequest } from '../../lib/cluster/peer-auth';
import type { ApplianceProcess } from '../testing/appliance-process';
import { removeTemp, tempDir } from '../testing/appliance-process';
import { CLUSTER_SECRET, TestCluster, until } from '../testing/cluster';
import { query } from '../testing/dns-clients';
import { createTestCertificate } from '../testing/test-cert';

// Three members A, B, C list each other; each runs as its own process on 127.0.0.1.

const dnsServer = (n: ApplianceProcess) => {
  const [host, port] = n.listeners['dns-udp']!.split(/:(?=\d+$)/) as [string, string];
  return { host, port: Number(port) };
};

/**
 * dump is everything a node serves that replication must make equal: live
 * instances (without the times and indexes, which are each node's own), every
 * zone's RRsets (the SOA without its serial, also each node's own) and every KV
 * entry with its flags.
 */
async function dump(n: ApplianceProcess) {
  const services = (await n.api('GET', '/v1/services')).json.services.map((s: any) => ({
    type: s.type,
    name: s.name,
    instances: s.instances.map((i: any) => ({ id: i.id, address: i.address, port: i.port, tags: i.tags, meta: i.meta, ttl: i.ttl, node: i.node })),
  }));
  const zones: Record<string, unknown> = {};
  for (const z of (await n.api('GET', '/v1/zones')).json.zones) {
    const rrsets = (await n.api('GET', `/v1/zones/${z.name}/records`)).json.rrsets;
    zones[z.name] = rrsets.map((r: any) => (r.type === 'SOA' ? { ...r, values: r.values.map((v: string) => v.replace(/^(\S+ \S+) \d+ /, '$1 SERIAL ')) } : r));
  }
  const kvRes = await n.api('GET', '/v1/kv/?recurse');
  const kv = kvRes.status === 404 ? [] : kvRes.json.map((e: any) => ({ key: e.key, value: e.value, flags: e.flags }));
  return { services, zones, kv };
}

async function converged(nodes: ApplianceProcess[], what: string) {
  return until(
    what,
    async () => {
      const dumps = await Promise.all(nodes.map(dump));
      const first = JSON.stringify(dumps[0]);
      return dumps.every((d) => JSON.stringify(d) === first) ? dumps[0] : undefined;
    },
    20_000,
  );
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

describe('cluster of three', () => {
  const c = new TestCluster();
  let a: ApplianceProcess, b: ApplianceProcess, cc: ApplianceProcess;

  before(async () => {
    [a, b, cc] = await Promise.all([
      c.start({ name: 'a', peers: ['b', 'c'] }),
      c.start({ name: 'b', peers: ['a', 'c'] }),
      c.start({ name: 'c', peers: ['a', 'b'] }),
    ]);
  });
  after(async () => {
    if (process.env.CLUSTER_TEST_LOGS) for (const [name, n] of c.nodes) for (const l of n.logs) if (l.level !== 'info' && l.level !== 'debug') console.error(name, JSON.stringify(l));
    await c.stopAll();
  });

  test('1000 registrations on A are answered by the API and by DNS on B and C', async (t) => {
    const N = 1000;
    const acked = new Map<string, number>();
    const seen = { b: new Map<string, number>(), c: new Map<string, number>() };
    let done = false;
    // Watchers: blocking queries on B and C note when each instance first appears.
    const watch = async (n: ApplianceProcess, into: Map<string, number>) => {
      let index = 0;
      while (!done || into.size < N) {
        const r = await n.api('GET', `/v1/services/discovery/prop?index=${index}&wait=2s`, { role: 'read' });
        const at = performance.now();
        index = Number(r.headers.get('x-nekoq-index'));
        for (const i of r.json.instances) if (!into.has(i.id)) into.set(i.id, at);
        if (done && into.size >= N) break;
      }
    };
    const watchers = [watch(b, seen.b), watch(cc, seen.c)];
    const ids = Array.from({ length: N }, (_, i) => `i${i}`);
    for (let i = 0; i < N; i += 10) {
      await Promise.all(
        ids.slice(i, i + 10).map(async (id, k) => {
          const r = await a.api('PUT', `/v1/services/discovery/prop/instances/${id}`, { role: 'register', body: { address: `10.1.${(i + k) >> 8}.${(i + k) & 255}`, port: 8080, ttl: 600 } });
          assert.equal(r.status, 200);
          acked.set(id, performance.now());
        }),
      );
    }
    done = true;
    await Promise.race([Promise.all(watchers), new Promise((_, reject) => setTimeout(() => reject(new Error(`not all arrived: B ${seen.b.size}, C ${seen.c.size}`)), 20_000))]);
    for (const [name, m] of Object.entries(seen)) {
      assert.equal(m.size, N, `${name} saw every instance`);
      const lat = ids.map((id) => Math.max(0, m.get(id)! - acked.get(id)!));
      t.diagnostic(`propagation A→${name.toUpperCase()}: p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms (figures; bench/cluster.mjs measures them)`);
    }
    // The API on B and C lists them with their owner, and DNS answers every one.
    for (const n of [b, cc]) {
      const r = await n.api('GET', '/v1/services/discovery/prop', { role: 'read' });
      assert.equal(r.json.instances.length, N);
      assert.ok(r.json.instances.every((i: any) => i.node === 'a' && i.expiresAt === null));
      const srv = await query('dig', 'tcp', dnsServer(n), 'prop.discovery.nekoq.internal.', 'SRV');
      assert.equal(srv.rcode, 'NOERROR');
      assert.equal(srv.answer.length, N);
      const one = await query('dig', 'udp', dnsServer(n), 'i777.prop.discovery.nekoq.internal.', 'A');
      assert.deepEqual(one.answer.map((l) => l.split(/\s+/).pop()), ['10.1.3.9']);
    }
    // A deregistration travels too.
    assert.equal((await a.api('DELETE', '/v1/services/discovery/prop/instances/i0', { role: 'register' })).status, 204);
    for (const n of [b, cc]) await until('deregistration', async () => (await n.api('GET', '/v1/services/discovery/prop/instances/i0')).status === 404);
  });

  test('a lease that ends on its owner ends everywhere', async () => {
    await a.api('PUT', '/v1/services/mq/short/instances/x', { role: 'register', body: { address: '10.9.9.9', port: 1, ttl: 1 } });
    await until('arrival on C', async () => (await cc.api('GET', '/v1/services/mq/short/instances/x')).status === 200);
    await until('expiry on B and C', async () => {
      const r = await Promise.all([b, cc].map((n) => n.api('GET', '/v1/services/mq/short/instances/x')));
      return r.every((x) => x.status === 404);
    });
  });

  test('a heartbeat on another member adopts the instance: its lease moves there', async () => {
    await a.api('PUT', '/v1/services/bus/mover/instances/m1', { role: 'register', body: { address: '10.2.2.2', port: 2, ttl: 30 } });
    await until('arrival on B', async () => (await b.api('GET', '/v1/services/bus/mover/instances/m1')).status === 200);
    const hb = await b.api('PUT', '/v1/services/bus/mover/instances/m1/heartbeat', { role: 'register' });
    assert.equal(hb.status, 200);
    for (const n of [a, b, cc]) {
      await until('B owns it everywhere', async () => (await n.api('GET', '/v1/services/bus/mover/instances/m1')).json?.node === 'b');
    }
  });

  test('a record PUT on B is answered by A and C, over the API and DNS', async () => {
    assert.equal((await b.api('POST', '/v1/zones', { body: { name: 'example.com' } })).status, 201);
    assert.equal((await b.api('PUT', '/v1/zones/example.com/records/www/A', { body: { ttl: 60, values: ['192.0.2.10', '192.0.2.11'] } })).status, 200);
    for (const n of [a, cc]) {
      const set = await until('record on peer', async () => {
        const r = await n.api('GET', '/v1/zones/example.com/records', { role: 'read' });
        return r.status === 200 ? r.json.rrsets.find((x: any) => x.name === 'www.example.com.' && x.type === 'A') : undefined;
      });
      assert.deepEqual(set.values, ['192.0.2.10', '192.0.2.11']);
      const ans = await query('dig', 'udp', dnsServer(n), 'www.example.com.', 'A');
      assert.ok(ans.flags.includes('aa'));
      assert.deepEqual(ans.answer.map((l) => l.split(/\s+/).pop()).sort(), ['192.0.2.10', '192.0.2.11']);
    }
    // A delete on C reaches B's DNS.
    assert.equal((await cc.api('DELETE', '/v1/zones/example.com/records/www/A')).status, 204);
    await until('deletion on B', async () => (await query('dig', 'udp', dnsServer(b), 'www.example.com.', 'A')).answer.length === 0);
  });

  test('a KV write on C is read on A', async () => {
    assert.equal((await cc.api('PUT', '/v1/kv/app/greeting?flags=7', { raw: 'hello from c', headers: { 'content-type': 'application/octet-stream' } })).status, 200);
    const got = await until('value on A', async () => {
      const r = await a.api('GET', '/v1/kv/app/greeting', { role: 'read' });
      return r.status === 200 ? r.json : undefined;
    });
    assert.equal(got.value, 'hello from c');
    assert.equal(got.flags, 7);
  });

  test('the same record and key written on A and C at once: all three end identical', async () => {
    await b.api('POST', '/v1/zones', { body: { name: 'race.test' } });
    await until('zone on A and C', async () => (await Promise.all([a, cc].map((n) => n.api('GET', '/v1/zones/race.test')))).every((r) => r.status === 200));
    for (let round = 0; round < 5; round++) {
      const [ra, rc] = await Promise.all([
        a.api('PUT', '/v1/zones/race.test/records/x/TXT', { body: { ttl: 60, values: [`"from a ${round}"`] } }),
        cc.api('PUT', '/v1/zones/race.test/records/x/TXT', { body: { ttl: 60, values: [`"from c ${round}"`] } }),
        a.api('PUT', '/v1/kv/race', { raw: `a${round}`, headers: { 'content-type': 'text/plain' } }),
        cc.api('PUT', '/v1/kv/race', { raw: `c${round}`, headers: { 'content-type': 'text/plain' } }),
      ]);
      assert.equal(ra.status, 200);
      assert.equal(rc.status, 200);
    }
    const end = await converged([a, b, cc], 'identical dumps');
    const winner = (end.zones['race.test.'] as any[]).find((r) => r.name === 'x.race.test.');
    assert.match(winner.values[0], /^"from [ac] 4"$/);
  });

  test('a peer request with the wrong secret, or replayed, gets 401, counted in /metrics; nothing is served', async () => {
    const path = '/v1/cluster/changes?since=0';
    const wrong = signRequest({ cluster: 'test', node: 'mallory', secret: 'x'.repeat(20) + 'another-secret-0123', method: 'GET', path });
    const r1 = await a.api('GET', path, { role: null, headers: wrong });
    assert.equal(r1.status, 401);
    assert.equal(r1.json.code, 'peer_unauthorized');
    assert.equal(r1.json.changes, undefined);
    const otherCluster = signRequest({ cluster: 'other', node: 'mallory', secret: CLUSTER_SECRET, method: 'GET', path });
    assert.equal((await a.api('GET', path, { role: null, headers: otherCluster })).status, 401);
    const good = signRequest({ cluster: 'test', node: 'tester', secret: CLUSTER_SECRET, method: 'GET', path });
    const ok = await a.api('GET', path, { role: null, headers: good });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.node, 'a');
    assert.equal((await a.api('GET', path, { role: null, headers: good })).status, 401, 'the same signed request again is a replay');
    const tampered = { ...signRequest({ cluster: 'test', node: 'tester', secret: CLUSTER_SECRET, method: 'GET', path }) };
    assert.equal((await a.api('GET', '/v1/cluster/changes?since=1', { role: null, headers: tampered })).status, 401, 'the signature covers the query');
    const metrics = (await a.api('GET', '/metrics', { role: null })).text;
    for (const reason of ['bad_signature', 'wrong_cluster', 'replay']) {
      assert.match(metrics, new RegExp(`nekoq_peer_auth_failures_total\\{reason="${reason}"\\} [1-9]`));
    }
  });

  test('/v1/peers reports each peer: reachable, last success, lag, errors; and /metrics the same', async () => {
    const r = await b.api('GET', '/v1/peers', { role: 'read' });
    assert.equal(r.status, 200);
    assert.equal(r.json.node, 'b');
    assert.deepEqual(r.json.peers.map((p: any) => p.name), ['a', 'c']);
    for (const p of r.json.peers) {
      assert.equal(p.state, 'ok');
      assert.equal(p.reachable, true);
      assert.ok(Date.parse(p.lastSuccess) > Date.now() - 60_000);
      assert.equal(p.lag.seq, 0);
      assert.equal(typeof p.errors, 'number');
    }
    assert.equal((await b.api('GET', '/v1/peers', { role: null })).status, 401);
    const metrics = (await b.api('GET', '/metrics', { role: null })).text;
    assert.match(metrics, /nekoq_peer_reachable\{peer="a"\} 1/);
    assert.match(metrics, /nekoq_peer_lag_seq\{peer="c"\} 0/);
  });

  test('kill -9 B, write on A and C, restart B: B converges to exactly the data of A and C', async () => {
    await b.kill9();
    await a.api('PUT', '/v1/services/consistency/store/instances/s1', { role: 'register', body: { address: '10.3.3.1', port: 3, ttl: 600 } });
    await cc.api('PUT', '/v1/services/consistency/store/instances/s2', { role: 'register', body: { address: '10.3.3.2', port: 3, ttl: 600 } });
    await a.api('PUT', '/v1/zones/example.com/records/while-b-was-down/TXT', { body: { ttl: 60, values: ['"a"'] } });
    await cc.api('PUT', '/v1/kv/while/b/was/down', { raw: 'c', headers: { 'content-type': 'text/plain' } });
    await cc.api('DELETE', '/v1/kv/app/greeting');
    b = await c.restart('b');
    await converged([a, b, cc], 'B converges');
    const kv = await b.api('GET', '/v1/kv/app/greeting');
    assert.equal(kv.status, 404, 'the delete made while B was down reached it');
  });

  test('graceful leave: a node that stops tells its pullers, which show it as left at once', async () => {
    await cc.stop();
    for (const n of [a, b]) {
      await until('C shown as left', async () => (await n.api('GET', '/v1/peers')).json.peers.find((p: any) => p.name === 'c').state === 'left', 5000);
    }
    cc = await c.restart('c');
    let last: unknown;
    await until('C back', async () => {
      last = (await a.api('GET', '/v1/peers')).json.peers.find((p: any) => p.name === 'c');
      return (last as { state: string }).state === 'ok';
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}`);
    });
  });

  test('observer D lists A, B and C and nobody lists D: D holds everything and refuses writes', async () => {
    const d = await c.start({ name: 'd', peers: ['a', 'b', 'c'], observer: true });
    await converged([a, b, cc, d], 'D holds everything');
    const w = await d.api('PUT', '/v1/kv/on-observer', { raw: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(w.status, 403);
    assert.equal(w.json.code, 'observer_read_only');
    assert.equal((await d.api('PUT', '/v1/services/discovery/x/instances/y', { role: 'register', body: { address: '10.0.0.1', port: 1 } })).json.code, 'observer_read_only');
    const peers = (await a.api('GET', '/v1/peers')).json.peers.map((p: any) => p.name);
    assert.ok(!peers.includes('d'));
  });
});

describe('cluster failure handling', () => {
  const c = new TestCluster();
  after(() => c.stopAll());

  test('a silent peer is kept, then stale, then dropped (instances go, durable data is adopted); back, it catches up', async () => {
    const timers = 'stale_after = "1s"\ndrop_after = "3s"\n';
    const [x, y0] = await Promise.all([c.start({ name: 'x', peers: ['y'], clusterToml: timers }), c.start({ name: 'y', peers: ['x'], clusterToml: timers })]);
    await y0.api('PUT', '/v1/services/discovery/fromy/instances/1', { role: 'register', body: { address: '10.4.4.4', port: 4, ttl: 600 } });
    await y0.api('PUT', '/v1/kv/fromy', { raw: 'kept', headers: { 'content-type': 'text/plain' } });
    await until('arrival on X', async () => (await x.api('GET', '/v1/services/discovery/fromy')).json.instances.length === 1);
    await until('kv on X', async () => (await x.api('GET', '/v1/kv/fromy')).status === 200);
    await y0.kill9();
    const state = async () => (await x.api('GET', '/v1/peers')).json.peers[0].state;
    // Within stale_after the data is served as is.
    assert.equal((await x.api('GET', '/v1/services/discovery/fromy')).json.instances.length, 1);
    await until('stale', async () => (await state()) === 'stale', 5000);
    assert.equal((await x.api('GET', '/v1/services/discovery/fromy')).json.instances.length, 1, 'a stale peer is still served');
    await until('dropped', async () => (await state()) === 'dropped', 8000);
    await until('instances dropped', async () => (await x.api('GET', '/v1/services/discovery/fromy')).json.instances.length === 0, 5000);
    assert.equal((await x.api('GET', '/v1/kv/fromy?raw')).text, 'kept', 'KV written on Y survives its departure');
    const y = await c.restart('y');
    await until('Y back and caught up', async () => (await x.api('GET', '/v1/services/discovery/fromy')).json.instances.length === 1, 10_000);
    assert.equal((await x.api('GET', '/v1/peers')).json.peers[0].state, 'ok');
    await converged([x, y], 'X and Y identical');
  });

  test('a peer with the wrong secret pulls nothing and is refused with 401', async () => {
    const x = c.node('x');
    await x.api('PUT', '/v1/kv/secret-stuff', { raw: 'private', headers: { 'content-type': 'text/plain' } });
    const m = await c.start({ name: 'mallory', peers: ['x'], secret: 'wrong-secret-wrong-secret-wrong-secret-0' });
    const peer = await until('refusal seen', async () => {
      const p = (await m.api('GET', '/v1/peers')).json.peers[0];
      return p.errors > 0 ? p : undefined;
    });
    assert.match(peer.lastError, /401 peer_unauthorized/);
    assert.equal(peer.reachable, false);
    assert.equal((await m.api('GET', '/v1/kv/secret-stuff')).status, 404);
    assert.equal((await m.api('GET', '/v1/services/discovery/fromy')).json.instances.length, 0);
  });
});

describe('cluster over https:// peer URLs', () => {
  const c = new TestCluster();
  let dir: string;
  after(async () => {
    await c.stopAll();
    if (dir !== undefined) removeTemp(dir);
  });

  test('members sync over TLS, verifying the certificate against [cluster] ca', async () => {
    dir = tempDir();
    const cert = await createTestCertificate(dir);
    const https = { cert: cert.certFile, key: cert.keyFile, ca: cert.certFile };
    const [p, q] = await Promise.all([c.start({ name: 'p', peers: ['q'], https }), c.start({ name: 'q', peers: ['p'], https })]);
    await p.api('PUT', '/v1/kv/over/tls', { raw: 'yes', headers: { 'content-type': 'text/plain' } });
    await until('value over TLS', async () => (await q.api('GET', '/v1/kv/over/tls?raw')).text === 'yes');
    assert.match((await q.api('GET', '/v1/peers')).json.peers[0].url, /^https:/);
  });
});
