import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKey, LOGIN_LIMITS, LoginLimiter } from './login-limiter';

describe('LoginLimiter', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('allows the free failures, then locks for 30 s, doubling per further failure up to the cap', () => {
    const c = clock();
    const l = new LoginLimiter(c.now);
    for (let i = 0; i < LOGIN_LIMITS.freeFailures - 1; i++) {
      assert.deepEqual(l.check('192.0.2.1'), { allowed: true });
      l.failed('192.0.2.1');
    }
    assert.deepEqual(l.check('192.0.2.1'), { allowed: true });
    l.failed('192.0.2.1');
    assert.deepEqual(l.check('192.0.2.1'), { allowed: false, retryAfterMs: 30_000 });
    c.advance(29_999);
    assert.equal(l.check('192.0.2.1').allowed, false);
    c.advance(1);
    assert.equal(l.check('192.0.2.1').allowed, true);
    l.failed('192.0.2.1');
    assert.deepEqual(l.check('192.0.2.1'), { allowed: false, retryAfterMs: 60_000 });
    for (let i = 0; i < 30; i++) l.failed('192.0.2.1');
    assert.deepEqual(l.check('192.0.2.1'), { allowed: false, retryAfterMs: LOGIN_LIMITS.maxLockMs });
  });

  it('keeps clients apart, clears on success, and forgets a client after a quiet spell', () => {
    const c = clock();
    const l = new LoginLimiter(c.now);
    for (let i = 0; i < LOGIN_LIMITS.freeFailures; i++) l.failed('192.0.2.1');
    assert.equal(l.check('192.0.2.1').allowed, false);
    assert.equal(l.check('192.0.2.2').allowed, true);
    l.succeeded('192.0.2.1');
    assert.equal(l.check('192.0.2.1').allowed, true);
    for (let i = 0; i < LOGIN_LIMITS.freeFailures - 1; i++) l.failed('192.0.2.3');
    c.advance(LOGIN_LIMITS.forgetAfterMs + 1);
    l.failed('192.0.2.3');
    assert.equal(l.check('192.0.2.3').allowed, true, 'old failures were forgotten');
  });

  it('holds a whole IPv6 /64 as one client, and an IPv4-mapped address as its IPv4 address', () => {
    const l = new LoginLimiter(() => 0);
    for (let i = 0; i < LOGIN_LIMITS.freeFailures; i++) l.failed(`2001:db8:1:2::${i + 1}`);
    assert.equal(l.check('2001:db8:1:2:ffff::9').allowed, false);
    assert.equal(l.check('2001:db8:1:3::1').allowed, true);
    for (let i = 0; i < LOGIN_LIMITS.freeFailures; i++) l.failed('::ffff:198.51.100.7');
    assert.equal(l.check('198.51.100.7').allowed, false);
  });

  it('remembers a bounded number of clients', () => {
    const l = new LoginLimiter(() => 0);
    for (let i = 0; i < LOGIN_LIMITS.maxClients + 50; i++) l.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    for (let i = 0; i < LOGIN_LIMITS.freeFailures; i++) l.failed('203.0.113.9');
    assert.equal(l.check('203.0.113.9').allowed, false);
    assert.equal((l as unknown as { clients: Map<string, unknown> }).clients.size, LOGIN_LIMITS.maxClients);
  });
});

describe('clientKey', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ];
  for (const [address, key] of cases) it(`${address} → ${key}`, () => assert.equal(clientKey(address), key));
});
