import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyPassword } from '../lib/auth/password';
import { removeTemp, runMain, startAppliance, tempDir, TOKENS_TOML } from './testing/appliance-process';

const cleanup: string[] = [];
after(() => cleanup.forEach(removeTemp));
const good = { address: '10.1.2.3', port: 7000 };

describe('durability across kill -9', () => {
  it('an instance acknowledged just before kill -9 is listed after restart until its lease ends', async (t) => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    t.diagnostic(`spawn to ready: ${app.readyAfterMs.toFixed(0)} ms`);
    const put = await app.api('PUT', '/v1/services/consistency/etcd/instances/e1', { body: { ...good, ttl: 6 } });
    assert.equal(put.status, 200);
    await app.kill9();
    const killedAt = Date.now();

    const again = await startAppliance({ dataDir: app.dataDir });
    const listed = await again.api('GET', '/v1/services/consistency/etcd');
    assert.deepEqual(listed.json.instances.map((i: { id: string }) => i.id), ['e1']);
    const restored = Date.parse(listed.json.instances[0].expiresAt);
    const acknowledged = Date.parse(put.json.expiresAt);
    assert.ok(restored >= acknowledged, `restored ${restored - acknowledged} ms after the acknowledged lease end`);
    assert.ok(restored <= killedAt + 6000 + 1000, 'at most ttl + 1 s after the kill');
    assert.ok(Number(listed.headers.get('x-nekoq-index')) >= put.json.modifyIndex, 'the index does not go back');
    await sleep(Math.max(0, restored - Date.now() + 400));
    assert.equal((await again.api('GET', '/v1/services/consistency/etcd')).json.instances.length, 0, 'gone when the lease ends');
    assert.equal(await again.stop(), 0);
  });

  it('a heartbeat acknowledged just before kill -9 still holds after restart, and so does a deregistration', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    await app.api('PUT', '/v1/services/security/vault/instances/v1', { body: { ...good, ttl: 30 } });
    await app.api('PUT', '/v1/services/security/vault/instances/v2', { body: { ...good, ttl: 30 } });
    await sleep(50);
    const hb = await app.api('PUT', '/v1/services/security/vault/instances/v1/heartbeat', { role: 'register' });
    assert.equal((await app.api('DELETE', '/v1/services/security/vault/instances/v2')).status, 204);
    await app.kill9();
    const killedAt = Date.now();
    const again = await startAppliance({ dataDir: app.dataDir });
    const listed = await again.api('GET', '/v1/services/security/vault');
    assert.deepEqual(listed.json.instances.map((i: { id: string }) => i.id), ['v1']);
    const restored = Date.parse(listed.json.instances[0].expiresAt);
    const acknowledged = Date.parse(hb.json.expiresAt);
    assert.ok(restored >= acknowledged, `restored ${restored - acknowledged} ms after the acknowledged lease end`);
    assert.ok(restored <= killedAt + 30_000 + 1000, 'at most ttl + 1 s after the kill');
    assert.equal(await again.stop(), 0);
  });

  it('a heartbeat seconds after the last journalled renewal, answered just before kill -9, holds after restart', async () => {
    // Renewals are journalled every 250 ms after they are answered, so the journal
    // may still hold the registration (3 s older): the lease mark must make up for it.
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    const reg = await app.api('PUT', '/v1/services/mq/kafka/instances/k1', { body: { ...good, ttl: 30 } });
    assert.equal(reg.status, 200);
    await sleep(3000);
    const hb = await app.api('PUT', '/v1/services/mq/kafka/instances/k1/heartbeat', { role: 'register' });
    assert.equal(hb.status, 200);
    await app.kill9();
    const killedAt = Date.now();
    const again = await startAppliance({ dataDir: app.dataDir });
    const listed = await again.api('GET', '/v1/services/mq/kafka');
    const restored = Date.parse(listed.json.instances[0].expiresAt);
    const acknowledged = Date.parse(hb.json.expiresAt);
    assert.ok(acknowledged >= Date.parse(reg.json.expiresAt) + 2900, 'the heartbeat moved the lease end');
    assert.ok(restored >= acknowledged, `restored ${restored - acknowledged} ms after the acknowledged lease end`);
    assert.ok(restored <= killedAt + 30_000 + 1000, 'at most ttl + 1 s after the kill');

    // A second kill -9 before any new heartbeat keeps the restored lease, not the journalled one.
    await again.kill9();
    const third = await startAppliance({ dataDir: app.dataDir });
    const relisted = await third.api('GET', '/v1/services/mq/kafka');
    assert.ok(Date.parse(relisted.json.instances[0].expiresAt) >= acknowledged, 'still no earlier than acknowledged after a second crash');
    assert.equal(await third.stop(), 0);
  });

  it('an instance whose lease ran out while the node was down is not restored', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    assert.equal((await app.api('PUT', '/v1/services/batch/spark/instances/s1', { body: { ...good, ttl: 1 } })).status, 200);
    await app.kill9();
    await sleep(2500);
    const again = await startAppliance({ dataDir: app.dataDir });
    assert.equal((await again.api('GET', '/v1/services/batch/spark')).json.instances.length, 0);
    assert.equal(await again.stop(), 0);
  });

  it('after a graceful stop a lease is restored from its journalled renewal, not stretched to the stop', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    const reg = await app.api('PUT', '/v1/services/bus/nats/instances/n1', { body: { ...good, ttl: 30 } });
    await sleep(1500);
    assert.equal(await app.stop(), 0);
    const again = await startAppliance({ dataDir: app.dataDir });
    const restored = Date.parse((await again.api('GET', '/v1/services/bus/nats')).json.instances[0].expiresAt);
    const acknowledged = Date.parse(reg.json.expiresAt);
    assert.ok(restored >= acknowledged && restored <= acknowledged + 1000, `restored ${restored - acknowledged} ms after the acknowledged lease end`);
    assert.equal(await again.stop(), 0);
  });
});

describe('start and stop', () => {
  it('SIGTERM answers in-flight blocking queries, then exits 0', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    const idx = (await app.api('GET', '/v1/services')).headers.get('x-nekoq-index');
    const blocked = app.api('GET', `/v1/services?index=${idx}&wait=60s`);
    await sleep(200);
    const started = Date.now();
    app.proc.kill('SIGTERM');
    const r = await blocked;
    assert.equal(r.status, 200, 'the blocking query got its answer');
    assert.equal(await app.exited, 0);
    assert.ok(Date.now() - started < 3000, 'did not wait for the blocking query to time out');
    assert.ok(app.logs.some((l) => l.msg === 'stopped'));
  });

  it('POST /v1/admin/shutdown stops the node with exit code 0', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    const r = await app.api('POST', '/v1/admin/shutdown');
    assert.equal(r.status, 202);
    assert.equal(await app.exited, 0);
  });

  it('a second process on the same data_dir exits 2 naming the reason', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    const second = await runMain(['--config', app.configFile]);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /is in use by another process/);
    assert.equal((await app.api('GET', '/readyz', { role: null })).status, 200, 'the first keeps serving');
    assert.equal(await app.stop(), 0);
  });

  it('a port in use fails the start with the listener named', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = tempDir();
    cleanup.push(dataDir);
    const conf = join(tempDir(), 'b.toml');
    writeFileSync(conf, `[node]\ndata_dir = "${dataDir}"\n[http]\nlisten = "127.0.0.1:${port}"\n${TOKENS_TOML}`);
    const r = await runMain(['--config', conf]);
    blocker.close();
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`binding http 127\\.0\\.0\\.1:${port}: address in use`));
  });

  const badConfigs: [string, string, RegExp][] = [
    ['unknown key', '[http]\nlisten = "127.0.0.1:0"\nbacklog = 5', /http\.backlog: unknown key/],
    ['bad value', '[dns]\nttl = -1', /dns\.ttl: /],
    ['TOML syntax', '[node\nname = "a"', /b\.toml:1:\d+: /],
  ];
  for (const [what, toml, message] of badConfigs) {
    it(`a config with a ${what} stops the start with exit 2 and the key path`, async () => {
      const conf = join(tempDir(), 'b.toml');
      writeFileSync(conf, toml);
      const r = await runMain(['--config', conf]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^config error: /);
      assert.match(r.stderr, message);
    });
  }

  it('a missing config file exits 2', async () => {
    const r = await runMain(['--config', '/nonexistent/bootstrap.toml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ENOENT/);
  });
});

describe('first start without secrets', () => {
  it('generates an admin password and an API token, shows them once, logs neither', async () => {
    const dataDir = tempDir();
    cleanup.push(dataDir);
    const raw = `[node]\ndata_dir = "${dataDir}"\n[http]\nlisten = "127.0.0.1:0"\n`;
    const app = await startAppliance({ rawConfig: raw, dataDir });
    const err = app.stderr();
    const password = /password (\S+)/.exec(err)?.[1] ?? '';
    const token = /API token \(role admin\): (\S+)/.exec(err)?.[1] ?? '';
    assert.ok(password.length >= 20, 'a password was shown');
    assert.ok(token.startsWith('nkq_'), 'a token was shown');
    const withToken = await fetch(`${app.url}/v1/services`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(withToken.status, 200, 'the generated token is an admin token');
    assert.equal(await app.stop(), 0);
    const logText = JSON.stringify(app.logs);
    assert.ok(!logText.includes(password) && !logText.includes(token), 'secrets never reach the log');

    const again = await startAppliance({ rawConfig: raw, dataDir });
    assert.doesNotMatch(again.stderr(), /password|API token/, 'shown only once');
    const still = await fetch(`${again.url}/v1/services`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(still.status, 200, 'the token survives a restart');
    assert.equal(await again.stop(), 0);
  });
});

describe('command line', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const r = await runMain(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim(), `nekoq-bootstrap ${pkg.version}`);
  });

  it('--help prints usage; a bad option exits 2', async () => {
    const help = await runMain(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: nekoq-bootstrap/);
    const bad = await runMain(['--colour']);
    assert.equal(bad.code, 2);
  });

  it('hash-password makes a hash the config accepts and that verifies', async () => {
    const r = await runMain(['hash-password'], 'correct horse battery staple\n');
    assert.equal(r.code, 0);
    const hash = r.stdout.trim();
    assert.ok(await verifyPassword('correct horse battery staple', hash));
    assert.ok(!(await verifyPassword('wrong horse', hash)));
    const short = await runMain(['hash-password'], 'short\n');
    assert.equal(short.code, 2);
  });
});

describe('HTTPS listener', () => {
  it('serves the same API over TLS with the configured certificate', async () => {
    const dir = tempDir();
    cleanup.push(dir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const app = await startAppliance({ toml: `[https]\nlisten = "127.0.0.1:0"\ncert = "${dir}/cert.pem"\nkey = "${dir}/key.pem"\n` });
    cleanup.push(app.dataDir);
    const ready = app.logs.find((l) => l.msg === 'ready') as { listeners: Record<string, string> };
    const [host, port] = ready.listeners.https!.split(':');
    const body = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host, port, path: '/readyz', ca: readFileSync(join(dir, 'cert.pem')), checkServerIdentity: () => undefined }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(body, '200 {"status":"ready"}');

    // HTTP/2 (what browsers and DoH clients negotiate): the API directly, the web manager through the bridge.
    const session = http2Connect(`https://${host}:${port}`, { ca: readFileSync(join(dir, 'cert.pem')), checkServerIdentity: () => undefined });
    const get = (path: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const stream = session.request({ ':path': path });
        let status = 0;
        let text = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (d: Buffer) => (text += d.toString()));
        stream.on('end', () => resolve({ status, text }));
        stream.on('error', reject);
      });
    assert.deepEqual(await get('/healthz'), { status: 200, text: '{"status":"alive"}' });
    const login = await get('/login');
    assert.equal(login.status, 200);
    assert.match(login.text, /<html/);
    assert.equal((await get('/api/auth/csrf')).status, 200);
    session.close();
    assert.equal(await app.stop(), 0);
  });
});

describe('metrics', () => {
  it('exposes HTTP, registry, store and process figures in Prometheus text', async () => {
    const app = await startAppliance();
    cleanup.push(app.dataDir);
    await app.api('PUT', '/v1/services/mq/rabbit/instances/r1', { body: good });
    await app.api('GET', '/v1/services', { role: null });
    const text = await (await fetch(`${app.url}/metrics`)).text();
    for (const line of [
      /^nekoq_http_requests_total\{route="\/v1\/services\/:type\/:name\/instances\/:id",method="PUT",status="200"\} 1$/m,
      /^nekoq_registry_instances\{type="mq"\} 1$/m,
      /^nekoq_auth_failures_total\{reason="missing"\} 1$/m,
      /^nekoq_store_commit_batch_ops_count [1-9]/m,
      /^process_resident_memory_bytes \d+/m,
      /^nodejs_eventloop_lag_seconds /m,
    ]) {
      assert.match(text, line);
    }
    assert.equal(await app.stop(), 0);
  });
});
