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
];
let server: Server;
let base: string;

before(async () => {
  const router = new ApiRouter(routes, {
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
