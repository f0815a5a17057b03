import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { TYPE } from './constants';
import { decodeMessage, encodeQuery, groupRRsets, isResponseTo, MessageError, readName } from './message';

test('a query we encode is what dns-packet reads, with EDNS and DO', () => {
  const q = encodeQuery('www.example.test', TYPE.AAAA, { id: 4242, rd: true, payload: 1232, do: true });
  const p = dnsPacket.decode(q);
  assert.equal(p.id, 4242);
  assert.equal(p.flags! & dnsPacket.RECURSION_DESIRED, dnsPacket.RECURSION_DESIRED);
  assert.deepEqual(p.questions, [{ name: 'www.example.test', type: 'AAAA', class: 'IN' }]);
  const opt = p.additionals![0] as unknown as { type: string; udpPayloadSize: number; flags: number };
  assert.equal(opt.type, 'OPT');
  assert.equal(opt.udpPayloadSize, 1232);
  assert.equal(opt.flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
});

test('compressed names are expanded in owners and in RDATA, keeping their case in RDATA', () => {
  const wire = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ name: 'Example.TEST', type: 'MX', class: 'IN' }],
    answers: [
      { name: 'Example.TEST', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'Mail.Example.TEST' } },
      { name: 'Example.TEST', type: 'MX', ttl: 30, data: { preference: 20, exchange: 'mail2.example.test' } },
      { name: 'Example.TEST', type: 'MX', ttl: 60, data: { preference: 10, exchange: 'Mail.Example.TEST' } },
    ],
  });
  const m = decodeMessage(wire);
  assert.equal(m.aa, true);
  assert.deepEqual(m.question, { name: 'example.test', type: TYPE.MX, class: 1 });
  assert.equal(m.answer[0]!.name, 'example.test');
  // Uncompressed RDATA: preference, then every label written out.
  assert.equal(m.answer[0]!.rdata.toString('latin1', 2), '\x04Mail\x07Example\x04TEST\x00');
  const [set] = groupRRsets(m.answer);
  assert.equal(set!.rdata.length, 2, 'the duplicate record is kept once');
  assert.equal(set!.ttl, 30, 'the smallest TTL of the set');
  assert.deepEqual(set!.data[0], { preference: 10, exchange: 'mail.example.test' });
});

test('only ASCII letters are folded: other bytes of a name stay as they are', () => {
  const name = Buffer.from([3, 0x62, 0xc3, 0xbc, 1, 0x41, 0]); // "b\xC3\xBC.A"
  assert.equal(readName(name, 0).name, 'b\u00c3\u00bc.a');
});

test('malformed messages throw MessageError, never anything else', () => {
  const header = (qd: number, an: number) => Buffer.from([0, 1, 0x80, 0, 0, qd, 0, an, 0, 0, 0, 0]);
  const cases: Buffer[] = [
    Buffer.alloc(5),
    Buffer.concat([header(1, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), // a pointer to itself
    Buffer.concat([header(1, 0), Buffer.from([0xc0, 40, 0, 1, 0, 1])]), // a pointer forwards
    Buffer.concat([header(1, 0), Buffer.from([64, 0, 0, 1, 0, 1])]), // a label over 63
    Buffer.concat([header(1, 1), Buffer.from([0, 0, 1, 0, 1]), Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 9, 1, 2])]), // RDATA past the end
    Buffer.concat([header(1, 1), Buffer.from([0, 0, 1, 0, 1]), Buffer.from([0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 28])]), // CNAME RDATA pointing at itself
    Buffer.concat([header(1, 0), Buffer.from([0, 0, 1, 0, 1, 99])]), // trailing byte
    Buffer.concat([header(1, 0), Buffer.from(Array.from({ length: 5 }, () => [63, ...Buffer.alloc(63, 0x61)]).flat()), Buffer.from([0, 0, 1, 0, 1])]), // name over 255
  ];
  for (const [i, c] of cases.entries()) assert.throws(() => decodeMessage(c), MessageError, `case ${i}`);
});

test('isResponseTo wants QR, the same ID and the same question, case aside', () => {
  const q = encodeQuery('www.example.test', TYPE.A, { id: 7, rd: false });
  const r = Buffer.from(q);
  r[2] = r[2]! | 0x80;
  assert.equal(isResponseTo(r, q), true);
  r[13] = 0x57; // "W"
  assert.equal(isResponseTo(r, q), true);
  const otherId = Buffer.from(r);
  otherId[1] = 8;
  assert.equal(isResponseTo(otherId, q), false);
  const otherType = Buffer.from(r);
  otherType[otherType.length - 3] = TYPE.AAAA;
  assert.equal(isResponseTo(otherType, q), false);
  assert.equal(isResponseTo(q, q), false, 'a query is not a response');
});
