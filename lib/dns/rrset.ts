import * as dnsPacket from 'dns-packet';
import { typeName } from './constants';

/**
 * An RRset: every record of one owner name and type, with one TTL (RFC 2181 §5).
 * `data` holds each record in dns-packet's shape (what presentation.ts parses to);
 * `rdata` holds the same records as uncompressed wire RDATA (without RDLENGTH),
 * computed once when the set is made so that answering never re-encodes them.
 * Owner names are in the internal form: absolute, lower case, no trailing dot,
 * the root as "".
 */
export interface RRset {
  readonly name: string;
  readonly type: number;
  readonly ttl: number;
  readonly data: readonly unknown[];
  readonly rdata: readonly Buffer[];
  /**
   * Time (ms since the epoch) after which the set may no longer be served from a
   * cache of prebuilt answers; absent for data that changes only by an explicit write.
   */
  readonly validUntil?: number;
  /** The wildcard owner ("*.example.com") this set was synthesized from (RFC 4592); it is signed under that name. */
  readonly expandedFrom?: string;
  /** Resolved data only: the RRSIG RDATAs that came with the set (kept for validation and for DO clients). */
  readonly sigs?: readonly Buffer[];
  /** Resolved data only: the NSEC/NSEC3 sets (with their sigs) that came with a negative answer's SOA or a wildcard answer. */
  readonly denial?: readonly RRset[];
}

interface RecordCodec {
  encode(data: unknown, buf?: Buffer, offset?: number): Buffer;
  encodingLength(data: unknown): number;
}

const codecFor = (dnsPacket as unknown as { record(type: string): RecordCodec }).record;

/**
 * encodeRdata returns the wire RDATA of one record of `type` given in dns-packet's
 * shape; types dns-packet does not know take a Buffer of raw RDATA (RFC 3597).
 * Throws when the value cannot be encoded.
 */
export function encodeRdata(type: number, data: unknown): Buffer {
  const codec = codecFor(typeName(type));
  const withLength = codec.encode(data);
  // The length prefix, not the buffer, says where the RDATA ends: dns-packet sizes a root name one byte too long.
  return withLength.subarray(2, 2 + withLength.readUInt16BE(0));
}

/** makeRRset builds an RRset, encoding each record's RDATA once; it throws on a value that cannot be encoded. */
export function makeRRset(name: string, type: number, ttl: number, data: readonly unknown[], validUntil?: number): RRset {
  const rdata = data.map((d) => encodeRdata(type, d));
  return validUntil === undefined ? { name, type, ttl, data, rdata } : { name, type, ttl, data, rdata, validUntil };
}

/** withOwner returns the same records under another owner name and TTL (wildcard synthesis, RFC 4592 §3.3.1; negative TTLs). */
export function withOwner(set: RRset, name: string, ttl = set.ttl): RRset {
  return { ...set, name, ttl };
}
