import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerFromZone } from '../authority';
import { RCODE, TYPE } from '../constants';
import { ALGORITHM, dsRdata } from '../dnssec/keys';
import { Keyring, type KeyJournal, type StoredKey } from '../dnssec/keyring';
import { ZoneSigner } from '../dnssec/signer';
import { makeRRset, type RRset } from '../rrset';
import { Zone, type ZoneSource } from '../zone';
import type { Resolution } from './resolver';
import { Validator } from './validator';

/*
 * The validator against a zone signed by our signer, served through a fake
 * fetch that hands it exactly what a resolver would have cached (RRSIGs on the
 * sets, proofs on the SOA), and against hostile variations of that data: an
 * RRSIG naming a signer that is not the owner's zone (a downgrade to
 * "insecure"), a DS signed by the child itself (a lookup that would wait on
 * itself), replaced data under an old verdict, and a literal wildcard name.
 */

const ORIGIN = 'sec.test';

class Journal implements KeyJournal {
  rows: StoredKey[] = [];
  load = () => [...this.rows];
  insert = (k: StoredKey) => void this.rows.push(k);
  schedule(): void {}
  remove(): void {}
}

function setup() {
  const zone = Zone.build(ORIGIN, [
    makeRRset(ORIGIN, TYPE.SOA, 3600, [{ mname: 'ns.sec.test', rname: 'h.sec.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 300 }]),
    makeRRset(ORIGIN, TYPE.NS, 3600, ['ns.sec.test']),
    makeRRset('ns.sec.test', TYPE.A, 300, ['192.0.2.53']),
    makeRRset('www.sec.test', TYPE.A, 300, ['192.0.2.1']),
    makeRRset('*.wild.sec.test', TYPE.A, 300, ['192.0.2.7']),
    makeRRset('child.sec.test', TYPE.NS, 300, ['ns.child.sec.test']),
    makeRRset('ns.child.sec.test', TYPE.A, 300, ['192.0.2.54']),
  ]);
  const keyring = new Keyring(new Journal(), { algorithm: ALGORITHM.ECDSAP256SHA256, dnskeyTtl: 300, propagationDelayMs: 0, zskLifetimeMs: 0, maxTtl: () => 3600 });
  const signer = new ZoneSigner(keyring, { validityMs: 86_400_000, refreshMs: 3_600_000, dnskeyTtl: 300 });
  const z = signer.view(zone);
  const local: ZoneSource = { zoneFor: (n) => (n === ORIGIN || n.endsWith(`.${ORIGIN}`) ? z : undefined) };
  const ksk = keyring.published(ORIGIN).find((k) => k.role === 'ksk')!;
  const anchor = { owner: ORIGIN, type: TYPE.DS, rdata: dsRdata(ORIGIN, ksk.key), keyTag: ksk.keyTag, algorithm: ksk.algorithm } as const;
  /** What the resolver would hold for (name, type): sets with their RRSIGs, a negative answer's SOA with its NSECs. */
  const resolve = (name: string, type: number): Resolution => {
    const r = signer.signResponse(local, z, name, type, answerFromZone(local, z, name, type)).response;
    const attach = (sets: readonly RRset[]): RRset[] => {
      const out: RRset[] = [];
      for (let i = 0; i < sets.length; i++) {
        const s = sets[i]!;
        if (s.type === TYPE.RRSIG) continue;
        const next = sets[i + 1];
        out.push(next?.type === TYPE.RRSIG ? { ...s, sigs: next.rdata } : s);
      }
      return out;
    };
    const answer = attach(r.answer);
    const authority = attach(r.authority);
    const denial = authority.filter((s) => s.type === TYPE.NSEC);
    const soa = authority.find((s) => s.type === TYPE.SOA);
    return {
      rcode: r.rcode,
      answer: denial.length > 0 ? answer.map((s) => ({ ...s, denial })) : answer,
      authority: soa === undefined ? [] : [{ ...soa, denial }],
    };
  };
  let fetches = 0;
  const overrides = new Map<string, Resolution>();
  const validator = new Validator([anchor], async (name, type) => {
    fetches++;
    return overrides.get(`${type}/${name}`) ?? resolve(name, type);
  });
  return { resolve, validator, overrides, fetches: () => fetches };
}

test('secure answers, NXDOMAIN, NODATA, wildcard and a literal wildcard name; an insecure delegation', async () => {
  const { resolve, validator } = setup();
  for (const [name, type] of [
    ['www.sec.test', TYPE.A],
    ['nope.sec.test', TYPE.A],
    ['www.sec.test', TYPE.TXT],
    ['x.wild.sec.test', TYPE.A],
    ['*.wild.sec.test', TYPE.A],
  ] as const) {
    const v = await validator.validate(name, type, resolve(name, type));
    assert.equal(v.security, 'secure', `${name}/${type}: ${v.reason}`);
  }
  // Unsigned data below child.sec.test, which has no DS: insecure, not bogus.
  const below: Resolution = { rcode: RCODE.NOERROR, answer: [makeRRset('www.child.sec.test', TYPE.A, 60, ['192.0.2.99'])], authority: [] };
  const v = await validator.validate('www.child.sec.test', TYPE.A, below);
  assert.equal(v.security, 'insecure', v.reason);
});

test('a forged answer signed in the name of another zone is bogus, not insecure', async () => {
  const { resolve, validator } = setup();
  const good = resolve('www.sec.test', TYPE.A);
  const real = good.answer[0]!;
  // An RRSIG like the real one, but naming "other.test" as its signer (an unsigned zone: its keys would be "insecure").
  const sig = real.sigs![0]!;
  const signerAt = 18;
  const forgedSig = Buffer.concat([sig.subarray(0, signerAt), Buffer.from('\x05other\x04test\x00', 'latin1'), Buffer.alloc(64, 1)]);
  const forged: Resolution = { ...good, answer: [{ ...makeRRset('www.sec.test', TYPE.A, 300, ['203.0.113.66']), sigs: [forgedSig] }] };
  const v = await validator.validate('www.sec.test', TYPE.A, forged);
  assert.equal(v.security, 'bogus', v.reason);
  // The genuine answer still validates.
  assert.equal((await validator.validate('www.sec.test', TYPE.A, good)).security, 'secure');
});

test('a DS signed by the child itself does not make a lookup wait on itself', async () => {
  const { validator, overrides } = setup();
  const ds = makeRRset('child.sec.test', TYPE.DS, 300, [{ keyTag: 1, algorithm: 13, digestType: 2, digest: Buffer.alloc(32, 7) }]);
  const selfSig = Buffer.concat([Buffer.from([0, TYPE.DS, 13, 3, 0, 0, 1, 44, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]), Buffer.from('\x05child\x03sec\x04test\x00', 'latin1'), Buffer.alloc(64, 2)]);
  overrides.set(`${TYPE.DS}/child.sec.test`, { rcode: RCODE.NOERROR, answer: [{ ...ds, sigs: [selfSig] }], authority: [] });
  const signed: Resolution = {
    rcode: RCODE.NOERROR,
    answer: [{ ...makeRRset('www.child.sec.test', TYPE.A, 60, ['192.0.2.99']), sigs: [Buffer.concat([Buffer.from([0, 1, 13, 4, 0, 0, 0, 60, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]), Buffer.from('\x05child\x03sec\x04test\x00', 'latin1'), Buffer.alloc(64, 3)])] }],
    authority: [],
  };
  const v = await Promise.race([validator.validate('www.child.sec.test', TYPE.A, signed), new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000).unref())]);
  assert.notEqual(v, 'hung', 'the validation finished');
  assert.equal((v as { security: string }).security, 'bogus');
});

test('a verdict holds only for the records it judged', async () => {
  const { resolve, validator } = setup();
  const r = resolve('www.sec.test', TYPE.A);
  await validator.validate('www.sec.test', TYPE.A, r);
  assert.equal(validator.verdictFor('www.sec.test', TYPE.A, { ...r, answer: r.answer.map((s) => ({ ...s, ttl: 10 })) })?.security, 'secure', 'a copy of the same records (the cache ages TTLs) keeps it');
  const replaced = { ...r, answer: [{ ...makeRRset('www.sec.test', TYPE.A, 300, ['203.0.113.1']), sigs: r.answer[0]!.sigs }] };
  assert.equal(validator.verdictFor('www.sec.test', TYPE.A, replaced), undefined, 'replaced records have no verdict');
});
