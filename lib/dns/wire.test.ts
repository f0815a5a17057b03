import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { RCODE, TYPE } from './constants';
import { makeRRset } from './rrset';
import { encodeError, encodeResponse, isBadQuery, minTtl, parseQuery, type Query } from './wire';

/** query builds a wire query with dns-packet (an independent encoder). */
function query(name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({ id: 4660, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }], ...extra });
}

const opt = (udpPayloadSize = 1232, flags = 0, ednsVersion = 0): dnsPacket.Answer =>
  ({ type: 'OPT', name: '.', udpPayloadSize, flags, ednsVersion, options: [] }) as unknown as dnsPacket.Answer;

function hex(h: string): Buffer {
  return Buffer.from(h.replace(/\s+/g, ''), 'hex');
}

describe('parseQuery', () => {
  const header = (flags: string, qd: string, an: string, ns: string, ar: string) => `1234 ${flags} ${qd} ${an} ${ns} ${ar}`;
  const question = '03 777777 07 6578616d706c65 03 636f6d 00 0001 0001';
  const cases: { name: string; msg: Buffer; expect: 'drop' | number | ((q: Query) => void) }[] = [
    { name: 'plain query', msg: query('www.example.com'), expect: (q) => assert.deepEqual([q.name, q.type, q.rd, q.edns], ['www.example.com', 1, true, undefined]) },
    { name: 'mixed case is lowered', msg: query('WwW.ExAmple.COM', 'MX'), expect: (q) => assert.equal(q.name, 'www.example.com') },
    { name: 'root name', msg: query('.', 'NS'), expect: (q) => assert.equal(q.name, '') },
    { name: 'EDNS payload and DO', msg: query('a.b', 'A', { additionals: [opt(4096, dnsPacket.DNSSEC_OK)] }), expect: (q) => assert.deepEqual(q.edns, { payload: 4096, version: 0, do: true }) },
    { name: 'EDNS payload below 512 counts as 512', msg: query('a.b', 'A', { additionals: [opt(100)] }), expect: (q) => assert.equal(q.edns?.payload, 512) },
    { name: 'shorter than a header', msg: hex('1234 0100 0001'), expect: 'drop' },
    { name: 'a response (QR set)', msg: hex(header('8100', '0001', '0000', '0000', '0000') + question), expect: 'drop' },
    { name: 'no question', msg: hex(header('0100', '0000', '0000', '0000', '0000')), expect: RCODE.FORMERR },
    { name: 'two questions', msg: hex(header('0100', '0002', '0000', '0000', '0000') + question + question), expect: RCODE.FORMERR },
    { name: 'question cut short', msg: hex(header('0100', '0001', '0000', '0000', '0000') + '03 777777 07 6578'), expect: RCODE.FORMERR },
    { name: 'question without type and class', msg: hex(header('0100', '0001', '0000', '0000', '0000') + '01 61 00 0001'), expect: RCODE.FORMERR },
    { name: 'label longer than 63', msg: hex(header('0100', '0001', '0000', '0000', '0000') + '40' + '61'.repeat(64) + '00 0001 0001'), expect: RCODE.FORMERR },
    { name: 'compression pointer in the question', msg: hex(header('0100', '0001', '0000', '0000', '0000') + 'c00c 0001 0001'), expect: RCODE.FORMERR },
    { name: 'an answer record in a query', msg: hex(header('0100', '0001', '0001', '0000', '0000') + question + 'c00c 0001 0001 00000000 0004 01020304'), expect: RCODE.FORMERR },
    { name: 'trailing garbage', msg: hex(header('0100', '0001', '0000', '0000', '0000') + question + 'ff'), expect: RCODE.FORMERR },
    { name: 'two OPT records', msg: query('a.b', 'A', { additionals: [opt(), opt()] }), expect: RCODE.FORMERR },
    { name: 'OPT not owned by the root', msg: hex(header('0100', '0001', '0000', '0000', '0001') + question + '01 61 00 0029 04d0 00000000 0000'), expect: RCODE.FORMERR },
    { name: 'OPT option running past the record', msg: hex(header('0100', '0001', '0000', '0000', '0001') + question + '00 0029 04d0 00000000 0004 000a 0008'), expect: RCODE.FORMERR },
    { name: 'EDNS version 1', msg: query('a.b', 'A', { additionals: [opt(1232, 0, 1)] }), expect: RCODE.BADVERS },
    { name: 'opcode STATUS', msg: hex(header('1000', '0001', '0000', '0000', '0000') + question), expect: RCODE.NOTIMP },
    { name: 'opcode NOTIFY without question', msg: hex(header('2000', '0000', '0000', '0000', '0000')), expect: RCODE.NOTIMP },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = parseQuery(c.msg);
      if (c.expect === 'drop') return assert.equal(r, undefined);
      assert.ok(r !== undefined);
      if (typeof c.expect === 'number') {
        assert.ok(isBadQuery(r), 'expected an error');
        return assert.equal(r.error, c.expect);
      }
      assert.ok(!isBadQuery(r), `unexpected error ${isBadQuery(r) ? r.error : ''}`);
      c.expect(r);
    });
  }
});

describe('encodeResponse', () => {
  const q = (name: string, type: dnsPacket.RecordType = 'A', extra: Partial<dnsPacket.Packet> = {}) => parseQuery(query(name, type, extra)) as Query;
  const a = makeRRset('www.example.com', TYPE.A, 300, ['192.0.2.1', '192.0.2.2']);
  const soa = makeRRset('example.com', TYPE.SOA, 3600, [
    { mname: 'ns1.example.com', rname: 'hostmaster.example.com', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 60 },
  ]);

  test('answers decode with dns-packet: question echoed as asked, owners compressed to it', () => {
    const wire = encodeResponse(q('WWW.example.com'), { rcode: 0, aa: true, answer: [a], authority: [], additional: [] }, 512);
    const d = dnsPacket.decode(wire);
    assert.equal(d.id, 4660);
    assert.equal(d.questions![0]!.name, 'WWW.example.com');
    assert.deepEqual(
      d.answers!.map((r) => [r.name, r.type, (r as { data: unknown }).data]),
      [
        ['WWW.example.com', 'A', '192.0.2.1'],
        ['WWW.example.com', 'A', '192.0.2.2'],
      ],
    );
    assert.equal(d.flag_aa, true);
    assert.equal(d.flag_rd, true);
    // Each answer owner is a two-byte pointer to offset 12.
    assert.equal(wire.length, 12 + 21 + 2 * (2 + 10 + 4));
  });

  test('SOA names inside RDATA are compressed and decode back', () => {
    const wire = encodeResponse(q('nope.example.com'), { rcode: RCODE.NXDOMAIN, aa: true, answer: [], authority: [soa], additional: [] }, 512);
    const d = dnsPacket.decode(wire);
    assert.equal(rcodeOf(d), 'NXDOMAIN');
    assert.deepEqual((d.authorities![0] as { data: unknown }).data, soa.data[0]);
  });

  test('an answer RRset that does not fit sets TC and is left out whole', () => {
    const big = makeRRset('t.example.com', TYPE.TXT, 60, Array.from({ length: 100 }, (_, i) => [Buffer.from(`record number ${i} `.padEnd(40, 'x'))]));
    const wire = encodeResponse(q('t.example.com', 'TXT'), { rcode: 0, aa: true, answer: [big], authority: [], additional: [] }, 512);
    const d = dnsPacket.decode(wire);
    assert.equal(d.flag_tc, true);
    assert.equal(d.answers!.length, 0);
    assert.ok(wire.length <= 512);
    const full = encodeResponse(q('t.example.com', 'TXT'), { rcode: 0, aa: true, answer: [big], authority: [], additional: [] }, 65535);
    assert.equal(dnsPacket.decode(full).answers!.length, 100);
    assert.equal(dnsPacket.decode(full).flag_tc, false);
  });

  test('an additional RRset that does not fit is dropped without TC', () => {
    const glue = makeRRset('x.example.com', TYPE.AAAA, 60, Array.from({ length: 40 }, (_, i) => `2001:db8::${i + 1}`));
    const wire = encodeResponse(q('www.example.com'), { rcode: 0, aa: true, answer: [a], authority: [], additional: [glue] }, 512);
    const d = dnsPacket.decode(wire);
    assert.equal(d.flag_tc, false);
    assert.equal(d.answers!.length, 2);
    assert.equal(d.additionals!.length, 0);
  });

  test('OPT is sent only when asked, with our payload size and the DO bit echoed', () => {
    const plain = dnsPacket.decode(encodeResponse(q('www.example.com'), { rcode: 0, aa: true, answer: [a], authority: [], additional: [] }, 512));
    assert.equal(plain.additionals!.length, 0);
    const withDo = dnsPacket.decode(
      encodeResponse(q('www.example.com', 'A', { additionals: [opt(4096, dnsPacket.DNSSEC_OK)] }), { rcode: 0, aa: true, answer: [a], authority: [], additional: [] }, 1232),
    );
    const o = withDo.additionals![0] as unknown as { type: string; udpPayloadSize: number; flags: number };
    assert.equal(o.type, 'OPT');
    assert.equal(o.udpPayloadSize, 1232);
    assert.equal(o.flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
  });

  test('BADVERS: header rcode 0, extended rcode 1 in the OPT (RFC 6891 §6.1.3)', () => {
    const bad = parseQuery(query('a.b', 'A', { additionals: [opt(1232, 0, 1)] }));
    assert.ok(bad !== undefined && isBadQuery(bad));
    const wire = encodeError(bad);
    assert.equal(wire[3]! & 0x0f, 0);
    const d = dnsPacket.decode(wire);
    assert.equal((d.additionals![0] as unknown as { extendedRcode: number }).extendedRcode, 1);
  });

  test('FORMERR without a readable question is a bare header with the id', () => {
    const bad = parseQuery(hex('abcd 0100 0000 0000 0000 0000'));
    assert.ok(bad !== undefined && isBadQuery(bad));
    const wire = encodeError(bad);
    assert.equal(wire.length, 12);
    const d = dnsPacket.decode(wire);
    assert.deepEqual([d.id, rcodeOf(d), d.type], [0xabcd, 'FORMERR', 'response']);
  });

  test('an Extended DNS Error goes in the OPT when the query had EDNS, and nowhere otherwise', () => {
    const refused = { rcode: RCODE.REFUSED, aa: false, answer: [], authority: [], additional: [], ede: 20 };
    const withEdns = dnsPacket.decode(encodeResponse(q('www.example.org', 'A', { additionals: [opt()] }), refused, 1232));
    const o = withEdns.additionals![0] as unknown as { options: { code: number; data: Buffer }[] };
    assert.deepEqual(o.options.map((x) => [x.code, x.data.readUInt16BE(0)]), [[15, 20]]);
    const plain = encodeResponse(q('www.example.org'), refused, 512);
    assert.equal(dnsPacket.decode(plain).additionals!.length, 0);
  });

  test('minTtl is the smallest TTL over all sections, OPT excluded', () => {
    const wire = encodeResponse(
      q('www.example.com', 'A', { additionals: [opt()] }),
      { rcode: 0, aa: true, answer: [a], authority: [soa], additional: [] },
      1232,
    );
    assert.equal(minTtl(wire), 300);
  });
});

/** rcodeOf reads the rcode dns-packet decodes (its types leave it out). */
function rcodeOf(d: dnsPacket.DecodedPacket): string | undefined {
  return (d as { rcode?: string }).rcode;
}
