import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalAddress, checkKey, registerBodySchema, sameSpec } from './instance';

const schema = registerBodySchema(30);
const ok = { address: '10.0.0.1', port: 80 };

describe('registerBodySchema', () => {
  it('fills defaults', () => {
    assert.deepEqual(schema.parse(ok), { ...ok, protocol: 'tcp', tags: [], meta: {}, weight: 1, priority: 0, ttl: 30 });
  });
  const accepted: [string, object][] = [
    ['IPv6', { address: '2001:db8::1', port: 1 }],
    ['udp, tags, meta, weights', { ...ok, protocol: 'udp', tags: ['a', 'é'.repeat(32)], meta: { 'zone.id': 'x'.repeat(512) }, weight: 0, priority: 65535, ttl: 3600 }],
    ['32 tags, 64 meta keys', { ...ok, tags: Array.from({ length: 32 }, (_, i) => `t${i}`), meta: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, 'v'])) }],
  ];
  for (const [what, body] of accepted) it(`accepts ${what}`, () => assert.ok(schema.safeParse(body).success));

  const refused: [string, unknown][] = [
    ['not an object', [1, 2]],
    ['missing address', { port: 80 }],
    ['missing port', { address: '10.0.0.1' }],
    ['host name for address', { address: 'example.com', port: 80 }],
    ['short IPv4', { address: '10.0.1', port: 80 }],
    ['IPv4 with leading zero', { address: '010.0.0.1', port: 80 }],
    ['IPv4 octet 256', { address: '10.0.0.256', port: 80 }],
    ['IPv6 with two ::', { address: '1::2::3', port: 80 }],
    ['address with port', { address: '10.0.0.1:80', port: 80 }],
    ['port 0', { ...ok, port: 0 }],
    ['port 65536', { ...ok, port: 65536 }],
    ['port as string', { ...ok, port: '80' }],
    ['port fractional', { ...ok, port: 80.5 }],
    ['protocol sctp', { ...ok, protocol: 'sctp' }],
    ['33 tags', { ...ok, tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }],
    ['tag of 65 bytes', { ...ok, tags: ['x'.repeat(65)] }],
    ['tag of 33 two-byte characters', { ...ok, tags: ['é'.repeat(33)] }],
    ['empty tag', { ...ok, tags: [''] }],
    ['tags not strings', { ...ok, tags: [1] }],
    ['65 meta keys', { ...ok, meta: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }],
    ['meta value of 513 bytes', { ...ok, meta: { k: 'x'.repeat(513) } }],
    ['meta value a number', { ...ok, meta: { k: 1 } }],
    ['meta key with "="', { ...ok, meta: { 'a=b': 'v' } }],
    ['meta key __proto__', { ...ok, meta: JSON.parse('{"__proto__": "x"}') }],
    ['ttl 0', { ...ok, ttl: 0 }],
    ['ttl 3601', { ...ok, ttl: 3601 }],
    ['weight negative', { ...ok, weight: -1 }],
    ['priority too large', { ...ok, priority: 70000 }],
    ['unknown field', { ...ok, healthcheck: '/health' }],
  ];
  for (const [what, body] of refused) it(`refuses ${what}`, () => assert.equal(schema.safeParse(body).success, false));
});

describe('checkKey', () => {
  const table: [object, string | undefined][] = [
    [{ type: 'discovery', name: 'nacos', id: 'n-1' }, undefined],
    [{ type: 'Discovery', name: 'nacos', id: 'n1' }, 'type'],
    [{ type: 'mq', name: 'a_b', id: 'n1' }, 'name'],
    [{ type: 'mq', name: 'ab', id: '-n1' }, 'id'],
    [{ type: 'mq', name: 'ab', id: 'x'.repeat(64) }, 'id'],
    [{ type: 'mq', name: 'ab', id: 'a.b' }, 'id'],
    [{ type: '', name: 'ab', id: 'a' }, 'type'],
  ];
  for (const [key, part] of table) {
    it(`${JSON.stringify(key)} → ${part ?? 'ok'}`, () => {
      const r = checkKey(key as never);
      if (part === undefined) assert.equal(r, undefined);
      else assert.match(r ?? '', new RegExp(`^${part} `));
    });
  }
});

describe('canonicalAddress and sameSpec', () => {
  it('canonicalises IPv6 and leaves IPv4', () => {
    assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalAddress('10.0.0.1'), '10.0.0.1');
  });
  it('compares every visible field', () => {
    const a = schema.parse({ ...ok, tags: ['x'], meta: { k: 'v' } });
    assert.ok(sameSpec(a, { ...a }));
    assert.ok(!sameSpec(a, { ...a, tags: ['y'] }));
    assert.ok(!sameSpec(a, { ...a, meta: { k: 'w' } }));
    assert.ok(!sameSpec(a, { ...a, ttl: 31 }));
  });
});
