import { createHash, createPublicKey, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { TYPE } from '../constants';
import { nameToWire, readName } from '../message';
import type { RRset } from '../rrset';
import { keyTag } from './keys';
import { canonicalRRset, labelCount } from './sign';

/*
 * DNSSEC validation primitives (RFC 4033-4035, RFC 5155, RFC 6840): pure
 * functions, no network and no resolver state. The resolver builds the chain of
 * trust with them; every name is in the internal form (lower case, no trailing
 * dot, the root ""), every record is its wire RDATA.
 *
 * Records
 *   parseRrsig(rdata)            → Rrsig (fields, signer, signature, signedHead); throws when malformed
 *   parseDnskey(rdata)           → Dnskey (flags, protocol, algorithm, publicKey, keyTag); throws when malformed
 *   parseDs(rdata)               → Ds (keyTag, algorithm, digestType, digest); throws when malformed
 *   parseNsec(rdata)             → {next, types}; throws when malformed
 *   nsecTypes(rdata)             → Set of the types in an NSEC's bitmap
 *   parseNsec3(rdata)            → Nsec3 (hash algorithm, flags, optOut, iterations, salt, nextHashed, types); throws when malformed
 *
 * Keys and signatures
 *   supportedAlgorithm(alg)      → whether signatures of DNSSEC algorithm `alg` can be checked (5, 7, 8, 10, 13, 14, 15, 16)
 *   supportedDigest(type)        → whether DS digest type `type` can be checked (1, 2, 4)
 *   dsMatchesKey(owner, ds, dnskey) → the DS RDATA is a digest of this DNSKEY RDATA owned by `owner`
 *   verifyRRset(set, rrsig, dnskeys, zone, now) → 'ok' or why not (VerifyResult)
 *   wildcardOwner(name, labels)  → the wildcard an RRset owned by `name` was expanded from, given its RRSIG's labels; undefined if none
 *
 * Denial of existence: each proof returns a Proof, {ok: true, ...} or
 * {ok: false, insecure, reason}; `insecure` means the answer cannot be proven
 * but is not bogus either (NSEC3 opt-out, too many NSEC3 iterations), so the
 * resolver answers it without AD instead of SERVFAIL. NSEC and NSEC3 records are
 * given as {owner, rdata} (DenialRecord), their signatures already verified.
 *   nsecCovers(owner, next, name)                    → the NSEC owner→next covers `name` (canonical order, wrap at the apex)
 *   provesNxdomain(qname, nsecs, zone)               → name error (RFC 4035 §5.4): qname covered, no wildcard at the closest encloser
 *   provesNodata(qname, qtype, nsecs, zone)          → no data: at qname, at an empty non-terminal, or at the wildcard
 *   provesWildcardAnswer(qname, labels, nsecs, zone) → an answer expanded from a wildcard: qname itself does not exist
 *   provesNoDs(name, nsecs)                          → an insecure delegation: NSEC at `name` with NS, without DS and SOA
 *   nsec3Hash(name, salt, iterations)                → the NSEC3 hashed owner label (base32hex, RFC 5155 §5)
 *   nsec3ProvesNxdomain(qname, nsec3s, zone)         → RFC 5155 §8.4
 *   nsec3ProvesNodata(qname, qtype, nsec3s, zone)    → RFC 5155 §8.5-8.7
 *   nsec3ProvesWildcardAnswer(qname, labels, nsec3s, zone) → RFC 5155 §8.8
 *   nsec3ProvesNoDs(name, nsec3s, zone)              → RFC 5155 §8.6 (matching NSEC3, or opt-out)
 *
 * Constants: DNSKEY_ZONE_FLAG (0x0100), NSEC3_MAX_ITERATIONS (150). Types: Rrsig,
 * Dnskey, Ds, Nsec3, VerifyResult, DenialRecord, Proof. Names compare in the
 * canonical order of RFC 4034 §6.1 on octets; only ASCII letters are folded.
 */

/** DNSKEY flag bit 7, ZONE: the key may verify zone data (RFC 4034 §2.1.1). */
export const DNSKEY_ZONE_FLAG = 0x0100;

/** NSEC3 iteration counts above this make a denial insecure rather than bogus (RFC 9276 §3.2). */
export const NSEC3_MAX_ITERATIONS = 150;

// ---------------------------------------------------------------------------
// Names

/** labelsOf gives the labels of an internal-form name, leftmost first; the root has none. */
function labelsOf(name: string): string[] {
  return name === '' ? [] : name.split('.');
}

/** isAtOrBelow says whether `name` is `ancestor` or a name below it (internal form, so a plain suffix test on labels). */
function isAtOrBelow(name: string, ancestor: string): boolean {
  return ancestor === '' || name === ancestor || name.endsWith(`.${ancestor}`);
}

/** isBelow says whether `name` is strictly below `ancestor`. */
function isBelow(name: string, ancestor: string): boolean {
  return name !== ancestor && isAtOrBelow(name, ancestor);
}

/** parentOf drops the leftmost label; the root's parent is the root. */
function parentOf(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

/** rightmost keeps the rightmost `n` labels of `name`. */
function rightmost(name: string, n: number): string {
  const labels = labelsOf(name);
  return labels.slice(labels.length - n).join('.');
}

/** commonAncestor is the longest name both `a` and `b` are at or below. */
function commonAncestor(a: string, b: string): string {
  const la = labelsOf(a);
  const lb = labelsOf(b);
  let n = 0;
  while (n < la.length && n < lb.length && la[la.length - 1 - n] === lb[lb.length - 1 - n]) n++;
  return la.slice(la.length - n).join('.');
}

/** wildcardOf is the wildcard name directly below `name` ("*.name"). */
function wildcardOf(name: string): string {
  return name === '' ? '*' : `*.${name}`;
}

/** labelByte is the octet a character of an internal-form label stands for, ASCII letters lowered (RFC 4034 §6.1). */
function labelByte(label: string, i: number): number {
  const c = label.charCodeAt(i);
  if (c === 0x2024) return 0x2e;
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * compareCanonical orders names canonically (RFC 4034 §6.1): label by label from
 * the right, each as unsigned octets with only ASCII letters folded, a missing
 * octet (a shorter label, a parent name) first. Unlike nsec.ts's compareNames it
 * never folds latin1 letters above 0x7f, which are distinct octets in DNS.
 */
function compareCanonical(a: string, b: string): number {
  const la = labelsOf(a);
  const lb = labelsOf(b);
  for (let i = 1; i <= la.length && i <= lb.length; i++) {
    const x = la[la.length - i]!;
    const y = lb[lb.length - i]!;
    for (let j = 0; j < x.length && j < y.length; j++) {
      const d = labelByte(x, j) - labelByte(y, j);
      if (d !== 0) return d;
    }
    if (x.length !== y.length) return x.length - y.length;
  }
  return la.length - lb.length;
}

/** canonicalWire is a name's uncompressed wire form with ASCII letters lowered (RFC 4034 §6.2). */
function canonicalWire(name: string): Buffer {
  const wire = Buffer.from(nameToWire(name));
  // Length octets are at most 63, below 'A' (0x41): only label octets change.
  for (let i = 0; i < wire.length; i++) if (wire[i]! >= 0x41 && wire[i]! <= 0x5a) wire[i] = wire[i]! | 0x20;
  return wire;
}

/** readPlainName reads an uncompressed name at `start` of `rdata` (RFC 4034 §3.1.7, §4.1.1: no compression in RRSIG or NSEC). */
function readPlainName(rdata: Buffer, start: number): { name: string; end: number } {
  const n = readName(rdata, start);
  if (n.end !== start + n.wire.length) throw new Error('compressed name in DNSSEC RDATA');
  return { name: n.name, end: n.end };
}

// ---------------------------------------------------------------------------
// RRSIG, DNSKEY, DS

/** The fields of an RRSIG RDATA (RFC 4034 §3.1). */
export interface Rrsig {
  readonly typeCovered: number;
  readonly algorithm: number;
  readonly labels: number;
  readonly originalTtl: number;
  readonly expiration: number;
  readonly inception: number;
  readonly keyTag: number;
  /** The signer's name, internal form. */
  readonly signer: string;
  readonly signature: Buffer;
  /** The RDATA without the signature, the signer's name in canonical form: the start of the signed data (RFC 4034 §3.1.8.1). */
  readonly signedHead: Buffer;
}

/** parseRrsig reads an RRSIG RDATA (RFC 4034 §3.1); throws when it is truncated, compresses the signer or has no signature. */
export function parseRrsig(rdata: Buffer): Rrsig {
  if (rdata.length < 19) throw new Error('RRSIG RDATA too short');
  const signer = readPlainName(rdata, 18);
  const signature = rdata.subarray(signer.end);
  if (signature.length === 0) throw new Error('RRSIG without a signature');
  return {
    typeCovered: rdata.readUInt16BE(0),
    algorithm: rdata[2]!,
    labels: rdata[3]!,
    originalTtl: rdata.readUInt32BE(4),
    expiration: rdata.readUInt32BE(8),
    inception: rdata.readUInt32BE(12),
    keyTag: rdata.readUInt16BE(16),
    signer: signer.name,
    signature,
    signedHead: Buffer.concat([rdata.subarray(0, 18), canonicalWire(signer.name)]),
  };
}

/** The fields of a DNSKEY RDATA (RFC 4034 §2.1) and its key tag (Appendix B). */
export interface Dnskey {
  readonly flags: number;
  readonly protocol: number;
  readonly algorithm: number;
  readonly publicKey: Buffer;
  readonly keyTag: number;
}

/** parseDnskey reads a DNSKEY RDATA (RFC 4034 §2.1); throws when it has no public key. */
export function parseDnskey(rdata: Buffer): Dnskey {
  if (rdata.length < 5) throw new Error('DNSKEY RDATA too short');
  return { flags: rdata.readUInt16BE(0), protocol: rdata[2]!, algorithm: rdata[3]!, publicKey: rdata.subarray(4), keyTag: keyTag(rdata) };
}

/** The fields of a DS RDATA (RFC 4034 §5.1). */
export interface Ds {
  readonly keyTag: number;
  readonly algorithm: number;
  readonly digestType: number;
  readonly digest: Buffer;
}

/** parseDs reads a DS RDATA (RFC 4034 §5.1); throws when it has no digest. */
export function parseDs(rdata: Buffer): Ds {
  if (rdata.length < 5) throw new Error('DS RDATA too short');
  return { keyTag: rdata.readUInt16BE(0), algorithm: rdata[2]!, digestType: rdata[3]!, digest: rdata.subarray(4) };
}

/** DS digest types: SHA-1 (RFC 4034 §5.1.4), SHA-256 (RFC 4509), SHA-384 (RFC 6605 §2). */
const DIGESTS = new Map<number, { readonly hash: string; readonly length: number }>([
  [1, { hash: 'sha1', length: 20 }],
  [2, { hash: 'sha256', length: 32 }],
  [4, { hash: 'sha384', length: 48 }],
]);

/** supportedDigest says whether DS records of digest type `type` can be checked. */
export function supportedDigest(type: number): boolean {
  return DIGESTS.has(type);
}

/**
 * dsMatchesKey says whether the DS RDATA `ds` at `owner` refers to the DNSKEY
 * RDATA `dnskey`: same key tag and algorithm, a zone key of protocol 3, and the
 * digest of the owner's canonical name followed by the DNSKEY RDATA (RFC 4034
 * §5.1.4, §5.2). False for a digest type we cannot compute or malformed RDATA.
 */
export function dsMatchesKey(owner: string, ds: Buffer, dnskey: Buffer): boolean {
  let d: Ds;
  let k: Dnskey;
  try {
    d = parseDs(ds);
    k = parseDnskey(dnskey);
  } catch {
    return false;
  }
  const digest = DIGESTS.get(d.digestType);
  if (digest === undefined || d.digest.length !== digest.length) return false;
  if (d.keyTag !== k.keyTag || d.algorithm !== k.algorithm || k.protocol !== 3 || (k.flags & DNSKEY_ZONE_FLAG) === 0) return false;
  return createHash(digest.hash).update(canonicalWire(owner)).update(dnskey).digest().equals(d.digest);
}

/** How each supported algorithm's keys and signatures look (IANA "DNS Security Algorithm Numbers"). */
type Scheme =
  | { readonly kind: 'rsa'; readonly hash: string }
  | { readonly kind: 'ec'; readonly curve: string; readonly size: number; readonly hash: string }
  | { readonly kind: 'eddsa'; readonly curve: string; readonly size: number; readonly signature: number };

const SCHEMES = new Map<number, Scheme>([
  [5, { kind: 'rsa', hash: 'sha1' }], // RSASHA1, RFC 3110
  [7, { kind: 'rsa', hash: 'sha1' }], // RSASHA1-NSEC3-SHA1, RFC 5155 §2
  [8, { kind: 'rsa', hash: 'sha256' }], // RSASHA256, RFC 5702
  [10, { kind: 'rsa', hash: 'sha512' }], // RSASHA512, RFC 5702
  [13, { kind: 'ec', curve: 'P-256', size: 32, hash: 'sha256' }], // ECDSAP256SHA256, RFC 6605
  [14, { kind: 'ec', curve: 'P-384', size: 48, hash: 'sha384' }], // ECDSAP384SHA384, RFC 6605
  [15, { kind: 'eddsa', curve: 'Ed25519', size: 32, signature: 64 }], // ED25519, RFC 8080
  [16, { kind: 'eddsa', curve: 'Ed448', size: 57, signature: 114 }], // ED448, RFC 8080
]);

/** supportedAlgorithm says whether signatures of DNSSEC algorithm `alg` can be checked; a zone signed only with others is insecure (RFC 4035 §5.2). */
export function supportedAlgorithm(alg: number): boolean {
  return SCHEMES.has(alg);
}

/** unsigned strips leading zero octets, as JWK wants its integers (RFC 7518 §6.3.1). */
function unsigned(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * rsaJwk reads an RSA public key in the RFC 3110 §2 layout: the exponent length
 * in one octet (or a zero octet and two), the exponent, the modulus; the modulus
 * must be 512 to 4096 bits (RFC 3110 §2, RFC 5702 §2).
 */
function rsaJwk(key: Buffer): JsonWebKey | undefined {
  if (key.length < 3) return undefined;
  let expLen = key[0]!;
  let off = 1;
  if (expLen === 0) {
    expLen = key.readUInt16BE(1);
    off = 3;
  }
  if (expLen === 0 || off + expLen >= key.length) return undefined;
  const e = unsigned(key.subarray(off, off + expLen));
  const n = unsigned(key.subarray(off + expLen));
  if (n.length < 64 || n.length > 512 || n[0] === 0) return undefined;
  return { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') };
}

/** importKey turns a DNSKEY's public key into a KeyObject; undefined when it is malformed or of an unsupported algorithm. */
function importKey(algorithm: number, key: Buffer): KeyObject | undefined {
  const scheme = SCHEMES.get(algorithm);
  if (scheme === undefined) return undefined;
  let jwk: JsonWebKey | undefined;
  if (scheme.kind === 'rsa') jwk = rsaJwk(key);
  else if (scheme.kind === 'ec') {
    // RFC 6605 §4: the point as x‖y, each coordinate `size` octets.
    if (key.length === 2 * scheme.size) jwk = { kty: 'EC', crv: scheme.curve, x: key.subarray(0, scheme.size).toString('base64url'), y: key.subarray(scheme.size).toString('base64url') };
  } else if (key.length === scheme.size) jwk = { kty: 'OKP', crv: scheme.curve, x: key.toString('base64url') }; // RFC 8080 §3
  if (jwk === undefined) return undefined;
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return undefined;
  }
}

const KEY_CACHE_SIZE = 256;
/** Imported public keys by algorithm and key octets, least recently used first; null for keys that cannot be imported. */
const keyCache = new Map<string, KeyObject | null>();

/** publicKeyOf imports a DNSKEY's public key once and keeps it in a small LRU cache (importing costs more than verifying). */
function publicKeyOf(key: Dnskey): KeyObject | undefined {
  const id = `${key.algorithm}/${key.publicKey.toString('latin1')}`;
  let found = keyCache.get(id);
  if (found !== undefined) keyCache.delete(id);
  else {
    found = importKey(key.algorithm, key.publicKey) ?? null;
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  }
  keyCache.set(id, found);
  return found ?? undefined;
}

/** checkSignature verifies `signature` over `data` with the key of `algorithm`; false on any failure. */
function checkSignature(algorithm: number, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const scheme = SCHEMES.get(algorithm);
  if (scheme === undefined) return false;
  try {
    if (scheme.kind === 'rsa') return cryptoVerify(scheme.hash, data, key, signature);
    // RFC 6605 §4: r‖s, each `size` octets.
    if (scheme.kind === 'ec') return signature.length === 2 * scheme.size && cryptoVerify(scheme.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    return signature.length === scheme.signature && cryptoVerify(null, data, key, signature);
  } catch {
    return false;
  }
}

/** serialLE says a ≤ b in serial number arithmetic on 32 bits (RFC 1982 §3.2; RFC 4034 §3.1.5); a distance of 2^31 is undefined and false. */
function serialLE(a: number, b: number): boolean {
  return (b - a) >>> 0 < 0x80000000;
}

/**
 * wildcardOwner gives the wildcard an RRset owned by `name` was synthesized from,
 * given its RRSIG's Labels field: "*." and the rightmost `labels` labels when
 * `labels` is smaller than the owner's label count (leading "*" not counted);
 * undefined when the owner is the signed name itself (RFC 4035 §5.3.2, RFC 4592).
 * A validator seeing a wildcard also needs a proof that `name` does not exist.
 */
export function wildcardOwner(name: string, labels: number): string | undefined {
  if (labels >= labelCount(name)) return undefined;
  return wildcardOf(rightmost(name, labels));
}

/** Why verifyRRset rejected a signature, or 'ok'. */
export type VerifyResult =
  | 'ok'
  | 'malformed rrsig'
  | 'type covered'
  | 'wrong signer'
  | 'owner not below signer'
  | 'labels'
  | 'not yet valid'
  | 'expired'
  | 'unsupported algorithm'
  | 'no matching key'
  | 'bad signature';

/**
 * verifyRRset checks one RRSIG RDATA over `set` with the zone's apex DNSKEY
 * RDATAs, at `now` (seconds since the epoch), following RFC 4035 §5.3.1: the type
 * covered is the set's type; the signer is `zone` and the owner is at or below
 * it; the Labels field is at most the owner's label count (less means the set
 * was expanded from a wildcard, whose name is then signed, §5.3.2); inception ≤
 * now ≤ expiration in serial arithmetic; a DNSKEY with the RRSIG's key tag and
 * algorithm, protocol 3 and the ZONE flag verifies the signature over the RRSIG
 * head and the canonical RRset with the original TTL (§5.3.2, RFC 4034 §3.1.8.1).
 * Every key with that tag is tried (tags collide). The caller caps the set's TTL
 * to the original TTL and the signature's remaining life (RFC 4035 §5.3.3).
 */
export function verifyRRset(set: RRset, rrsig: Buffer, dnskeys: readonly Buffer[], zone: string, now: number): VerifyResult {
  let sig: Rrsig;
  try {
    sig = parseRrsig(rrsig);
  } catch {
    return 'malformed rrsig';
  }
  if (sig.typeCovered !== set.type) return 'type covered';
  if (sig.signer !== zone) return 'wrong signer';
  if (!isAtOrBelow(set.name, zone)) return 'owner not below signer';
  if (sig.labels > labelCount(set.name)) return 'labels';
  const owner = wildcardOwner(set.name, sig.labels) ?? set.name;
  if (!isAtOrBelow(owner, zone)) return 'labels';
  const t = Math.floor(now) >>> 0;
  if (!serialLE(sig.inception, t)) return 'not yet valid';
  if (!serialLE(t, sig.expiration)) return 'expired';
  if (!supportedAlgorithm(sig.algorithm)) return 'unsupported algorithm';
  const keys: KeyObject[] = [];
  for (const rdata of dnskeys) {
    let k: Dnskey;
    try {
      k = parseDnskey(rdata);
    } catch {
      continue;
    }
    if (k.keyTag !== sig.keyTag || k.algorithm !== sig.algorithm || k.protocol !== 3 || (k.flags & DNSKEY_ZONE_FLAG) === 0) continue;
    const key = publicKeyOf(k);
    if (key !== undefined) keys.push(key);
  }
  if (keys.length === 0) return 'no matching key';
  const data = Buffer.concat([sig.signedHead, canonicalRRset({ ...set, name: owner, ttl: sig.originalTtl })]);
  return keys.some((key) => checkSignature(sig.algorithm, key, data, sig.signature)) ? 'ok' : 'bad signature';
}

// ---------------------------------------------------------------------------
// Type bitmaps, NSEC and NSEC3 RDATA

/** parseTypeBitmap reads NSEC/NSEC3 window blocks (RFC 4034 §4.1.2): windows in increasing order, 1 to 32 octets each; throws otherwise. */
function parseTypeBitmap(buf: Buffer, start: number): Set<number> {
  const types = new Set<number>();
  let off = start;
  let lastWindow = -1;
  while (off < buf.length) {
    if (off + 2 > buf.length) throw new Error('truncated type bitmap');
    const window = buf[off]!;
    const len = buf[off + 1]!;
    if (window <= lastWindow || len === 0 || len > 32 || off + 2 + len > buf.length) throw new Error('malformed type bitmap');
    for (let i = 0; i < len; i++) {
      const bits = buf[off + 2 + i]!;
      for (let b = 0; b < 8; b++) if (bits & (0x80 >> b)) types.add(window * 256 + i * 8 + b);
    }
    lastWindow = window;
    off += 2 + len;
  }
  return types;
}

/** parseNsec reads an NSEC RDATA (RFC 4034 §4.1): the next owner name (internal form) and the types at the owner; throws when malformed. */
export function parseNsec(rdata: Buffer): { next: string; types: Set<number> } {
  const next = readPlainName(rdata, 0);
  return { next: next.name, types: parseTypeBitmap(rdata, next.end) };
}

/** nsecTypes is the set of types in an NSEC RDATA's bitmap (RFC 4034 §4.1.2). */
export function nsecTypes(rdata: Buffer): Set<number> {
  return parseNsec(rdata).types;
}

/** The fields of an NSEC3 RDATA (RFC 5155 §3.2). */
export interface Nsec3 {
  readonly hashAlgorithm: number;
  readonly flags: number;
  /** Flag bit 7 (RFC 5155 §3.1.2.1): the span may hold unsigned delegations. */
  readonly optOut: boolean;
  readonly iterations: number;
  readonly salt: Buffer;
  /** The next hashed owner name in base32hex, lower case, no padding: the form of an NSEC3 owner's first label. */
  readonly nextHashed: string;
  readonly types: Set<number>;
}

/** parseNsec3 reads an NSEC3 RDATA (RFC 5155 §3.2); throws when it is truncated, has an empty hash or a malformed bitmap. */
export function parseNsec3(rdata: Buffer): Nsec3 {
  if (rdata.length < 5) throw new Error('NSEC3 RDATA too short');
  const saltLen = rdata[4]!;
  const hashAt = 5 + saltLen;
  if (hashAt >= rdata.length) throw new Error('truncated NSEC3 salt');
  const hashLen = rdata[hashAt]!;
  if (hashLen === 0 || hashAt + 1 + hashLen > rdata.length) throw new Error('bad NSEC3 next hashed owner');
  return {
    hashAlgorithm: rdata[0]!,
    flags: rdata[1]!,
    optOut: (rdata[1]! & 1) === 1,
    iterations: rdata.readUInt16BE(2),
    salt: rdata.subarray(5, hashAt),
    nextHashed: base32hex(rdata.subarray(hashAt + 1, hashAt + 1 + hashLen)),
    types: parseTypeBitmap(rdata, hashAt + 1 + hashLen),
  };
}

const BASE32HEX = '0123456789abcdefghijklmnopqrstuv';

/** base32hex encodes octets in the "Extended Hex" alphabet of RFC 4648 §7, lower case, without padding (RFC 5155 §3.3). */
function base32hex(data: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of data) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32HEX[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32HEX[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * nsec3Hash is the NSEC3 hash of `name` with SHA-1 (RFC 5155 §5): the hash of the
 * canonical wire name and the salt, then `iterations` more rounds of hash(previous
 * ‖ salt); returned in base32hex, lower case, as the NSEC3 owner's first label.
 */
export function nsec3Hash(name: string, salt: Buffer, iterations: number): string {
  let h = createHash('sha1').update(canonicalWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return base32hex(h);
}

// ---------------------------------------------------------------------------
// Proofs

/** An NSEC or NSEC3 record: owner name (internal form) and RDATA. */
export interface DenialRecord {
  readonly owner: string;
  readonly rdata: Buffer;
}

/**
 * The outcome of a denial proof. ok: proven; `closestEncloser` is the deepest
 * existing ancestor when the proof establishes it, `wildcard` the wildcard name
 * whose absence of the type was proven (wildcard NODATA), `optOut` that an NSEC3
 * opt-out span was relied on (a DS denial at a possibly unsigned delegation).
 * Not ok: `insecure` true when the answer cannot be proven but must be treated
 * as insecure rather than bogus (RFC 5155 §9.2 opt-out, RFC 9276 §3.2).
 */
export type Proof =
  | { readonly ok: true; readonly closestEncloser?: string; readonly wildcard?: string; readonly optOut?: boolean }
  | { readonly ok: false; readonly insecure: boolean; readonly reason: string };

const bogus = (reason: string): Proof => ({ ok: false, insecure: false, reason });
const insecure = (reason: string): Proof => ({ ok: false, insecure: true, reason });

/** isCutOrDname: a bitmap of a zone cut (NS without SOA) or of a DNAME owner, below which the zone proves nothing (RFC 6840 §4.1). */
function isCutOrDname(types: ReadonlySet<number>): boolean {
  return types.has(TYPE.DNAME) || (types.has(TYPE.NS) && !types.has(TYPE.SOA));
}

/**
 * typeDenied checks the bitmap of the NSEC/NSEC3 matching `name` for a NODATA
 * answer to `qtype` (RFC 4035 §5.4, RFC 5155 §8.5, RFC 6840 §4.3): neither qtype
 * nor CNAME present; for DS, not the child's apex (SOA) but the parent's side;
 * for other types, not a delegation, which would have been a referral.
 */
function typeDenied(types: ReadonlySet<number>, qtype: number, name: string): string | undefined {
  if (types.has(qtype)) return 'the type exists';
  if (types.has(TYPE.CNAME)) return 'the name is a CNAME';
  if (qtype === TYPE.DS) {
    if (types.has(TYPE.SOA) && name !== '') return 'the record is from the child zone apex, not the parent';
  } else if (types.has(TYPE.NS) && !types.has(TYPE.SOA)) return 'the name is a delegation';
  return undefined;
}

/**
 * nsecCovers says whether the NSEC owner→next proves `name` absent (RFC 4035
 * §5.4, RFC 4034 §4.1.1): owner < name < next in canonical order; for the last
 * NSEC of a zone, whose next name is the apex (next < owner), any name after the
 * owner and below the apex; for a lone NSEC (owner = next) any name below it.
 */
export function nsecCovers(owner: string, next: string, name: string): boolean {
  const c = compareCanonical(owner, next);
  if (c === 0) return isBelow(name, next);
  if (c > 0) return compareCanonical(owner, name) < 0 && isBelow(name, next);
  return compareCanonical(owner, name) < 0 && compareCanonical(name, next) < 0;
}

interface ParsedNsec {
  readonly owner: string;
  readonly next: string;
  readonly types: Set<number>;
}

/** parsedNsecs keeps the well-formed NSECs whose owner and next name lie in `zone` (undefined: any zone). */
function parsedNsecs(nsecs: readonly DenialRecord[], zone?: string): ParsedNsec[] {
  const out: ParsedNsec[] = [];
  for (const r of nsecs) {
    let p: { next: string; types: Set<number> };
    try {
      p = parseNsec(r.rdata);
    } catch {
      continue;
    }
    if (zone !== undefined && (!isAtOrBelow(r.owner, zone) || !isAtOrBelow(p.next, zone))) continue;
    out.push({ owner: r.owner, next: p.next, types: p.types });
  }
  return out;
}

/** nsecDenies: `n` covers `name` and is not owned by a zone cut or DNAME above it, which would prove nothing there (RFC 6840 §4.1). */
function nsecDenies(n: ParsedNsec, name: string): boolean {
  return nsecCovers(n.owner, n.next, name) && !(isBelow(name, n.owner) && isCutOrDname(n.types));
}

/**
 * nsecClosestEncloser derives the closest encloser of `qname` from an NSEC that
 * covers it: the longer of its common ancestors with the owner and with the next
 * name (the next name is below the encloser when the encloser is an empty
 * non-terminal), as validators such as Unbound do. Both names exist and nothing
 * between them does, so no deeper ancestor of qname exists.
 */
function nsecClosestEncloser(n: ParsedNsec, qname: string): string {
  const a = commonAncestor(qname, n.owner);
  const b = commonAncestor(qname, n.next);
  return labelsOf(a).length >= labelsOf(b).length ? a : b;
}

/** cutAbove finds an NSEC owned by a proper ancestor of `name` that is a zone cut or DNAME: the zone cannot speak for `name` (RFC 6840 §4.1). */
function cutAbove(list: readonly ParsedNsec[], name: string): boolean {
  return list.some((n) => isBelow(name, n.owner) && isCutOrDname(n.types));
}

/** nsecProvesEnt: an NSEC whose owner precedes `name` and whose next name is below it shows `name` is an empty non-terminal (RFC 4035 §3.1.3.2). */
function nsecProvesEnt(list: readonly ParsedNsec[], name: string): boolean {
  return list.some((n) => compareCanonical(n.owner, name) < 0 && isBelow(n.next, name));
}

/**
 * provesNxdomain checks a name error with NSEC (RFC 4035 §3.1.3.2, §5.4; RFC 4592
 * §4): qname is below `zone`, an NSEC covers it, giving its closest encloser, and
 * an NSEC covers the wildcard at that encloser. Minimally covering NSECs (RFC
 * 4470) pass: their names need not exist.
 */
export function provesNxdomain(qname: string, nsecs: readonly DenialRecord[], zone: string): Proof {
  if (!isBelow(qname, zone)) return bogus('the name is not below the zone');
  const list = parsedNsecs(nsecs, zone);
  if (cutAbove(list, qname)) return bogus('an NSEC shows a zone cut or DNAME above the name');
  const cover = list.find((n) => nsecDenies(n, qname));
  if (cover === undefined) return bogus('no NSEC covers the name');
  const ce = nsecClosestEncloser(cover, qname);
  if (ce === qname) return bogus('the name is an empty non-terminal');
  if (!isAtOrBelow(ce, zone)) return bogus('the closest encloser is outside the zone');
  if (!list.some((n) => nsecDenies(n, wildcardOf(ce)))) return bogus(`no NSEC covers the wildcard ${wildcardOf(ce)}`);
  return { ok: true, closestEncloser: ce };
}

/**
 * provesNodata checks that `qname` has no `qtype` records with NSEC (RFC 4035
 * §3.1.3.1, §3.1.3.2, §3.1.3.4, §5.4; RFC 6840 §4.3): an NSEC at qname without
 * qtype and CNAME (for DS the parent's NSEC: SOA clear; otherwise no delegation);
 * or qname is an empty non-terminal; or an NSEC covers qname and the NSEC at the
 * wildcard of its closest encloser lacks qtype (or that wildcard is an empty
 * non-terminal). The wildcard case reports `wildcard`.
 */
export function provesNodata(qname: string, qtype: number, nsecs: readonly DenialRecord[], zone: string): Proof {
  if (!isAtOrBelow(qname, zone)) return bogus('the name is not in the zone');
  const list = parsedNsecs(nsecs, zone);
  if (cutAbove(list, qname)) return bogus('an NSEC shows a zone cut or DNAME above the name');
  const match = list.find((n) => n.owner === qname);
  if (match !== undefined) {
    const why = typeDenied(match.types, qtype, qname);
    return why === undefined ? { ok: true } : bogus(why);
  }
  if (nsecProvesEnt(list, qname)) return { ok: true };
  const cover = list.find((n) => nsecDenies(n, qname));
  if (cover === undefined) return bogus('no NSEC matches or covers the name');
  const ce = nsecClosestEncloser(cover, qname);
  if (!isAtOrBelow(ce, zone) || ce === qname) return bogus('no closest encloser in the zone');
  const wildcard = wildcardOf(ce);
  const wmatch = list.find((n) => n.owner === wildcard);
  if (wmatch !== undefined) {
    const why = typeDenied(wmatch.types, qtype, wildcard);
    return why === undefined ? { ok: true, closestEncloser: ce, wildcard } : bogus(`wildcard: ${why}`);
  }
  if (nsecProvesEnt(list, wildcard)) return { ok: true, closestEncloser: ce, wildcard };
  return bogus('no NSEC matches the name or the wildcard at its closest encloser');
}

/**
 * provesWildcardAnswer checks, for an answer expanded from a wildcard (its RRSIG
 * Labels field `labels` below qname's label count), that qname itself does not
 * exist: an NSEC covers qname and shows the wildcard's parent as the closest
 * encloser, so no closer match exists (RFC 4035 §3.1.3.3, §5.3.4; RFC 4592 §4).
 */
export function provesWildcardAnswer(qname: string, labels: number, nsecs: readonly DenialRecord[], zone: string): Proof {
  const source = wildcardOwner(qname, labels);
  if (source === undefined) return bogus('the answer is not a wildcard expansion');
  const ce = parentOf(source);
  if (!isAtOrBelow(ce, zone)) return bogus('the wildcard is not in the zone');
  const list = parsedNsecs(nsecs, zone);
  if (cutAbove(list, qname)) return bogus('an NSEC shows a zone cut or DNAME above the name');
  if (!list.some((n) => nsecDenies(n, qname) && nsecClosestEncloser(n, qname) === ce)) return bogus('no NSEC proves that no closer match exists');
  return { ok: true, closestEncloser: ce };
}

/**
 * provesNoDs checks an insecure delegation with NSEC (RFC 4035 §5.2, RFC 6840
 * §4.4): the parent's NSEC at `name` has NS and neither DS nor SOA.
 */
export function provesNoDs(name: string, nsecs: readonly DenialRecord[]): Proof {
  const match = parsedNsecs(nsecs).find((n) => n.owner === name);
  if (match === undefined) return bogus('no NSEC at the name');
  if (match.types.has(TYPE.DS)) return bogus('the DS exists');
  if (match.types.has(TYPE.SOA)) return bogus('the NSEC is from the child zone apex, not the parent');
  if (!match.types.has(TYPE.NS)) return bogus('the name is not a delegation');
  return { ok: true };
}

// ---------------------------------------------------------------------------
// NSEC3 proofs

interface Nsec3Entry {
  readonly hash: string;
  readonly next: string;
  readonly optOut: boolean;
  readonly types: Set<number>;
}

/** One NSEC3 chain of a zone as found in a response: its parameters, records and the hashes computed so far. */
interface Nsec3Chain {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly entries: readonly Nsec3Entry[];
  readonly hashes: Map<string, string>;
}

const HASH_LABEL = /^[0-9a-v]{32}$/;

/**
 * nsec3Chain keeps the NSEC3s of `zone` a validator may use (RFC 5155 §8.1, §8.2):
 * owner one hash label below the zone, hash algorithm 1 (SHA-1) with a 20-octet
 * next hash, flags 0 or 1, and the parameters of the first such record (a proof
 * uses one chain). A Proof instead when none is left, or when the iterations
 * exceed NSEC3_MAX_ITERATIONS (insecure, RFC 9276 §3.2).
 */
function nsec3Chain(nsec3s: readonly DenialRecord[], zone: string): Nsec3Chain | Proof {
  let chain: { salt: Buffer; iterations: number; entries: Nsec3Entry[]; hashes: Map<string, string> } | undefined;
  for (const r of nsec3s) {
    const dot = r.owner.indexOf('.');
    const label = dot === -1 ? r.owner : r.owner.slice(0, dot);
    if ((dot === -1 ? '' : r.owner.slice(dot + 1)) !== zone || !HASH_LABEL.test(label)) continue;
    let p: Nsec3;
    try {
      p = parseNsec3(r.rdata);
    } catch {
      continue;
    }
    if (p.hashAlgorithm !== 1 || (p.flags & 0xfe) !== 0 || p.nextHashed.length !== 32) continue;
    if (chain === undefined) chain = { salt: p.salt, iterations: p.iterations, entries: [], hashes: new Map() };
    else if (p.iterations !== chain.iterations || !p.salt.equals(chain.salt)) continue;
    chain.entries.push({ hash: label, next: p.nextHashed, optOut: p.optOut, types: p.types });
  }
  if (chain === undefined) return bogus('no usable NSEC3 of the zone');
  if (chain.iterations > NSEC3_MAX_ITERATIONS) return insecure(`NSEC3 iterations ${chain.iterations} above ${NSEC3_MAX_ITERATIONS}`);
  return chain;
}

/** hashIn hashes `name` with the chain's parameters, once per name. */
function hashIn(chain: Nsec3Chain, name: string): string {
  let h = chain.hashes.get(name);
  if (h === undefined) chain.hashes.set(name, (h = nsec3Hash(name, chain.salt, chain.iterations)));
  return h;
}

/** nsec3Matching finds the NSEC3 whose owner hash is the hash of `name` (RFC 5155 §8.3 "matches"). */
function nsec3Matching(chain: Nsec3Chain, name: string): Nsec3Entry | undefined {
  const h = hashIn(chain, name);
  return chain.entries.find((e) => e.hash === h);
}

/**
 * nsec3Covering finds an NSEC3 whose span, owner hash to next hash, holds the hash
 * of `name` strictly inside; the last one wraps around (next ≤ owner). Base32hex
 * keeps the octets' order, so the strings compare as the hashes do.
 */
function nsec3Covering(chain: Nsec3Chain, name: string): Nsec3Entry | undefined {
  const h = hashIn(chain, name);
  return chain.entries.find((e) => (e.hash < e.next ? e.hash < h && h < e.next : h > e.hash || h < e.next));
}

/**
 * closestEncloserProof follows RFC 5155 §8.3: from qname upwards to the apex,
 * the first ancestor with a matching NSEC3 is the closest encloser, and the name
 * one label below it on the way to qname (the next closer name) must be covered.
 * The encloser may not be a zone cut or DNAME (RFC 6840 §4.1). qname itself must
 * not match.
 */
function closestEncloserProof(chain: Nsec3Chain, qname: string, zone: string): { closestEncloser: string; optOut: boolean } | string {
  if (!isAtOrBelow(qname, zone)) return 'the name is not in the zone';
  let name = qname;
  let nextCloser: string | undefined;
  for (;;) {
    const match = nsec3Matching(chain, name);
    if (match !== undefined) {
      if (nextCloser === undefined) return 'the name exists';
      if (isCutOrDname(match.types)) return 'the closest encloser is a zone cut or DNAME';
      const cover = nsec3Covering(chain, nextCloser);
      if (cover === undefined) return 'no NSEC3 covers the next closer name';
      return { closestEncloser: name, optOut: cover.optOut };
    }
    if (name === zone) return 'no NSEC3 matches an ancestor of the name';
    nextCloser = name;
    name = parentOf(name);
  }
}

/** isChain tells a chain from the Proof nsec3Chain returns instead. */
function isChain(c: Nsec3Chain | Proof): c is Nsec3Chain {
  return 'entries' in c;
}

/**
 * nsec3ProvesNxdomain checks a name error with NSEC3 (RFC 5155 §8.4): a closest
 * encloser proof for qname and an NSEC3 covering the wildcard at the encloser.
 * When the next closer name is covered by an opt-out span the result is insecure
 * (an unsigned delegation may exist there, RFC 5155 §9.2).
 */
export function nsec3ProvesNxdomain(qname: string, nsec3s: readonly DenialRecord[], zone: string): Proof {
  const chain = nsec3Chain(nsec3s, zone);
  if (!isChain(chain)) return chain;
  const cep = closestEncloserProof(chain, qname, zone);
  if (typeof cep === 'string') return bogus(cep);
  const wildcard = wildcardOf(cep.closestEncloser);
  if (nsec3Covering(chain, wildcard) === undefined) return bogus(`no NSEC3 covers the wildcard ${wildcard}`);
  if (cep.optOut) return insecure('the next closer name is in an opt-out span');
  return { ok: true, closestEncloser: cep.closestEncloser };
}

/**
 * nsec3ProvesNodata checks that `qname` has no `qtype` records with NSEC3: a
 * matching NSEC3 without the type (RFC 5155 §8.5; for DS the parent's, §8.6); or
 * a closest encloser proof and a matching NSEC3 at its wildcard without the type
 * (§8.7); or, for DS only, a closest encloser proof whose next closer name is in
 * an opt-out span (§8.6, reported with `optOut`). The opt-out case for other
 * types (an empty non-terminal above unsigned delegations only) is insecure.
 */
export function nsec3ProvesNodata(qname: string, qtype: number, nsec3s: readonly DenialRecord[], zone: string): Proof {
  const chain = nsec3Chain(nsec3s, zone);
  if (!isChain(chain)) return chain;
  if (!isAtOrBelow(qname, zone)) return bogus('the name is not in the zone');
  const match = nsec3Matching(chain, qname);
  if (match !== undefined) {
    const why = typeDenied(match.types, qtype, qname);
    return why === undefined ? { ok: true } : bogus(why);
  }
  const cep = closestEncloserProof(chain, qname, zone);
  if (typeof cep === 'string') return bogus(cep);
  const wildcard = wildcardOf(cep.closestEncloser);
  const wmatch = nsec3Matching(chain, wildcard);
  if (wmatch !== undefined) {
    const why = typeDenied(wmatch.types, qtype, wildcard);
    return why === undefined ? { ok: true, closestEncloser: cep.closestEncloser, wildcard } : bogus(`wildcard: ${why}`);
  }
  if (cep.optOut) return qtype === TYPE.DS ? { ok: true, closestEncloser: cep.closestEncloser, optOut: true } : insecure('the next closer name is in an opt-out span');
  return bogus('no NSEC3 matches the name or the wildcard at its closest encloser');
}

/**
 * nsec3ProvesWildcardAnswer checks, for an answer expanded from a wildcard (its
 * RRSIG Labels field `labels`), that an NSEC3 covers the next closer name, the
 * ancestor of qname one label below the wildcard's parent (RFC 5155 §8.8). An
 * opt-out span there makes the answer insecure.
 */
export function nsec3ProvesWildcardAnswer(qname: string, labels: number, nsec3s: readonly DenialRecord[], zone: string): Proof {
  const source = wildcardOwner(qname, labels);
  if (source === undefined) return bogus('the answer is not a wildcard expansion');
  const ce = parentOf(source);
  if (!isAtOrBelow(ce, zone)) return bogus('the wildcard is not in the zone');
  const chain = nsec3Chain(nsec3s, zone);
  if (!isChain(chain)) return chain;
  const cover = nsec3Covering(chain, rightmost(qname, labels + 1));
  if (cover === undefined) return bogus('no NSEC3 covers the next closer name');
  if (cover.optOut) return insecure('the next closer name is in an opt-out span');
  return { ok: true, closestEncloser: ce };
}

/**
 * nsec3ProvesNoDs checks an insecure delegation with NSEC3 (RFC 5155 §8.6, RFC
 * 6840 §4.4): the parent's NSEC3 matching `name` has NS and neither DS nor SOA;
 * or, without one, a closest encloser proof whose next closer name is in an
 * opt-out span (reported with `optOut`: the delegation may not even exist).
 */
export function nsec3ProvesNoDs(name: string, nsec3s: readonly DenialRecord[], zone: string): Proof {
  const chain = nsec3Chain(nsec3s, zone);
  if (!isChain(chain)) return chain;
  if (!isBelow(name, zone)) return bogus('the name is not below the zone');
  const match = nsec3Matching(chain, name);
  if (match !== undefined) {
    if (match.types.has(TYPE.DS)) return bogus('the DS exists');
    if (match.types.has(TYPE.SOA)) return bogus('the NSEC3 is from the child zone apex, not the parent');
    if (!match.types.has(TYPE.NS)) return bogus('the name is not a delegation');
    return { ok: true };
  }
  const cep = closestEncloserProof(chain, name, zone);
  if (typeof cep === 'string') return bogus(cep);
  if (!cep.optOut) return bogus('the next closer name is not in an opt-out span');
  return { ok: true, closestEncloser: cep.closestEncloser, optOut: true };
}
