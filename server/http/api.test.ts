import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeTemp, startAppliance, type ApplianceProcess } from '../testing/appliance-process';

let app: ApplianceProcess;
before(async () => {
  app = await startAppliance();
});
after(async () => {
  await app.stop();
  removeTemp(app.dataDir);
});

const inst = '/v1/services/discovery/nacos/instances';
const good = { address: '10.0.0.1', port: 8848 };

describe('service registry API', () => {
  it('registers, reads, renews and deregisters an instance', async () => {
    const put = await app.api('PUT', `${inst}/n1`, { role: 'register', body: { ...good, tags: ['primary'], meta: { zone: 'a' }, ttl: 30 } });
    assert.equal(put.status, 200);
    assert.equal(put.json.created, true);
    assert.equal(put.json.address, '10.0.0.1');
    assert.equal(put.json.ttl, 30);
    const again = await app.api('PUT', `${inst}/n1`, { role: 'register', body: { ...good, tags: ['primary'], meta: { zone: 'a' }, ttl: 30 } });
    assert.equal(again.json.created, false, 'idempotent');
    assert.equal(again.json.modifyIndex, put.json.modifyIndex, 'the same spec changes no index');

    const one = await app.api('GET', '/v1/services/discovery/nacos', { role: 'read' });
    assert.equal(one.status, 200);
    assert.deepEqual(one.json.instances.map((i: { id: string }) => i.id), ['n1']);
    assert.equal(one.headers.get('x-nekoq-index'), String(one.json.index));

    const hb = await app.api('PUT', `${inst}/n1/heartbeat`, { role: 'register' });
    assert.equal(hb.status, 200);
    assert.ok(Date.parse(hb.json.expiresAt) > Date.now() + 25_000);

    const del = await app.api('DELETE', `${inst}/n1`, { role: 'register' });
    assert.equal(del.status, 204);
    const gone = await app.api('PUT', `${inst}/n1/heartbeat`, { role: 'register' });
    assert.equal(gone.status, 404);
    assert.equal(gone.json.code, 'instance_not_found');
    assert.equal(gone.headers.get('content-type'), 'application/problem+json');
  });

  it('canonicalises IPv6 addresses', async () => {
    const r = await app.api('PUT', '/v1/services/mq/kafka/instances/k1', { body: { address: '2001:DB8:0::1', port: 9092 } });
    assert.equal(r.json.address, '2001:db8::1');
    await app.api('DELETE', '/v1/services/mq/kafka/instances/k1');
  });

  it('serves the start-up bundle with the core types first', async () => {
    for (const [type, name] of [['mq', 'kafka'], ['consistency', 'etcd'], ['security', 'vault'], ['discovery', 'nacos']]) {
      assert.equal((await app.api('PUT', `/v1/services/${type}/${name}/instances/x1`, { body: good })).status, 200);
    }
    const b = await app.api('GET', '/v1/bootstrap', { role: 'read' });
    assert.equal(b.status, 200);
    assert.deepEqual(Object.keys(b.json.services), ['discovery', 'security', 'consistency', 'mq']);
    assert.equal(b.json.services.security[0].name, 'vault');
    assert.equal(b.json.node.name, 'test-node');
    assert.deepEqual(b.json.config, {});
    const mq = await app.api('GET', '/v1/services?type=mq', { role: 'read' });
    assert.deepEqual(mq.json.services.map((s: { name: string }) => s.name), ['kafka']);
    for (const [type, name] of [['mq', 'kafka'], ['consistency', 'etcd'], ['security', 'vault'], ['discovery', 'nacos']]) {
      await app.api('DELETE', `/v1/services/${type}/${name}/instances/x1`);
    }
  });

  it('an instance with ttl=2 and no heartbeats is gone within 3 s', async () => {
    const r = await app.api('PUT', '/v1/services/batch/lease/instances/short', { body: { ...good, ttl: 2 } });
    const renewed = Date.parse(r.json.renewedAt);
    await sleep(Math.max(0, renewed + 1500 - Date.now()));
    assert.equal((await app.api('GET', '/v1/services/batch/lease')).json.instances.length, 1, 'still there at 1.5 s');
    await sleep(Math.max(0, renewed + 3000 - Date.now()));
    assert.equal((await app.api('GET', '/v1/services/batch/lease')).json.instances.length, 0, 'gone at 3 s');
    const metrics = await fetch(`${app.url}/metrics`).then((m) => m.text());
    assert.match(metrics, /^nekoq_registry_lease_expiries_total [1-9]/m);
  });

  it('with a heartbeat every second an instance with ttl=2 stays for 10 s', async () => {
    await app.api('PUT', '/v1/services/batch/kept/instances/k', { body: { ...good, ttl: 2 } });
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      await sleep(1000);
      const hb = await app.api('PUT', '/v1/services/batch/kept/instances/k/heartbeat', { role: 'register' });
      assert.equal(hb.status, 200, 'heartbeat accepted');
      assert.equal((await app.api('GET', '/v1/services/batch/kept')).json.instances.length, 1);
    }
    await app.api('DELETE', '/v1/services/batch/kept/instances/k');
  });
});

describe('blocking queries', () => {
  it('return when the service changes, with the new index', async () => {
    const first = await app.api('GET', '/v1/services/bus/events', { role: 'read' });
    const index = Number(first.headers.get('x-nekoq-index'));
    const started = Date.now();
    const waiting = app.api('GET', `/v1/services/bus/events?index=${index}&wait=20s`, { role: 'read' });
    await sleep(200);
    await app.api('PUT', '/v1/services/bus/events/instances/e1', { body: good });
    const woke = await waiting;
    assert.ok(Date.now() - started < 10_000, 'woken by the change, not the wait');
    assert.ok(Number(woke.headers.get('x-nekoq-index')) > index);
    assert.equal(woke.json.instances.length, 1);
    await app.api('DELETE', '/v1/services/bus/events/instances/e1');
  });

  it('return unchanged when the wait runs out', async () => {
    const first = await app.api('GET', '/v1/services', { role: 'read' });
    const index = first.headers.get('x-nekoq-index');
    const started = Date.now();
    const r = await app.api('GET', `/v1/services?index=${index}&wait=300ms`, { role: 'read' });
    assert.ok(Date.now() - started >= 280);
    assert.equal(r.headers.get('x-nekoq-index'), index);
  });
});

describe('authentication and roles', () => {
  const cases: [string, string, 'admin' | 'register' | 'read' | null, number, string?][] = [
    ['GET', '/v1/services', null, 401, 'unauthorized'],
    ['GET', '/v1/bootstrap', null, 401, 'unauthorized'],
    ['PUT', `${inst}/a1`, null, 401, 'unauthorized'],
    ['PUT', `${inst}/a1`, 'read', 403, 'forbidden'],
    ['DELETE', `${inst}/a1`, 'read', 403, 'forbidden'],
    ['POST', '/v1/admin/shutdown', 'register', 403, 'forbidden'],
    ['POST', '/v1/admin/shutdown', 'read', 403, 'forbidden'],
    ['GET', '/v1/services', 'read', 200],
    ['GET', '/healthz', null, 200],
    ['GET', '/readyz', null, 200],
    ['GET', '/metrics', null, 200],
  ];
  for (const [method, path, role, status, code] of cases) {
    it(`${method} ${path} as ${role ?? 'nobody'} → ${status}`, async () => {
      const r = await app.api(method, path, { role, body: method === 'PUT' ? good : undefined });
      assert.equal(r.status, status);
      if (code !== undefined) assert.equal(r.json.code, code);
    });
  }
  it('refuses an unknown token and a malformed header', async () => {
    for (const authorization of ['Bearer not-a-known-token', 'Basic YWRtaW46YWRtaW4=', 'Bearer ', `Bearer ${'x'.repeat(600)}`]) {
      const r = await app.api('GET', '/v1/services', { role: null, headers: { authorization } });
      assert.equal(r.status, 401, authorization.slice(0, 30));
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="nekoq-bootstrap"');
    }
  });
});

/** Sends a request whose body is `size` bytes without building it in the test (Content-Length as given). */
function putRaw(path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(app.url + path);
    const req = request({ host: u.hostname, port: u.port, path, method: 'PUT', headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('malformed requests', () => {
  const url = `${inst}/m1`;
  type Case = [what: string, method: string, path: string, init: { body?: unknown; raw?: string; headers?: Record<string, string>; role?: 'read' | null }, status: number, code: string];
  const cases: Case[] = [
    ['empty body', 'PUT', url, { raw: '' }, 400, 'bad_json'],
    ['truncated JSON', 'PUT', url, { raw: '{"address": "10.0.0.1", "port": 80' }, 400, 'bad_json'],
    ['JSON with trailing comma', 'PUT', url, { raw: '{"address":"10.0.0.1","port":80,}' }, 400, 'bad_json'],
    ['single quotes', 'PUT', url, { raw: "{'address':'10.0.0.1'}" }, 400, 'bad_json'],
    ['not JSON at all', 'PUT', url, { raw: 'address=10.0.0.1&port=80', headers: { 'content-type': 'application/json' } }, 400, 'bad_json'],
    ['form content type', 'PUT', url, { raw: 'address=10.0.0.1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'unsupported_media_type'],
    ['text content type', 'PUT', url, { raw: '{}', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
    ['JSON null', 'PUT', url, { raw: 'null' }, 400, 'validation_failed'],
    ['JSON array', 'PUT', url, { body: [good] }, 400, 'validation_failed'],
    ['JSON string', 'PUT', url, { body: 'hello' }, 400, 'validation_failed'],
    ['JSON number', 'PUT', url, { body: 42 }, 400, 'validation_failed'],
    ['empty object', 'PUT', url, { body: {} }, 400, 'validation_failed'],
    ['missing port', 'PUT', url, { body: { address: '10.0.0.1' } }, 400, 'validation_failed'],
    ['missing address', 'PUT', url, { body: { port: 80 } }, 400, 'validation_failed'],
    ['address a host name', 'PUT', url, { body: { ...good, address: 'db.example.com' } }, 400, 'validation_failed'],
    ['address 3 octets', 'PUT', url, { body: { ...good, address: '10.0.1' } }, 400, 'validation_failed'],
    ['address 5 octets', 'PUT', url, { body: { ...good, address: '10.0.0.1.5' } }, 400, 'validation_failed'],
    ['address octet 300', 'PUT', url, { body: { ...good, address: '10.0.0.300' } }, 400, 'validation_failed'],
    ['address with port', 'PUT', url, { body: { ...good, address: '10.0.0.1:80' } }, 400, 'validation_failed'],
    ['address bad IPv6', 'PUT', url, { body: { ...good, address: '2001:db8:::1' } }, 400, 'validation_failed'],
    ['address bracketed IPv6', 'PUT', url, { body: { ...good, address: '[::1]' } }, 400, 'validation_failed'],
    ['address CIDR', 'PUT', url, { body: { ...good, address: '10.0.0.0/8' } }, 400, 'validation_failed'],
    ['address empty', 'PUT', url, { body: { ...good, address: '' } }, 400, 'validation_failed'],
    ['address a number', 'PUT', url, { body: { ...good, address: 167772161 } }, 400, 'validation_failed'],
    ['port 0', 'PUT', url, { body: { ...good, port: 0 } }, 400, 'validation_failed'],
    ['port 65536', 'PUT', url, { body: { ...good, port: 65536 } }, 400, 'validation_failed'],
    ['port negative', 'PUT', url, { body: { ...good, port: -80 } }, 400, 'validation_failed'],
    ['port a string', 'PUT', url, { body: { ...good, port: '80' } }, 400, 'validation_failed'],
    ['port a float', 'PUT', url, { body: { ...good, port: 80.5 } }, 400, 'validation_failed'],
    ['port null', 'PUT', url, { body: { ...good, port: null } }, 400, 'validation_failed'],
    ['protocol sctp', 'PUT', url, { body: { ...good, protocol: 'sctp' } }, 400, 'validation_failed'],
    ['protocol upper case', 'PUT', url, { body: { ...good, protocol: 'TCP' } }, 400, 'validation_failed'],
    ['tags not an array', 'PUT', url, { body: { ...good, tags: 'a,b' } }, 400, 'validation_failed'],
    ['33 tags', 'PUT', url, { body: { ...good, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) } }, 400, 'validation_failed'],
    ['tag of 65 bytes', 'PUT', url, { body: { ...good, tags: ['t'.repeat(65)] } }, 400, 'validation_failed'],
    ['tag an object', 'PUT', url, { body: { ...good, tags: [{}] } }, 400, 'validation_failed'],
    ['meta an array', 'PUT', url, { body: { ...good, meta: ['a'] } }, 400, 'validation_failed'],
    ['meta 65 keys', 'PUT', url, { body: { ...good, meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) } }, 400, 'validation_failed'],
    ['meta value 513 bytes', 'PUT', url, { body: { ...good, meta: { k: 'v'.repeat(513) } } }, 400, 'validation_failed'],
    ['meta value nested', 'PUT', url, { body: { ...good, meta: { k: { deep: 1 } } } }, 400, 'validation_failed'],
    ['meta key with space', 'PUT', url, { body: { ...good, meta: { 'a b': 'v' } } }, 400, 'validation_failed'],
    ['meta __proto__', 'PUT', url, { raw: '{"address":"10.0.0.1","port":80,"meta":{"__proto__":"x"}}' }, 400, 'validation_failed'],
    ['ttl 0', 'PUT', url, { body: { ...good, ttl: 0 } }, 400, 'validation_failed'],
    ['ttl 3601', 'PUT', url, { body: { ...good, ttl: 3601 } }, 400, 'validation_failed'],
    ['ttl a duration string', 'PUT', url, { body: { ...good, ttl: '30s' } }, 400, 'validation_failed'],
    ['weight 70000', 'PUT', url, { body: { ...good, weight: 70000 } }, 400, 'validation_failed'],
    ['priority -1', 'PUT', url, { body: { ...good, priority: -1 } }, 400, 'validation_failed'],
    ['unknown field', 'PUT', url, { body: { ...good, health: '/ok' } }, 400, 'validation_failed'],
    ['deeply nested JSON', 'PUT', url, { raw: `${'['.repeat(5000)}${']'.repeat(5000)}` }, 400, 'validation_failed'],
    ['type upper case', 'PUT', '/v1/services/Discovery/nacos/instances/m1', { body: good }, 400, 'invalid_path'],
    ['type with underscore', 'PUT', '/v1/services/disc_overy/nacos/instances/m1', { body: good }, 400, 'invalid_path'],
    ['name with dot', 'PUT', '/v1/services/discovery/na.cos/instances/m1', { body: good }, 400, 'invalid_path'],
    ['id 64 characters', 'PUT', `/v1/services/discovery/nacos/instances/${'i'.repeat(64)}`, { body: good }, 400, 'invalid_path'],
    ['id leading hyphen', 'PUT', '/v1/services/discovery/nacos/instances/-m1', { body: good }, 400, 'invalid_path'],
    ['id percent-encoded slash', 'PUT', '/v1/services/discovery/nacos/instances/a%2Fb', { body: good }, 400, 'invalid_path'],
    ['id unicode', 'PUT', '/v1/services/discovery/nacos/instances/%C3%A9', { body: good }, 400, 'invalid_path'],
    ['heartbeat bad id', 'PUT', '/v1/services/discovery/nacos/instances/B_A_D/heartbeat', {}, 400, 'invalid_path'],
    ['heartbeat unknown instance', 'PUT', '/v1/services/discovery/nacos/instances/nobody/heartbeat', {}, 404, 'instance_not_found'],
    ['delete unknown instance', 'DELETE', '/v1/services/discovery/nacos/instances/nobody', {}, 404, 'instance_not_found'],
    ['service bad name', 'GET', '/v1/services/discovery/Na_cos', {}, 400, 'invalid_path'],
    ['list bad type', 'GET', '/v1/services?type=Bad_Type', {}, 400, 'invalid_query'],
    ['blocking bad index', 'GET', '/v1/services?index=abc', {}, 400, 'invalid_query'],
    ['blocking negative index', 'GET', '/v1/services?index=-1', {}, 400, 'invalid_query'],
    ['blocking bad wait', 'GET', '/v1/services?index=1&wait=forever', {}, 400, 'invalid_query'],
    ['unknown endpoint', 'GET', '/v1/nothing-here', {}, 404, 'route_not_found'],
    ['wrong method', 'POST', '/v1/services', { body: good }, 405, 'method_not_allowed'],
    ['PATCH an instance', 'PATCH', url, { body: good }, 405, 'method_not_allowed'],
    ['missing token', 'PUT', url, { body: good, role: null }, 401, 'unauthorized'],
    ['read token writes', 'PUT', url, { body: good, role: 'read' }, 403, 'forbidden'],
  ];

  it(`each of ${cases.length + 2} malformed requests gets its problem, and nothing changes`, async () => {
    const before = await app.api('GET', '/v1/services');
    const beforeIndex = before.headers.get('x-nekoq-index');
    for (const [what, method, path, init, status, code] of cases) {
      const r = await app.api(method, path, init);
      assert.equal(r.status, status, `${what}: status (${r.text.slice(0, 200)})`);
      assert.equal(r.headers.get('content-type'), 'application/problem+json', `${what}: content type`);
      assert.equal(r.json.code, code, `${what}: code`);
      assert.equal(r.json.status, status, `${what}: body status`);
      assert.equal(r.json.type, `urn:nekoq:problem:${code}`, `${what}: type`);
    }
    // Bodies over 64 KiB: declared, and streamed with a lying Content-Length.
    const big = Buffer.alloc(70 * 1024, 0x20);
    const declared = await putRaw(url, { authorization: 'Bearer test-admin-token-0000000000', 'content-type': 'application/json', 'content-length': String(big.length) }, big);
    assert.equal(declared.status, 413);
    assert.equal(declared.json.code, 'body_too_large');
    const chunked = await putRaw(url, { authorization: 'Bearer test-admin-token-0000000000', 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, big);
    assert.equal(chunked.status, 413);

    const afterList = await app.api('GET', '/v1/services');
    assert.equal(afterList.headers.get('x-nekoq-index'), beforeIndex, 'registry index unchanged');
    assert.deepEqual(afterList.json, before.json, 'registry unchanged');
    const health = await app.api('GET', '/readyz', { role: null });
    assert.equal(health.status, 200, 'still serving');
    const valid = await app.api('PUT', url, { body: good });
    assert.equal(valid.status, 200, 'a valid request still works');
    await app.api('DELETE', url);
  });

  it('a validation problem names every bad field', async () => {
    const r = await app.api('PUT', `${inst}/m2`, { body: { address: 'nope', port: 0, colour: 'red' } });
    assert.equal(r.status, 400);
    const paths = r.json.errors.map((e: { path: string }) => e.path).sort();
    assert.deepEqual(paths, ['(body)', 'address', 'port']);
    assert.match(r.json.detail, /unknown field "colour"/);
  });
});

describe('node status', () => {
  it('GET /v1/node names the node and counts what it holds', async () => {
    await app.api('PUT', '/v1/services/bus/nats/instances/status-1', { body: { address: '10.9.0.1', port: 4222 } });
    await app.api('PUT', '/v1/kv/status/probe', { raw: 'x' });
    const r = await app.api('GET', '/v1/node', { role: 'read' });
    assert.equal(r.status, 200);
    const services = (await app.api('GET', '/v1/services')).json as { services: { type: string; instances: unknown[] }[] };
    const zones = (await app.api('GET', '/v1/zones')).json as { zones: { rrsets: number }[] };
    assert.equal(r.json.node, 'test-node');
    assert.equal(r.json.ready, true);
    assert.ok(r.json.uptimeSeconds >= 0);
    assert.deepEqual(
      (r.json.listeners as { name: string }[]).map((l) => l.name),
      ['http', 'dns-udp', 'dns-tcp'],
    );
    assert.deepEqual(r.json.counts, {
      serviceTypes: new Set(services.services.map((s) => s.type)).size,
      services: services.services.length,
      instances: services.services.reduce((n, s) => n + s.instances.length, 0),
      zones: zones.zones.length,
      rrsets: zones.zones.reduce((n, z) => n + z.rrsets, 0),
      kvKeys: ((await app.api('GET', '/v1/kv/?keys')).json as string[]).length,
    });
    assert.deepEqual(r.json.cluster, { name: 'nekoq', observer: false, peers: 0, states: {} });
    assert.equal((await app.api('GET', '/v1/node', { role: null })).status, 401);
  });
});
