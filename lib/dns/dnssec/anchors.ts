import { TYPE } from '../constants';
import { parseName, parseRdata, tokenize } from '../presentation';
import { encodeRdata } from '../rrset';
import { keyTag } from './keys';

/**
 * Trust anchors for the validating resolver ([dnssec] trust_anchors): DS or
 * DNSKEY records in presentation form, "<owner> [TTL] [IN] DS|DNSKEY <rdata>",
 * as root-anchors.xml, Unbound's trust-anchor and delv's -a files write them.
 */
export interface TrustAnchor {
  /** Internal form: lower case, no trailing dot, the root "". */
  readonly owner: string;
  readonly type: typeof TYPE.DS | typeof TYPE.DNSKEY;
  readonly rdata: Buffer;
  readonly keyTag: number;
  readonly algorithm: number;
}

/** The root zone's KSKs as IANA publishes them (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 and KSK-2024. */
export const IANA_ROOT_ANCHORS: readonly string[] = Object.freeze([
  '. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D',
  '. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16',
]);

/** parseTrustAnchor reads one anchor; a string says what is wrong. */
export function parseTrustAnchor(text: string): TrustAnchor | string {
  let tokens: string[];
  try {
    tokens = tokenize(text);
  } catch (err) {
    return (err as Error).message;
  }
  if (tokens.length < 3) return 'expected "<owner> DS <key tag> <algorithm> <digest type> <digest>" or "<owner> DNSKEY <flags> 3 <algorithm> <base64 key>"';
  let owner: string;
  try {
    owner = parseName(tokens[0]!, undefined);
  } catch (err) {
    return `owner: ${(err as Error).message}`;
  }
  let i = 1;
  if (/^\d+$/.test(tokens[i]!)) i++;
  if (tokens[i]?.toUpperCase() === 'IN') i++;
  const type = tokens[i]?.toUpperCase();
  const rest = tokens.slice(i + 1);
  try {
    if (type === 'DS') {
      const ds = parseRdata('DS', rest, undefined) as { keyTag: number; algorithm: number };
      return { owner, type: TYPE.DS, rdata: encodeRdata(TYPE.DS, ds), keyTag: ds.keyTag, algorithm: ds.algorithm };
    }
    if (type === 'DNSKEY') {
      const [flags, protocol, algorithm, ...key] = rest;
      if (flags === undefined || !/^\d+$/.test(flags) || Number(flags) > 0xffff) return 'DNSKEY flags must be a number 0..65535';
      if (protocol !== '3') return 'DNSKEY protocol must be 3';
      if (algorithm === undefined || !/^\d+$/.test(algorithm) || Number(algorithm) > 255) return 'DNSKEY algorithm must be a number 0..255';
      const b64 = key.join('');
      if (b64.length === 0 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) return 'DNSKEY public key must be base64';
      const publicKey = Buffer.from(b64, 'base64');
      const rdata = Buffer.concat([Buffer.from([Number(flags) >> 8, Number(flags) & 0xff, 3, Number(algorithm)]), publicKey]);
      return { owner, type: TYPE.DNSKEY, rdata, keyTag: keyTag(rdata), algorithm: Number(algorithm) };
    }
  } catch (err) {
    return (err as Error).message;
  }
  return `type must be DS or DNSKEY, not "${tokens[i] ?? ''}"`;
}
