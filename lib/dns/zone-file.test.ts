import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PresentationError } from './presentation';
import { ZoneFileError, formatZoneFile, parseTtl, parseZoneFile, type ZoneRecord } from './zone-file';

type Rec = [name: string, ttl: number, type: string, data: unknown, line: number];
const recs = (rows: Rec[]): ZoneRecord[] => rows.map(([name, ttl, type, data, line]) => ({ name, ttl, type, data, line }));
const txt = (...s: string[]): Buffer[] => s.map((x) => Buffer.from(x, 'utf8'));
const withoutLines = (rs: readonly ZoneRecord[]) => rs.map(({ line: _line, ...r }) => r);

// ---------------------------------------------------------------------------
// TTLs

const ttls: [text: string, expected: number | undefined][] = [
  ['0', 0],
  ['3600', 3600],
  ['1h', 3600],
  ['1h30m', 5400],
  ['2d', 172_800],
  ['1w', 604_800],
  ['1W2d3H4M5S', 788_645],
  ['30s', 30],
  ['2147483647', 2_147_483_647],
  ['2147483648', undefined],
  ['3551w', undefined],
  ['', undefined],
  ['1x', undefined],
  ['h', undefined],
  ['1h 30m', undefined],
  ['-1', undefined],
  ['1.5h', undefined],
];
for (const [text, expected] of ttls) {
  test(`parseTtl ${JSON.stringify(text)}`, () => {
    assert.equal(parseTtl(text), expected);
  });
}

// ---------------------------------------------------------------------------
// A realistic zone file

const REALISTIC = `; example.com, written by hand
$ORIGIN example.com.
$TTL 1h
@\tIN\tSOA\tns1 hostmaster (
\t\t2024010101 ; serial
\t\t2h         ; refresh
\t\t15m        ; retry
\t\t2w         ; expire
\t\t1d )       ; negative TTL
\tIN\tNS\tns1
\tIN\tNS\tns2.example.net.
\tIN\tMX\t10 mail
\tIN\tTXT\t"v=spf1 mx -all ; not a comment" "(nor is this)"

ns1\tIN\tA\t192.0.2.1
\tIN\tAAAA\t2001:DB8::1
mail\t300\tIN\tA\t192.0.2.25
WWW\tIN\t300\tCNAME\tWeb.Example.COM.   ; the owner is lower-cased, the target is not
_sip._tcp  SRV 0 5 5060 sip
sip        A   192.0.2.30
txt        TXT "she said \\"hi\\"" bare\\;word
$ORIGIN sub
host\t60\tA\t192.0.2.40
\tTXT ( "a"
\t      "b" )`;

const REALISTIC_RECORDS = recs([
  [
    'example.com',
    3600,
    'SOA',
    {
      mname: 'ns1.example.com',
      rname: 'hostmaster.example.com',
      serial: 2024010101,
      refresh: 7200,
      retry: 900,
      expire: 1_209_600,
      minimum: 86_400,
    },
    4,
  ],
  ['example.com', 3600, 'NS', 'ns1.example.com', 10],
  ['example.com', 3600, 'NS', 'ns2.example.net', 11],
  ['example.com', 3600, 'MX', { preference: 10, exchange: 'mail.example.com' }, 12],
  ['example.com', 3600, 'TXT', txt('v=spf1 mx -all ; not a comment', '(nor is this)'), 13],
  ['ns1.example.com', 3600, 'A', '192.0.2.1', 15],
  ['ns1.example.com', 3600, 'AAAA', '2001:db8::1', 16],
  ['mail.example.com', 300, 'A', '192.0.2.25', 17],
  ['www.example.com', 300, 'CNAME', 'Web.Example.COM', 18],
  ['_sip._tcp.example.com', 3600, 'SRV', { priority: 0, weight: 5, port: 5060, target: 'sip.example.com' }, 19],
  ['sip.example.com', 3600, 'A', '192.0.2.30', 20],
  ['txt.example.com', 3600, 'TXT', txt('she said "hi"', 'bare;word'), 21],
  ['host.sub.example.com', 60, 'A', '192.0.2.40', 23],
  ['host.sub.example.com', 3600, 'TXT', txt('a', 'b'), 24],
]);

test('parseZoneFile reads a realistic zone', () => {
  const z = parseZoneFile(REALISTIC, {});
  assert.equal(z.origin, 'example.com');
  assert.deepEqual(z.records, REALISTIC_RECORDS);
});

test('parseZoneFile reads the realistic zone with CRLF line endings', () => {
  assert.deepEqual(parseZoneFile(REALISTIC.replace(/\n/g, '\r\n'), {}).records, REALISTIC_RECORDS);
});

// ---------------------------------------------------------------------------
// Smaller cases

interface ZoneCase {
  readonly name: string;
  readonly text: string;
  readonly opts?: { origin?: string; defaultTtl?: number };
  readonly origin?: string;
  readonly records: Rec[];
}

const cases: ZoneCase[] = [
  { name: 'an empty file', text: '', records: [] },
  { name: 'only comments and blank lines', text: '; nothing\n\n   ; here\n\t\n', records: [] },
  {
    name: 'opts.origin and opts.defaultTtl',
    text: 'www A 192.0.2.1\n',
    opts: { origin: 'example.org', defaultTtl: 30 },
    origin: 'example.org',
    records: [['www.example.org', 30, 'A', '192.0.2.1', 1]],
  },
  {
    name: '$TTL wins over opts.defaultTtl, an explicit TTL over $TTL',
    text: '$TTL 5m\na.example. A 192.0.2.1\nb.example. 7 A 192.0.2.2',
    opts: { defaultTtl: 30 },
    records: [
      ['a.example', 300, 'A', '192.0.2.1', 2],
      ['b.example', 7, 'A', '192.0.2.2', 3],
    ],
  },
  {
    name: 'TTL and class in either order, class optional',
    text: 'a.example. 10 IN A 192.0.2.1\nb.example. IN 1m A 192.0.2.2\nc.example. 2h A 192.0.2.3\nd.example. in 4 a 192.0.2.4',
    records: [
      ['a.example', 10, 'A', '192.0.2.1', 1],
      ['b.example', 60, 'A', '192.0.2.2', 2],
      ['c.example', 7200, 'A', '192.0.2.3', 3],
      ['d.example', 4, 'A', '192.0.2.4', 4],
    ],
  },
  {
    name: 'a final line without newline, tabs, and the owner reused after a blank-owner line',
    text: 'Host.Example.\t60\tA\t192.0.2.1\n\t60\tA\t192.0.2.2\n \t 60 TXT x',
    records: [
      ['host.example', 60, 'A', '192.0.2.1', 1],
      ['host.example', 60, 'A', '192.0.2.2', 2],
      ['host.example', 60, 'TXT', txt('x'), 3],
    ],
  },
  {
    name: '$ORIGIN absolute, then relative to the current origin; "@" follows it',
    text: '$ORIGIN example.com.\n$ORIGIN a\n@ 1 A 192.0.2.1\n$ORIGIN b.example.net.\nwww 1 CNAME @',
    origin: 'example.com',
    records: [
      ['a.example.com', 1, 'A', '192.0.2.1', 3],
      ['www.b.example.net', 1, 'CNAME', 'b.example.net', 5],
    ],
  },
  {
    name: 'the root origin',
    text: '$ORIGIN .\ncom 1 NS a.gtld-servers.net.',
    origin: '',
    records: [['com', 1, 'NS', 'a.gtld-servers.net', 2]],
  },
  {
    name: 'quotes, escapes and parentheses inside TXT',
    text: 'x.example. 1 TXT "a ; b" "( c" "d )" "e\\"f" "g\\\\" ; real comment\ny.example. 1 TXT ( "one ; (" ; comment ( inside\n  two )',
    records: [
      ['x.example', 1, 'TXT', txt('a ; b', '( c', 'd )', 'e"f', 'g\\'), 1],
      ['y.example', 1, 'TXT', txt('one ; (', 'two'), 2],
    ],
  },
  {
    name: 'RFC 3597 type and rdata',
    text: 'x.example. 1 TYPE1 \\# 4 C0000201\nx.example. 1 type65280 \\# 2 abcd\nx.example. 1 CLASS1 SVCB \\# 1 00',
    records: [
      ['x.example', 1, 'A', '192.0.2.1', 1],
      ['x.example', 1, 'TYPE65280', Buffer.from('abcd', 'hex'), 2],
      ['x.example', 1, 'SVCB', Buffer.from('00', 'hex'), 3],
    ],
  },
  {
    name: 'a SOA split over lines with units; the record keeps its first line',
    text: '\n\nexample. 1d IN SOA ns.example. hostmaster.example. (\n  1\n  1h\n  30m\n  1w\n  5m\n)\nexample. 1d NS ns.example.',
    records: [
      ['example', 86400, 'SOA', { mname: 'ns.example', rname: 'hostmaster.example', serial: 1, refresh: 3600, retry: 1800, expire: 604800, minimum: 300 }, 3],
      ['example', 86400, 'NS', 'ns.example', 10],
    ],
  },
];
for (const c of cases) {
  test(`parseZoneFile: ${c.name}`, () => {
    const z = parseZoneFile(c.text, c.opts ?? {});
    assert.equal(z.origin, c.origin);
    assert.deepEqual(z.records, recs(c.records));
  });
}

// ---------------------------------------------------------------------------
// Refused files: the error names the line where the record starts.

const fails: [text: string, opts: { origin?: string; defaultTtl?: number }, line: number, message: string][] = [
  ['www.example. IN A 192.0.2.1', {}, 1, 'no TTL given and no $TTL'],
  ['$TTL 1h\n$INCLUDE other.zone', {}, 2, '$INCLUDE is not supported'],
  ['$TTL 1h\n$GENERATE 1-10 x A 1.2.3.4', {}, 2, 'unknown directive "$GENERATE"'],
  ['$TTL one-hour', {}, 1, '$TTL "one-hour" is not a TTL'],
  ['$TTL', {}, 1, '$TTL needs exactly one TTL'],
  ['$ORIGIN', {}, 1, '$ORIGIN needs exactly one domain name'],
  ['$ORIGIN relative', {}, 1, 'relative name "relative" needs an origin'],
  ['$TTL 1h\n\nwww A 192.0.2.1', {}, 3, 'owner name: relative name "www" needs an origin'],
  ['\n  1h A 192.0.2.1', {}, 2, 'no owner name came before it'],
  ['x.example. 1 CH TXT "a"', {}, 1, 'class CH is not supported: only IN'],
  ['x.example. 1 HS A 192.0.2.1', {}, 1, 'class HS is not supported'],
  ['x.example. 1 IN IN A 192.0.2.1', {}, 1, 'a second class "IN"'],
  ['x.example. 1 2 A 192.0.2.1', {}, 1, 'a second TTL "2"'],
  ['x.example. 99999999999 A 192.0.2.1', {}, 1, 'TTL "99999999999" is not a TTL'],
  ['x.example. 2147483648 A 192.0.2.1', {}, 1, 'TTL "2147483648" is not a TTL'],
  ['x.example. 1 IN', {}, 1, 'the record type is missing'],
  ['x.example. 1 "A" 192.0.2.1', {}, 1, 'expected a record type, found "A"'],
  ['"x.example." 1 A 192.0.2.1', {}, 1, 'the owner name must not be quoted'],
  ['x.example. 1 XYZ 1', {}, 1, 'unsupported record type "XYZ"'],
  ['$TTL 1h\nok.example. A 192.0.2.1\nbad.example. MX x mail.example.', {}, 3, 'MX preference "x" is not a number 0-65535'],
  ['a.example. 1 A 192.0.2.1\nb.example. 1 TXT "unterminated\nc.example. 1 A 192.0.2.3', {}, 2, 'unterminated quoted string'],
  ['x.example. 1 TXT "a" ; ok\ny.example. 1 TXT "b"c', {}, 2, 'missing space after the quoted string'],
  ['x.example. 1 TXT a\\', {}, 1, 'backslash at the end of a line'],
  [
    '$TTL 1h\nexample. SOA ns.example. hm.example. (\n  1 ; serial\n  2 ; refresh\n  three ; retry\n  4 5 )\nexample. NS ns.example.',
    {},
    2,
    'SOA retry "three" is not a time',
  ],
  ['$TTL 1h\nexample. SOA ns.example. hm.example. (\n  1 2 3 4 5\nexample. NS ns.example.', {}, 2, '"(" is never closed'],
  ['$TTL 1h\nexample. TXT ( "a" ( "b" ) )', {}, 2, 'nested "(" inside a record'],
  ['$TTL 1h\nexample. TXT "a" )', {}, 2, '")" without a matching "("'],
  ['$TTL 1h\nexample. TXT (\n "a" )\nb.example. TXT', {}, 4, 'TXT string 1 is missing'],
  [`$TTL 1h\nexample. TXT "${'x'.repeat(256)}"`, {}, 2, 'TXT string 1 is longer than 255 bytes'],
  ['a\\.b.example. 1 A 192.0.2.1', {}, 1, 'escaped dots inside labels are not supported'],
  ['', { origin: 'example.com.' }, 0, 'origin "example.com." must be given without the trailing dot'],
  ['', { origin: 'a..b' }, 0, 'origin: name "a..b." has an empty label'],
];
for (const [text, opts, line, message] of fails) {
  test(`parseZoneFile refuses at line ${line}: ${message}`, () => {
    assert.throws(
      () => parseZoneFile(text, opts),
      (e: unknown) =>
        e instanceof ZoneFileError && e.line === line && e.message.startsWith(`line ${line}: `) && e.reason.includes(message),
    );
  });
}

// ---------------------------------------------------------------------------
// Writing

test('formatZoneFile writes $ORIGIN, $TTL, SOA, the apex, then canonical order', () => {
  const records = [
    { name: 'b.example.com', ttl: 60, type: 'A', data: '192.0.2.2' },
    { name: 'other.example.net', ttl: 60, type: 'CNAME', data: 'example.com' },
    { name: 'example.com', ttl: 3600, type: 'NS', data: 'ns1.example.com' },
    { name: 'a.b.example.com', ttl: 60, type: 'TXT', data: txt('x y') },
    { name: 'example.com', ttl: 3600, type: 'SOA', data: { mname: 'ns1.example.com', rname: 'hm.example.com', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } },
    { name: 'a.example.com', ttl: 60, type: 'MX', data: { preference: 0, exchange: '' } },
    { name: 'a b.example.com', ttl: 60, type: 'A', data: '192.0.2.9' },
  ];
  assert.equal(
    formatZoneFile('example.com', records),
    [
      '$ORIGIN example.com.',
      '$TTL 60',
      '@\t3600\tIN\tSOA\tns1.example.com. hm.example.com. 1 2 3 4 5',
      '@\t3600\tIN\tNS\tns1.example.com.',
      'a\t60\tIN\tMX\t0 .',
      'a\\032b\t60\tIN\tA\t192.0.2.9',
      'b\t60\tIN\tA\t192.0.2.2',
      'a.b\t60\tIN\tTXT\t"x y"',
      'other.example.net.\t60\tIN\tCNAME\texample.com.',
      '',
    ].join('\n'),
  );
});

// RFC 4034 §6.1's example, without the name holding \200 (non-ASCII labels are refused).
test('formatZoneFile sorts names in DNSSEC canonical order', () => {
  const canonical = ['example', 'a.example', 'yljkjljk.a.example', 'Z.a.example', 'zABC.a.EXAMPLE', 'z.example', '\u0001.z.example', '*.z.example'];
  const shuffled = [5, 2, 7, 0, 3, 6, 1, 4].map((i) => canonical[i] as string);
  const text = formatZoneFile('', shuffled.map((name) => ({ name, ttl: 1, type: 'A', data: '192.0.2.1' })));
  const owners = parseZoneFile(text, {}).records.map((r) => r.name);
  assert.deepEqual(owners, canonical.map((n) => n.toLowerCase()));
});

const exports: [origin: string, text: string][] = [
  ['example.com', REALISTIC],
  ['example.com', 'outside.example.org. 1 A 192.0.2.1\nexample.com. 1 SOA a. b. 1 2 3 4 5\n$ORIGIN example.com.\n@ 2 TXT "\\000\\255" "\\"q\\"" "semi;colon"\nx 2 TYPE65280 \\# 0\n'],
  ['', '$ORIGIN .\n@ 1 NS a.root-servers.net.\nnet 2 NS a.gtld-servers.net.\n'],
];
for (const [origin, text] of exports) {
  test(`formatZoneFile then parseZoneFile gives the same records (origin ${JSON.stringify(origin)})`, () => {
    const before = parseZoneFile(text, {}).records;
    const written = formatZoneFile(origin, before);
    const after = parseZoneFile(written, {});
    assert.equal(after.origin, origin);
    const key = (r: object) => JSON.stringify(r);
    assert.deepEqual(withoutLines(after.records).map(key).sort(), withoutLines(before).map(key).sort());
    assert.equal(formatZoneFile(origin, after.records), written, 'a second export is identical');
  });
}

test('formatZoneFile refuses data that does not fit the type, naming the record', () => {
  assert.throws(
    () => formatZoneFile('example.com', [{ name: 'www.example.com', ttl: 1, type: 'MX', data: 'mail' }]),
    (e: unknown) => e instanceof PresentationError && e.message === 'www.example.com. MX: MX data is not an object',
  );
});
