import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { asciiLower, nameToWire } from '../message';

/*
 * DNSSEC keys (RFC 4034 §2, RFC 6605 for ECDSA P-256, RFC 8080 for Ed25519):
 * generating them, their DNSKEY RDATA, key tag and DS record. Private keys stay
 * KeyObjects in memory and PKCS#8 DER at rest; they are never printed.
 */

/** DNSSEC algorithm numbers we sign with (IANA "DNS Security Algorithm Numbers"). */
export const ALGORITHM = { ECDSAP256SHA256: 13, ED25519: 15 } as const;
export type Algorithm = (typeof ALGORITHM)[keyof typeof ALGORITHM];

/** DNSKEY flags: ZONE (bit 7) alone for a ZSK, ZONE and SEP (bit 15) for a KSK or CSK (RFC 4034 §2.1.1). */
export const FLAGS = { ZSK: 256, KSK: 257 } as const;

export interface SigningKey {
  readonly algorithm: Algorithm;
  readonly flags: number;
  /** The DNSKEY public key field: x‖y for P-256 (RFC 6605 §4), the 32-byte key for Ed25519 (RFC 8080 §3). */
  readonly publicKey: Buffer;
  readonly privateKey: KeyObject;
  /** RFC 4034 Appendix B, over the DNSKEY RDATA. */
  readonly keyTag: number;
}

/** generateKey makes a new key pair of `algorithm` with DNSKEY `flags`. */
export function generateKey(algorithm: Algorithm, flags: number): SigningKey {
  // The pair comes as DER, and the key is built again from it, never as the KeyObjects the
  // generation job makes: those share a lock with the job, and node 20 deadlocks when a
  // garbage collection destroys the job while one of them is being exported (seen in CI:
  // ExportJWKEcKey allocating, GC, ~KeyGenJob waiting on the lock ExportJWKEcKey holds).
  const der = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } } as const;
  const pair = algorithm === ALGORITHM.ECDSAP256SHA256 ? generateKeyPairSync('ec', { namedCurve: 'P-256', ...der }) : generateKeyPairSync('ed25519', der);
  return fromPrivateKey(algorithm, flags, pair.privateKey);
}

/** fromPrivateKey rebuilds a key from its private half (PKCS#8 DER as stored, or a KeyObject). */
export function fromPrivateKey(algorithm: Algorithm, flags: number, key: KeyObject | Buffer): SigningKey {
  const privateKey = Buffer.isBuffer(key) ? createPrivateKey({ key, format: 'der', type: 'pkcs8' }) : key;
  const kind = privateKey.asymmetricKeyType === 'ec' ? `ec/${privateKey.asymmetricKeyDetails?.namedCurve}` : privateKey.asymmetricKeyType;
  const wanted = algorithm === ALGORITHM.ECDSAP256SHA256 ? 'ec/prime256v1' : 'ed25519';
  if (kind !== wanted) throw new Error(`a ${kind} key cannot be a key of algorithm ${algorithm} (${wanted})`);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey =
    algorithm === ALGORITHM.ECDSAP256SHA256
      ? Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')])
      : Buffer.from(jwk.x!, 'base64url');
  return { algorithm, flags, publicKey, privateKey, keyTag: keyTag(dnskeyRdata({ algorithm, flags, publicKey })) };
}

/** exportPrivateKey gives the private key as PKCS#8 DER, the form kept in the database. */
export function exportPrivateKey(key: SigningKey): Buffer {
  return key.privateKey.export({ format: 'der', type: 'pkcs8' });
}

/** dnskeyRdata is the DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 §2.1). */
export function dnskeyRdata(key: Pick<SigningKey, 'algorithm' | 'flags' | 'publicKey'>): Buffer {
  const out = Buffer.alloc(4 + key.publicKey.length);
  out.writeUInt16BE(key.flags, 0);
  out[2] = 3;
  out[3] = key.algorithm;
  key.publicKey.copy(out, 4);
  return out;
}

/** keyTag computes the key tag of a DNSKEY RDATA (RFC 4034 Appendix B; algorithm 1 is not used here). */
export function keyTag(rdata: Buffer): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** dsRdata is the DS RDATA for a zone's key with digest type 2, SHA-256 (RFC 4509): key tag, algorithm, 2, digest. */
export function dsRdata(zone: string, key: Pick<SigningKey, 'algorithm' | 'flags' | 'publicKey' | 'keyTag'>): Buffer {
  const digest = createHash('sha256').update(nameToWire(asciiLower(zone))).update(dnskeyRdata(key)).digest();
  const out = Buffer.alloc(4 + digest.length);
  out.writeUInt16BE(key.keyTag, 0);
  out[2] = key.algorithm;
  out[3] = 2;
  digest.copy(out, 4);
  return out;
}
