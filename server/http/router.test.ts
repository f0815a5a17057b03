import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TokenTable, tokenDigest } from '../../lib/auth/tokens';
import { DurabilityError } from '../../lib/durability';
import { createLog } from '../log';
import { createMetrics } from '../metrics';
import { ApiRouter, type Route } from './router';

const logged: string[] = [];
const routes: Route[] = [
  { method: 'GET', path: '/v1/ok', permission: 'read', handler: () => ({ status: 200, body: { ok: true } }) },
  { method: 'PUT', path: '/v1/closed', permission: 'none', handler: () => Promise.reject(new DurabilityError('store is closed', true)) },
  { method: 'PUT', path: '/v1/disk', permission: 'none', handler: () => Promise.reject(new DurabilityError('disk I/O error', false)) },
  { method: 'GET', path: '/v1/bug', permission: 'none', handler: () => { throw new TypeError('boom'); } },
  {
    method: 'PUT',
    path: '/v1/echo/:name',
    permission: 'admin',
    handler: async (ctx) => ({ status: 200, body: { name: ctx.params.name, q: ctx.query.get('q'), body: await ctx.readJson(), who: ctx.principal?.name } }),
  },
  { method: 'POST', path: '/v1/raw', permission: 'read', handler: async (ctx) => ({ status: 200, binary: { contentType: 'application/octet-stream', data: await ctx.readRaw(4) } }) },
];
let server: Server;
let base: string;
let router: ApiRouter;

before(async () => {
  router = new ApiRouter(routes, {
    tokens: new TokenTable([{ name: 'r', sha256: tokenDigest('read-token-0123456789'), role: 'read' }]),
    metrics: createMetrics(),
    log: createLog('debug', (l) => logged.push(l)),
  }).own((p) => p.startsWith('/v1/'));
  server = createServer((req, res) => {
    void router.handle(req, res).then((owned) => {
      if (!owned) res.writeHead(299).end('not ours');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe('ApiRouter', () => {
  const table: [string, string, Record<string, string>, number, string | undefined][] = [
    ['GET', '/v1/ok', { authorization: 'Bearer read-token-0123456789' }, 200, undefined],
    ['GET', '/v1/ok', {}, 401, 'unauthorized'],
    ['DELETE', '/v1/ok', {}, 405, 'method_not_allowed'],
    ['GET', '/v1/nope', {}, 404, 'route_not_found'],
    ['PUT', '/v1/closed', {}, 503, 'shutting_down'],
    ['PUT', '/v1/disk', {}, 503, 'storage_failed'],
    ['GET', '/v1/bug', {}, 500, 'internal'],
  ];
  for (const [method, path, headers, status, code] of table) {
    it(`${method} ${path} → ${status} ${code ?? ''}`, async () => {
      const res = await fetch(base + path, { method, headers });
      assert.equal(res.status, status);
      if (code !== undefined) {
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        assert.equal(((await res.json()) as { code: string }).code, code);
      }
    });
  }

  it('leaves paths it does not own to the fallback', async () => {
    const res = await fetch(`${base}/login`);
    assert.equal(res.status, 299);
  });

  it('logs storage failures and bugs, and never the request data', () => {
    assert.ok(logged.some((l) => l.includes('write not made durable') && l.includes('disk I/O error')));
    assert.ok(logged.some((l) => l.includes('handling request') && l.includes('boom')));
    assert.ok(!logged.some((l) => l.includes('read-token-0123456789')));
  });
});

describe('ApiRouter.invoke (the web manager\'s in-process calls)', () => {
  const admin = { name: 'web manager user "op"', sha256: '', role: 'admin' as const };
  const reader = { name: 'reader', sha256: '', role: 'read' as const };
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  const json = (b: Uint8Array) => JSON.parse(text(b)) as Record<string, unknown>;
  const enc = (s: string) => new TextEncoder().encode(s);

  it('runs the route with params, query, JSON body and the principal', async () => {
    const a = await router.invoke({ method: 'PUT', url: '/v1/echo/x%20y?q=1', headers: { 'Content-Type': 'application/json' }, body: enc('{"a":1}') }, admin);
    assert.equal(a.status, 200);
    assert.deepEqual(json(a.body), { name: 'x y', q: '1', body: { a: 1 }, who: 'web manager user "op"' });
  });

  const table: [string, string, Uint8Array | undefined, Record<string, string>, typeof admin | typeof reader, number, string][] = [
    ['PUT', '/v1/echo/x', enc('{'), { 'content-type': 'application/json' }, admin, 400, 'bad_json'],
    ['PUT', '/v1/echo/x', enc('{}'), { 'content-type': 'text/plain' }, admin, 415, 'unsupported_media_type'],
    ['PUT', '/v1/echo/x', undefined, {}, admin, 400, 'bad_json'],
    ['PUT', '/v1/echo/x', enc('{}'), {}, reader, 403, 'forbidden'],
    ['POST', '/v1/raw', enc('12345'), {}, reader, 413, 'body_too_large'],
    ['GET', '/v1/nope', undefined, {}, admin, 404, 'route_not_found'],
    ['DELETE', '/v1/ok', undefined, {}, admin, 405, 'method_not_allowed'],
    ['GET', '/v1/%ff', undefined, {}, admin, 400, 'invalid_path'],
    ['PUT', '/v1/closed', undefined, {}, admin, 503, 'shutting_down'],
    ['GET', '/v1/bug', undefined, {}, admin, 500, 'internal'],
  ];
  for (const [method, url, body, headers, who, status, code] of table) {
    it(`${method} ${url} as ${who.role} → ${status} ${code}, the same problem as over HTTP`, async () => {
      const a = await router.invoke({ method, url, headers, ...(body === undefined ? {} : { body }) }, who);
      assert.equal(a.status, status);
      assert.equal(a.headers['content-type'], 'application/problem+json');
      assert.equal(json(a.body).code, code);
    });
  }

  it('passes binary bodies through unchanged', async () => {
    const a = await router.invoke({ method: 'POST', url: '/v1/raw', body: new Uint8Array([0, 255, 1]) }, reader);
    assert.equal(a.status, 200);
    assert.deepEqual([...a.body], [0, 255, 1]);
    assert.equal(a.headers['content-type'], 'application/octet-stream');
  });
});
