import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { TYPE } from '../constants';
import { makeRRset, type RRset } from '../rrset';
import { ALGORITHM, dnskeyRdata, FLAGS, generateKey } from './keys';
import { nsecRdata, typeBitmap } from './nsec';
import { signRRset } from './sign';
import {
  dsMatchesKey,
  nsec3Hash,
  nsec3ProvesNodata,
  nsec3ProvesNoDs,
  nsec3ProvesNxdomain,
  nsec3ProvesWildcardAnswer,
  nsecCovers,
  nsecTypes,
  parseDnskey,
  parseNsec,
  parseNsec3,
  parseRrsig,
  provesNodata,
  provesNoDs,
  provesNxdomain,
  provesWildcardAnswer,
  supportedAlgorithm,
  verifyRRset,
  wildcardOwner,
  type DenialRecord,
  type Proof,
} from './verify';

/*
 * Validation against data that is not ours: zones signed by ldns-signzone (every
 * algorithm we support, NSEC and NSEC3 chains, opt-out, the RFC 5155 Appendix A
 * zone), DS records from ldns-key2ds; then our own signer, and RFC 4470 minimally
 * covering NSECs as an online signer makes them.
 */

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'nekoq-verify-'));
after(() => rmSync(work, { recursive: true, force: true }));

const NOW = Math.floor(Date.now() / 1000);
const INCEPTION = NOW - 3600;
const EXPIRATION = NOW + 7 * 86400;

const ZONE = 'example.test';
const ZONE_TEXT = `$ORIGIN example.test.
$TTL 300
@         IN SOA ns1 hostmaster 1 3600 600 86400 300
@         NS ns1
@         MX 10 Mail.Example.Test.
ns1       A 192.0.2.53
mail      A 192.0.2.25
www       A 192.0.2.1
www       A 192.0.2.2
www       AAAA 2001:db8::1
www       TXT "Hello World"
alias     CNAME WWW
*.wild    A 192.0.2.9
*.wild    TXT "wild"
a.b.c     TXT "ent"
dn        DNAME elsewhere.test.
sub       NS ns.sub
ns.sub    A 192.0.2.54
sec       NS ns1.example.test.
sec       DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_sip._tcp SRV 10 5 5060 Mail.Example.Test.
`;

/** The RFC 5155 Appendix A zone (its DNSKEYs and signatures left to ldns). */
const RFC5155_TEXT = `$ORIGIN example.
$TTL 3600
@      IN SOA ns1 bugs.x.w 1 3600 300 3600000 3600
@      NS ns1
@      NS ns2
@      MX 1 xx
a      NS ns1.a
a      NS ns2.a
a      DS 58470 5 1 3079F1593EBAD6DC121E202A8B766A6A4837206C
ns1.a  A 192.0.2.5
ns2.a  A 192.0.2.6
ai     A 192.0.2.9
ai     HINFO "KLH-10" "ITS"
ai     AAAA 2001:db8::f00:baa9
c      NS ns1.c
c      NS ns2.c
ns1.c  A 192.0.2.7
ns2.c  A 192.0.2.8
ns1    A 192.0.2.1
ns2    A 192.0.2.2
*.w    MX 1 ai
x.w    MX 1 xx
x.y.w  MX 1 xx
xx     A 192.0.2.10
xx     HINFO "KLH-10" "TOPS-20"
xx     AAAA 2001:db8::f00:baaa
`;

interface Rec {
  readonly name: string;
  readonly ttl: number;
  readonly type: number;
  readonly rdata: Buffer;
}

/** fromPresentation turns an absolute presentation name (escapes allowed) into the internal form. */
function fromPresentation(text: string): string {
  const labels: string[] = [];
  let label = '';
  for (let i = 0; i < text.length; i++) {
    let c = text[i]!;
    if (c === '\\') {
      if (/^\d{3}$/.test(text.slice(i + 1, i + 4))) {
        c = String.fromCharCode(Number(text.slice(i + 1, i + 4)));
        i += 3;
      } else c = text[++i]!;
      label += c === '.' ? '\u2024' : c.replace(/[A-Z]/, (m) => m.toLowerCase());
    } else if (c === '.') {
      labels.push(label);
      label = '';
    } else label += c.replace(/[A-Z]/, (m) => m.toLowerCase());
  }
  if (label !== '') labels.push(label);
  return labels.join('.');
}

/** readLdnsZone reads `ldns-read-zone -U NAPTR` output: one record a line, every type in the RFC 3597 generic form. */
function readLdnsZone(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith(';')) continue;
    const [owner, ttl, klass, type, generic, length, ...hex] = line.trim().split(/\s+/);
    assert.equal(klass, 'IN', line);
    assert.equal(generic, '\\#', line);
    const m = /^TYPE(\d+)$/.exec(type!);
    assert.ok(m, line);
    const rdata = Buffer.from(hex.join(''), 'hex');
    assert.equal(rdata.length, Number(length), line);
    out.push({ name: fromPresentation(owner!), ttl: Number(ttl), type: Number(m[1]), rdata });
  }
  return out;
}

interface Signed {
  readonly records: Rec[];
  readonly dir: string;
  /** Key file base names, K<zone>+<alg>+<tag>. */
  readonly ksk: string;
  readonly zsk: string;
}

const signedCache = new Map<string, Promise<Signed>>();

/** signWithLdns generates a KSK and a ZSK with ldns-keygen and signs `text` with ldns-signzone `flags`; memoised per arguments. */
function signWithLdns(algorithm: string, flags: readonly string[] = [], text = ZONE_TEXT, origin = ZONE): Promise<Signed> {
  const id = JSON.stringify([algorithm, flags, origin]);
  let p = signedCache.get(id);
  if (p === undefined) {
    p = (async () => {
      const dir = mkdtempSync(join(work, `${algorithm}-`));
      writeFileSync(join(dir, 'zone'), text);
      const bits = algorithm.startsWith('RSA') ? ['-b', '2048'] : [];
      const ksk = (await run('ldns-keygen', ['-a', algorithm, ...bits, '-k', origin], { cwd: dir })).stdout.trim();
      const zsk = (await run('ldns-keygen', ['-a', algorithm, ...bits, origin], { cwd: dir })).stdout.trim();
      await run('ldns-signzone', [...flags, '-i', String(INCEPTION), '-e', String(EXPIRATION), '-o', origin, '-f', 'zone.signed', 'zone', ksk, zsk], { cwd: dir });
      const printed = await run('ldns-read-zone', ['-U', 'NAPTR', 'zone.signed'], { cwd: dir });
      return { records: readLdnsZone(printed.stdout), dir, ksk, zsk };
    })();
    signedCache.set(id, p);
  }
  return p;
}

/** rrsets groups the records other than RRSIG by owner and type. */
function rrsets(records: readonly Rec[]): Map<string, RRset> {
  const sets = new Map<string, { name: string; type: number; ttl: number; data: unknown[]; rdata: Buffer[] }>();
  for (const r of records) {
    if (r.type === TYPE.RRSIG) continue;
    const key = `${r.name}/${r.type}`;
    const set = sets.get(key);
    if (set === undefined) sets.set(key, { name: r.name, type: r.type, ttl: r.ttl, data: [], rdata: [r.rdata] });
    else set.rdata.push(r.rdata);
  }
  return sets;
}

const rrsigsOf = (records: readonly Rec[], name: string, type: number) => records.filter((r) => r.type === TYPE.RRSIG && r.name === name && r.rdata.readUInt16BE(0) === type).map((r) => r.rdata);
const dnskeysOf = (records: readonly Rec[], zone = ZONE) => records.filter((r) => r.type === TYPE.DNSKEY && r.name === zone).map((r) => r.rdata);
const denials = (records: readonly Rec[], type: number): DenialRecord[] => records.filter((r) => r.type === type).map((r) => ({ owner: r.name, rdata: r.rdata }));

/** verifyAll runs verifyRRset on every RRSIG of the zone and returns how many passed and the failures. */
function verifyAll(records: readonly Rec[], now = NOW, zone = ZONE): { ok: number; failures: string[] } {
  const sets = rrsets(records);
  const keys = dnskeysOf(records, zone);
  let ok = 0;
  const failures: string[] = [];
  for (const r of records) {
    if (r.type !== TYPE.RRSIG) continue;
    const set = sets.get(`${r.name}/${r.rdata.readUInt16BE(0)}`);
    const result = set === undefined ? 'no rrset' : verifyRRset(set, r.rdata, keys, zone, now);
    if (result === 'ok') ok++;
    else failures.push(`${r.name}/${r.rdata.readUInt16BE(0)}: ${result}`);
  }
  return { ok, failures };
}

const flip = (b: Buffer, at: number) => {
  const c = Buffer.from(b);
  const i = at < 0 ? c.length + at : at;
  c[i] = c[i]! ^ 0x01;
  return c;
};

const ALGORITHMS: [string, number][] = [
  ['RSASHA1', 5],
  ['RSASHA1-NSEC3-SHA1', 7],
  ['RSASHA256', 8],
  ['RSASHA512', 10],
  ['ECDSAP256SHA256', 13],
  ['ECDSAP384SHA384', 14],
  ['ED25519', 15],
  ['ED448', 16],
];

for (const [name, number] of ALGORITHMS) {
  test(`every RRSIG of a zone ldns signed with ${name} verifies; tampering, time and DS checked`, async () => {
    assert.ok(supportedAlgorithm(number));
    const { records, dir, ksk } = await signWithLdns(name);
    const all = verifyAll(records);
    assert.deepEqual(all.failures, []);
    assert.ok(all.ok >= 20, `only ${all.ok} signatures`);
    assert.ok(records.filter((r) => r.type === TYPE.RRSIG).every((r) => parseRrsig(r.rdata).algorithm === number));

    const sets = rrsets(records);
    const keys = dnskeysOf(records);
    const www = sets.get(`www.${ZONE}/${TYPE.A}`)!;
    const wwwSig = rrsigsOf(records, `www.${ZONE}`, TYPE.A)[0]!;
    assert.equal(verifyRRset(www, wwwSig, keys, ZONE, NOW), 'ok');
    assert.equal(verifyRRset({ ...www, rdata: [flip(www.rdata[0]!, 3), www.rdata[1]!] }, wwwSig, keys, ZONE, NOW), 'bad signature');
    assert.equal(verifyRRset({ ...www, rdata: [www.rdata[0]!] }, wwwSig, keys, ZONE, NOW), 'bad signature', 'a record dropped');
    assert.equal(verifyRRset(www, flip(wwwSig, -1), keys, ZONE, NOW), 'bad signature');
    assert.equal(verifyRRset(www, flip(wwwSig, 7), keys, ZONE, NOW), 'bad signature', 'original TTL changed');
    assert.equal(verifyRRset({ ...www, ttl: 5 }, wwwSig, keys, ZONE, NOW), 'ok', 'the signature covers the original TTL, not the current one');
    assert.equal(verifyRRset(www, wwwSig, keys, ZONE, EXPIRATION + 1), 'expired');
    assert.equal(verifyRRset(www, wwwSig, keys, ZONE, INCEPTION - 1), 'not yet valid');
    assert.equal(verifyRRset(www, wwwSig, keys, ZONE, EXPIRATION), 'ok');
    assert.equal(verifyRRset(www, wwwSig, keys, ZONE, INCEPTION), 'ok');

    // A wildcard's signature verifies for any name it expands to (RFC 4035 §5.3.2).
    const wild = sets.get(`*.wild.${ZONE}/${TYPE.A}`)!;
    const wildSig = rrsigsOf(records, `*.wild.${ZONE}`, TYPE.A)[0]!;
    assert.equal(parseRrsig(wildSig).labels, 3);
    assert.equal(verifyRRset(wild, wildSig, keys, ZONE, NOW), 'ok');
    assert.equal(verifyRRset({ ...wild, name: `a.b.wild.${ZONE}` }, wildSig, keys, ZONE, NOW), 'ok');
    assert.equal(wildcardOwner(`a.b.wild.${ZONE}`, 3), `*.wild.${ZONE}`);
    assert.equal(verifyRRset({ ...wild, name: `a.b.other.${ZONE}` }, wildSig, keys, ZONE, NOW), 'bad signature');

    // DS records made by ldns-key2ds with SHA-1, SHA-256 and SHA-384.
    const kskRdata = keys.find((k) => parseDnskey(k).flags === FLAGS.KSK)!;
    const zskRdata = keys.find((k) => parseDnskey(k).flags === FLAGS.ZSK)!;
    for (const digest of ['-1', '-2', '-4']) {
      const line = (await run('ldns-key2ds', ['-n', digest, `${ksk}.key`], { cwd: dir })).stdout.trim();
      const [, , , type, tag, alg, digestType, hex] = line.split(/\s+/);
      assert.equal(type, 'DS');
      const ds = Buffer.concat([Buffer.from([Number(tag) >> 8, Number(tag) & 0xff, Number(alg), Number(digestType)]), Buffer.from(hex!, 'hex')]);
      assert.ok(dsMatchesKey(ZONE, ds, kskRdata), line);
      assert.ok(!dsMatchesKey(ZONE, ds, zskRdata));
      assert.ok(!dsMatchesKey(`other.${ZONE}`, ds, kskRdata));
      assert.ok(!dsMatchesKey(ZONE, flip(ds, -1), kskRdata));
    }
  });
}

test('verifyRRset rejects what RFC 4035 §5.3.1 rules out', async () => {
  const { records } = await signWithLdns('ECDSAP256SHA256');
  const sets = rrsets(records);
  const keys = dnskeysOf(records);
  const www = sets.get(`www.${ZONE}/${TYPE.A}`)!;
  const sig = rrsigsOf(records, `www.${ZONE}`, TYPE.A)[0]!;
  assert.equal(verifyRRset(sets.get(`www.${ZONE}/${TYPE.AAAA}`)!, sig, keys, ZONE, NOW), 'type covered');
  assert.equal(verifyRRset(www, sig, keys, 'test', NOW), 'wrong signer');
  assert.equal(verifyRRset({ ...www, name: 'www.other.test' }, sig, keys, ZONE, NOW), 'owner not below signer');
  assert.equal(verifyRRset({ ...www, name: ZONE }, sig, keys, ZONE, NOW), 'labels', 'labels 3 for a 2-label owner');
  const zsk = keys.filter((k) => parseDnskey(k).flags === FLAGS.ZSK);
  const ksk = keys.filter((k) => parseDnskey(k).flags === FLAGS.KSK);
  assert.equal(verifyRRset(www, sig, zsk, ZONE, NOW), 'ok');
  assert.equal(verifyRRset(www, sig, ksk, ZONE, NOW), 'no matching key');
  // Without the ZONE flag (a different key tag too) or with protocol ≠ 3 the key may not be used.
  const noZone = Buffer.from(zsk[0]!);
  noZone[0] = 0;
  noZone[1] = 0;
  assert.equal(verifyRRset(www, sig, [noZone], ZONE, NOW), 'no matching key');
  const alg = Buffer.from(sig);
  alg[2] = 253;
  assert.equal(verifyRRset(www, alg, keys, ZONE, NOW), 'unsupported algorithm');
  assert.equal(verifyRRset(www, sig.subarray(0, 17), keys, ZONE, NOW), 'malformed rrsig');
  assert.throws(() => parseRrsig(sig.subarray(0, 30)));
  assert.throws(() => parseRrsig(Buffer.concat([sig.subarray(0, 18), Buffer.from([0xc0, 0x00]), Buffer.alloc(64)])), 'compressed signer');
  assert.equal(parseRrsig(sig).signer, ZONE);
});

/** sameTagDecoy swaps two public key octets at even RDATA offsets (same key tag), choosing a pair that still imports as an Ed25519 key when it can. */
function sameTagDecoy(rdata: Buffer): Buffer {
  let first: Buffer | undefined;
  for (let j = 6; j < rdata.length; j += 2) {
    if (rdata[4] === rdata[j]) continue;
    const decoy = Buffer.from(rdata);
    [decoy[4], decoy[j]] = [decoy[j]!, decoy[4]!];
    first ??= decoy;
    if (rdata[3] !== ALGORITHM.ED25519) return decoy;
    try {
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: decoy.subarray(4).toString('base64url') }, format: 'jwk' });
      return decoy;
    } catch {
      // not a point on the curve: try another pair
    }
  }
  return first!;
}

test('signatures made by our sign.ts verify, wildcard expansions and key tag collisions included', () => {
  const validity = { inception: NOW - 60, expiration: NOW + 86400 };
  for (const algorithm of [ALGORITHM.ECDSAP256SHA256, ALGORITHM.ED25519]) {
    const key = generateKey(algorithm, FLAGS.ZSK);
    const keys = [dnskeyRdata(key)];
    const mx = makeRRset(`shop.${ZONE}`, TYPE.MX, 300, [{ preference: 10, exchange: 'Mail.Example.TEST' }, { preference: 5, exchange: 'b.example.test' }]);
    const sig = signRRset(mx, key, ZONE, validity);
    assert.equal(verifyRRset(mx, sig, keys, ZONE, NOW), 'ok');
    assert.equal(verifyRRset({ ...mx, rdata: [...mx.rdata].reverse() }, sig, keys, ZONE, NOW), 'ok', 'order of the records does not matter');
    // The signer's name as sent may have upper case: the signed data has it lowered (RFC 4034 §3.1.8.1).
    const upper = Buffer.from(sig);
    upper.write('EXAMPLE', 19, 'latin1');
    assert.equal(parseRrsig(upper).signer, ZONE);
    assert.equal(verifyRRset(mx, upper, keys, ZONE, NOW), 'ok');

    const wild = makeRRset(`*.w.${ZONE}`, TYPE.TXT, 300, [['wildcard']]);
    const wsig = signRRset(wild, key, ZONE, validity);
    assert.equal(verifyRRset(wild, wsig, keys, ZONE, NOW), 'ok');
    assert.equal(verifyRRset({ ...wild, name: `x.y.w.${ZONE}` }, wsig, keys, ZONE, NOW), 'ok');
    assert.equal(wildcardOwner(`x.y.w.${ZONE}`, parseRrsig(wsig).labels), `*.w.${ZONE}`);
    assert.equal(wildcardOwner(`*.w.${ZONE}`, 3), undefined);
    assert.equal(verifyRRset({ ...wild, name: `x.y.v.${ZONE}` }, wsig, keys, ZONE, NOW), 'bad signature');

    // A decoy key with the same key tag: two octets at even offsets swapped keep the checksum.
    const decoy = sameTagDecoy(keys[0]!);
    assert.equal(parseDnskey(decoy).keyTag, key.keyTag);
    assert.equal(verifyRRset(mx, sig, [decoy, keys[0]!], ZONE, NOW), 'ok', 'every key with the tag is tried');
    if (algorithm === ALGORITHM.ED25519) assert.equal(verifyRRset(mx, sig, [decoy], ZONE, NOW), 'bad signature');
    else assert.equal(verifyRRset(mx, sig, [decoy], ZONE, NOW), 'no matching key', 'a point off the curve is no key');
  }
});

test('validity uses serial number arithmetic: signatures across the 2106 wrap of 32-bit time', () => {
  const key = generateKey(ALGORITHM.ED25519, FLAGS.KSK);
  const set = makeRRset(ZONE, TYPE.TXT, 300, [['wrap']]);
  const sig = signRRset(set, key, ZONE, { inception: 2 ** 32 - 100, expiration: 2 ** 32 + 1000 });
  assert.equal(parseRrsig(sig).expiration, 1000);
  assert.equal(verifyRRset(set, sig, [dnskeyRdata(key)], ZONE, 2 ** 32 + 10), 'ok');
  assert.equal(verifyRRset(set, sig, [dnskeyRdata(key)], ZONE, 2 ** 32 - 50), 'ok');
  assert.equal(verifyRRset(set, sig, [dnskeyRdata(key)], ZONE, 2 ** 32 + 2000), 'expired');
  assert.equal(verifyRRset(set, sig, [dnskeyRdata(key)], ZONE, 2 ** 32 - 200), 'not yet valid');
});

// ---------------------------------------------------------------------------
// NSEC

const n = (label: string) => (label === '' ? ZONE : `${label}.${ZONE}`);

function assertProof(p: Proof, expect: { ok: true; closestEncloser?: string; wildcard?: string; optOut?: boolean } | 'bogus' | 'insecure', what: string): void {
  if (expect === 'bogus') assert.ok(!p.ok && !p.insecure, `${what}: expected bogus, got ${JSON.stringify(p)}`);
  else if (expect === 'insecure') assert.ok(!p.ok && p.insecure, `${what}: expected insecure, got ${JSON.stringify(p)}`);
  else assert.deepEqual(p, expect, what);
}

test('NSEC RDATA, bitmaps and coverage in canonical order', async () => {
  assert.deepEqual([...nsecTypes(nsecRdata('a.b', [TYPE.A, TYPE.MX, TYPE.CAA, TYPE.RRSIG]))].sort((a, b) => a - b), [TYPE.A, TYPE.MX, TYPE.RRSIG, TYPE.CAA]);
  assert.equal(parseNsec(nsecRdata('A.Example.TEST', [])).next, 'a.example.test');
  assert.throws(() => nsecTypes(Buffer.concat([Buffer.from([0]), Buffer.from('0000', 'hex')])), 'empty window');
  assert.throws(() => nsecTypes(Buffer.concat([Buffer.from([0]), typeBitmap([TYPE.CAA]), typeBitmap([TYPE.A])])), 'windows out of order');
  assert.ok(nsecCovers(n('a'), n('c'), n('b')));
  assert.ok(nsecCovers(n('a'), n('c'), n('x.b')));
  assert.ok(nsecCovers(n('a'), n('c'), n('x.a')), 'below the owner, before the next name');
  assert.ok(!nsecCovers(n('a'), n('c'), n('a')));
  assert.ok(!nsecCovers(n('a'), n('c'), n('c')));
  assert.ok(!nsecCovers(n('a'), n('c'), n('x.c')));
  assert.ok(nsecCovers(n('www'), ZONE, n('zzz')), 'the last NSEC wraps to the apex');
  assert.ok(!nsecCovers(n('www'), ZONE, 'zzz.other.test'), 'but covers nothing outside the zone');
  assert.ok(!nsecCovers(n('www'), ZONE, n('a')));
  assert.ok(nsecCovers(ZONE, ZONE, n('anything')), 'a lone NSEC at the apex');
  assert.ok(nsecCovers(n('a'), n('c'), n('b\u2024x')), 'a literal dot inside a label is the octet 0x2e');
  assert.ok(nsecCovers(n('a'), n('\u00e0'), n('z')), 'octets above 0x7f sort after ASCII letters');
  assert.ok(!nsecCovers(n('\u00e0'), n('\u00e2'), n('\u00c1')), '0xc1 is not 0xe1');

  const { records } = await signWithLdns('ED25519');
  const chain = denials(records, TYPE.NSEC);
  assert.equal(chain.length, 11);
  assert.deepEqual([...nsecTypes(chain.find((r) => r.owner === n('sub'))!.rdata)].sort((a, b) => a - b), [TYPE.NS, TYPE.RRSIG, TYPE.NSEC]);
});

test('NSEC name error proofs from an ldns-signed chain', async () => {
  const chain = denials((await signWithLdns('ED25519')).records, TYPE.NSEC);
  const only = (...owners: string[]) => chain.filter((r) => owners.includes(r.owner));
  assertProof(provesNxdomain(n('nope'), chain, ZONE), { ok: true, closestEncloser: ZONE }, 'nope');
  assertProof(provesNxdomain(n('nope'), only(n('mail'), ZONE), ZONE), { ok: true, closestEncloser: ZONE }, 'nope with the two NSECs a server sends');
  assertProof(provesNxdomain(n('nope'), only(n('mail')), ZONE), 'bogus', 'nope without the wildcard proof');
  assertProof(provesNxdomain(n('nope'), only(ZONE), ZONE), 'bogus', 'nope with an NSEC that does not cover it');
  assertProof(provesNxdomain(n('x.y.www'), chain, ZONE), { ok: true, closestEncloser: n('www') }, 'below an existing name, past the last NSEC');
  assertProof(provesNxdomain(n('z.c'), chain, ZONE), { ok: true, closestEncloser: n('c') }, 'below an empty non-terminal (owner side)');
  assertProof(provesNxdomain(n('a.c'), chain, ZONE), { ok: true, closestEncloser: n('c') }, 'below an empty non-terminal (next-name side)');
  assertProof(provesNxdomain(n('c'), chain, ZONE), 'bogus', 'an empty non-terminal exists');
  assertProof(provesNxdomain(n('www'), chain, ZONE), 'bogus', 'an existing name');
  assertProof(provesNxdomain(n('x.wild'), chain, ZONE), 'bogus', 'the wildcard exists');
  assertProof(provesNxdomain(n('foo.sub'), chain, ZONE), 'bogus', 'below a delegation: the parent NSEC proves nothing there');
  assertProof(provesNxdomain(n('foo.sub'), only(n('sub'), ZONE), ZONE), 'bogus', 'below a delegation, only the covering NSECs');
  assertProof(provesNxdomain(n('x.dn'), only(n('dn'), ZONE), ZONE), 'bogus', 'below a DNAME');
  assertProof(provesNxdomain('nope.other.test', chain, ZONE), 'bogus', 'outside the zone');
  assertProof(provesNxdomain(ZONE, chain, ZONE), 'bogus', 'the apex');
  assertProof(provesNxdomain(n('nope'), chain, n('www')), 'bogus', 'NSECs of another zone');
});

test('NSEC no-data proofs: the name, empty non-terminals, wildcards, DS at delegations', async () => {
  const chain = denials((await signWithLdns('ED25519')).records, TYPE.NSEC);
  const without = (owner: string) => chain.filter((r) => r.owner !== owner);
  assertProof(provesNodata(n('www'), TYPE.MX, chain, ZONE), { ok: true }, 'www MX');
  assertProof(provesNodata(n('www'), TYPE.A, chain, ZONE), 'bogus', 'www A exists');
  assertProof(provesNodata(n('alias'), TYPE.A, chain, ZONE), 'bogus', 'a CNAME');
  assertProof(provesNodata(n('sub'), TYPE.A, chain, ZONE), 'bogus', 'a delegation answers with a referral');
  assertProof(provesNodata(n('sub'), TYPE.DS, chain, ZONE), { ok: true }, 'no DS at a delegation');
  assertProof(provesNodata(n('sec'), TYPE.DS, chain, ZONE), 'bogus', 'the DS exists');
  assertProof(provesNodata(ZONE, TYPE.DS, chain, ZONE), 'bogus', 'a DS denial from the child apex');
  assertProof(provesNodata(ZONE, TYPE.AAAA, chain, ZONE), { ok: true }, 'apex AAAA');
  assertProof(provesNodata(n('c'), TYPE.TXT, chain, ZONE), { ok: true }, 'empty non-terminal');
  assertProof(provesNodata(n('b.c'), TYPE.A, chain, ZONE), { ok: true }, 'empty non-terminal, two levels');
  assertProof(provesNodata(n('_tcp'), TYPE.SRV, chain, ZONE), { ok: true }, 'empty non-terminal under the apex');
  assertProof(provesNodata(n('wild'), TYPE.A, chain, ZONE), { ok: true }, 'the wildcard parent is an empty non-terminal');
  assertProof(provesNodata(n('x.wild'), TYPE.MX, chain, ZONE), { ok: true, closestEncloser: n('wild'), wildcard: n('*.wild') }, 'wildcard no-data');
  assertProof(provesNodata(n('x.wild'), TYPE.A, chain, ZONE), 'bogus', 'the wildcard has A');
  assertProof(provesNodata(n('x.wild'), TYPE.MX, without(n('*.wild')), ZONE), 'bogus', 'wildcard NSEC missing');
  assertProof(provesNodata(n('nope'), TYPE.A, chain, ZONE), 'bogus', 'a name that does not exist is no no-data');
  assertProof(provesNodata(n('foo.sub'), TYPE.A, chain, ZONE), 'bogus', 'below a delegation');
  assertProof(provesNodata(n('dn'), TYPE.A, chain, ZONE), { ok: true }, 'at the DNAME owner itself');
  assertProof(provesNodata(n('x.dn'), TYPE.A, chain, ZONE), 'bogus', 'below a DNAME');
});

test('NSEC proofs for wildcard answers and insecure delegations', async () => {
  const chain = denials((await signWithLdns('ED25519')).records, TYPE.NSEC);
  assertProof(provesWildcardAnswer(n('x.wild'), 3, chain, ZONE), { ok: true, closestEncloser: n('wild') }, 'x.wild from *.wild');
  assertProof(provesWildcardAnswer(n('a.b.wild'), 3, chain, ZONE), { ok: true, closestEncloser: n('wild') }, 'a.b.wild from *.wild');
  assertProof(provesWildcardAnswer(n('x.wild'), 2, chain, ZONE), 'bogus', 'claimed from *.example.test but wild exists');
  assertProof(provesWildcardAnswer(n('www'), 2, chain, ZONE), 'bogus', 'www exists');
  assertProof(provesWildcardAnswer(n('x.wild'), 4, chain, ZONE), 'bogus', 'not an expansion');
  assertProof(provesWildcardAnswer(n('x.wild'), 3, chain.filter((r) => r.owner !== n('*.wild')), ZONE), 'bogus', 'no covering NSEC');
  assertProof(provesNoDs(n('sub'), chain), { ok: true }, 'sub is an insecure delegation');
  assertProof(provesNoDs(n('sec'), chain), 'bogus', 'sec has a DS');
  assertProof(provesNoDs(n('www'), chain), 'bogus', 'www is no delegation');
  assertProof(provesNoDs(ZONE, chain), 'bogus', 'the apex NSEC (SOA set)');
  assertProof(provesNoDs(n('nope'), chain), 'bogus', 'no NSEC at the name');
});

/** predecessor is RFC 4470 §3.1.2.1's immediate predecessor of a name with a first label that is not "\000" (decremented, filled with \255). */
function predecessor(name: string): string {
  const [first, ...rest] = name.split('.');
  const parent = rest.join('.');
  const last = first!.charCodeAt(first!.length - 1);
  const label = first!.slice(0, -1) + String.fromCharCode(last - 1) + '\u00ff'.repeat(63 - first!.length);
  let out = `${label}.${parent}`;
  let wire = out.length + 2;
  while (wire < 255) {
    const len = Math.min(63, 255 - wire - 1);
    out = `${'\u00ff'.repeat(len)}.${out}`;
    wire += len + 1;
  }
  return out;
}

test('minimally covering NSECs (RFC 4470 white lies) prove a name error', () => {
  const lie = (owner: string, next: string): DenialRecord => ({ owner, rdata: nsecRdata(next, [TYPE.RRSIG, TYPE.NSEC]) });
  for (const [qname, ce] of [
    [n('x.nothere'), ZONE],
    [n('nothere'), ZONE],
    [n('x.y.www'), n('www')],
  ] as const) {
    const nextCloser = qname.split('.').slice(-(ce.split('.').length + 1)).join('.');
    const [label, ...rest] = nextCloser.split('.');
    // The owner as RFC 4470 §3.1.2.1 builds it (filled with \255 labels to 255 octets), or just the label before (as signer.ts does).
    for (const before of [predecessor, (name: string) => predecessor(name).split('.').slice(-(name.split('.').length)).join('.')]) {
      const cover = lie(before(nextCloser), [`${label}\u0000`, ...rest].join('.'));
      const wildcard = lie(before(`*.${ce}`), `\u0000.*.${ce}`);
      assert.ok(Buffer.byteLength(cover.owner, 'latin1') <= 253);
      assertProof(provesNxdomain(qname, [cover, wildcard], ZONE), { ok: true, closestEncloser: ce }, qname);
      assertProof(provesNxdomain(qname, [cover], ZONE), 'bogus', `${qname} without the wildcard NSEC`);
      assertProof(provesNxdomain(qname, [wildcard], ZONE), 'bogus', `${qname} without the covering NSEC`);
      // The same lie covering the next closer name also proves the wildcard answer and wildcard no-data.
      const wildSet = lie(`*.${ce}`, `\u0000.*.${ce}`);
      assertProof(provesWildcardAnswer(qname, ce.split('.').length, [cover], ZONE), { ok: true, closestEncloser: ce }, `${qname} from *.${ce}`);
      assertProof(provesNodata(qname, TYPE.A, [cover, wildSet], ZONE), { ok: true, closestEncloser: ce, wildcard: `*.${ce}` }, `${qname} wildcard no-data`);
    }
  }
  // Covering only qname (not its next closer name) shows a wrong closest encloser: refused, as by other validators.
  const q = n('x.nothere');
  const onlyQ = lie(predecessor(q), `\u0000.${q}`);
  assertProof(provesNxdomain(q, [onlyQ, lie(predecessor(n('*')), `\u0000.${n('*')}`)], ZONE), 'bogus', 'qname-only cover');
});

// ---------------------------------------------------------------------------
// NSEC3

/** The NSEC3 owners of the RFC 5155 Appendix A zone (salt aabbccdd, 12 iterations). */
const RFC5155_HASHES: Record<string, string> = {
  example: '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom',
  'a.example': '35mthgpgcu1qg68fab165klnsnk3dpvl',
  'ai.example': 'gjeqe526plbf1g8mklp59enfd789njgi',
  'ns1.example': '2t7b4g4vsa5smi47k61mv5bv1a22bojr',
  'ns2.example': 'q04jkcevqvmu85r014c7dkba38o0ji5r',
  'w.example': 'k8udemvp1j2f7eg6jebps17vp3n8i58h',
  '*.w.example': 'r53bq7cc2uvmubfu5ocmm6pers9tk9en',
  'x.w.example': 'b4um86eghhds6nea196smvmlo4ors995',
  'y.w.example': 'ji6neoaepv8b5o6k4ev33abha8ht9fgc',
  'x.y.w.example': '2vptu5timamqttgl4luu9kg21e0aor3s',
  'xx.example': 't644ebqk9bibcna874givr6joj62mlhv',
  'c.example': '4g6p9u5gvfshp30pqecj98b3maqbn1ck',
};

const SALT = Buffer.from('aabbccdd', 'hex');

test('NSEC3 hashes: the RFC 5155 Appendix A values, and every owner ldns made', async () => {
  assert.equal(nsec3Hash('example', SALT, 12), '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
  for (const [name, hash] of Object.entries(RFC5155_HASHES)) assert.equal(nsec3Hash(name, SALT, 12), hash, name);
  const { records } = await signWithLdns('ECDSAP256SHA256', ['-n', '-s', 'aabbccdd', '-t', '12'], RFC5155_TEXT, 'example');
  const owners = denials(records, TYPE.NSEC3).map((r) => r.owner.split('.')[0]).sort();
  assert.deepEqual(owners, Object.values(RFC5155_HASHES).sort());
  const apex = parseNsec3(denials(records, TYPE.NSEC3).find((r) => r.owner === `${RFC5155_HASHES.example}.example`)!.rdata);
  assert.equal(apex.hashAlgorithm, 1);
  assert.equal(apex.optOut, false);
  assert.equal(apex.iterations, 12);
  assert.equal(apex.salt.toString('hex'), 'aabbccdd');
  assert.equal(apex.nextHashed, RFC5155_HASHES['ns1.example']);
  assert.ok(apex.types.has(TYPE.SOA) && apex.types.has(51 /* NSEC3PARAM */));
  assert.throws(() => parseNsec3(Buffer.from('0100000c04aabbcc', 'hex')));
  assert.deepEqual(verifyAll(records, NOW, 'example').failures, []);
});

test('NSEC3 proofs from an ldns-signed chain', async () => {
  const { records } = await signWithLdns('ECDSAP256SHA256', ['-n', '-s', 'aabbccdd', '-t', '5']);
  const chain = denials(records, TYPE.NSEC3);
  const names = ['', 'ns1', 'mail', 'www', 'alias', '*.wild', 'wild', 'a.b.c', 'b.c', 'c', 'dn', 'sub', 'sec', '_sip._tcp', '_tcp'].map(n);
  assert.deepEqual(chain.map((r) => r.owner).sort(), names.map((x) => `${nsec3Hash(x, SALT, 5)}.${ZONE}`).sort());
  assert.deepEqual(verifyAll(records).failures, []);

  assertProof(nsec3ProvesNxdomain(n('nope'), chain, ZONE), { ok: true, closestEncloser: ZONE }, 'nope');
  assertProof(nsec3ProvesNxdomain(n('z.c'), chain, ZONE), { ok: true, closestEncloser: n('c') }, 'below an empty non-terminal');
  assertProof(nsec3ProvesNxdomain(n('x.y.www'), chain, ZONE), { ok: true, closestEncloser: n('www') }, 'two labels below www');
  assertProof(nsec3ProvesNxdomain(n('www'), chain, ZONE), 'bogus', 'an existing name');
  assertProof(nsec3ProvesNxdomain(n('c'), chain, ZONE), 'bogus', 'an empty non-terminal');
  assertProof(nsec3ProvesNxdomain(n('x.wild'), chain, ZONE), 'bogus', 'the wildcard exists');
  assertProof(nsec3ProvesNxdomain(n('foo.sub'), chain, ZONE), 'bogus', 'below a delegation');
  assertProof(nsec3ProvesNxdomain(n('x.dn'), chain, ZONE), 'bogus', 'below a DNAME');
  assertProof(nsec3ProvesNxdomain(n('nope'), chain, 'test'), 'bogus', 'NSEC3s of another zone');

  // Take away the record covering *.example.test, for names whose next closer name another record covers.
  const hashOwner = (name: string) => `${nsec3Hash(name, SALT, 5)}.${ZONE}`;
  const coverOf = (name: string) => {
    const h = nsec3Hash(name, SALT, 5);
    return chain.find((r) => {
      const owner = r.owner.split('.')[0]!;
      const next = parseNsec3(r.rdata).nextHashed;
      return owner < next ? owner < h && h < next : h > owner || h < next;
    })!;
  };
  const wildcardCover = coverOf(n('*'));
  const qname = ['nope', 'q', 'zz', 'aa', 'nope2', 'mm', 'kk'].map(n).find((q) => coverOf(q) !== wildcardCover)!;
  assertProof(nsec3ProvesNxdomain(qname, chain, ZONE), { ok: true, closestEncloser: ZONE }, qname);
  assertProof(nsec3ProvesNxdomain(qname, chain.filter((r) => r !== wildcardCover), ZONE), 'bogus', `${qname} without the wildcard proof`);
  assertProof(nsec3ProvesNxdomain(qname, chain.filter((r) => r !== coverOf(qname)), ZONE), 'bogus', `${qname} without the next closer proof`);
  assertProof(nsec3ProvesNxdomain(qname, chain.filter((r) => r.owner !== hashOwner(ZONE)), ZONE), 'bogus', `${qname} without the closest encloser`);

  assertProof(nsec3ProvesNodata(n('www'), TYPE.MX, chain, ZONE), { ok: true }, 'www MX');
  assertProof(nsec3ProvesNodata(n('www'), TYPE.A, chain, ZONE), 'bogus', 'www A exists');
  assertProof(nsec3ProvesNodata(n('alias'), TYPE.A, chain, ZONE), 'bogus', 'a CNAME');
  assertProof(nsec3ProvesNodata(n('sub'), TYPE.A, chain, ZONE), 'bogus', 'a delegation');
  assertProof(nsec3ProvesNodata(n('sub'), TYPE.DS, chain, ZONE), { ok: true }, 'no DS at a delegation');
  assertProof(nsec3ProvesNodata(ZONE, TYPE.DS, chain, ZONE), 'bogus', 'DS denial from the apex');
  assertProof(nsec3ProvesNodata(n('c'), TYPE.TXT, chain, ZONE), { ok: true }, 'empty non-terminal');
  assertProof(nsec3ProvesNodata(n('x.wild'), TYPE.MX, chain, ZONE), { ok: true, closestEncloser: n('wild'), wildcard: n('*.wild') }, 'wildcard no-data');
  assertProof(nsec3ProvesNodata(n('x.wild'), TYPE.A, chain, ZONE), 'bogus', 'the wildcard has A');
  assertProof(nsec3ProvesNodata(n('nope'), TYPE.A, chain, ZONE), 'bogus', 'a name that does not exist');

  assertProof(nsec3ProvesWildcardAnswer(n('x.wild'), 3, chain, ZONE), { ok: true, closestEncloser: n('wild') }, 'x.wild from *.wild');
  assertProof(nsec3ProvesWildcardAnswer(n('a.b.wild'), 3, chain, ZONE), { ok: true, closestEncloser: n('wild') }, 'a.b.wild from *.wild');
  assertProof(nsec3ProvesWildcardAnswer(n('x.wild'), 2, chain, ZONE), 'bogus', 'wild exists, so *.example.test cannot apply');
  assertProof(nsec3ProvesWildcardAnswer(n('x.wild'), 3, chain.filter((r) => r !== coverOf(n('x.wild'))), ZONE), 'bogus', 'no covering NSEC3');

  assertProof(nsec3ProvesNoDs(n('sub'), chain, ZONE), { ok: true }, 'sub');
  assertProof(nsec3ProvesNoDs(n('sec'), chain, ZONE), 'bogus', 'sec has a DS');
  assertProof(nsec3ProvesNoDs(n('www'), chain, ZONE), 'bogus', 'www is no delegation');
  assertProof(nsec3ProvesNoDs(n('nope'), chain, ZONE), 'bogus', 'no opt-out span covers it');

  // Records a validator must ignore: unknown hash algorithm, unknown flags (RFC 5155 §8.1, §8.2).
  const patched = (at: number, value: number) =>
    chain.map((r) => {
      const rdata = Buffer.from(r.rdata);
      rdata[at] = value;
      return { owner: r.owner, rdata };
    });
  assertProof(nsec3ProvesNxdomain(n('nope'), patched(0, 2), ZONE), 'bogus', 'hash algorithm 2');
  assertProof(nsec3ProvesNxdomain(n('nope'), patched(1, 0x80), ZONE), 'bogus', 'flags 0x80');
});

test('NSEC3 iterations above 150 make a denial insecure (RFC 9276 §3.2)', async () => {
  const high = denials((await signWithLdns('ED25519', ['-n', '-t', '151'])).records, TYPE.NSEC3);
  assertProof(nsec3ProvesNxdomain(n('nope'), high, ZONE), 'insecure', 'nxdomain');
  assertProof(nsec3ProvesNodata(n('www'), TYPE.MX, high, ZONE), 'insecure', 'nodata');
  assertProof(nsec3ProvesNoDs(n('sub'), high, ZONE), 'insecure', 'no DS');
  const limit = denials((await signWithLdns('ED25519', ['-n', '-t', '150'])).records, TYPE.NSEC3);
  assertProof(nsec3ProvesNxdomain(n('nope'), limit, ZONE), { ok: true, closestEncloser: ZONE }, '150 iterations');
});

/** base32hexDecode reads the NSEC3 hash alphabet back to octets. */
function base32hexDecode(text: string): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const c of text) {
    acc = (acc << 5) | parseInt(c, 32);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

test('NSEC3 opt-out: the RFC 5155 Appendix B examples', async () => {
  const optOut = denials((await signWithLdns('ED25519', ['-n', '-p', '-s', 'aabbccdd', '-t', '12'], RFC5155_TEXT, 'example')).records, TYPE.NSEC3);
  const plain = denials((await signWithLdns('ECDSAP256SHA256', ['-n', '-s', 'aabbccdd', '-t', '12'], RFC5155_TEXT, 'example')).records, TYPE.NSEC3);
  assert.ok(optOut.every((r) => parseNsec3(r.rdata).optOut));
  // As in the RFC, the unsigned delegation c.example has no NSEC3: a.example's spans over it (B.3).
  const rfcLike = (records: DenialRecord[]) =>
    records
      .filter((r) => r.owner !== `${RFC5155_HASHES['c.example']}.example`)
      .map((r) => {
        if (r.owner !== `${RFC5155_HASHES['a.example']}.example`) return r;
        const p = parseNsec3(r.rdata);
        const next = base32hexDecode(RFC5155_HASHES['x.w.example']!);
        const rdata = Buffer.concat([Buffer.from([1, p.flags, 0, 12, 4]), SALT, Buffer.from([next.length]), next, typeBitmap(p.types)]);
        assert.equal(parseNsec3(rdata).nextHashed, RFC5155_HASHES['x.w.example']);
        return { owner: r.owner, rdata };
      });
  const b3 = rfcLike(optOut);

  // B.1 name error: closest encloser x.w.example; its next closer is in an opt-out span, hence insecure.
  assertProof(nsec3ProvesNxdomain('a.c.x.w.example', optOut, 'example'), 'insecure', 'B.1 with opt-out');
  assertProof(nsec3ProvesNxdomain('a.c.x.w.example', plain, 'example'), { ok: true, closestEncloser: 'x.w.example' }, 'B.1 without opt-out');
  // B.2 no data, B.2.1 at an empty non-terminal.
  assertProof(nsec3ProvesNodata('ns1.example', TYPE.MX, optOut, 'example'), { ok: true }, 'B.2');
  assertProof(nsec3ProvesNodata('y.w.example', TYPE.A, optOut, 'example'), { ok: true }, 'B.2.1');
  // B.3: no DS for c.example, proven by the opt-out span; not without the opt-out flag.
  assertProof(nsec3ProvesNoDs('c.example', b3, 'example'), { ok: true, closestEncloser: 'example', optOut: true }, 'B.3 no DS');
  assertProof(nsec3ProvesNodata('c.example', TYPE.DS, b3, 'example'), { ok: true, closestEncloser: 'example', optOut: true }, 'B.3 DS no data');
  assertProof(nsec3ProvesNoDs('c.example', rfcLike(plain), 'example'), 'bogus', 'B.3 without opt-out');
  assertProof(nsec3ProvesNodata('c.example', TYPE.A, b3, 'example'), 'insecure', 'other types in an opt-out span');
  // B.4 wildcard expansion: a.z.w.example from *.w.example (RRSIG labels 2).
  assertProof(nsec3ProvesWildcardAnswer('a.z.w.example', 2, plain, 'example'), { ok: true, closestEncloser: 'w.example' }, 'B.4');
  assertProof(nsec3ProvesWildcardAnswer('a.z.w.example', 2, optOut, 'example'), 'insecure', 'B.4 in an opt-out span');
  // B.5 wildcard no data, B.6 DS no data at a name that is no delegation.
  assertProof(nsec3ProvesNodata('a.z.w.example', TYPE.AAAA, optOut, 'example'), { ok: true, closestEncloser: 'w.example', wildcard: '*.w.example' }, 'B.5');
  assertProof(nsec3ProvesNodata('ai.example', TYPE.DS, optOut, 'example'), { ok: true }, 'B.6');
  assertProof(nsec3ProvesNoDs('ai.example', optOut, 'example'), 'bogus', 'ai.example is no delegation');
  assertProof(nsec3ProvesNoDs('a.example', optOut, 'example'), 'bogus', 'a.example has a DS');
});
