import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerFromZone } from '../authority';
import { RCODE, TYPE } from '../constants';
import { makeRRset, type RRset } from '../rrset';
import { Zone, type ZoneSource } from '../zone';
import { ALGORITHM } from './keys';
import { Keyring, type KeyJournal, type StoredKey } from './keyring';
import { ZoneSigner } from './signer';
import { provesNodata, provesNxdomain, verifyRRset, type DenialRecord } from './verify';

/*
 * The signer's answers checked by the validation primitives: every RRSIG
 * verifies with the zone's DNSKEY RRset, and the white lies prove NXDOMAIN and
 * NODATA for awkward names (zero bytes, upper-case neighbours, 0xff, the apex)
 * without ever misstating a name that exists. The keyring's rollover timeline.
 */

const ORIGIN = 'lies.test';

function zone(): Zone {
  return Zone.build(ORIGIN, [
    makeRRset(ORIGIN, TYPE.SOA, 3600, [{ mname: 'ns.lies.test', rname: 'h.lies.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 }]),
    makeRRset(ORIGIN, TYPE.NS, 3600, ['ns.lies.test']),
    makeRRset('ns.lies.test', TYPE.A, 300, ['192.0.2.53']),
    makeRRset('a.lies.test', TYPE.A, 300, ['192.0.2.1']),
    makeRRset('x.a.lies.test', TYPE.TXT, 300, [['below a']]),
    makeRRset('b.c.lies.test', TYPE.A, 300, ['192.0.2.2']),
    makeRRset('*.w.lies.test', TYPE.A, 300, ['192.0.2.7']),
    makeRRset('tochild.lies.test', TYPE.CNAME, 300, ['www.child.lies.test']),
    makeRRset('child.lies.test', TYPE.NS, 300, ['ns.child.lies.test']),
    makeRRset('ns.child.lies.test', TYPE.A, 300, ['192.0.2.54']),
  ]);
}

class MemoryJournal implements KeyJournal {
  rows: StoredKey[] = [];
  load(): StoredKey[] {
    return [...this.rows];
  }
  insert(k: StoredKey): void {
    this.rows.push(k);
  }
  schedule(zone: string, keyTag: number, createdAt: number, inactiveAt: number | null, removeAt: number | null): void {
    const i = this.rows.findIndex((r) => r.zone === zone && r.keyTag === keyTag && r.createdAt === createdAt);
    this.rows[i] = { ...this.rows[i]!, inactiveAt, removeAt };
  }
  remove(zone: string, keyTag: number, createdAt: number): void {
    this.rows = this.rows.filter((r) => !(r.zone === zone && r.keyTag === keyTag && r.createdAt === createdAt));
  }
}

function setup(now: () => number = Date.now) {
  const journal = new MemoryJournal();
  const keyring = new Keyring(journal, { algorithm: ALGORITHM.ECDSAP256SHA256, dnskeyTtl: 60, propagationDelayMs: 1000, zskLifetimeMs: 0, maxTtl: () => 3600, now });
  const signer = new ZoneSigner(keyring, { validityMs: 14 * 86_400_000, refreshMs: 3 * 86_400_000, dnskeyTtl: 60, now });
  const z = signer.view(zone());
  const local: ZoneSource = { zoneFor: (n) => (n === ORIGIN || n.endsWith(`.${ORIGIN}`) ? z : undefined) };
  const ask = (name: string, type: number) => signer.signResponse(local, z, name, type, answerFromZone(local, z, name, type)).response;
  return { journal, keyring, signer, z, ask };
}

/** checkSigs verifies every RRSIG of a response against the zone's DNSKEY RRset and returns the NSEC records. */
function checkSigs(sets: readonly RRset[], dnskeys: readonly Buffer[]): DenialRecord[] {
  const nsecs: DenialRecord[] = [];
  for (let i = 0; i < sets.length; i++) {
    const s = sets[i]!;
    if (s.type === TYPE.RRSIG) continue;
    const sigs = sets[i + 1];
    assert.ok(sigs !== undefined && sigs.type === TYPE.RRSIG && sigs.name === s.name, `${s.name}/${s.type} is followed by its RRSIG`);
    assert.ok(
      sigs.rdata.some((sig) => verifyRRset(s, sig, dnskeys, ORIGIN, Math.floor(Date.now() / 1000)) === 'ok'),
      `${s.name}/${s.type}: ${sigs.rdata.map((sig) => verifyRRset(s, sig, dnskeys, ORIGIN, Math.floor(Date.now() / 1000))).join(', ')}`,
    );
    if (s.type === TYPE.NSEC) for (const rdata of s.rdata) nsecs.push({ owner: s.name, rdata });
  }
  return nsecs;
}

test('white lies prove NXDOMAIN for awkward names and never misstate a name that exists', () => {
  const { ask, signer, z } = setup();
  const dnskeys = signer.dnskeySet(ORIGIN).rdata;
  for (const name of ['nope.lies.test', '\u0000.lies.test', 'a\u0000.lies.test', '\u0000.a.lies.test', 'b[.lies.test', 'q.b.lies.test', '\u00ff\u00ff.lies.test', 'y.x.a.lies.test', 'a.b.c.lies.test', '*\u0000.lies.test']) {
    const r = ask(name, TYPE.A);
    assert.equal(r.rcode, RCODE.NXDOMAIN, name);
    const nsecs = checkSigs(r.authority, dnskeys);
    const proof = provesNxdomain(name, nsecs, ORIGIN);
    assert.ok(proof.ok, `${JSON.stringify(name)}: ${proof.ok ? '' : proof.reason}`);
    for (const n of nsecs) {
      // An NSEC owned by a real name must list that name's real types.
      if (!z.exists(n.owner) && n.owner !== ORIGIN) continue;
      const types = [...(z.node(n.owner)?.keys() ?? [])];
      for (const t of types) assert.ok(provesNodata(n.owner, t, [n], ORIGIN).ok === false, `the NSEC at ${n.owner} keeps type ${t}`);
    }
  }
});

test('NODATA at names, empty non-terminals and the apex; positive answers signed; no DO means nothing added', () => {
  const { ask, signer } = setup();
  const dnskeys = signer.dnskeySet(ORIGIN).rdata;
  for (const [name, type] of [
    ['a.lies.test', TYPE.TXT],
    ['c.lies.test', TYPE.A],
    [ORIGIN, TYPE.A],
    ['a.lies.test', TYPE.DS],
  ] as const) {
    const r = ask(name, type);
    assert.equal(r.rcode, RCODE.NOERROR);
    assert.equal(r.answer.length, 0);
    const proof = provesNodata(name, type, checkSigs(r.authority, dnskeys), ORIGIN);
    assert.ok(proof.ok, `${name}/${type}: ${proof.ok ? '' : proof.reason}`);
  }
  const keys = ask(ORIGIN, TYPE.DNSKEY);
  checkSigs(keys.answer, dnskeys);
  assert.equal(keys.answer[0]!.rdata.length, 2, 'KSK and ZSK');
  checkSigs(ask('a.lies.test', TYPE.A).answer, dnskeys);
});

test('the keyring: keys made once, pre-publication ZSK rollover by time, old key removed by maintain()', () => {
  let t = 1_000_000_000_000;
  const { keyring, journal, ask, signer } = setup(() => t);
  const first = keyring.signers(ORIGIN);
  assert.equal(journal.rows.length, 2);
  const sigTag = () => ask('a.lies.test', TYPE.A).answer[1]!.rdata[0]!.readUInt16BE(16);
  assert.equal(sigTag(), first.zsk.keyTag);
  const fresh = keyring.rollZsk(ORIGIN);
  assert.throws(() => keyring.rollZsk(ORIGIN), /under way/);
  assert.equal(signer.dnskeySet(ORIGIN).rdata.length, 3, 'the new ZSK is published at once');
  assert.equal(sigTag(), first.zsk.keyTag, 'the old ZSK still signs');
  t += 60_000 + 1000;
  assert.equal(sigTag(), fresh.keyTag, 'after dnskey_ttl + propagation the new one signs');
  assert.equal(signer.dnskeySet(ORIGIN).rdata.length, 3, 'the old one stays published');
  t += 3_600_000 + 1000;
  keyring.maintain([ORIGIN]);
  assert.equal(signer.dnskeySet(ORIGIN).rdata.length, 2, 'and leaves after the longest TTL + propagation');
  assert.equal(journal.rows.length, 2);
  // A restart reads the same keys back.
  const again = new Keyring(journal, { algorithm: ALGORITHM.ECDSAP256SHA256, dnskeyTtl: 60, propagationDelayMs: 1000, zskLifetimeMs: 0, maxTtl: () => 3600, now: () => t });
  assert.equal(again.signers(ORIGIN).zsk.keyTag, fresh.keyTag);
  assert.equal(journal.rows.length, 2);
});

test('a CNAME into a delegation ends in a referral: the child NS unsigned, the parent NSEC proving no DS; one wildcard signature for every name', () => {
  const { ask, signer } = setup();
  const dnskeys = signer.dnskeySet(ORIGIN).rdata;
  const r = ask('tochild.lies.test', TYPE.A);
  checkSigs(r.answer, dnskeys);
  const ns = r.authority.findIndex((s) => s.type === TYPE.NS);
  assert.ok(ns >= 0 && r.authority[ns]!.name === 'child.lies.test');
  assert.ok(!r.authority.some((s) => s.type === TYPE.RRSIG && s.name === 'child.lies.test' && s.rdata.some((x) => x.readUInt16BE(0) === TYPE.NS)), 'no RRSIG over the child NS');
  const nsec = r.authority.filter((s) => s.type === TYPE.NSEC);
  assert.deepEqual(
    nsec.map((s) => s.name),
    ['child.lies.test'],
    'only the NSEC at the cut, no denial of the target',
  );
  assert.ok(!r.additional.some((s) => s.type === TYPE.RRSIG && s.name === 'ns.child.lies.test'), 'glue unsigned');
  const before = signer.stats.signatures;
  ask('one.w.lies.test', TYPE.A);
  const first = signer.stats.signatures - before;
  ask('two.w.lies.test', TYPE.A);
  assert.equal(signer.stats.signatures - before - first, 1, 'a second name under the wildcard costs only its own NSEC');
  const w = ask('two.w.lies.test', TYPE.A);
  checkSigs(w.answer, dnskeys);
  assert.equal(w.answer[1]!.name, 'two.w.lies.test');
});

test('signature cache: one entry per RRset, a new version replaces the old one; a repeat of the same content is a hit', () => {
  const { signer } = setup();
  signer.dnskeySet(ORIGIN);
  const before = signer.cachedSignatures;
  for (let v = 0; v < 50; v++) {
    const set = makeRRset('svc.lies.test', TYPE.A, 30, Array.from({ length: 1 + (v % 5) }, (_, i) => `192.0.2.${v + i}`));
    signer.signatures(set, ORIGIN);
  }
  assert.equal(signer.cachedSignatures, before + 1, '50 versions of one RRset hold one entry');
  const made = signer.stats.signatures;
  const last = makeRRset('svc.lies.test', TYPE.A, 30, Array.from({ length: 5 }, (_, i) => `192.0.2.${49 + i}`));
  const again = signer.signatures(last, ORIGIN);
  assert.equal(signer.stats.signatures, made, 'the current version is not signed again');
  assert.ok(verifyRRset(last, again.sigs.rdata[0]!, signer.dnskeySet(ORIGIN).rdata, ORIGIN, Math.floor(Date.now() / 1000)) === 'ok');
  signer.signatures(makeRRset('svc.lies.test', TYPE.A, 60, ['192.0.2.1']), ORIGIN);
  assert.equal(signer.stats.signatures, made + 1, 'another TTL is another version');
  signer.signatures(makeRRset('other.lies.test', TYPE.A, 30, ['192.0.2.1']), ORIGIN);
  assert.equal(signer.cachedSignatures, before + 2, 'another owner is another entry');
});

test('signature cache: a signature not asked for within idleMs is dropped at the next sweep; one in use stays', () => {
  let t = Date.now();
  const { signer } = setup(() => t);
  assert.equal(signer.cachedSignatures, 0);
  const kept = makeRRset('kept.lies.test', TYPE.A, 30, ['192.0.2.1']);
  signer.signatures(kept, ORIGIN, t);
  for (let i = 0; i < 20; i++) signer.signatures(makeRRset(`gone${i}.lies.test`, TYPE.A, 30, ['192.0.2.2']), ORIGIN, t);
  assert.equal(signer.cachedSignatures, 21);
  // Six minutes on, the kept RRset was asked for a minute ago (through the same object, the fast path); the others not.
  t += 5 * 60_000;
  signer.signatures(kept, ORIGIN, t);
  t += 60_000;
  signer.signatures(makeRRset('new.lies.test', TYPE.A, 30, ['192.0.2.3']), ORIGIN, t);
  assert.equal(signer.cachedSignatures, 2, 'only the RRsets in use are left: kept and new');
  const made = signer.stats.signatures;
  signer.signatures(makeRRset('kept.lies.test', TYPE.A, 30, ['192.0.2.1']), ORIGIN, t);
  assert.equal(signer.stats.signatures, made, 'the one in use was not signed again');
});
