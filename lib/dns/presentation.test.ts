import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import {
  PresentationError,
  SUPPORTED_TYPES,
  formatName,
  formatRdata,
  isSubdomain,
  parseName,
  parseRdata,
  parseSeconds,
  tokenize,
} from './presentation';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const bufs = (...s: string[]): Buffer[] => s.map((x) => Buffer.from(x, 'utf8'));

// ---------------------------------------------------------------------------
// Names

const names: [text: string, origin: string | undefined, expected: string][] = [
  ['www.example.com.', undefined, 'www.example.com'],
  ['www', 'example.com', 'www.example.com'],
  ['@', 'example.com', 'example.com'],
  ['.', undefined, ''],
  ['@', '', ''],
  ['www', '', 'www'],
  ['WWW.Example.', undefined, 'WWW.Example'],
  ['*.example.', undefined, '*.example'],
  ['_sip._tcp', 'example.com', '_sip._tcp.example.com'],
  ['a\\032b.', undefined, 'a b'],
  ['a\\(b\\;c.', undefined, 'a(b;c'],
  ['a\\065.', undefined, 'aA'],
  [`${'a'.repeat(63)}.`, undefined, 'a'.repeat(63)],
  [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`, undefined, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
];
for (const [text, origin, expected] of names) {
  test(`parseName ${JSON.stringify(text)} in ${JSON.stringify(origin)}`, () => {
    assert.equal(parseName(text, origin), expected);
  });
}

const badNames: [text: string, origin: string | undefined, message: string][] = [
  ['', undefined, 'empty domain name'],
  ['a..b.', undefined, 'has an empty label'],
  ['.a.', undefined, 'has an empty label'],
  ['a\\.b.', undefined, 'escaped dots inside labels are not supported'],
  ['a\\046b.', undefined, 'escaped dots inside labels are not supported'],
  ['a\\\\b.', undefined, 'escaped backslashes inside labels are not supported'],
  ['www', undefined, 'relative name "www" needs an origin'],
  ['@', undefined, '"@" needs an origin'],
  [`${'a'.repeat(64)}.`, undefined, 'label longer than 63 bytes'],
  [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}.`, undefined, 'longer than 255 bytes'],
  [`${'d'.repeat(62)}`, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}`, 'longer than 255 bytes'],
  ['café.example.', undefined, 'non-ascii'],
  ['a\\200.', undefined, 'non-ascii'],
  ['a b.', undefined, 'space or control character'],
  ['a\\1.', undefined, 'needs exactly three digits'],
  ['a\\256.', undefined, 'above 255'],
  ['a\\', undefined, 'lone backslash'],
];
for (const [text, origin, message] of badNames) {
  test(`parseName refuses ${JSON.stringify(text)}`, () => {
    assert.throws(() => parseName(text, origin), (e: unknown) => e instanceof PresentationError && e.message.includes(message));
  });
}

const formattedNames: [name: string, expected: string][] = [
  ['a.b', 'a.b.'],
  ['', '.'],
  ['.', '.'],
  ['Mixed.Case', 'Mixed.Case.'],
  ['a b', 'a\\032b.'],
  ['@.$x', '\\@.\\$x.'],
  ['a(b);"c"', 'a\\(b\\)\\;\\"c\\".'],
  ['*._tcp', '*._tcp.'],
];
for (const [name, expected] of formattedNames) {
  test(`formatName ${JSON.stringify(name)}`, () => {
    assert.equal(formatName(name), expected);
    assert.equal(parseName(expected, undefined), name === '.' ? '' : name);
  });
}

const subdomains: [name: string, parent: string, expected: boolean][] = [
  ['www.example.com', 'example.com', true],
  ['example.com', 'example.com', true],
  ['WWW.Example.COM', 'example.com', true],
  ['www.example.com', 'EXAMPLE.com', true],
  ['anything', '', true],
  ['', '', true],
  ['notexample.com', 'example.com', false],
  ['example.com', 'www.example.com', false],
  ['', 'com', false],
];
for (const [name, parent, expected] of subdomains) {
  test(`isSubdomain ${JSON.stringify(name)} of ${JSON.stringify(parent)}`, () => {
    assert.equal(isSubdomain(name, parent), expected);
  });
}

// ---------------------------------------------------------------------------
// Tokens

const tokens: [text: string, expected: string[]][] = [
  ['', []],
  ['  \t ', []],
  ['a b\t c', ['a', 'b', 'c']],
  ['"a b" c', ['"a b"', 'c']],
  ['"a\\" b" c', ['"a\\" b"', 'c']],
  ['a\\ b c', ['a\\ b', 'c']],
  ['"" x', ['""', 'x']],
  ['"a;(b)"', ['"a;(b)"']],
  ['10 mail.example.com.', ['10', 'mail.example.com.']],
];
for (const [text, expected] of tokens) {
  test(`tokenize ${JSON.stringify(text)}`, () => {
    assert.deepEqual(tokenize(text), expected);
  });
}

const badTokens: [text: string, message: string][] = [
  ['"abc', 'unterminated quoted string'],
  ['"ab\\"', 'unterminated quoted string'],
  ['ab"c"', 'quote inside the word'],
  ['"a"b', 'missing space after the quoted string'],
  ['a\\', 'lone backslash'],
];
for (const [text, message] of badTokens) {
  test(`tokenize refuses ${JSON.stringify(text)}`, () => {
    assert.throws(() => tokenize(text), (e: unknown) => e instanceof PresentationError && e.message.includes(message));
  });
}

// ---------------------------------------------------------------------------
// Time values

const seconds: [text: string, max: number, expected: number | undefined][] = [
  ['0', 100, 0],
  ['3600', 4000, 3600],
  ['1h30m', 10_000, 5400],
  ['1W2D', 10_000_000, 777_600],
  ['15s', 100, 15],
  ['101', 100, undefined],
  ['2m', 100, undefined],
  ['', 100, undefined],
  ['1x', 100, undefined],
  ['1.5h', 100_000, undefined],
  ['h', 100, undefined],
];
for (const [text, max, expected] of seconds) {
  test(`parseSeconds ${JSON.stringify(text)} max ${max}`, () => {
    assert.equal(parseSeconds(text, max), expected);
  });
}

// ---------------------------------------------------------------------------
// RDATA: every type parses to dns-packet's shape, prints canonically and parses back.

interface RdataCase {
  readonly type: string;
  readonly text: string;
  readonly origin?: string;
  readonly data: unknown;
  readonly formatted: string;
}

const rdata: RdataCase[] = [
  { type: 'A', text: '192.0.2.1', data: '192.0.2.1', formatted: '192.0.2.1' },
  { type: 'A', text: '0.0.0.0', data: '0.0.0.0', formatted: '0.0.0.0' },
  { type: 'AAAA', text: '2001:DB8:0:0:0:0:0:1', data: '2001:db8::1', formatted: '2001:db8::1' },
  { type: 'AAAA', text: '::ffff:192.0.2.1', data: '::ffff:c000:201', formatted: '::ffff:c000:201' },
  { type: 'AAAA', text: '1:0:0:1:0:0:0:1', data: '1:0:0:1::1', formatted: '1:0:0:1::1' },
  { type: 'CNAME', text: 'target', origin: 'example.com', data: 'target.example.com', formatted: 'target.example.com.' },
  { type: 'CNAME', text: 'Web.Example.COM.', data: 'Web.Example.COM', formatted: 'Web.Example.COM.' },
  { type: 'DNAME', text: 'example.net.', data: 'example.net', formatted: 'example.net.' },
  { type: 'NS', text: '@', origin: 'example.com', data: 'example.com', formatted: 'example.com.' },
  { type: 'PTR', text: 'host.example.', data: 'host.example', formatted: 'host.example.' },
  { type: 'MX', text: '10 mail', origin: 'example.com', data: { preference: 10, exchange: 'mail.example.com' }, formatted: '10 mail.example.com.' },
  { type: 'MX', text: '0 .', data: { preference: 0, exchange: '' }, formatted: '0 .' },
  {
    type: 'SRV',
    text: '0 5 5060 sip.example.com.',
    data: { priority: 0, weight: 5, port: 5060, target: 'sip.example.com' },
    formatted: '0 5 5060 sip.example.com.',
  },
  {
    type: 'SOA',
    text: 'ns1 hostmaster 2024010101 1h 15m 1w 1d',
    origin: 'example.com',
    data: {
      mname: 'ns1.example.com',
      rname: 'hostmaster.example.com',
      serial: 2024010101,
      refresh: 3600,
      retry: 900,
      expire: 604800,
      minimum: 86400,
    },
    formatted: 'ns1.example.com. hostmaster.example.com. 2024010101 3600 900 604800 86400',
  },
  {
    type: 'SOA',
    text: 'a. b. 4294967295 1h30m 2H 3d12h 0',
    data: { mname: 'a', rname: 'b', serial: 4294967295, refresh: 5400, retry: 7200, expire: 302400, minimum: 0 },
    formatted: 'a. b. 4294967295 5400 7200 302400 0',
  },
  { type: 'TXT', text: '"hello world"', data: bufs('hello world'), formatted: '"hello world"' },
  { type: 'TXT', text: 'bare "two" "a;(b)"', data: bufs('bare', 'two', 'a;(b)'), formatted: '"bare" "two" "a;(b)"' },
  { type: 'TXT', text: '"say \\"hi\\""', data: bufs('say "hi"'), formatted: '"say \\"hi\\""' },
  { type: 'TXT', text: '"back\\\\slash"', data: bufs('back\\slash'), formatted: '"back\\\\slash"' },
  { type: 'TXT', text: '"\\009tab\\010nl"', data: bufs('\ttab\nnl'), formatted: '"\\009tab\\010nl"' },
  { type: 'TXT', text: '"café"', data: bufs('café'), formatted: '"caf\\195\\169"' },
  { type: 'TXT', text: '"caf\\195\\169"', data: bufs('café'), formatted: '"caf\\195\\169"' },
  { type: 'TXT', text: '"\\255\\000"', data: [Buffer.from([255, 0])], formatted: '"\\255\\000"' },
  { type: 'TXT', text: 'semi\\;colon \\"q', data: bufs('semi;colon', '"q'), formatted: '"semi;colon" "\\"q"' },
  { type: 'TXT', text: '""', data: [Buffer.alloc(0)], formatted: '""' },
  { type: 'TXT', text: `"${'x'.repeat(255)}"`, data: bufs('x'.repeat(255)), formatted: `"${'x'.repeat(255)}"` },
  { type: 'TXT', text: `"${'\\000'.repeat(255)}"`, data: [Buffer.alloc(255)], formatted: `"${'\\000'.repeat(255)}"` },
  { type: 'HINFO', text: '"PC-Intel-700mhz" Linux', data: { cpu: 'PC-Intel-700mhz', os: 'Linux' }, formatted: '"PC-Intel-700mhz" "Linux"' },
  {
    type: 'CAA',
    text: '0 issue "ca.example.net; account=230123"',
    data: { flags: 0, tag: 'issue', value: 'ca.example.net; account=230123', issuerCritical: false },
    formatted: '0 issue "ca.example.net; account=230123"',
  },
  {
    type: 'CAA',
    text: '128 iodef "mailto:security@example.com"',
    data: { flags: 128, tag: 'iodef', value: 'mailto:security@example.com', issuerCritical: true },
    formatted: '128 iodef "mailto:security@example.com"',
  },
  { type: 'CAA', text: '0 issuewild ";"', data: { flags: 0, tag: 'issuewild', value: ';', issuerCritical: false }, formatted: '0 issuewild ";"' },
  {
    type: 'NAPTR',
    text: '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .',
    data: { order: 100, preference: 10, flags: 'U', services: 'E2U+sip', regexp: '!^.*$!sip:info@example.com!', replacement: '' },
    formatted: '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .',
  },
  {
    type: 'NAPTR',
    text: '10 0 "s" "SIP+D2U" "" _sip._udp',
    origin: 'example.com',
    data: { order: 10, preference: 0, flags: 's', services: 'SIP+D2U', regexp: '', replacement: '_sip._udp.example.com' },
    formatted: '10 0 "s" "SIP+D2U" "" _sip._udp.example.com.',
  },
  {
    type: 'SSHFP',
    text: '1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac',
    data: { algorithm: 1, hash: 1, fingerprint: 'DD465C09CFA51FB45020CC83316FFF21B9EC74AC' },
    formatted: '1 1 DD465C09CFA51FB45020CC83316FFF21B9EC74AC',
  },
  {
    type: 'SSHFP',
    text: '4 2 3d1e6d4b2c8a0e1f 3d1e6d4b2c8a0e1f3d1e6d4b2c8a0e1f 3d1e6d4b2c8a0e1f',
    data: { algorithm: 4, hash: 2, fingerprint: '3D1E6D4B2C8A0E1F'.repeat(4) },
    formatted: `4 2 ${'3D1E6D4B2C8A0E1F'.repeat(4)}`,
  },
  {
    type: 'TLSA',
    text: '3 1 1 ( 0D6FCE3A 2B6E1F8C )'.replace(/[()]/g, '') + ` ${'ab'.repeat(24)}`,
    data: { usage: 3, selector: 1, matchingType: 1, certificate: hex(`0D6FCE3A2B6E1F8C${'ab'.repeat(24)}`) },
    formatted: `3 1 1 0D6FCE3A2B6E1F8C${'AB'.repeat(24)}`,
  },
  {
    type: 'TLSA',
    text: '2 0 0 308201',
    data: { usage: 2, selector: 0, matchingType: 0, certificate: hex('308201') },
    formatted: '2 0 0 308201',
  },
  {
    type: 'DS',
    text: '60485 5 1 2BB183AF5F22588179A53B0A 98631FAD1A292118',
    data: { keyTag: 60485, algorithm: 5, digestType: 1, digest: hex('2BB183AF5F22588179A53B0A98631FAD1A292118') },
    formatted: '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
  },
  // RFC 3597 §5 generic form: raw types give a Buffer, known types are decoded.
  { type: 'SVCB', text: '\\# 3 abcdef', data: hex('abcdef'), formatted: '\\# 3 ABCDEF' },
  { type: 'HTTPS', text: '\\# 4 ab cd ef 01', data: hex('abcdef01'), formatted: '\\# 4 ABCDEF01' },
  { type: 'TYPE65280', text: '\\# 0', data: Buffer.alloc(0), formatted: '\\# 0' },
  { type: 'A', text: '\\# 4 C0000201', data: '192.0.2.1', formatted: '192.0.2.1' },
  { type: 'MX', text: '\\# 3 000A00', data: { preference: 10, exchange: '' }, formatted: '10 .' },
  { type: 'TXT', text: '\\# 6 05 68656c6c6f', data: bufs('hello'), formatted: '"hello"' },
];

for (const c of rdata) {
  test(`parseRdata ${c.type} ${JSON.stringify(c.text.slice(0, 60))}`, () => {
    const data = parseRdata(c.type, c.text, c.origin);
    assert.deepEqual(data, c.data);
    assert.equal(formatRdata(c.type, data), c.formatted);
    assert.deepEqual(parseRdata(c.type, formatRdata(c.type, data), undefined), data);
    assert.deepEqual(parseRdata(c.type, tokenize(c.text), c.origin), data, 'tokens give the same as text');
  });
}

test('every supported type has a round-trip case', () => {
  const covered = new Set(rdata.map((c) => c.type));
  for (const t of SUPPORTED_TYPES) assert.ok(covered.has(t), t);
});

// What parseRdata makes, dns-packet encodes and decodes back to the same value (once
// read through formatRdata/parseRdata, which turns dns-packet's "." root back into "").
for (const c of rdata) {
  test(`dns-packet carries ${c.type} ${JSON.stringify(c.text.slice(0, 40))}`, () => {
    const answer = { type: c.type, name: 'x.example', ttl: 1, data: c.data } as unknown as dnsPacket.Answer;
    const wire = dnsPacket.encode({ type: 'response', answers: [answer] });
    const decoded = (dnsPacket.decode(wire).answers?.[0] as { data: unknown }).data;
    assert.deepEqual(parseRdata(c.type, formatRdata(c.type, decoded), undefined), c.data);
  });
}

const badRdata: [type: string, text: string, message: string][] = [
  ['XYZ', '1', 'unsupported record type "XYZ"'],
  ['RP', 'a. b.', 'unsupported record type "RP"'],
  ['TYPE007', '\\# 0', 'unsupported record type "TYPE007"'],
  ['TYPE1', '\\# 4 01020304', 'record type "TYPE1" has the mnemonic A'],
  ['ANY', '\\# 0', 'query or meta type'],
  ['TYPE200', '\\# 0', 'query or meta type'],
  ['SVCB', '1 . alpn=h2', 'SVCB records must use the generic form'],
  ['A', '', 'A address is missing'],
  ['A', '192.0.2', 'A address "192.0.2" is not a dotted-quad'],
  ['A', '01.2.3.4', 'is not a dotted-quad'],
  ['A', '256.1.1.1', 'is not a dotted-quad'],
  ['A', '1.2.3.4 5.6.7.8', 'A has unexpected data "5.6.7.8" after its last field'],
  ['AAAA', '192.0.2.1', 'AAAA address "192.0.2.1" is not an IPv6 address'],
  ['AAAA', 'fe80::1%eth0', 'is not an IPv6 address'],
  ['AAAA', '1::2::3', 'is not an IPv6 address'],
  ['MX', 'x mail.', 'MX preference "x" is not a number 0-65535'],
  ['MX', '65536 mail.', 'MX preference "65536" is not a number 0-65535'],
  ['MX', '-1 mail.', 'MX preference "-1" is not a number'],
  ['MX', '10', 'MX exchange is missing'],
  ['MX', '10 "mail."', 'MX exchange must be a domain name, not a quoted string'],
  ['MX', '10 a..b.', 'MX exchange: name "a..b." has an empty label'],
  ['CNAME', 'relative', 'CNAME target: relative name "relative" needs an origin'],
  ['NS', 'a\\.b.', 'escaped dots inside labels are not supported'],
  ['SRV', '0 5 70000 t.', 'SRV port "70000" is not a number 0-65535'],
  ['SOA', 'a. b. 1 2 3 4', 'SOA minimum is missing'],
  ['SOA', 'a. b. 4294967296 2 3 4 5', 'SOA serial "4294967296" is not a number 0-4294967295'],
  ['SOA', 'a. b. 1h 2 3 4 5', 'SOA serial "1h" is not a number'],
  ['SOA', 'a. b. 1 1x 3 4 5', 'SOA refresh "1x" is not a time'],
  ['SOA', 'a. b. 1 2 3 4 5 6', 'SOA has unexpected data "6"'],
  ['TXT', '', 'TXT string 1 is missing'],
  ['TXT', `"${'x'.repeat(256)}"`, 'TXT string 1 is longer than 255 bytes'],
  ['TXT', `ok "${'\\065'.repeat(256)}"`, 'TXT string 2 is longer than 255 bytes'],
  ['TXT', `"${'é'.repeat(128)}"`, 'longer than 255 bytes'],
  ['TXT', '"unterminated', 'unterminated quoted string'],
  ['TXT', '"\\1x"', 'needs exactly three digits'],
  ['TXT', '"\\300"', 'above 255'],
  ['HINFO', '"cpu"', 'HINFO os is missing'],
  ['HINFO', '"\\255" "x"', 'HINFO cpu is not valid utf-8'],
  ['CAA', '256 issue "x"', 'CAA flags "256" is not a number 0-255'],
  ['CAA', '129 issue "x"', 'mix the critical bit'],
  ['CAA', '0 is-sue "x"', 'CAA tag "is-sue" is not 1-15 letters and digits'],
  ['CAA', '0 issue', 'CAA value is missing'],
  ['NAPTR', '1 2 "U" "E2U" "re"', 'NAPTR replacement is missing'],
  ['SSHFP', '1 3 abcd', 'SSHFP fingerprint type 3 is not 1 (SHA-1) or 2 (SHA-256)'],
  ['SSHFP', '1 1 abcd', 'SSHFP fingerprint is 2 bytes but fingerprint type 1 needs 20'],
  ['TLSA', '3 1 1 zz', 'TLSA certificate data is not an even number of hex digits'],
  ['TLSA', '3 1 1 abcd', 'TLSA certificate data is 2 bytes but matching type 1 needs 32'],
  ['DS', '1 8 2', 'DS digest is missing'],
  ['DS', '1 8 2 abc', 'DS digest is not an even number of hex digits'],
  ['DS', '1 8 1 abcd', 'DS digest is 2 bytes but digest type 1 needs 20'],
  ['A', '\\# 4 010203', 'A generic rdata has 3 bytes but its length says 4'],
  ['A', '\\# 5 0102030405', 'A generic rdata is not a well-formed A record'],
  ['MX', '\\# 4 000a0000', 'MX generic rdata is not a well-formed MX record'],
  ['MX', '\\# x', 'MX generic rdata length "x" is not a number 0-65535'],
  ['TXT', '\\# 0', 'TXT generic rdata is not a well-formed TXT record: TXT data has no strings'],
  ['NS', '\\# 4 02612e00', 'NS generic rdata is not a well-formed NS record'],
  ['SVCB', '\\# 2 abc', 'not an even number of hex digits'],
];
test('parseRdata refuses a token array with a half-quoted string', () => {
  assert.throws(() => parseRdata('TXT', ['"abc'], undefined), /TXT string 1: unterminated quoted string "abc/);
});

for (const [type, text, message] of badRdata) {
  test(`parseRdata refuses ${type} ${JSON.stringify(text.slice(0, 40))}`, () => {
    assert.throws(
      () => parseRdata(type, text, undefined),
      (e: unknown) => e instanceof PresentationError && e.message.includes(message),
    );
  });
}

const badData: [type: string, data: unknown, message: string][] = [
  ['MX', { exchange: 'a' }, 'MX data has no numeric "preference"'],
  ['MX', 'a', 'MX data is not an object'],
  ['TXT', [], 'TXT data has no strings'],
  ['TXT', [1], 'TXT data has no Buffer "string"'],
  ['A', 1, 'A data has no string "address"'],
  ['SVCB', 'x', 'SVCB data has no Buffer "data"'],
  ['XYZ', 'x', 'unsupported record type "XYZ"'],
];
for (const [type, data, message] of badData) {
  test(`formatRdata refuses ${type} ${JSON.stringify(data)}`, () => {
    assert.throws(() => formatRdata(type, data), (e: unknown) => e instanceof PresentationError && e.message.includes(message));
  });
}
