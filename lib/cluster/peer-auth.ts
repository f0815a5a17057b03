import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Peer authentication: every request between cluster peers carries an
 * HMAC-SHA256, keyed by the shared cluster secret, over the method, the path
 * with its query string, the sender's clock, a nonce and the sha256 of the body.
 * The receiver refuses a request whose time is outside a skew window, and
 * remembers each accepted nonce until its time leaves that window, so a
 * captured request can be replayed neither later (skew) nor now (nonce cache).
 *
 * The MAC input is these lines joined by "\n":
 *
 *   nekoq-peer-v1
 *   <cluster>
 *   <node>
 *   <METHOD, upper-case>
 *   <path with query string, exactly as sent>
 *   <time, ms since the epoch, decimal>
 *   <nonce>
 *   <sha256 hex of the body; the empty body hashes the empty string>
 *
 * The signature header is the lower-case hex HMAC of that text. Node, time and
 * nonce are restricted to characters without "\n", and the signer refuses a
 * method or path holding a line break, so each MAC input splits into its fields
 * in exactly one way.
 */

/** PEER_HEADERS names the request headers of peer authentication, in node's lower-case form. */
export const PEER_HEADERS = {
  cluster: 'x-nekoq-cluster',
  node: 'x-nekoq-node',
  time: 'x-nekoq-time',
  nonce: 'x-nekoq-nonce',
  signature: 'x-nekoq-signature',
} as const;

const VERSION = 'nekoq-peer-v1';
const NODE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NONCE = /^[0-9a-f]{16,64}$/;
/** Canonical decimal only, so one instant has one spelling (what signRequest sends). */
const TIME = /^(?:0|[1-9][0-9]{0,15})$/;
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface SignInput {
  cluster: string;
  node: string;
  secret: string;
  method: string;
  path: string;
  body?: Buffer | Uint8Array | string;
  /** ms since the epoch; default Date.now(). */
  now?: number;
  /** 16..64 lower-case hex characters; default 16 random bytes as hex. */
  nonce?: string;
}

function bodyHash(body: Buffer | Uint8Array | string | undefined): string {
  const h = createHash('sha256');
  if (typeof body === 'string') h.update(body, 'utf8');
  else if (body !== undefined) h.update(body);
  return h.digest('hex');
}

function mac(secret: string, f: { cluster: string; node: string; method: string; path: string; time: string; nonce: string; body?: Buffer | Uint8Array | string }): string {
  const text = [VERSION, f.cluster, f.node, f.method.toUpperCase(), f.path, f.time, f.nonce, bodyHash(f.body)].join('\n');
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/**
 * signRequest returns the headers (lower-case names from PEER_HEADERS) to send
 * with the request. It throws an Error when an input could not be verified by a
 * peer: a node that is not a DNS label, a malformed nonce, a method that is not
 * an HTTP token, a path or cluster that is empty or holds a line break, an
 * empty secret, or a time that is not a non-negative safe integer.
 */
export function signRequest(input: SignInput): Record<string, string> {
  const now = input.now ?? Date.now();
  const nonce = input.nonce ?? randomBytes(16).toString('hex');
  if (!NODE.test(input.node)) throw new Error(`signing peer request: node ${JSON.stringify(input.node)} is not a dns label`);
  if (!NONCE.test(nonce)) throw new Error('signing peer request: nonce must be 16 to 64 lower-case hex characters');
  if (!METHOD.test(input.method)) throw new Error(`signing peer request: method ${JSON.stringify(input.method)} is not an http token`);
  if (input.path === '' || /[\r\n]/.test(input.path)) throw new Error('signing peer request: path is empty or holds a line break');
  if (/[\r\n]/.test(input.cluster) || input.cluster === '') throw new Error('signing peer request: cluster is empty or holds a line break');
  if (input.secret === '') throw new Error('signing peer request: secret is empty');
  if (!Number.isSafeInteger(now) || now < 0) throw new Error(`signing peer request: time ${now} is not a non-negative integer of ms`);
  const time = String(now);
  return {
    [PEER_HEADERS.cluster]: input.cluster,
    [PEER_HEADERS.node]: input.node,
    [PEER_HEADERS.time]: time,
    [PEER_HEADERS.nonce]: nonce,
    [PEER_HEADERS.signature]: mac(input.secret, { ...input, time, nonce }),
  };
}

export type VerifyResult =
  | { ok: true; node: string }
  | { ok: false; reason: 'missing_headers' | 'wrong_cluster' | 'bad_time' | 'skew' | 'bad_signature' | 'replay' | 'not_configured' };

export interface PeerVerifierOptions {
  cluster: string;
  /** The shared cluster secret; undefined (or empty) means clustering is not configured and every request is refused. */
  secret: string | undefined;
  /** Largest accepted |now - time| in ms; default 30_000. */
  skewMs?: number;
  /** Clock in ms since the epoch; default Date.now. */
  now?: () => number;
  /** Most nonces remembered at once; default 200_000. */
  maxNonces?: number;
}

export interface PeerRequest {
  method: string;
  /** Path with query string, exactly as on the request line. */
  path: string;
  /** Lower-case header names, as node's IncomingHttpHeaders. */
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer | Uint8Array | string;
}

/** header returns the single value of a header, or undefined when it is absent, empty or repeated. */
function header(headers: PeerRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  const one = Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
  return one === undefined || one === '' ? undefined : one;
}

/**
 * PeerVerifier checks signed peer requests against one cluster name and secret
 * and keeps the nonce cache that refuses replays. Checks run in this order, and
 * the first failure is the reason returned:
 *
 *   1. not_configured  no secret
 *   2. missing_headers a header absent or repeated, node not a DNS label, nonce not 16..64 hex
 *   3. wrong_cluster   cluster header differs from ours
 *   4. bad_time        time header not a canonical non-negative integer
 *   5. skew            |now - time| > skewMs
 *   6. bad_signature   MAC differs
 *   7. replay          nonce already accepted within its life, or the cache is full
 *
 * The constructor throws an Error on an empty cluster or a skewMs or maxNonces
 * that is not a non-negative (skewMs) or positive (maxNonces) integer.
 */
export class PeerVerifier {
  private readonly cluster: string;
  private readonly secret: string | undefined;
  private readonly skewMs: number;
  private readonly now: () => number;
  private readonly maxNonces: number;
  /** nonce → expiry (request time + skewMs), in insertion order, which is roughly expiry order. */
  private readonly nonces = new Map<string, number>();

  constructor(opts: PeerVerifierOptions) {
    this.cluster = opts.cluster;
    this.secret = opts.secret === '' ? undefined : opts.secret;
    this.skewMs = opts.skewMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.maxNonces = opts.maxNonces ?? 200_000;
    if (this.cluster === '') throw new Error('peer verifier: cluster is empty');
    if (!Number.isSafeInteger(this.skewMs) || this.skewMs < 0) throw new Error(`peer verifier: skewMs ${this.skewMs} is not a non-negative integer`);
    if (!Number.isSafeInteger(this.maxNonces) || this.maxNonces < 1) throw new Error(`peer verifier: maxNonces ${this.maxNonces} is not a positive integer`);
  }

  /**
   * verify checks one request; headers keys are lower-case (node's
   * IncomingHttpHeaders shape: string | string[] | undefined). A nonce is
   * remembered only after the signature verified.
   */
  verify(req: PeerRequest): VerifyResult {
    if (this.secret === undefined) return { ok: false, reason: 'not_configured' };
    const cluster = header(req.headers, PEER_HEADERS.cluster);
    const node = header(req.headers, PEER_HEADERS.node);
    const time = header(req.headers, PEER_HEADERS.time);
    const nonce = header(req.headers, PEER_HEADERS.nonce);
    const signature = header(req.headers, PEER_HEADERS.signature);
    if (cluster === undefined || node === undefined || time === undefined || nonce === undefined || signature === undefined) {
      return { ok: false, reason: 'missing_headers' };
    }
    if (!NODE.test(node) || !NONCE.test(nonce)) return { ok: false, reason: 'missing_headers' };
    if (cluster !== this.cluster) return { ok: false, reason: 'wrong_cluster' };
    if (!TIME.test(time) || !Number.isSafeInteger(Number(time))) return { ok: false, reason: 'bad_time' };
    const at = Number(time);
    const now = this.now();
    if (Math.abs(now - at) > this.skewMs) return { ok: false, reason: 'skew' };

    const want = Buffer.from(mac(this.secret, { cluster, node, method: req.method, path: req.path, time, nonce, body: req.body }), 'utf8');
    const got = Buffer.from(signature, 'utf8');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, reason: 'bad_signature' };

    return this.remember(nonce, at + this.skewMs, now) ? { ok: true, node } : { ok: false, reason: 'replay' };
  }

  /**
   * remember records nonce until expiry and reports whether it was new.
   * An entry may be dropped once expiry < now: from then on a request with the
   * same nonce and time fails the skew check, so the entry has nothing left to stop.
   */
  private remember(nonce: string, expiry: number, now: number): boolean {
    // Times arrive roughly in order, so expired entries gather at the front.
    for (const [n, e] of this.nonces) {
      if (e >= now) break;
      this.nonces.delete(n);
    }
    const seen = this.nonces.get(nonce);
    if (seen !== undefined && seen >= now) return false;
    this.nonces.delete(nonce); // an expired leftover; re-insert at the back
    if (this.nonces.size >= this.maxNonces) {
      // A live entry near the front (a request dated ahead of us) can hide expired ones behind it.
      for (const [n, e] of this.nonces) if (e < now) this.nonces.delete(n);
      // Still full: refuse rather than grow or evict. Evicting a live nonce would
      // reopen a replay window for its request; refusing is safe because only
      // requests with a valid MAC reach this point, so an outsider cannot fill
      // the cache, and a peer holding the secret can sign new requests anyway.
      // The cache empties by itself within skewMs as entries expire.
      if (this.nonces.size >= this.maxNonces) return false;
    }
    this.nonces.set(nonce, expiry);
    return true;
  }
}

/**
 * checkClusterSecret returns why a secret is too weak (fewer than 32
 * characters, or fewer than 8 distinct characters), or undefined.
 * Characters are counted as Unicode code points.
 */
export function checkClusterSecret(secret: string): string | undefined {
  const chars = [...secret];
  if (chars.length < 32) return `cluster secret has ${chars.length} characters; at least 32 are needed`;
  const distinct = new Set(chars).size;
  if (distinct < 8) return `cluster secret has ${distinct} distinct characters; at least 8 are needed`;
  return undefined;
}
