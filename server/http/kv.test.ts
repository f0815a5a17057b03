import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startAppliance, TEST_TOKENS, type ApplianceProcess } from '../testing/appliance-process';

describe('KV over the API', () => {
  let app: ApplianceProcess;
  before(async () => {
    app = await startAppliance({ toml: '[kv]\nbootstrap_prefix = "boot/"\n' });
  });
  after(async () => {
    await app?.stop();
  });

  const put = (key: string, value: string | Buffer, query = '', role: 'kv' | 'admin' | 'read' | 'register' = 'kv') =>
    app.api('PUT', `/v1/kv/${key}${query}`, { role, raw: value as string, headers: { 'content-type': 'application/octet-stream' } });

  test('PUT, GET (JSON, raw, base64), flags, indexes in X-Nekoq-Index', async () => {
    const w = await put('app/db/url', 'postgres://db:5432/app', '?flags=42');
    assert.equal(w.status, 200, w.text);
    assert.equal(w.json, true);
    const index = Number(w.headers.get('x-nekoq-index'));
    const r = await app.api('GET', '/v1/kv/app/db/url', { role: 'read' });
    assert.deepEqual(r.json, { key: 'app/db/url', flags: 42, createIndex: index, modifyIndex: index, value: 'postgres://db:5432/app' });
    assert.equal(r.headers.get('x-nekoq-index'), String(index));
    const raw = await fetch(`${app.url}/v1/kv/app/db/url?raw`, { headers: { authorization: `Bearer ${TEST_TOKENS.read}` } });
    assert.equal(raw.headers.get('content-type'), 'application/octet-stream');
    assert.equal(await raw.text(), 'postgres://db:5432/app');
    const b64 = await app.api('GET', '/v1/kv/app/db/url?encoding=base64', { role: 'read' });
    assert.deepEqual([b64.json.value, b64.json.encoding], [Buffer.from('postgres://db:5432/app').toString('base64'), 'base64']);

    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    const res = await fetch(`${app.url}/v1/kv/app/blob`, { method: 'PUT', headers: { authorization: `Bearer ${TEST_TOKENS.kv}` }, body: new Uint8Array(binary) });
    assert.equal(res.status, 200);
    const got = await app.api('GET', '/v1/kv/app/blob', { role: 'read' });
    assert.deepEqual([got.json.value, got.json.encoding], [binary.toString('base64'), 'base64'], 'a value that is not UTF-8 comes back in base64');

    // A leading byte-order mark is part of the value: the text form keeps it, so writing it back changes nothing.
    const bom = await fetch(`${app.url}/v1/kv/app/bom`, { method: 'PUT', headers: { authorization: `Bearer ${TEST_TOKENS.kv}` }, body: new Uint8Array([0xef, 0xbb, 0xbf, 0x61]) });
    assert.equal(bom.status, 200);
    assert.equal((await app.api('GET', '/v1/kv/app/bom', { role: 'read' })).json.value, '\ufeffa');

    const unicode = await put(encodeURIComponent('app/ключ'), 'значение');
    assert.equal(unicode.status, 200);
    assert.equal((await app.api('GET', `/v1/kv/${encodeURIComponent('app/ключ')}`, { role: 'read' })).json.value, 'значение');
  });

  test('recurse, keys with a separator, delete with recurse and cas', async () => {
    for (const k of ['tree/a', 'tree/b/c', 'tree/b/d', 'treetop']) await put(k, k);
    const rec = await app.api('GET', '/v1/kv/tree/?recurse', { role: 'read' });
    assert.deepEqual(rec.json.map((e: { key: string }) => e.key), ['tree/a', 'tree/b/c', 'tree/b/d']);
    assert.deepEqual((await app.api('GET', '/v1/kv/tree/?keys&separator=/', { role: 'read' })).json, ['tree/a', 'tree/b/']);
    const idx = (await app.api('GET', '/v1/kv/tree/a', { role: 'read' })).json.modifyIndex;
    assert.equal((await app.api('DELETE', `/v1/kv/tree/a?cas=${idx + 1000}`, { role: 'kv' })).json, false);
    assert.equal((await app.api('DELETE', `/v1/kv/tree/a?cas=${idx}`, { role: 'kv' })).json, true);
    assert.equal((await app.api('DELETE', '/v1/kv/tree/?recurse', { role: 'kv' })).json, true);
    assert.equal((await app.api('GET', '/v1/kv/tree/?recurse', { role: 'read' })).json.code, 'key_not_found');
    assert.equal((await app.api('GET', '/v1/kv/treetop', { role: 'read' })).json.value, 'treetop');
  });

  const BAD: [string, () => Promise<{ status: number; json: { code: string } }>, number, string][] = [
    ['leading slash', () => put('%2Fabs', 'v'), 400, 'invalid_path'],
    ['empty segment', () => put('a//b', 'v'), 400, 'invalid_path'],
    ['trailing slash on a key', () => put('dir/', 'v'), 400, 'invalid_path'],
    ['key over 512 bytes', () => put('k'.repeat(513), 'v'), 400, 'invalid_path'],
    ['bad percent-encoding', () => put('bad%ZZ', 'v'), 400, 'invalid_path'],
    ['bad cas', () => put('ok', 'v', '?cas=-1'), 400, 'invalid_query'],
    ['bad flags', () => put('ok', 'v', '?flags=abc'), 400, 'invalid_query'],
    ['value over 512 KiB', () => put('ok', Buffer.alloc(512 * 1024 + 1, 97)), 413, 'body_too_large'],
    ['register role may not write', () => put('ok', 'v', '', 'register'), 403, 'forbidden'],
    ['read role may not write', () => put('ok', 'v', '', 'read'), 403, 'forbidden'],
  ];
  for (const [what, call, status, code] of BAD) {
    test(`refused, nothing written: ${what}`, async () => {
      const before = (await app.api('GET', '/v1/kv/?keys', { role: 'read' })).json;
      const r = await call();
      assert.equal(r.status, status);
      assert.equal(r.json.code, code);
      assert.deepEqual((await app.api('GET', '/v1/kv/?keys', { role: 'read' })).json, before);
    });
  }

  test('txn: atomic, the failing operation named with 409; results for get', async () => {
    await put('t/a', '1');
    const aIdx = (await app.api('GET', '/v1/kv/t/a', { role: 'read' })).json.modifyIndex;
    const v = (s: string) => Buffer.from(s).toString('base64');
    const failed = await app.api('POST', '/v1/txn', {
      role: 'kv',
      body: [
        { verb: 'set', key: 't/new', value: v('n') },
        { verb: 'cas', key: 't/a', value: v('2'), index: aIdx + 7 },
      ],
    });
    assert.equal(failed.status, 409);
    assert.equal(failed.json.code, 'txn_failed');
    assert.match(failed.json.detail, /^ops\[1\] \(cas t\/a\)/);
    assert.equal((await app.api('GET', '/v1/kv/t/new', { role: 'read' })).status, 404);
    const ok = await app.api('POST', '/v1/txn', {
      role: 'kv',
      body: [
        { verb: 'check-index', key: 't/a', index: aIdx },
        { verb: 'cas', key: 't/a', value: v('2'), index: aIdx },
        { verb: 'set', key: 't/new', value: v('n'), flags: 3 },
        { verb: 'get', key: 't/new' },
        { verb: 'delete-tree', key: 'nothing/' },
      ],
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.results[3].value, 'n');
    assert.equal(ok.json.results[3].modifyIndex, ok.json.index);
    const badKey = await app.api('POST', '/v1/txn', { role: 'kv', body: [{ verb: 'set', key: '/x', value: v('1') }] });
    assert.equal(badKey.json.code, 'validation_failed');
    const tooMany = await app.api('POST', '/v1/txn', { role: 'kv', body: Array.from({ length: 65 }, () => ({ verb: 'get', key: 't/a' })) });
    assert.equal(tooMany.json.code, 'validation_failed');
  });

  test('the start-up bundle carries the entries under [kv] bootstrap_prefix', async () => {
    await put('boot/db/url', 'postgres://x');
    await put('boot/feature', 'on');
    await put('elsewhere', 'no');
    const b = await app.api('GET', '/v1/bootstrap', { role: 'read' });
    assert.deepEqual(b.json.config, { 'db/url': 'postgres://x', feature: 'on' });
    assert.deepEqual(b.json.configBase64, []);
  });

  test('a blocking GET returns within 50 ms of a write to its key or prefix, and unchanged when wait runs out', async () => {
    await put('watch/a', '1');
    for (const path of ['/v1/kv/watch/a', '/v1/kv/watch/?recurse']) {
      const index = Number((await app.api('GET', '/v1/kv/watch/a', { role: 'read' })).headers.get('x-nekoq-index'));
      const t0 = performance.now();
      const pending = app.api('GET', `${path}${path.includes('?') ? '&' : '?'}index=${index}&wait=10s`, { role: 'read' }).then((r) => ({ r, at: performance.now() }));
      await new Promise((r) => setTimeout(r, 200));
      const wroteAt = performance.now();
      const w = await put('watch/a', `changed at ${wroteAt}`);
      const { r, at } = await pending;
      assert.ok(at - t0 >= 200, 'it waited for the write');
      assert.ok(at - wroteAt < 50, `returned ${Math.round(at - wroteAt)} ms after the write`);
      assert.ok(Number(r.headers.get('x-nekoq-index')) >= Number(w.headers.get('x-nekoq-index')));
    }
    const now = Number((await app.api('GET', '/v1/kv/watch/a', { role: 'read' })).headers.get('x-nekoq-index'));
    await put('unrelated/key', 'x');
    const t0 = performance.now();
    const idle = await app.api('GET', `/v1/kv/watch/a?index=${now}&wait=300ms`, { role: 'read' });
    assert.ok(performance.now() - t0 >= 290, 'a write elsewhere does not wake it');
    assert.equal(idle.status, 200);
    assert.match(idle.json.value, /^changed at/);
  });

  test('two clients racing CAS on one key for 1000 rounds: exactly one wins each round', async () => {
    await put('race', '0');
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const port = Number(new URL(app.url).port);
    const call = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { authorization: `Bearer ${TEST_TOKENS.kv}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    let wins = 0;
    for (let round = 0; round < 1000; round++) {
      const current = JSON.parse((await call('GET', '/v1/kv/race')).text) as { modifyIndex: number };
      const results = await Promise.all(['a', 'b'].map((who) => call('PUT', `/v1/kv/race?cas=${current.modifyIndex}`, `${who}${round}`)));
      const won = results.filter((r) => r.text === 'true').length;
      assert.equal(won, 1, `round ${round}: ${won} winners`);
      wins += won;
    }
    agent.destroy();
    assert.equal(wins, 1000);
  });
});

describe('KV durability', () => {
  test('kill -9 during a loop of 10k PUTs: after restart every acknowledged key holds its acknowledged value', async () => {
    let app = await startAppliance();
    const port = Number(new URL(app.url).port);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const acked = new Map<string, string>();
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (!killed && next < 10_000) {
        const i = next++;
        const key = `load/k${i % 2500}`;
        const value = `v${i}`;
        const ok = await new Promise<boolean>((resolve) => {
          const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/v1/kv/${key}`, agent, headers: { authorization: `Bearer ${TEST_TOKENS.kv}` } }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(res.statusCode === 200 && text === 'true'));
            res.on('error', () => resolve(false));
          });
          req.on('error', () => resolve(false));
          req.end(value);
        });
        // Keys are rewritten: a later acknowledged write of a key supersedes an earlier one.
        if (ok) acked.set(key, value);
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    while (acked.size < 2000 && next < 10_000) await new Promise((r) => setTimeout(r, 5));
    const at = next;
    await app.kill9();
    killed = true;
    await Promise.all(workers);
    agent.destroy();
    assert.ok(at < 10_000, 'killed during the loop');
    app = await startAppliance({ dataDir: app.dataDir });
    try {
      const all = await app.api('GET', '/v1/kv/load/?recurse', { role: 'read' });
      const stored = new Map<string, string>(all.json.map((e: { key: string; value: string }) => [e.key, e.value]));
      let missing = 0;
      for (const [k, v] of acked) {
        const got = stored.get(k);
        // A write sent after the last acknowledged one may have reached the disk without its acknowledgement.
        if (got === undefined || Number(got.slice(1)) < Number(v.slice(1))) missing++;
      }
      assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged keys lost or older`);
    } finally {
      await app.stop();
    }
  });
});
