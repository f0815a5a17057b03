import { sign as cryptoSign } from 'node:crypto';
import { CLASS, TYPE } from '../constants';
import { asciiLower, NAME_LAYOUT, nameToWire } from '../message';
import type { RRset } from '../rrset';
import { ALGORITHM, type SigningKey } from './keys';

/*
 * RRSIG creation (RFC 4034 §3, §6): the canonical form and order of an RRset's
 * records, and the signature over them with an ECDSA P-256 (RFC 6605) or
 * Ed25519 (RFC 8080) key.
 */

/**
 * Where names sit in the RDATA of the types whose embedded names are lowered in
 * the canonical form (RFC 4034 §6.2 item 3; NSEC and RRSIG are left as they are,
 * RFC 6840 §5.1): a fixed number of bytes, a name, or character-strings. The
 * types whose names a sender may compress (message.ts), plus NAPTR, whose
 * replacement name is never compressed but is lowered all the same.
 */
type Field = number | 'name' | 'string';
const NAME_FIELDS = new Map<number, readonly Field[]>([...NAME_LAYOUT, [TYPE.NAPTR, [4, 'string', 'string', 'string', 'name']]]);

/** canonicalRdata lowers the ASCII letters of the names inside RDATA where RFC 4034 §6.2 asks for it; other RDATA is returned as it is. */
export function canonicalRdata(type: number, rdata: Buffer): Buffer {
  const fields = NAME_FIELDS.get(type);
  if (fields === undefined) return rdata;
  const out = Buffer.from(rdata);
  let off = 0;
  for (const f of fields) {
    if (typeof f === 'number') off += f;
    else if (f === 'string') off += 1 + (out[off] ?? 0);
    else {
      for (;;) {
        const len = out[off];
        if (len === undefined || len === 0) {
          off++;
          break;
        }
        for (let i = off + 1; i <= off + len && i < out.length; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i] = out[i]! | 0x20;
        off += 1 + len;
      }
    }
  }
  return out;
}

/** labelCount is the RRSIG Labels field: the owner's labels, the root and a leading "*" not counted (RFC 4034 §3.1.3). */
export function labelCount(owner: string): number {
  if (owner === '') return 0;
  const labels = owner.split('.');
  return labels[0] === '*' ? labels.length - 1 : labels.length;
}

export interface Validity {
  /** Signature inception and expiration, seconds since the epoch (RFC 4034 §3.1.5, serial-number arithmetic on 32 bits). */
  readonly inception: number;
  readonly expiration: number;
}

/**
 * signRRset makes the RRSIG RDATA over `set` (its records in canonical order,
 * TTL as `set.ttl`) by `key` of zone `signer`.
 */
export function signRRset(set: RRset, key: SigningKey, signer: string, validity: Validity): Buffer {
  const signerWire = nameToWire(asciiLower(signer));
  const head = Buffer.alloc(18);
  head.writeUInt16BE(set.type, 0);
  head[2] = key.algorithm;
  head[3] = labelCount(set.name);
  head.writeUInt32BE(set.ttl >>> 0, 4);
  head.writeUInt32BE(validity.expiration >>> 0, 8);
  head.writeUInt32BE(validity.inception >>> 0, 12);
  head.writeUInt16BE(key.keyTag, 16);
  const rdataHead = Buffer.concat([head, signerWire]);
  const data = Buffer.concat([rdataHead, canonicalRRset(set)]);
  const signature =
    key.algorithm === ALGORITHM.ECDSAP256SHA256 ? cryptoSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) : cryptoSign(null, data, key.privateKey);
  return Buffer.concat([rdataHead, signature]);
}

/**
 * canonicalRRset is the RRset's part of the signed data (RFC 4034 §3.1.8.1):
 * each record as owner (lower case, uncompressed), type, class, original TTL,
 * RDATA length and canonical RDATA, the records sorted by their canonical RDATA
 * (§6.3) with duplicates dropped.
 */
export function canonicalRRset(set: RRset): Buffer {
  const owner = nameToWire(asciiLower(set.name));
  const rdatas = set.rdata.map((r) => canonicalRdata(set.type, r)).sort(Buffer.compare);
  const parts: Buffer[] = [];
  let previous: Buffer | undefined;
  for (const rd of rdatas) {
    if (previous !== undefined && previous.equals(rd)) continue;
    previous = rd;
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(set.type, 0);
    fixed.writeUInt16BE(CLASS.IN, 2);
    fixed.writeUInt32BE(set.ttl >>> 0, 4);
    fixed.writeUInt16BE(rd.length, 8);
    parts.push(owner, fixed, rd);
  }
  return Buffer.concat(parts);
}
