import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TYPE } from '../constants';
import { makeRRset } from '../rrset';
import { RANK, RecordCache } from './cache';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const a = (name: string, ttl: number, ...addrs: string[]) => makeRRset(name, TYPE.A, ttl, addrs);
const soa = (zone: string, ttl: number, minimum: number) =>
  makeRRset(zone, TYPE.SOA, ttl, [{ mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum }]);

function cache(c = clock(), opts: Partial<ConstructorParameters<typeof RecordCache>[0]> = {}) {
  return new RecordCache({ maxEntries: 1000, maxTtl: 86400, maxNegativeTtl: 3600, staleWindowMs: 0, now: c.now, ...opts });
}

test('TTLs count down with the clock and the entry goes when they reach zero', () => {
  const c = clock();
  const rc = cache(c);
  rc.put(a('www.example', 300, '192.0.2.1'), RANK.ANSWER);
  assert.equal((rc.get('www.example', TYPE.A) as { set: { ttl: number } }).set.ttl, 300);
  c.advance(10_500);
  assert.equal((rc.get('www.example', TYPE.A) as { set: { ttl: number } }).set.ttl, 290);
  c.advance(289_500);
  assert.equal(rc.get('www.example', TYPE.A), undefined);
  assert.equal(rc.size, 0);
});

test('TTLs are capped by max_ttl, and TTL 0 is not stored', () => {
  const rc = cache(clock(), { maxTtl: 60 });
  rc.put(a('big.example', 100_000, '192.0.2.1'), RANK.ANSWER);
  assert.equal((rc.get('big.example', TYPE.A) as { set: { ttl: number } }).set.ttl, 60);
  rc.put(a('zero.example', 0, '192.0.2.1'), RANK.ANSWER);
  assert.equal(rc.get('zero.example', TYPE.A), undefined);
});

test('a negative answer lives min(SOA TTL, SOA MINIMUM) capped by max_negative_ttl; NXDOMAIN covers every type', () => {
  const c = clock();
  const rc = cache(c, { maxNegativeTtl: 900 });
  rc.putNegative('gone.example', undefined, soa('example', 3600, 600));
  const hit = rc.get('gone.example', TYPE.AAAA);
  assert.equal(hit?.kind, 'nxdomain');
  assert.equal((hit as { soa: { ttl: number } }).soa.ttl, 600);
  rc.putNegative('v4.example', TYPE.AAAA, soa('example', 120, 600));
  assert.equal((rc.get('v4.example', TYPE.AAAA) as { soa: { ttl: number } }).soa.ttl, 120);
  assert.equal(rc.get('v4.example', TYPE.A), undefined, 'NODATA is for one type only');
  rc.putNegative('capped.example', TYPE.A, soa('example', 86400, 86400));
  assert.equal((rc.get('capped.example', TYPE.A) as { soa: { ttl: number } }).soa.ttl, 900);
  c.advance(120_000);
  assert.equal(rc.get('v4.example', TYPE.AAAA), undefined);
  // A positive answer for the name ends its NXDOMAIN.
  rc.put(a('gone.example', 60, '192.0.2.9'), RANK.ANSWER);
  assert.equal(rc.get('gone.example', TYPE.A)?.kind, 'rrset');
});

test('glue and referral data never replace a fresh answer, and are not answers', () => {
  const rc = cache();
  rc.put(a('ns.example', 300, '192.0.2.1'), RANK.ANSWER);
  rc.put(a('ns.example', 300, '203.0.113.66'), RANK.GLUE);
  assert.deepEqual(rc.rrset('ns.example', TYPE.A, RANK.ANSWER)?.data, ['192.0.2.1']);
  rc.put(a('glue.example', 300, '192.0.2.2'), RANK.GLUE);
  assert.equal(rc.rrset('glue.example', TYPE.A, RANK.ANSWER), undefined);
  assert.deepEqual(rc.rrset('glue.example', TYPE.A, RANK.GLUE)?.data, ['192.0.2.2']);
  // An answer does replace glue.
  rc.put(a('glue.example', 300, '192.0.2.3'), RANK.ANSWER);
  assert.deepEqual(rc.rrset('glue.example', TYPE.A, RANK.GLUE)?.data, ['192.0.2.3']);
});

test('the cache holds at most maxEntries, dropping the least recently used (to the second)', () => {
  const c = clock();
  const rc = cache(c, { maxEntries: 100 });
  for (let i = 0; i < 100; i++) rc.put(a(`n${i}.example`, 300, '192.0.2.1'), RANK.ANSWER);
  c.advance(1000); // recency is kept to the second
  assert.ok(rc.get('n0.example', TYPE.A), 'n0 is used, so n1 is now the oldest');
  for (let i = 100; i < 150; i++) rc.put(a(`n${i}.example`, 300, '192.0.2.1'), RANK.ANSWER);
  assert.equal(rc.size, 100);
  assert.equal(rc.stats.evictions, 50);
  assert.ok(rc.get('n0.example', TYPE.A));
  assert.equal(rc.get('n1.example', TYPE.A), undefined);
  assert.ok(rc.get('n149.example', TYPE.A));
  assert.ok(rc.bytes > 0 && rc.bytes < 100 * 1024);
});

test('serve-stale: expired entries stay for the window and are given only when asked for', () => {
  const c = clock();
  const rc = cache(c, { staleWindowMs: 60_000 });
  rc.put(a('www.example', 10, '192.0.2.1'), RANK.ANSWER);
  c.advance(20_000);
  assert.equal(rc.get('www.example', TYPE.A), undefined, 'not fresh');
  const stale = rc.get('www.example', TYPE.A, true);
  assert.equal(stale?.kind, 'rrset');
  assert.equal(stale?.stale, true);
  c.advance(60_000);
  assert.equal(rc.get('www.example', TYPE.A, true), undefined, 'past the window');
});

test('flush by name, by subtree and whole', () => {
  const rc = cache();
  rc.put(a('example', 300, '192.0.2.1'), RANK.ANSWER);
  rc.put(makeRRset('example', TYPE.NS, 300, ['ns.example']), RANK.REFERRAL);
  rc.put(a('www.example', 300, '192.0.2.2'), RANK.ANSWER);
  rc.put(a('a.b.example', 300, '192.0.2.3'), RANK.ANSWER);
  rc.put(a('notexample', 300, '192.0.2.4'), RANK.ANSWER);
  rc.putNegative('gone.example', undefined, soa('example', 300, 300));
  assert.equal(rc.flush('example'), 2, 'both types at the name');
  assert.equal(rc.flush('example', true), 3, 'www, a.b and the NXDOMAIN below it');
  assert.ok(rc.get('notexample', TYPE.A), 'a name that merely ends in the same letters stays');
  assert.equal(rc.flush(), 1);
  assert.equal(rc.size, 0);
  assert.equal(rc.bytes, 0);
});

test('the cache holds at most maxBytes; one RRset may take at most a sixteenth', () => {
  const rc = cache(clock(), { maxBytes: 64 * 1024 });
  const big = (name: string, n: number) => makeRRset(name, TYPE.A, 300, Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}`));
  rc.put(big('huge.example', 4000), RANK.ANSWER);
  assert.equal(rc.size, 0, 'an RRset of 4000 records is not kept in a 64 KiB cache');
  for (let i = 0; i < 100; i++) rc.put(big(`n${i}.example`, 10), RANK.ANSWER);
  assert.ok(rc.bytes <= 64 * 1024, `${rc.bytes} bytes`);
  assert.ok(rc.size < 100 && rc.size > 10, `${rc.size} entries`);
  assert.ok(rc.get('n99.example', TYPE.A), 'the newest stays');
});
