import { encodeQuery } from '../../../lib/dns/message';
import { prng } from '../../../lib/dns/fuzz/mutate';
import { TEST_TOKENS } from '../../testing/appliance-process';

/*
 * HTTP fuzz cases for the API (issue #9): requests to every /v1 endpoint and to
 * /dns-query, bent in the ways that break servers — random JSON, a wrong type in
 * each field, strings up to and past the body limits, nesting 100 000 deep,
 * bytes that are not UTF-8 in the body, path and query, bad percent-encoding,
 * wrong content types, duplicate, odd and huge headers, methods no route takes,
 * framing that lies — and, for the slow lane, requests whose headers or body
 * trickle in at a byte a second or stop half-way. Each case is made from
 * (seed, index) alone, so any case can be made again.
 */

/** How a case's bytes go out. */
export type Delivery =
  /** all at once; the request is complete */
  | 'whole'
  /** the first bytes at once, then one byte a second, never all of it within the server's timeouts */
  | 'trickle'
  /** the first bytes at once, then nothing: the request never finishes */
  | 'stall';

/** The part of the state a successful request of the route may change (fingerprint families): none, or (a replayed case, route unknown) all. */
export type Family = 'kv' | 'svc' | 'zones' | 'none' | 'all';

export interface HttpCase {
  /** The request as sent, byte for byte (a slow case: every byte it would send). */
  readonly bytes: Buffer;
  /** For `trickle` and `stall`: how many bytes go out at once. */
  readonly head: number;
  readonly delivery: Delivery;
  /** The generator's label, e.g. "kv-put/wrong-type": what was bent. */
  readonly label: string;
  readonly method: string;
  /** What a 2xx answer to this request may have changed. */
  readonly family: Family;
  /** The bytes are not HTTP/1.1 node's parser takes (or ask for something node answers itself): a bare 4xx without a problem body is fine. */
  readonly bare: boolean;
  /** The server may close the connection without answering (CONNECT, which node drops when nobody listens for it). */
  readonly mayClose: boolean;
}

/** The objects that must never change unless a 2xx said so; the fuzz cases aim at them often. */
export const SENTINELS = {
  kvKey: 'sentinel/key',
  kvValue: 'sentinel-value-ü',
  kvFlags: 7,
  bootKey: 'bootstrap/sentinel',
  instance: { type: 'discovery', name: 'sentinel', id: 's1' },
  instanceBody: { address: '192.0.2.10', port: 8080, protocol: 'tcp', tags: ['a'], meta: { k: 'v' }, weight: 3, priority: 1, ttl: 3600 },
  zone: 'sentinel.test.',
  rrsets: [
    { name: 'www', type: 'A', body: { ttl: 300, values: ['192.0.2.1', '192.0.2.2'] } },
    { name: '@', type: 'TXT', body: { ttl: 600, values: ['"hello world"'] } },
    { name: 'mail', type: 'MX', body: { ttl: 600, values: ['10 mx.sentinel.test.'] } },
  ],
} as const;

/** The scratch names valid cases write to (bounded, so the state stays small). */
const SCRATCH = {
  types: ['fz', 'discovery', 'mq'],
  names: ['n0', 'n1', 'n2'],
  ids: ['i0', 'i1', 'i2', 'i3'],
  kv: ['fz/k0', 'fz/k1', 'fz/k2', 'fz/deep/k3', 'bootstrap/fz'],
  zones: ['fz0.test.', 'fz1.test.'],
};

type Rng = () => number;

/** caseAt makes case number `index` of the stream for `seed`; `slow` asks for one of the slow lane. */
export function caseAt(seed: number, index: number, slow = false): HttpCase {
  const rng = prng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b) ^ (slow ? 0x5bd1e995 : 0)) >>> 0);
  // Warm the generator: mulberry32's first outputs of nearby seeds are alike.
  for (let i = 0; i < 4; i++) rng();
  return new Gen(rng).make(slow);
}

/** Raw JSON text spliced into a serialized value as is (numbers JSON cannot say, nesting too deep to build, bad bytes). */
class Raw {
  constructor(readonly bytes: Buffer) {}
}
const raw = (s: string | Buffer) => new Raw(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

type Json = null | boolean | number | string | Raw | Json[] | { [k: string]: Json };

/** serialize writes JSON with Raw pieces spliced in (iterative over the value's own nesting, which the generator keeps shallow). */
function serialize(v: Json): Buffer {
  if (v instanceof Raw) return v.bytes;
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('['), ...v.flatMap((x, i) => (i === 0 ? [serialize(x)] : [Buffer.from(','), serialize(x)])), Buffer.from(']')]);
  if (v !== null && typeof v === 'object') {
    const parts: Buffer[] = [Buffer.from('{')];
    Object.entries(v).forEach(([k, x], i) => {
      if (i > 0) parts.push(Buffer.from(','));
      parts.push(Buffer.from(`${JSON.stringify(k)}:`), serialize(x));
    });
    parts.push(Buffer.from('}'));
    return Buffer.concat(parts);
  }
  return Buffer.from(JSON.stringify(v) ?? 'null');
}

/** Bytes that are not UTF-8: stray continuations, overlong forms, surrogates, past U+10FFFF, cut sequences. */
const BAD_UTF8 = [[0xff], [0xfe], [0x80], [0xc3, 0x28], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f], [0xc3]].map((b) => Buffer.from(b));

/** Percent-encodings that are not valid UTF-8 or not percent-encoding at all. */
const BAD_PERCENT = ['%', '%G1', '%2', '%zz', '%C3%28', '%ED%A0%80', '%FF', '%C0%AF', '%F4%90%80%80', '%00', '%E2%82', '%%', '%u0041'];

const METHODS_ODD = ['PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'PROPFIND', 'LOCK', 'SEARCH', 'PURGE', 'MKCOL', 'COPY', 'REPORT', 'LINK', 'QUERY'];

const CONTENT_TYPES_BAD = [
  'text/plain',
  'application/jsonx',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/json;;;',
  'APPLICATION/JSON',
  'application/problem+json',
  'application/dns-message',
  'text/dns',
  '',
  ' ',
  'json',
  '*/*',
  'application/' + 'x'.repeat(3000),
];

interface Endpoint {
  readonly name: string;
  readonly method: string;
  /** What a successful request may change. */
  readonly family: Family;
  /** The role that may do it. */
  readonly role: keyof typeof TEST_TOKENS;
  readonly path: (g: Gen) => string;
  /** A valid body (JSON value or bytes), undefined when the route reads none. */
  readonly body?: (g: Gen) => Json | Buffer;
  /** A content type for a valid request. */
  readonly type?: string;
  /** Query parameters the route reads: a valid query for it. */
  readonly query?: (g: Gen) => string;
  /** Reads the body (a slow body can be aimed at it). */
  readonly readsBody: boolean;
}

class Gen {
  constructor(readonly rng: Rng) {}

  int(n: number): number {
    return Math.floor(this.rng() * n);
  }
  chance(p: number): boolean {
    return this.rng() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  // ---- names ----

  label(): string {
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const n = 1 + this.int(12);
    let s = '';
    for (let i = 0; i < n; i++) s += chars[this.int(chars.length)];
    return s;
  }

  /** A path segment that breaks DNS-label or key rules, or percent-encoding. */
  badSegment(): string {
    switch (this.int(12)) {
      case 0:
        return '';
      case 1:
        return 'UPPER';
      case 2:
        return 'a'.repeat(64);
      case 3:
        return '-lead';
      case 4:
        return 'under_score';
      case 5:
        return encodeURIComponent('ключ');
      case 6:
        return this.pick(BAD_PERCENT);
      case 7:
        return 'x'.repeat(300 + this.int(3000));
      case 8:
        return '..';
      case 9:
        return '%2e%2e%2f%2e%2e';
      case 10:
        return 'a%20b';
      default:
        return this.pick(BAD_PERCENT) + this.label();
    }
  }

  seg(valid: () => string, sentinel: string): string {
    const r = this.rng();
    if (r < 0.35) return sentinel;
    if (r < 0.7) return valid();
    return this.badSegment();
  }

  instancePath(suffix = ''): string {
    const s = SENTINELS.instance;
    const t = this.seg(() => this.pick(SCRATCH.types), s.type);
    const n = this.seg(() => this.pick(SCRATCH.names), s.name);
    const i = this.seg(() => this.pick(SCRATCH.ids), s.id);
    return `/v1/services/${t}/${n}/instances/${i}${suffix}`;
  }

  kvKey(): string {
    const r = this.rng();
    if (r < 0.3) return SENTINELS.kvKey;
    if (r < 0.55) return this.pick(SCRATCH.kv);
    switch (this.int(10)) {
      case 0:
        return '/lead';
      case 1:
        return 'a//b';
      case 2:
        return 'trailing/';
      case 3:
        return 'k'.repeat(513 + this.int(2000));
      case 4:
        return `ctl${this.pick(['%00', '%01', '%1F', '%7F', '%0A'])}x`;
      case 5:
        return `bad${this.pick(BAD_PERCENT)}`;
      case 6:
        return '';
      case 7:
        return encodeURIComponent('ключ/значение');
      case 8:
        return 'sentinel%2Fkey';
      default:
        return `sentinel/${this.badSegment()}`;
    }
  }

  zoneName(): string {
    const r = this.rng();
    if (r < 0.35) return SENTINELS.zone;
    if (r < 0.6) return this.pick(SCRATCH.zones);
    return this.pick(['sentinel.test', 'SENTINEL.TEST.', 'nope.test.', '.', '..', 'a..b.', '*.x.', 'x'.repeat(70) + '.test.', 'test.', '%00.test.', 'ex ample.', 'a.'.repeat(130)].concat([this.badSegment()]));
  }

  recordName(): string {
    return this.pick(['www', '@', 'mail', 'new', '*', '*.w', 'www.sentinel.test.', 'outside.example.', '', 'x'.repeat(64), 'a.'.repeat(130), '..', this.badSegment()]);
  }

  recordType(): string {
    return this.pick(['A', 'AAAA', 'TXT', 'MX', 'CNAME', 'SOA', 'NS', 'SRV', 'CAA', 'DNAME', 'RRSIG', 'DNSKEY', 'NSEC', 'TYPE65534', 'TYPE0', 'a', 'XYZ', 'ANY', '', 'A'.repeat(300)]);
  }

  // ---- values ----

  /** A random JSON value of bounded size and depth. */
  randomJson(depth = 0): Json {
    const r = this.int(depth > 3 ? 6 : 9);
    switch (r) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.number();
      case 3:
        return this.string();
      case 4:
        return this.pick(['', ' ', '0', 'true', 'null', '[]', '{}', '192.0.2.1', '::1', 'tcp', 'udp', '3600', '\u0000', '\ud800', '\uffff']);
      case 5:
        return this.rawNumber();
      case 6:
      case 7: {
        const n = this.int(6);
        const o: Record<string, Json> = {};
        for (let i = 0; i < n; i++) o[this.pick(['address', 'port', 'ttl', 'values', 'name', 'verb', 'key', 'value', '__proto__', 'constructor', 'x', this.label()])] = this.randomJson(depth + 1);
        return o;
      }
      default:
        return Array.from({ length: this.int(6) }, () => this.randomJson(depth + 1));
    }
  }

  number(): number {
    return this.pick([0, -1, 1, 1.5, -0.0001, 65535, 65536, 2 ** 31, 2 ** 53, -(2 ** 53), 1e21, Number.MAX_VALUE, Number.MIN_VALUE, 3600, 3601, 86400 * 1000, this.int(100000) - 50000]);
  }

  /** Numbers JSON.parse reads oddly, or JSON does not have at all. */
  rawNumber(): Raw {
    return raw(this.pick(['1e309', '-1e309', '-0', '1E2', '0.0000001e7', '00', '01', '0x10', 'NaN', 'Infinity', '-', '1.', '.5', '+1', '9'.repeat(400), '1e-400', '123456789012345678901234567890']));
  }

  string(): string {
    const n = this.pick([0, 1, 8, 64, 513, 1025]);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.chance(0.9) ? 32 + this.int(95) : this.int(0xffff));
    return s;
  }

  /** A size around the limits: the 64 KiB body, the 512 KiB value, the 4 MiB transaction, the 8 MiB zone file. */
  hugeSize(): number {
    const sizes = [1024, 16 * 1024, 65_000, 65_535, 65_536, 65_537, 70_000, 200_000, 512 * 1024 - 50, 512 * 1024 + 1, 700_000];
    if (this.chance(0.04)) return this.pick([4 * 1024 * 1024 + 10, 8 * 1024 * 1024 + 10, 9 * 1024 * 1024]);
    return this.pick(sizes);
  }

  hugeString(size: number): Raw {
    const ch = this.pick(['a', 'é', '\\u0000', '"', '\\"', 'ü']);
    // Written as raw JSON so that the size is the wire size.
    const unit = ch === '"' ? '\\"' : ch;
    const reps = Math.max(1, Math.floor(size / Buffer.byteLength(unit)));
    return raw(Buffer.from(`"${unit.repeat(reps)}"`, 'utf8'));
  }

  deepNest(): Raw {
    const depth = this.pick([100, 1000, 5000, 10_000, 30_000, 32_000, 100_000]);
    switch (this.int(4)) {
      case 0:
        return raw('['.repeat(depth) + ']'.repeat(depth));
      case 1:
        return raw('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
      case 2:
        return raw('['.repeat(depth)); // never closed
      default:
        return raw('[{"a":'.repeat(depth) + 'null' + '}]'.repeat(depth));
    }
  }

  /** A value of another type than `v`'s. */
  wrongType(v: Json): Json {
    const options: Json[] = [null, true, 42, -1, 1.5, 'text', '', [], {}, ['x'], { a: 1 }, this.rawNumber()];
    const kind = (x: Json) => (x === null ? 'null' : x instanceof Raw ? 'raw' : Array.isArray(x) ? 'array' : typeof x);
    const others = options.filter((o) => kind(o) !== kind(v));
    return this.pick(others);
  }

  // ---- bodies ----

  registerBody(): Record<string, Json> {
    const b: Record<string, Json> = { address: this.pick(['192.0.2.7', '10.1.2.3', '2001:db8::7', '::ffff:192.0.2.1']), port: 1 + this.int(65535) };
    if (this.chance(0.5)) b.protocol = this.pick(['tcp', 'udp']);
    if (this.chance(0.4)) b.tags = ['x', this.label()];
    if (this.chance(0.4)) b.meta = { version: '1.2', [this.label()]: 'v' };
    if (this.chance(0.3)) b.weight = this.int(65536);
    if (this.chance(0.3)) b.priority = this.int(65536);
    // Long leases only: an instance that expires mid-run would move the indexes under the partial-write check.
    b.ttl = 3000 + this.int(601);
    return b;
  }

  zoneCreateBody(): Record<string, Json> {
    const b: Record<string, Json> = { name: this.pick(SCRATCH.zones) };
    if (this.chance(0.4)) b.nameservers = ['ns1.example.net.'];
    if (this.chance(0.4)) b.ttl = this.int(86400);
    return b;
  }

  rrsetBody(): Record<string, Json> {
    return { ttl: this.int(86400), values: this.pick([['192.0.2.44'], ['"text"', '"more"'], ['10 mx.example.net.'], ['host.example.net.'], ['2001:db8::1']]) };
  }

  txnBody(): Json {
    const ops: Json[] = [];
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) {
      const key = this.chance(0.3) ? SENTINELS.kvKey : this.pick(SCRATCH.kv);
      ops.push(
        this.pick<Json>([
          { verb: 'set', key, value: Buffer.from(this.label()).toString('base64') },
          { verb: 'cas', key, value: 'dg==', index: this.int(1000) },
          { verb: 'delete', key },
          { verb: 'delete-tree', key: 'fz/' },
          { verb: 'check-index', key, index: this.int(1000) },
          { verb: 'get', key },
        ]),
      );
    }
    return ops;
  }

  zoneFile(zone: string): Buffer {
    const origin = zone.endsWith('.') ? zone : `${zone}.`;
    return Buffer.from(
      `$ORIGIN ${origin}\n$TTL 300\n@ IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 1209600 300\n@ IN NS ns1.example.net.\nwww IN A 192.0.2.9\n`,
    );
  }

  dnsMessage(): Buffer {
    // encodeQuery takes names without the root's dot.
    const name = this.pick(['www.sentinel.test', 'sentinel.discovery.nekoq.internal', 'nekoq.internal', 'example.com', 'a.b.c', 'www.sentinel.test.']);
    return encodeQuery(name, this.pick([1, 28, 16, 33, 6, 255, 48, 252]), { id: this.int(65536), rd: this.chance(0.5), ...(this.chance(0.5) ? { payload: 1232, do: this.chance(0.5) } : {}) });
  }

  /** A valid query string for a blocking read: an index with a short wait (never the 5 minute default). */
  blockingQuery(): string {
    if (this.chance(0.5)) return '';
    return `index=${this.pick(['0', '1', '5', '999999'])}&wait=${this.pick(['0s', '10ms', '100ms', '300ms'])}`;
  }

  endpoints(): readonly Endpoint[] {
    const typeq = () => (this.chance(0.5) ? '' : `type=${this.pick(SCRATCH.types)}`);
    return [
      { name: 'svc-register', method: 'PUT', family: 'svc', role: 'register', path: () => this.instancePath(), body: () => this.registerBody(), type: 'application/json', readsBody: true },
      { name: 'svc-heartbeat', method: 'PUT', family: 'svc', role: 'register', path: () => this.instancePath('/heartbeat'), readsBody: false },
      { name: 'svc-deregister', method: 'DELETE', family: 'svc', role: 'register', path: () => this.instancePath(), readsBody: false },
      { name: 'svc-instance', method: 'GET', family: 'none', role: 'read', path: () => this.instancePath(), readsBody: false },
      { name: 'svc-list', method: 'GET', family: 'none', role: 'read', path: () => '/v1/services', query: () => [typeq(), this.blockingQuery()].filter(Boolean).join('&'), readsBody: false },
      {
        name: 'svc-get',
        method: 'GET',
        family: 'none',
        role: 'read',
        path: () => `/v1/services/${this.seg(() => this.pick(SCRATCH.types), 'discovery')}/${this.seg(() => this.pick(SCRATCH.names), 'sentinel')}`,
        query: () => this.blockingQuery(),
        readsBody: false,
      },
      { name: 'bootstrap', method: 'GET', family: 'none', role: 'read', path: () => '/v1/bootstrap', query: () => this.blockingQuery(), readsBody: false },
      {
        name: 'kv-get',
        method: 'GET',
        family: 'none',
        role: 'read',
        path: () => `/v1/kv/${this.kvKey()}`,
        query: () => [this.pick(['', 'raw', 'recurse', 'keys', 'keys&separator=/', 'encoding=base64']), this.blockingQuery()].filter(Boolean).join('&'),
        readsBody: false,
      },
      {
        name: 'kv-put',
        method: 'PUT',
        family: 'kv',
        role: 'kv',
        path: () => `/v1/kv/${this.kvKey()}`,
        query: () => this.pick(['', 'cas=0', `cas=${this.int(100)}`, `flags=${this.int(1000)}`, 'cas=999999&flags=1']),
        body: () => Buffer.from(this.pick(['v', 'value-' + this.label(), '\u00ff'])),
        type: 'application/octet-stream',
        readsBody: true,
      },
      { name: 'kv-delete', method: 'DELETE', family: 'kv', role: 'kv', path: () => `/v1/kv/${this.kvKey()}`, query: () => this.pick(['', `cas=${this.int(100)}`, 'cas=999999', 'recurse']), readsBody: false },
      { name: 'txn', method: 'POST', family: 'kv', role: 'kv', path: () => '/v1/txn', body: () => this.txnBody(), type: 'application/json', readsBody: true },
      { name: 'zones-list', method: 'GET', family: 'none', role: 'read', path: () => '/v1/zones', readsBody: false },
      { name: 'zones-create', method: 'POST', family: 'zones', role: 'admin', path: () => '/v1/zones', body: () => this.zoneCreateBody(), type: 'application/json', readsBody: true },
      { name: 'zone-get', method: 'GET', family: 'none', role: 'read', path: () => `/v1/zones/${this.zoneName()}`, readsBody: false },
      { name: 'zone-delete', method: 'DELETE', family: 'zones', role: 'admin', path: () => `/v1/zones/${this.zoneName()}`, readsBody: false },
      { name: 'zone-records', method: 'GET', family: 'none', role: 'read', path: () => `/v1/zones/${this.zoneName()}/records`, readsBody: false },
      {
        name: 'rrset-put',
        method: 'PUT',
        family: 'zones',
        role: 'admin',
        path: () => `/v1/zones/${this.zoneName()}/records/${this.recordName()}/${this.recordType()}`,
        body: () => this.rrsetBody(),
        type: 'application/json',
        readsBody: true,
      },
      { name: 'rrset-delete', method: 'DELETE', family: 'zones', role: 'admin', path: () => `/v1/zones/${this.zoneName()}/records/${this.recordName()}/${this.recordType()}`, readsBody: false },
      { name: 'zone-export', method: 'GET', family: 'none', role: 'read', path: () => `/v1/zones/${this.zoneName()}/export`, readsBody: false },
      {
        name: 'zone-import',
        method: 'POST',
        family: 'zones',
        role: 'admin',
        path: () => `/v1/zones/${this.zoneName()}/import`,
        body: () => this.zoneFile(this.pick(SCRATCH.zones)),
        type: this.pick(['text/dns', 'text/plain']),
        readsBody: true,
      },
      { name: 'dnssec', method: 'GET', family: 'none', role: 'read', path: () => '/v1/dnssec', readsBody: false },
      { name: 'dnssec-zone', method: 'GET', family: 'none', role: 'read', path: () => `/v1/dnssec/${this.zoneName()}`, readsBody: false },
      { name: 'dnssec-rollover', method: 'POST', family: 'zones', role: 'admin', path: () => `/v1/dnssec/${this.zoneName()}/rollover`, readsBody: false },
      { name: 'resolver', method: 'GET', family: 'none', role: 'admin', path: () => '/v1/admin/resolver', readsBody: false },
      {
        name: 'resolver-flush',
        method: 'DELETE',
        family: 'none',
        role: 'admin',
        path: () => '/v1/admin/resolver/cache',
        query: () => this.pick(['', 'name=example.com', 'name=example.com&subtree', 'subtree', `name=${this.pick(BAD_PERCENT)}`, `name=${'a.'.repeat(200)}`, 'name=..', 'name=']),
        readsBody: false,
      },
      { name: 'node', method: 'GET', family: 'none', role: 'read', path: () => '/v1/node', readsBody: false },
      { name: 'peers', method: 'GET', family: 'none', role: 'read', path: () => '/v1/peers', readsBody: false },
      { name: 'cluster-changes', method: 'GET', family: 'none', role: 'read', path: () => '/v1/cluster/changes', query: () => this.pick(['', 'since=0', 'since=0&wait=100&limit=10', 'since=-1', 'limit=0']), readsBody: false },
      // Never with a token that may: the appliance would shut down. Every other way of asking is fuzzed.
      { name: 'shutdown', method: 'POST', family: 'none', role: 'read', path: () => '/v1/admin/shutdown', readsBody: false },
      { name: 'unknown', method: 'GET', family: 'none', role: 'read', path: () => this.pick(['/v1', '/v1/', '/v1/nope', '/v1/kv', '/v1/services/', '/v1/zones/x/y/z/w/v', '/v1//kv/x', '/v1/services/a/b/instances/c/heartbeat/x']), readsBody: false },
      {
        name: 'doh-get',
        method: 'GET',
        family: 'none',
        role: 'read',
        path: () => '/dns-query',
        query: () => `dns=${this.dnsMessage().toString('base64url')}`,
        readsBody: false,
      },
      { name: 'doh-post', method: 'POST', family: 'none', role: 'read', path: () => '/dns-query', body: () => this.dnsMessage(), type: 'application/dns-message', readsBody: true },
    ];
  }

  // ---- the case ----

  make(slow: boolean): HttpCase {
    const all = this.endpoints();
    // The slow lane aims only at routes that read the body: a route that answers without it would act on a request still arriving.
    const eps = slow ? all.filter((e) => e.readsBody || e.method === 'GET') : all;
    const ep = this.pick(eps);
    const labels: string[] = [ep.name];
    let method = ep.method;
    let path = ep.path(this);
    let query = ep.query?.(this) ?? '';
    let body: Buffer | undefined;
    const valid = ep.body?.(this);
    let type: string | undefined = ep.type;
    let role: keyof typeof TEST_TOKENS | 'none' | 'bogus' = this.chance(0.75) ? (ep.name === 'shutdown' ? this.pick(['read', 'kv', 'register'] as const) : 'admin') : this.pick(['read', 'register', 'kv', 'none', 'bogus'] as const);
    if (ep.name === 'shutdown' && role === 'admin') role = 'read';
    let bare = false;
    let mayClose = false;
    const extraHeaders: [string, Buffer | string][] = [];
    let framing: 'cl' | 'chunked' | 'none' | 'cl-short' | 'cl-two' | 'cl-te' | 'chunked-bad' = 'cl';

    // The body: valid, or bent.
    if (valid !== undefined) {
      if (Buffer.isBuffer(valid)) {
        body = valid;
        if (this.chance(0.5)) {
          const m = this.int(5);
          labels.push(['huge', 'random', 'bad-utf8', 'empty', 'json'][m]!);
          if (m === 0) body = Buffer.alloc(this.hugeSize(), this.pick([0x61, 0x00, 0xff, 0x0a]));
          else if (m === 1) body = Buffer.from(Array.from({ length: this.int(600) }, () => this.int(256)));
          else if (m === 2) body = Buffer.concat([body, this.pick(BAD_UTF8), body]);
          else if (m === 3) body = Buffer.alloc(0);
          else body = serialize(this.randomJson());
        } else labels.push('valid');
      } else {
        const m = this.chance(0.08) ? -1 : this.int(14);
        body = serialize(this.bendJson(valid, m, labels));
      }
    } else if (this.chance(0.15)) {
      // A body where no route reads one.
      labels.push('unwanted-body');
      body = this.chance(0.3) ? Buffer.alloc(this.hugeSize(), 0x61) : serialize(this.randomJson());
    }

    // The request around it: each of these now and then (less often in the slow lane, whose point is the timing).
    const k = slow ? 0.3 : 1;
    // Never another method in the slow lane: a write that takes no body, acted on at once, would move the state mid-batch.
    if (!slow && this.chance(0.12)) {
      labels.push('method');
      method = this.pick(METHODS_ODD);
      if (this.chance(0.03)) {
        method = 'CONNECT';
        mayClose = true;
        bare = true;
      }
      if (this.chance(0.05)) {
        method = this.pick(['get', 'G ET', 'GET\t', 'FOO', 'PUT ', 'X'.repeat(40)]);
        bare = true;
      }
    } else if (!slow && this.chance(0.06)) {
      labels.push('other-route-method');
      method = this.pick(['GET', 'PUT', 'POST', 'DELETE']);
    }
    if (this.chance(0.1 * k) && path.startsWith('/v1/')) {
      labels.push('path-bytes');
      path = this.bendPath(path);
    }
    if (this.chance(0.12 * k)) {
      labels.push('query');
      query = this.bendQuery(query);
    }
    if (this.chance(0.1 * k)) {
      labels.push('content-type');
      type = this.pick(CONTENT_TYPES_BAD);
      if (this.chance(0.2)) {
        extraHeaders.push(['content-type', this.pick(CONTENT_TYPES_BAD)]);
      }
      if (this.chance(0.1 * k)) type = undefined;
    }
    if (this.chance(0.12 * k)) {
      const h = this.oddHeaders(labels);
      extraHeaders.push(...h.headers);
      bare ||= h.bare;
    }
    if (body !== undefined && this.chance(0.12 * k)) {
      framing = this.pick(['chunked', 'chunked', 'cl-short', 'cl-two', 'cl-te', 'chunked-bad', 'none'] as const);
      labels.push(`framing-${framing}`);
      // Two lengths, a length and chunked, a bad chunk: the parser refuses. A short length or none: the rest
      // of the body is the next request on the connection, and node answers its parse error (a bare 400) as
      // soon as it sees it, maybe before the first request's answer.
      bare ||= framing !== 'chunked';
    }
    let version = 'HTTP/1.1';
    if (this.chance(0.02)) {
      version = this.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 ', 'http/1.1', 'HTTP/1']);
      labels.push('version');
      if (version !== 'HTTP/1.0') bare = true;
    }
    // Ask for something node answers by itself (a 400 for a missing Host, a 417 for an odd Expect).
    if (extraHeaders.some(([k]) => k === 'expect') || extraHeaders.some(([k]) => k === '-no-host')) bare = true;

    const headers: [string, Buffer | string][] = [];
    if (!extraHeaders.some(([k]) => k === '-no-host')) headers.push(['host', '127.0.0.1']);
    if (role === 'bogus') headers.push(['authorization', this.pick(['Bearer nope', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer  ' + TEST_TOKENS.admin, 'Bearer ' + 'x'.repeat(600), TEST_TOKENS.admin, 'Bearer ' + TEST_TOKENS.admin + ' extra'])]);
    else if (role !== 'none') headers.push(['authorization', `Bearer ${TEST_TOKENS[role]}`]);
    if (type !== undefined && body !== undefined) headers.push(['content-type', type]);
    headers.push(...extraHeaders.filter(([k]) => k !== '-no-host'));

    const target = Buffer.concat([Buffer.from(path, 'latin1'), query === '' ? Buffer.alloc(0) : Buffer.from(`?${query}`, 'latin1')]);
    // A request-target with a space, a control byte or a byte past ASCII is refused by node's parser.
    if (target.some((b) => b <= 0x20 || b >= 0x7f)) bare = true;
    let delivery: Delivery = 'whole';
    let head = 0;
    let bytes = buildRequest(method, target, version, headers, body, framing);
    if (slow) {
      ({ bytes, head, delivery } = this.slowly(method, target, headers, body ?? Buffer.alloc(0), labels));
    }
    // node's parser takes at most 16 KiB of request line and headers (maxHeaderSize).
    const end = bytes.indexOf('\r\n\r\n');
    if (end === -1 || end > 16 * 1024 - 64) bare = true;
    const family = familyOf(method.trim().toUpperCase(), path, ep.family);
    return { bytes, head, delivery, label: labels.join('/'), method: method.trim().toUpperCase(), family, bare, mayClose };
  }

  /** bendJson applies mutation `m` (-1: none) to a valid body. */
  bendJson(valid: Json, m: number, labels: string[]): Json {
    const obj = valid !== null && typeof valid === 'object' && !Array.isArray(valid) && !(valid instanceof Raw) ? { ...(valid as Record<string, Json>) } : undefined;
    const fields = obj === undefined ? [] : Object.keys(obj);
    const field = fields.length > 0 ? this.pick(fields) : undefined;
    const names = ['random-json', 'wrong-type', 'drop-field', 'unknown-field', 'huge-string', 'deep-nesting', 'raw-number', 'bad-json', 'bad-utf8', 'duplicate-key', 'proto-key', 'empty', 'wrong-type-element', 'deep-in-field'];
    labels.push(m === -1 ? 'valid' : names[m]!);
    switch (m) {
      case -1:
        return valid;
      case 0:
        return this.randomJson();
      case 1:
        if (obj === undefined || field === undefined) return this.wrongType(valid);
        obj[field] = this.wrongType(obj[field]!);
        return obj;
      case 2:
        if (obj === undefined || field === undefined) return [];
        delete obj[field];
        return obj;
      case 3:
        if (obj === undefined) return Array.isArray(valid) ? [...valid, { verb: 'set', key: 'fz/k0', value: 'dg==', extra: 1 }] : valid;
        obj[this.pick(['extra', 'Address', 'PORT', 'id', ''])] = this.randomJson();
        return obj;
      case 4: {
        const s = this.hugeString(this.hugeSize());
        if (obj === undefined || field === undefined) return Array.isArray(valid) ? [{ verb: 'set', key: 'fz/k0', value: s }] : s;
        obj[field] = s;
        return obj;
      }
      case 5:
        return this.deepNest();
      case 6:
        if (obj === undefined || field === undefined) return [{ verb: 'check-index', key: 'fz/k0', index: this.rawNumber() }];
        obj[field] = this.rawNumber();
        return obj;
      case 7: {
        const text = serialize(valid).toString('latin1');
        return raw(
          this.pick([
            text.slice(0, Math.max(0, text.length - 1 - this.int(5))),
            text + ',',
            text + 'garbage',
            text.replace(/"/g, "'"),
            '\ufeff' + text,
            '\xef\xbb\xbf' + text,
            `/* c */${text}`,
            text.replace(/:/, '::'),
            `${text}${text}`,
            '\u0000' + text,
            ' \n\t ',
            'null',
            'tru',
          ]),
        );
      }
      case 8: {
        const text = serialize(valid);
        const at = this.int(text.length + 1);
        return raw(Buffer.concat([text.subarray(0, at), this.pick(BAD_UTF8), text.subarray(at)]));
      }
      case 9: {
        if (field === undefined) return raw('{"a":1,"a":2}');
        const text = serialize(obj!).toString('latin1');
        return raw(`${text.slice(0, -1)},${JSON.stringify(field)}:${serialize(this.wrongType(obj![field]!)).toString('latin1')}}`);
      }
      case 10:
        return raw(this.pick(['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', '[{"verb":"set","key":"__proto__","value":"dg=="}]', '{"__proto__":null,"address":"192.0.2.1","port":1}']));
      case 11:
        return raw('');
      case 12:
        if (obj !== undefined && field !== undefined && Array.isArray(obj[field])) {
          obj[field] = [...(obj[field] as Json[]), this.wrongType('x')];
          return obj;
        }
        if (Array.isArray(valid)) return [...valid, this.randomJson()];
        return this.wrongType(valid);
      default: {
        if (obj === undefined || field === undefined) return [this.deepNest()];
        obj[field] = this.deepNest();
        return obj;
      }
    }
  }

  bendPath(path: string): string {
    const at = this.int(path.length + 1);
    // Keep /v1/ (or /dns-query) in front: past that prefix the web manager answers, not the API.
    const keep = path.startsWith('/v1/') ? 4 : path.length;
    const pos = Math.max(keep, at);
    const insert = this.pick([
      Buffer.from(this.pick(BAD_UTF8)).toString('latin1'),
      this.pick(BAD_PERCENT),
      '%2F',
      '//',
      '/./',
      '/../',
      '\u00e9',
      '#frag',
      ';param',
      '%20',
      'x'.repeat(8000),
      'a/'.repeat(2000),
    ]);
    return path.slice(0, pos) + insert + path.slice(pos);
  }

  bendQuery(q: string): string {
    const junk = this.pick([
      `index=${this.pick(['abc', '-1', '1e3', '9999999999999999', '', '1.5', '0x10'])}&wait=1s`,
      `wait=${this.pick(['x', '-1s', '1', '5', '', '1d', '99999999999h', '10ms10ms'])}`,
      `index=1&wait=${this.pick(['bad', '-5s'])}`,
      `cas=${this.pick(['x', '-1', '1.5', '9007199254740993', '', '1e2'])}`,
      `flags=${this.pick(['-1', '9007199254740992', 'x', ''])}`,
      `type=${this.pick(['UPPER', '', '-x', 'a'.repeat(64), '%zz'])}`,
      `encoding=${this.pick(['hex', 'BASE64', ''])}`,
      'recurse&keys&raw&separator=',
      `separator=${'/'.repeat(this.int(600))}`,
      `dns=${this.pick(['', '!!!', 'AAAA', '____', 'A'.repeat(90000), Buffer.from([0, 1, 2]).toString('base64url')])}`,
      `name=${this.pick(BAD_PERCENT)}`,
      this.pick(BAD_PERCENT),
      `${Buffer.from(this.pick(BAD_UTF8)).toString('latin1')}=1`,
      '&&&=&=',
      `a=${'b'.repeat(this.pick([100, 5000, 15000]))}`,
      Array.from({ length: 500 }, (_, i) => `p${i}=${i}`).join('&'),
      'since=1&since=x&limit=99999999',
    ]);
    // The wait is always short and first: a valid index with the default wait would block for 5 minutes.
    const base = q.replace(/(^|&)(index|wait)=[^&]*/g, '');
    const out = [junk, base].filter(Boolean).join('&');
    return /(^|&)index=\d{1,15}(&|$)/.test(out) && !/^(.*&)?wait=/.test(out) ? `wait=100ms&${out}` : out;
  }

  oddHeaders(labels: string[]): { headers: [string, Buffer | string][]; bare: boolean } {
    const m = this.int(13);
    labels.push(`header-${m}`);
    switch (m) {
      case 0:
        return { headers: [['authorization', 'Bearer a'], ['authorization', `Bearer ${TEST_TOKENS.admin}`]], bare: false };
      case 1:
        return { headers: [['x-junk', 'v'.repeat(this.pick([1000, 8000, 17000, 70000]))]], bare: true };
      case 2:
        return { headers: Array.from({ length: this.pick([100, 1000, 2500]) }, (_, i) => [`x-h${i}`, 'v'] as [string, string]), bare: true };
      case 3:
        return { headers: [['x-bytes', Buffer.concat([Buffer.from('a'), this.pick(BAD_UTF8), Buffer.from('b')])]], bare: true };
      case 4:
        return { headers: [['bad header', 'v']], bare: true };
      case 5:
        return { headers: [['x-fold', 'a\r\n folded']], bare: true };
      case 6:
        return { headers: [['expect', this.pick(['100-continue', 'something-else'])]], bare: true };
      case 7:
        return { headers: [['-no-host', '']], bare: true };
      case 8:
        return { headers: [['host', 'a'], ['host', 'b']], bare: true };
      case 9:
        return { headers: [['connection', this.pick(['upgrade', 'keep-alive, close', 'x'.repeat(500)])], ['upgrade', this.pick(['websocket', 'h2c', 'junk'])]], bare: true };
      case 10:
        return { headers: [['x-nekoq-node', 'x'.repeat(200)], ['x-nekoq-time', '-1'], ['x-nekoq-signature', 'zz'], ['x-nekoq-nonce', 'q'], ['x-nekoq-cluster', '\u00ff']], bare: true };
      case 11:
        return { headers: [['x-ctl', 'a\u0000b']], bare: true };
      default:
        return { headers: [['accept', 'x'.repeat(3000)], ['accept-encoding', 'gzip;q=x, *;q=-1'], ['range', 'bytes=-'], ['if-none-match', '*']], bare: false };
    }
  }

  /** slowly makes a slow-lane request: headers that never end, or a body that trickles or stops. */
  slowly(method: string, target: Buffer, headers: [string, Buffer | string][], body: Buffer, labels: string[]): { bytes: Buffer; head: number; delivery: Delivery } {
    const m = this.int(5);
    const filler = body.length >= 1200 ? body : Buffer.concat([body, Buffer.alloc(1200 - body.length, 0x20)]);
    switch (m) {
      case 0: {
        // Headers a byte a second: the header timeout cuts them.
        labels.push('slow-headers');
        const bytes = buildRequest(method, target, 'HTTP/1.1', [...headers, ['x-pad', 'p'.repeat(600)]], undefined, 'cl');
        return { bytes, head: 8 + this.int(30), delivery: 'trickle' };
      }
      case 1: {
        labels.push('stall-headers');
        const bytes = buildRequest(method, target, 'HTTP/1.1', headers, undefined, 'cl');
        return { bytes, head: Math.max(1, bytes.length - 2 - this.int(20)), delivery: 'stall' };
      }
      case 2: {
        // A body a byte a second, declared long enough never to finish in time.
        labels.push('slow-body');
        const bytes = buildRequest(method, target, 'HTTP/1.1', headers, filler, 'cl');
        return { bytes, head: bytes.length - filler.length + this.int(20), delivery: 'trickle' };
      }
      case 3: {
        labels.push('stall-body');
        const bytes = buildRequest(method, target, 'HTTP/1.1', headers, filler, 'cl');
        return { bytes, head: bytes.length - filler.length + this.int(Math.min(filler.length - 1, 800)), delivery: 'stall' };
      }
      default: {
        // Chunked, never terminated.
        labels.push('stall-chunked');
        const bytes = buildRequest(method, target, 'HTTP/1.1', headers, filler, 'chunked');
        return { bytes, head: bytes.length - 5 - this.int(Math.min(filler.length, 800)), delivery: 'stall' };
      }
    }
  }
}

/** familyOf is what a 2xx to `method` on `path` may change: the route's family, or for a method or path bent away from it, the family of the path. */
function familyOf(method: string, path: string, routeFamily: Family): Family {
  if (method === 'GET' || method === 'HEAD') return 'none';
  if (/^\/v1\/(kv|txn)/.test(path)) return 'kv';
  if (/^\/v1\/services/.test(path)) return 'svc';
  if (/^\/v1\/(zones|dnssec)/.test(path)) return 'zones';
  if (path.startsWith('/v1/admin/resolver') || path.startsWith('/dns-query')) return 'none';
  return routeFamily === 'none' ? 'all' : routeFamily;
}

/** buildRequest writes an HTTP/1.1 request; `framing` says how the body is delimited (or how it lies about that). */
export function buildRequest(
  method: string,
  target: Buffer,
  version: string,
  headers: readonly [string, Buffer | string][],
  body: Buffer | undefined,
  framing: 'cl' | 'chunked' | 'none' | 'cl-short' | 'cl-two' | 'cl-te' | 'chunked-bad',
): Buffer {
  const lines: Buffer[] = [Buffer.from(`${method} `, 'latin1'), target, Buffer.from(` ${version}\r\n`, 'latin1')];
  const h = (k: string, v: Buffer | string) => lines.push(Buffer.from(`${k}: `, 'latin1'), Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1'), Buffer.from('\r\n'));
  for (const [k, v] of headers) h(k, v);
  let payload = body ?? Buffer.alloc(0);
  if (body !== undefined) {
    switch (framing) {
      case 'cl':
        h('content-length', String(body.length));
        break;
      case 'cl-short':
        // The extra bytes are the start of a next request on the connection.
        h('content-length', String(Math.max(0, body.length - 3)));
        break;
      case 'cl-two':
        h('content-length', String(body.length));
        h('content-length', String(body.length + 1));
        break;
      case 'cl-te':
        h('content-length', String(body.length));
        h('transfer-encoding', 'chunked');
        payload = chunked(body);
        break;
      case 'chunked':
        h('transfer-encoding', 'chunked');
        payload = chunked(body);
        break;
      case 'chunked-bad':
        h('transfer-encoding', 'chunked');
        payload = Buffer.concat([Buffer.from(`zz;ext\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
        break;
      case 'none':
        // No length at all: a request without framing has no body, so these bytes are a next request.
        break;
    }
  }
  lines.push(Buffer.from('\r\n'));
  return Buffer.concat([...lines, payload]);
}

/** chunked frames a body in chunks of up to 4 KiB, with the last chunk and no trailers. */
function chunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += 4096) {
    const c = body.subarray(i, i + 4096);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** declaredIncomplete tells whether a request's bytes end before its framing says (a stalled request, as in the corpus). */
export function declaredIncomplete(bytes: Buffer): boolean {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return true;
  const head = bytes.subarray(0, end).toString('latin1').toLowerCase();
  const bodyLen = bytes.length - end - 4;
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return !bytes.subarray(end + 4).includes('0\r\n\r\n');
  return cl !== null && Number(cl[1]) > bodyLen;
}

/** caseFromBytes makes a whole-delivery case of saved bytes (the corpus): every check is as lenient as the most lenient generated case. */
export function caseFromBytes(bytes: Buffer, label: string): HttpCase {
  const sp = bytes.indexOf(0x20);
  const method = bytes.subarray(0, sp === -1 ? Math.min(bytes.length, 16) : sp).toString('latin1').toUpperCase();
  return { bytes, head: bytes.length, delivery: declaredIncomplete(bytes) ? 'stall' : 'whole', label, method, family: 'all', bare: true, mayClose: method === 'CONNECT' };
}
