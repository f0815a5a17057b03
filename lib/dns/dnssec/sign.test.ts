import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TYPE } from '../constants';
import { makeRRset, type RRset } from '../rrset';
import { ALGORITHM, dnskeyRdata, dsRdata, exportPrivateKey, FLAGS, fromPrivateKey, generateKey, keyTag, type Algorithm, type SigningKey } from './keys';
import { compareNames, nsecRdata, typeBitmap } from './nsec';
import { canonicalRdata, labelCount, signRRset } from './sign';

/*
 * Keys against the published examples (RFC 6605 §6.1, RFC 8080 §6.1), and whole
 * signed zones checked by a validator that is not ours: ldns-verify-zone.
 */

test('key tag and DS of the RFC 6605 and RFC 8080 example keys', () => {
  const p256 = Buffer.from('GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==', 'base64');
  const k13 = { algorithm: ALGORITHM.ECDSAP256SHA256, flags: FLAGS.KSK, publicKey: p256 };
  const tag13 = keyTag(dnskeyRdata(k13));
  assert.equal(tag13, 55648);
  assert.equal(dsRdata('example.net', { ...k13, keyTag: tag13 }).toString('hex'), `d960${'0d'}02b4c8c1fe2e7477127b27115656ad6256f424625bf5c1e2770ce6d6e37df61d17`);
  const ed = Buffer.from('l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=', 'base64');
  const k15 = { algorithm: ALGORITHM.ED25519, flags: FLAGS.KSK, publicKey: ed };
  const tag15 = keyTag(dnskeyRdata(k15));
  assert.equal(tag15, 3613);
  assert.equal(dsRdata('Example.COM', { ...k15, keyTag: tag15 }).subarray(4).toString('hex'), '3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b');
});

test('a private key survives export and import (PKCS#8) with the same public key and tag', () => {
  for (const alg of [ALGORITHM.ECDSAP256SHA256, ALGORITHM.ED25519] as const) {
    const k = generateKey(alg, FLAGS.ZSK);
    const back = fromPrivateKey(alg, FLAGS.ZSK, exportPrivateKey(k));
    assert.deepEqual(back.publicKey, k.publicKey);
    assert.equal(back.keyTag, k.keyTag);
    assert.throws(() => fromPrivateKey(alg === 13 ? 15 : 13, FLAGS.ZSK, exportPrivateKey(k)));
  }
});

test('canonical form: names inside RDATA lowered where RFC 4034 §6.2 says, labels counted without a wildcard', () => {
  const mx = makeRRset('example.test', TYPE.MX, 60, [{ preference: 10, exchange: 'Mail.Example.TEST' }]);
  assert.equal(canonicalRdata(TYPE.MX, mx.rdata[0]!).toString('latin1', 2), '\x04mail\x07example\x04test\x00');
  const txt = makeRRset('example.test', TYPE.TXT, 60, [['Mixed Case']]);
  assert.deepEqual(canonicalRdata(TYPE.TXT, txt.rdata[0]!), txt.rdata[0]);
  assert.equal(labelCount('*.wild.example.test'), 3);
  assert.equal(labelCount(''), 0);
  assert.ok(compareNames('example.test', 'a.example.test') < 0);
  assert.ok(compareNames('z.example.test', 'a.b.example.test') > 0);
  assert.ok(compareNames('*.wild.example.test', 'www.example.test') < 0);
  assert.ok(compareNames('wild.example.test', '*.wild.example.test') < 0);
  assert.equal(typeBitmap([TYPE.A, TYPE.MX, TYPE.RRSIG, TYPE.NSEC]).toString('hex'), '0006400100000003');
  assert.equal(typeBitmap([TYPE.CAA, TYPE.A]).toString('hex'), '000140' + '010140', 'window 0 for A, window 1 for CAA (257)');
});

const ZONE = 'example.test';

/** The test zone's RRsets: mixed-case names inside RDATA, a wildcard, several types. */
function zoneData(): RRset[] {
  return [
    makeRRset(ZONE, TYPE.SOA, 3600, [{ mname: 'NS1.Example.TEST', rname: 'hostmaster.example.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 }]),
    makeRRset(ZONE, TYPE.NS, 3600, ['ns1.Example.test']),
    makeRRset(ZONE, TYPE.MX, 3600, [{ preference: 10, exchange: 'Mail.example.test' }, { preference: 20, exchange: 'mail.example.test' }]),
    makeRRset('mail.example.test', TYPE.A, 300, ['192.0.2.25']),
    makeRRset('ns1.example.test', TYPE.A, 300, ['192.0.2.53']),
    makeRRset('*.wild.example.test', TYPE.A, 300, ['192.0.2.9']),
    makeRRset('www.example.test', TYPE.A, 300, ['192.0.2.2', '192.0.2.1']),
    makeRRset('www.example.test', TYPE.TXT, 300, [['Hello World']]),
    makeRRset('_sip._tcp.example.test', TYPE.SRV, 300, [{ priority: 10, weight: 5, port: 5060, target: 'Mail.Example.test' }]),
  ];
}

const generic = (name: string, ttl: number, type: number, rdata: Buffer) => `${name}. ${ttl} IN TYPE${type} \\# ${rdata.length} ${rdata.toString('hex') || '00'}`;

/** signedZoneText signs the zone with `keys` (the SEP key signs the DNSKEY RRset only, when there is a ZSK) and adds an NSEC chain. */
function signedZoneText(keys: SigningKey[], validity: { inception: number; expiration: number }): string {
  const sets = zoneData();
  sets.push({ name: ZONE, type: TYPE.DNSKEY, ttl: 3600, data: [], rdata: keys.map((k) => dnskeyRdata(k)) });
  const owners = [...new Set(sets.map((s) => s.name))].sort(compareNames);
  for (const [i, owner] of owners.entries()) {
    const types = [...sets.filter((s) => s.name === owner).map((s) => s.type), TYPE.RRSIG, TYPE.NSEC];
    sets.push({ name: owner, type: TYPE.NSEC, ttl: 300, data: [], rdata: [nsecRdata(owners[(i + 1) % owners.length]!, types)] });
  }
  const zsk = keys.find((k) => k.flags === FLAGS.ZSK) ?? keys[0]!;
  const ksk = keys.find((k) => k.flags === FLAGS.KSK) ?? keys[0]!;
  const lines: string[] = [];
  for (const set of sets) {
    for (const rd of set.rdata) lines.push(generic(set.name, set.ttl, set.type, rd));
    const signer = set.type === TYPE.DNSKEY ? ksk : zsk;
    lines.push(generic(set.name, set.ttl, TYPE.RRSIG, signRRset(set, signer, ZONE, validity)));
  }
  return `${lines.join('\n')}\n`;
}

function verifyZone(text: string, trust?: string): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nekoq-dnssec-'));
  const file = join(dir, 'zone');
  writeFileSync(file, text);
  const args = ['-V', '3', ...(trust === undefined ? [] : ['-k', trust]), file];
  return new Promise((resolve) =>
    execFile('ldns-verify-zone', args, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr });
    }),
  );
}

const now = Math.floor(Date.now() / 1000);
const VALID = { inception: now - 3600, expiration: now + 7 * 86400 };

for (const [label, algorithm, split] of [
  ['ECDSA P-256, KSK and ZSK', ALGORITHM.ECDSAP256SHA256, true],
  ['Ed25519, one CSK', ALGORITHM.ED25519, false],
] as [string, Algorithm, boolean][]) {
  test(`ldns-verify-zone accepts a zone we signed: ${label}`, async () => {
    const keys = split ? [generateKey(algorithm, FLAGS.KSK), generateKey(algorithm, FLAGS.ZSK)] : [generateKey(algorithm, FLAGS.KSK)];
    const r = await verifyZone(signedZoneText(keys, VALID));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Zone is verified and complete/);
  });
}

test('ldns-verify-zone rejects what we signed once a record changes, or once the signatures expire', async () => {
  const key = generateKey(ALGORITHM.ECDSAP256SHA256, FLAGS.KSK);
  const text = signedZoneText([key], VALID);
  const tampered = text.replace(/TYPE1 \\# 4 c0000219/, 'TYPE1 \\# 4 c000021a'); // mail A 192.0.2.25 → .26
  assert.notEqual(tampered, text);
  assert.notEqual((await verifyZone(tampered)).code, 0);
  const expired = await verifyZone(signedZoneText([key], { inception: now - 10 * 86400, expiration: now - 86400 }));
  assert.notEqual(expired.code, 0);
});
