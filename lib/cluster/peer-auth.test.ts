import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { PEER_HEADERS, PeerVerifier, checkClusterSecret, signRequest, type SignInput, type VerifyResult } from './peer-auth';

const SECRET = 'k3y-for-tests-0123456789abcdefghijklmnop';
const T0 = 1_700_000_000_000;
const SKEW = 30_000;
const base: SignInput = { cluster: 'lab', node: 'node-1', secret: SECRET, method: 'POST', path: '/v1/peer/sync?since=42', body: '{"a":1}', now: T0 };

/** Clock is a settable fake clock for the verifier. */
function clock(start = T0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

function verifier(opts: Partial<ConstructorParameters<typeof PeerVerifier>[0]> = {}, c = clock()): PeerVerifier {
  return new PeerVerifier({ cluster: 'lab', secret: SECRET, now: c.now, ...opts });
}

const OK = (node = 'node-1'): VerifyResult => ({ ok: true, node });
const FAIL = (reason: Extract<VerifyResult, { ok: false }>['reason']): VerifyResult => ({ ok: false, reason });

function request(headers: Record<string, string | string[] | undefined>, over: Partial<{ method: string; path: string; body: Buffer | Uint8Array | string }> = {}) {
  return { method: 'POST', path: base.path, body: base.body, headers, ...over };
}

describe('signRequest', () => {
  it('sends the five headers with a random 32-hex nonce by default', () => {
    const h = signRequest(base);
    assert.deepEqual(Object.keys(h).sort(), Object.values(PEER_HEADERS).sort());
    assert.equal(h[PEER_HEADERS.time], String(T0));
    assert.match(h[PEER_HEADERS.nonce] ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(signRequest(base)[PEER_HEADERS.nonce], h[PEER_HEADERS.nonce]);
  });

  it('signs the documented MAC input', () => {
    const nonce = '0123456789abcdef';
    const text = ['nekoq-peer-v1', 'lab', 'node-1', 'POST', '/v1/peer/sync?since=42', String(T0), nonce, createHash('sha256').update('{"a":1}').digest('hex')].join('\n');
    const want = createHmac('sha256', SECRET).update(text).digest('hex');
    assert.equal(signRequest({ ...base, method: 'post', nonce })[PEER_HEADERS.signature], want);
  });

  it('hashes an absent body as the empty string', () => {
    const nonce = '0123456789abcdef';
    assert.equal(signRequest({ ...base, body: undefined, nonce })[PEER_HEADERS.signature], signRequest({ ...base, body: '', nonce })[PEER_HEADERS.signature]);
  });

  const refused: [string, Partial<SignInput>][] = [
    ['node not a dns label', { node: 'Node_1' }],
    ['node starting with -', { node: '-n' }],
    ['nonce too short', { nonce: 'abc' }],
    ['nonce upper-case', { nonce: '0123456789ABCDEF' }],
    ['method with a line break', { method: 'GET\n/x' }],
    ['path with a line break', { path: '/a\nb' }],
    ['empty path', { path: '' }],
    ['empty cluster', { cluster: '' }],
    ['empty secret', { secret: '' }],
    ['fractional time', { now: 1.5 }],
    ['negative time', { now: -1 }],
  ];
  for (const [what, over] of refused) it(`refuses ${what}`, () => assert.throws(() => signRequest({ ...base, ...over }), /^Error: signing peer request: /));
});

describe('PeerVerifier.verify', () => {
  it('accepts a signed request and returns its node', () => {
    assert.deepEqual(verifier().verify(request(signRequest(base))), OK());
  });

  it('accepts any body type with the same bytes, any method case, single-element header arrays', () => {
    const h = signRequest({ ...base, method: 'put', body: 'héllo' });
    const v = verifier();
    assert.deepEqual(v.verify(request(h, { method: 'PUT', body: Buffer.from('héllo') })), OK());
    const h2 = signRequest({ ...base, body: new Uint8Array([1, 2, 3]) });
    assert.deepEqual(v.verify(request(Object.fromEntries(Object.entries(h2).map(([k, x]) => [k, [x]])), { body: Buffer.from([1, 2, 3]) })), OK());
    const h3 = signRequest({ ...base, body: undefined });
    assert.deepEqual(v.verify(request(h3, { body: Buffer.alloc(0) })), OK());
  });

  it('accepts times at both edges of the window', () => {
    const v = verifier();
    assert.deepEqual(v.verify(request(signRequest({ ...base, now: T0 - SKEW }))), OK());
    assert.deepEqual(v.verify(request(signRequest({ ...base, now: T0 + SKEW }))), OK());
  });

  const failures: [string, () => VerifyResult, VerifyResult][] = [
    ['no secret', () => verifier({ secret: undefined }).verify(request(signRequest(base))), FAIL('not_configured')],
    ['empty secret', () => verifier({ secret: '' }).verify(request(signRequest(base))), FAIL('not_configured')],
    ['wrong secret', () => verifier().verify(request(signRequest({ ...base, secret: `${SECRET}x` }))), FAIL('bad_signature')],
    ['wrong cluster', () => verifier({ cluster: 'prod' }).verify(request(signRequest(base))), FAIL('wrong_cluster')],
    ['tampered method', () => verifier().verify(request(signRequest(base), { method: 'PUT' })), FAIL('bad_signature')],
    ['tampered path', () => verifier().verify(request(signRequest(base), { path: '/v1/peer/drop?since=42' })), FAIL('bad_signature')],
    ['tampered query', () => verifier().verify(request(signRequest(base), { path: '/v1/peer/sync?since=0' })), FAIL('bad_signature')],
    ['dropped query', () => verifier().verify(request(signRequest(base), { path: '/v1/peer/sync' })), FAIL('bad_signature')],
    ['tampered body', () => verifier().verify(request(signRequest(base), { body: '{"a":2}' })), FAIL('bad_signature')],
    ['dropped body', () => verifier().verify(request(signRequest(base), { body: undefined })), FAIL('bad_signature')],
    ['tampered node', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.node]: 'node-2' })), FAIL('bad_signature')],
    ['tampered nonce', () => verifier().verify(request({ ...signRequest({ ...base, nonce: '0123456789abcdef' }), [PEER_HEADERS.nonce]: '0123456789abcdee' })), FAIL('bad_signature')],
    ['tampered time', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.time]: String(T0 + 1) })), FAIL('bad_signature')],
    ['upper-case signature', () => {
      const h = signRequest(base);
      return verifier().verify(request({ ...h, [PEER_HEADERS.signature]: h[PEER_HEADERS.signature]?.toUpperCase() }));
    }, FAIL('bad_signature')],
    ['short signature', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.signature]: 'ab' })), FAIL('bad_signature')],
    ['time too old', () => verifier().verify(request(signRequest({ ...base, now: T0 - SKEW - 1 }))), FAIL('skew')],
    ['time too new', () => verifier().verify(request(signRequest({ ...base, now: T0 + SKEW + 1 }))), FAIL('skew')],
    ['skew before signature', () => verifier().verify(request(signRequest({ ...base, now: T0 - SKEW - 1, secret: 'other' }))), FAIL('skew')],
    ['wrong cluster before time', () => verifier({ cluster: 'prod' }).verify(request({ ...signRequest(base), [PEER_HEADERS.time]: 'x' })), FAIL('wrong_cluster')],
    ['node not a dns label', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.node]: 'Node-1' })), FAIL('missing_headers')],
    ['node ending with -', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.node]: 'node-' })), FAIL('missing_headers')],
    ['node of 64 characters', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.node]: 'n'.repeat(64) })), FAIL('missing_headers')],
    ['nonce of 15 hex', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.nonce]: 'a'.repeat(15) })), FAIL('missing_headers')],
    ['nonce of 65 hex', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.nonce]: 'a'.repeat(65) })), FAIL('missing_headers')],
    ['nonce not hex', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.nonce]: 'g'.repeat(16) })), FAIL('missing_headers')],
    ['repeated header', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.node]: ['node-1', 'node-2'] })), FAIL('missing_headers')],
    ['empty header', () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.signature]: '' })), FAIL('missing_headers')],
    ['no headers at all', () => verifier().verify(request({})), FAIL('missing_headers')],
    ['no secret before missing headers', () => verifier({ secret: undefined }).verify(request({})), FAIL('not_configured')],
  ];
  for (const name of Object.values(PEER_HEADERS)) {
    failures.push([`missing ${name}`, () => verifier().verify(request({ ...signRequest(base), [name]: undefined })), FAIL('missing_headers')]);
  }
  for (const time of ['1.5', 'abc', '-1', '1e12', '0x10', `0${T0}`, ' 1', '99999999999999999']) {
    failures.push([`time ${JSON.stringify(time)}`, () => verifier().verify(request({ ...signRequest(base), [PEER_HEADERS.time]: time })), FAIL('bad_time')]);
  }
  for (const [what, run, want] of failures) it(`refuses ${what}`, () => assert.deepEqual(run(), want));

  it('refuses the same headers twice as a replay', () => {
    const v = verifier();
    const h = signRequest(base);
    assert.deepEqual(v.verify(request(h)), OK());
    assert.deepEqual(v.verify(request(h)), FAIL('replay'));
  });

  it('refuses a reused nonce on a fresh request within its life', () => {
    const c = clock();
    const v = verifier({}, c);
    const nonce = 'aa'.repeat(16);
    assert.deepEqual(v.verify(request(signRequest({ ...base, nonce }))), OK());
    c.set(T0 + SKEW);
    assert.deepEqual(v.verify(request(signRequest({ ...base, nonce, now: T0 + SKEW }))), FAIL('replay'));
  });

  it('remembers a nonce only after the signature verified', () => {
    const v = verifier();
    const nonce = 'bb'.repeat(16);
    assert.deepEqual(v.verify(request(signRequest({ ...base, nonce, secret: 'forged' }))), FAIL('bad_signature'));
    assert.deepEqual(v.verify(request(signRequest({ ...base, nonce }))), OK());
  });

  it('forgets a nonce once its request time has left the window', () => {
    const c = clock();
    const v = verifier({}, c);
    const nonce = 'cc'.repeat(16);
    const h = signRequest({ ...base, nonce });
    assert.deepEqual(v.verify(request(h)), OK());
    c.set(T0 + SKEW + 1);
    assert.deepEqual(v.verify(request(h)), FAIL('skew'), 'the old request itself is stopped by the window');
    assert.deepEqual(v.verify(request(signRequest({ ...base, nonce, now: T0 + SKEW + 1 }))), OK());
  });

  it('refuses rather than grows when the cache is full of live nonces', () => {
    const c = clock();
    const v = verifier({ maxNonces: 2 }, c);
    assert.deepEqual(v.verify(request(signRequest(base))), OK());
    assert.deepEqual(v.verify(request(signRequest(base))), OK());
    assert.deepEqual(v.verify(request(signRequest(base))), FAIL('replay'));
    c.set(T0 + SKEW + 1);
    const fresh = { ...base, now: T0 + SKEW + 1 };
    assert.deepEqual(v.verify(request(signRequest(fresh))), OK(), 'expired entries make room');
    assert.deepEqual(v.verify(request(signRequest(fresh))), OK());
    assert.deepEqual(v.verify(request(signRequest(fresh))), FAIL('replay'));
  });

  it('sweeps expired nonces hidden behind a live one dated ahead', () => {
    const c = clock();
    const v = verifier({ maxNonces: 2 }, c);
    assert.deepEqual(v.verify(request(signRequest({ ...base, now: T0 + SKEW }))), OK(), 'lives until T0 + 2*SKEW');
    assert.deepEqual(v.verify(request(signRequest(base))), OK(), 'lives until T0 + SKEW');
    c.set(T0 + SKEW + 1);
    assert.deepEqual(v.verify(request(signRequest({ ...base, now: T0 + SKEW + 1 }))), OK());
    assert.deepEqual(v.verify(request(signRequest({ ...base, now: T0 + SKEW + 1 }))), FAIL('replay'));
  });

  const badOptions: [string, Partial<ConstructorParameters<typeof PeerVerifier>[0]>][] = [
    ['empty cluster', { cluster: '' }],
    ['negative skew', { skewMs: -1 }],
    ['fractional skew', { skewMs: 0.5 }],
    ['zero maxNonces', { maxNonces: 0 }],
  ];
  for (const [what, opts] of badOptions) it(`constructor refuses ${what}`, () => assert.throws(() => verifier(opts), /^Error: peer verifier: /));
});

describe('checkClusterSecret', () => {
  const table: [string, string, RegExp | undefined][] = [
    ['empty', '', /0 characters; at least 32/],
    ['31 characters', 'abcdefghijklmnopqrstuvwxyz01234', /31 characters; at least 32/],
    ['31 code points in more UTF-16 units', '😀'.repeat(24) + 'abcdefg', /31 characters/],
    ['one character repeated', 'a'.repeat(64), /1 distinct characters; at least 8/],
    ['7 distinct characters', 'abcdefg'.repeat(5), /7 distinct/],
    ['32 characters, 8 distinct', 'abcdefgh'.repeat(4), undefined],
    ['base64url of 32 random bytes', 'q8Zx0Hn2vL4rT7yWc1FbKs9eJmDgPaUo3i6N5hRkYtE', undefined],
  ];
  for (const [what, secret, want] of table) {
    it(`${want === undefined ? 'accepts' : 'refuses'} ${what}`, () => {
      const got = checkClusterSecret(secret);
      if (want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '', want);
    });
  }
});
