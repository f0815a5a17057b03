import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { clientPrefix, ResponseRateLimiter, responseKind, truncated, type RrlOptions } from './rrl';

const OPTS: RrlOptions = { responsesPerSecond: 10, allPerSecond: 0, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, exempt: ['127.0.0.0/8'] };

function answer(name: string, type: 'A' | 'AAAA' = 'A', id = 1): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name, type, class: 'IN' }],
    answers: [{ name, type, class: 'IN', ttl: 30, data: type === 'A' ? '192.0.2.1' : '2001:db8::1' }],
  });
}

function nxdomain(name: string, zone: string): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 2,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | 3,
    questions: [{ name, type: 'A', class: 'IN' }],
    authorities: [{ name: zone, type: 'SOA', class: 'IN', ttl: 30, data: { mname: `ns.${zone}`, rname: `h.${zone}`, serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1 } }],
  });
}

function limiter(opts: Partial<RrlOptions> = {}) {
  let t = 0;
  const rrl = new ResponseRateLimiter({ ...OPTS, ...opts }, () => t);
  return { rrl, advance: (ms: number) => (t += ms) };
}

describe('response rate limiting', () => {
  test('client prefixes: IPv4 /24, IPv4-mapped, IPv6 /56 (compressed forms), junk', () => {
    assert.equal(clientPrefix('192.0.2.77', 24, 56), clientPrefix('192.0.2.1', 24, 56));
    assert.notEqual(clientPrefix('192.0.2.77', 24, 56), clientPrefix('192.0.3.77', 24, 56));
    assert.equal(clientPrefix('::ffff:192.0.2.9', 24, 56), clientPrefix('192.0.2.200', 24, 56));
    assert.equal(clientPrefix('2001:db8:0:12::1', 24, 56), clientPrefix('2001:db8:0:1f:ffff::9', 24, 56));
    assert.notEqual(clientPrefix('2001:db8:0:12::1', 24, 56), clientPrefix('2001:db8:0:112::1', 24, 56));
    assert.equal(clientPrefix('2001:db8::1', 24, 56), clientPrefix('2001:0db8:0000:0000::ffff', 24, 56));
    assert.equal(clientPrefix('10.1.2.3', 32, 128), '4:a010203');
    assert.equal(clientPrefix('fe80::1%eth0', 24, 64), clientPrefix('fe80::2', 24, 64));
    assert.equal(clientPrefix('not an address', 24, 56), null);
    assert.equal(clientPrefix('1::2::3', 24, 56), null);
  });

  test('response kinds: answers by name and type (case folded), negatives by zone, errors by rcode', () => {
    assert.equal(responseKind(answer('WWW.Example.com')), responseKind(answer('www.example.com')));
    assert.notEqual(responseKind(answer('www.example.com')), responseKind(answer('www.example.com', 'AAAA')));
    assert.notEqual(responseKind(answer('a.example.com')), responseKind(answer('b.example.com')));
    assert.equal(responseKind(nxdomain('x1.example.com', 'example.com')), responseKind(nxdomain('x2.example.com', 'example.com')));
    assert.notEqual(responseKind(nxdomain('x1.example.com', 'example.com')), responseKind(nxdomain('x1.example.org', 'example.org')));
    const refused = answer('a.example.com');
    refused[3] = (refused[3]! & 0xf0) | 5;
    assert.equal(responseKind(refused), 'E5');
    assert.equal(responseKind(Buffer.from([1, 2, 3])), 'E?');
    // A response cut short inside its authority section still gets a bucket.
    const cut = nxdomain('x.example.com', 'example.com');
    assert.match(responseKind(cut.subarray(0, cut.length - 30)), /^X/);
  });

  test('within the rate everything is sent; past it every second limited answer slips, the others drop', () => {
    const { rrl, advance } = limiter();
    const actions: string[] = [];
    for (let i = 0; i < 30; i++) actions.push(rrl.check('192.0.2.1', answer('www.example.com')));
    assert.deepEqual(actions.slice(0, 10), Array(10).fill('send'));
    assert.deepEqual(actions.slice(10, 14), ['drop', 'slip', 'drop', 'slip']);
    assert.equal(rrl.stats.slipped, 10);
    assert.equal(rrl.stats.dropped, 10);
    // Another name, another prefix, an exempt client: their own buckets.
    assert.equal(rrl.check('192.0.2.1', answer('mail.example.com')), 'send');
    assert.equal(rrl.check('198.51.100.7', answer('www.example.com')), 'send');
    for (let i = 0; i < 100; i++) assert.equal(rrl.check('127.0.0.1', answer('www.example.com')), 'send');
    // Tokens come back at the rate: 150 ms later one and a half, so one answer.
    advance(150);
    assert.equal(rrl.check('192.0.2.1', answer('www.example.com')), 'send');
    assert.notEqual(rrl.check('192.0.2.1', answer('www.example.com')), 'send');
  });

  test('a flood is held to the rate: per second of flood, rate answers and no more', () => {
    const { rrl, advance } = limiter({ responsesPerSecond: 100 });
    let sent = 0;
    // 5 s at 2000 queries/s, one every 0.5 ms.
    for (let i = 0; i < 10_000; i++) {
      if (rrl.check('192.0.2.1', answer('www.example.com')) === 'send') sent++;
      advance(0.5);
    }
    // One second of burst (100) plus 100 per second for 5 s.
    assert.ok(sent >= 595 && sent <= 601, `${sent} sent`);
    // After the flood a quiet second refills the bucket.
    advance(1000);
    const after = Array.from({ length: 100 }, () => rrl.check('192.0.2.1', answer('www.example.com')));
    assert.ok(after.every((a) => a === 'send'));
  });

  test('random names under one zone share its NXDOMAIN bucket; slip 0 drops all, slip 1 truncates all', () => {
    const zero = limiter({ slip: 0 }).rrl;
    const one = limiter({ slip: 1 }).rrl;
    const got = { zero: new Set<string>(), one: new Set<string>() };
    for (let i = 0; i < 50; i++) {
      const r = nxdomain(`r${i}.example.com`, 'example.com');
      got.zero.add(zero.check('203.0.113.5', r));
      got.one.add(one.check('203.0.113.5', r));
    }
    assert.deepEqual([...got.zero].sort(), ['drop', 'send']);
    assert.deepEqual([...got.one].sort(), ['send', 'slip']);
  });

  test('all_per_second bounds a prefix across distinct answers', () => {
    const { rrl } = limiter({ allPerSecond: 15 });
    const actions = Array.from({ length: 40 }, (_, i) => rrl.check('192.0.2.1', answer(`n${i}.example.com`)));
    assert.equal(actions.filter((a) => a === 'send').length, 15);
  });

  test('the slip answer: header and question, TC set, no records, same ID and RD', () => {
    const full = answer('www.example.com', 'A', 4242);
    full[2] = full[2]! | 0x01; // RD
    const tc = truncated(full);
    const d = dnsPacket.decode(tc);
    assert.equal(d.id, 4242);
    assert.equal(d.flag_tc, true);
    assert.equal(d.flag_rd, true);
    assert.equal(d.type, 'response');
    assert.deepEqual(d.questions, [{ name: 'www.example.com', type: 'A', class: 'IN' }]);
    assert.equal((d.answers?.length ?? 0) + (d.authorities?.length ?? 0) + (d.additionals?.length ?? 0), 0);
    assert.ok(tc.length < full.length);
  });
});
