import { isIPv6 } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { typeName, typeNumber } from './constants';

/*
 * RDATA in zone-file presentation format (RFC 1035 §5.1), to and from the value
 * dns-packet takes as a record's `data`.
 *
 * Names in the internal form are absolute, without the trailing dot, labels joined
 * by "." and the root as "". Labels hold the decoded characters (`a\032b` is held as
 * "a b"); because dns-packet splits names on "." and writes labels as UTF-8, labels
 * may not contain a dot, a backslash or a non-ASCII character.
 *
 * Types outside SUPPORTED_TYPES that dns-packet carries as raw bytes (SVCB, HTTPS,
 * TYPE<n> for numbers without a mnemonic) are accepted only in the generic form
 * `\# <length> <hex>` of RFC 3597 §5 and give a Buffer. Supported types accept the
 * generic form too; it is decoded by dns-packet and checked like the text form.
 */

/** The record types whose presentation form we parse and format. */
export const SUPPORTED_TYPES: readonly string[] = Object.freeze([
  'A',
  'AAAA',
  'CAA',
  'CNAME',
  'DNAME',
  'DS',
  'HINFO',
  'MX',
  'NAPTR',
  'NS',
  'PTR',
  'SOA',
  'SRV',
  'SSHFP',
  'TLSA',
  'TXT',
]);

/** PresentationError says what is wrong with which field of a name or RDATA text. */
export class PresentationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PresentationError';
  }
}

// ---------------------------------------------------------------------------
// Names

const MAX_LABEL = 63;
const MAX_NAME_WIRE = 255;

/**
 * parseName turns a presentation name into the internal form (RFC 1035 §5.1): "@"
 * is `origin`, a name without a trailing dot is relative and gets `origin` appended,
 * `\DDD` and `\X` escapes are decoded, case is kept; throws PresentationError on an
 * empty label, a label over 63 bytes, a name over 255 wire bytes, non-ASCII, an
 * escaped dot or backslash, or a relative name when `origin` is undefined.
 */
export function parseName(text: string, origin: string | undefined): string {
  if (text === '@') {
    if (origin === undefined) throw new PresentationError('"@" needs an origin but none is set');
    return origin;
  }
  if (text === '.') return '';
  if (text === '') throw new PresentationError('empty domain name');
  const labels: string[] = [];
  let label = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new PresentationError(`name "${text}" has non-ascii characters; write it in punycode`);
    if (code <= 0x20 || code === 0x7f) throw new PresentationError(`name "${text}" has a space or control character; escape it as \\DDD`);
    if (c === '.') {
      if (label === '') throw new PresentationError(`name "${text}" has an empty label`);
      labels.push(label);
      label = '';
      continue;
    }
    if (c !== '\\') {
      label += c;
      continue;
    }
    const { char, length } = readEscape(text, i, `name "${text}"`);
    i += length - 1;
    const v = char.charCodeAt(0);
    if (char === '.') throw new PresentationError(`name "${text}": escaped dots inside labels are not supported`);
    if (char === '\\') throw new PresentationError(`name "${text}": escaped backslashes inside labels are not supported`);
    if (v > 0x7f) throw new PresentationError(`name "${text}" has non-ascii characters; write it in punycode`);
    label += char;
  }
  const absolute = label === '';
  if (!absolute) labels.push(label);
  for (const l of labels) {
    if (l.length > MAX_LABEL) throw new PresentationError(`name "${text}" has a label longer than ${MAX_LABEL} bytes`);
  }
  let name = labels.join('.');
  if (!absolute) {
    if (origin === undefined) throw new PresentationError(`relative name "${text}" needs an origin but none is set`);
    if (origin !== '') name += `.${origin}`;
  }
  if (name.length + 2 > MAX_NAME_WIRE) throw new PresentationError(`name "${text}" is longer than ${MAX_NAME_WIRE} bytes`);
  return name;
}

/**
 * readEscape decodes the escape starting at text[at] (a backslash): `\DDD` is the byte
 * DDD (RFC 1035 §5.1), `\X` is X; throws on `\` at the end or fewer than three digits.
 */
function readEscape(text: string, at: number, where: string): { char: string; length: number } {
  const rest = text.slice(at + 1, at + 4);
  if (/^\d{3}$/.test(rest)) {
    const v = Number(rest);
    if (v > 255) throw new PresentationError(`${where}: escape \\${rest} is above 255`);
    return { char: String.fromCharCode(v), length: 4 };
  }
  if (rest === '') throw new PresentationError(`${where} ends with a lone backslash`);
  if (/^\d/.test(rest)) throw new PresentationError(`${where}: escape \\${rest} needs exactly three digits`);
  const cp = text.codePointAt(at + 1) as number;
  return { char: String.fromCodePoint(cp), length: cp > 0xffff ? 3 : 2 };
}

/** Characters a label prints with a backslash: the zone-file delimiters and "@" and "$", which are special at the start of a line. */
const NAME_SPECIALS = new Set(['"', '(', ')', ';', '\\', '@', '$']);

function formatLabel(label: string): string {
  let out = '';
  for (const byte of Buffer.from(label, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (byte <= 0x20 || byte >= 0x7f) out += `\\${String(byte).padStart(3, '0')}`;
    else if (NAME_SPECIALS.has(c)) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/** formatName prints an internal name in absolute presentation form with the trailing dot ("a.b" → "a.b.", "" → "."); "." is taken as the root too. */
export function formatName(name: string): string {
  if (name === '' || name === '.') return '.';
  return `${name.split('.').map(formatLabel).join('.')}.`;
}

/** isSubdomain reports whether `name` is `parent` or below it, ignoring case; every name is below the root "". */
export function isSubdomain(name: string, parent: string): boolean {
  if (parent === '') return true;
  const n = name.toLowerCase();
  const p = parent.toLowerCase();
  return n === p || (n.length > p.length && n.endsWith(p) && n[n.length - p.length - 1] === '.');
}

// ---------------------------------------------------------------------------
// Tokens and character-strings

const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

/**
 * tokenize splits one record's RDATA text at whitespace; a quoted string is one token
 * and keeps its quotes, escapes are kept as written; parentheses and ";" are not
 * special here (zone-file.ts removes them first). Throws PresentationError on an
 * unterminated quote, a quote inside a bare word or text glued to a closing quote.
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (WHITESPACE.has(text[i] as string)) {
      i++;
      continue;
    }
    let j = i;
    if (text[i] === '"') {
      j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= n) throw new PresentationError(`unterminated quoted string ${text.slice(i)}`);
      j++;
      if (j < n && !WHITESPACE.has(text[j] as string)) {
        throw new PresentationError(`missing space after the quoted string ${text.slice(i, j)}`);
      }
    } else {
      while (j < n && !WHITESPACE.has(text[j] as string)) {
        if (text[j] === '"') throw new PresentationError(`quote inside the word ${text.slice(i, j + 1)}: quote the whole string`);
        if (text[j] === '\\') {
          if (j + 1 >= n) throw new PresentationError(`"${text.slice(i)}" ends with a lone backslash`);
          j += 2;
        } else {
          j++;
        }
      }
    }
    tokens.push(text.slice(i, j));
    i = j;
  }
  return tokens;
}

/** parseCharString decodes one character-string token (quoted or bare, RFC 1035 §5.1) into its bytes; raw non-ASCII is taken as UTF-8. */
function parseCharString(token: string, where: string, maxBytes: number): Buffer {
  const quoted = token.startsWith('"');
  if (quoted && (token.length < 2 || !token.endsWith('"'))) throw new PresentationError(`${where}: unterminated quoted string ${token}`);
  const body = quoted ? token.slice(1, -1) : token;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    let char = body[i] as string;
    if (char === '\\') {
      const e = readEscape(body, i, where);
      i += e.length - 1;
      if (e.length === 4) {
        bytes.push(e.char.charCodeAt(0));
        continue;
      }
      char = e.char;
    } else {
      const cp = body.codePointAt(i) as number;
      if (cp > 0xffff) {
        char = String.fromCodePoint(cp);
        i++;
      }
    }
    for (const b of Buffer.from(char, 'utf8')) bytes.push(b);
  }
  if (bytes.length > maxBytes) throw new PresentationError(`${where} is longer than ${maxBytes} bytes`);
  return Buffer.from(bytes);
}

/** formatCharString prints bytes as a quoted character-string: `"` and `\` escaped, bytes outside printable ASCII as \DDD. */
function formatCharString(bytes: Uint8Array): string {
  let out = '"';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${String(byte).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** utf8Text decodes bytes that dns-packet will hold as a JS string; they must be valid UTF-8 or the round trip would change them. */
function utf8Text(bytes: Buffer, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new PresentationError(`${where} is not valid utf-8`);
  }
}

// ---------------------------------------------------------------------------
// Numbers and times

const TIME_PART = /(\d{1,10})([smhdw])/iy;
const TIME_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * parseSeconds reads a BIND time value in seconds: digits ("3600") or unit parts
 * ("1h30m", units s m h d w in either case); undefined when malformed or above `max`.
 */
export function parseSeconds(text: string, max: number): number | undefined {
  let total: number;
  if (/^\d{1,10}$/.test(text)) {
    total = Number(text);
  } else {
    if (text.length === 0 || text.length > 64) return undefined;
    TIME_PART.lastIndex = 0;
    total = 0;
    while (TIME_PART.lastIndex < text.length) {
      const m = TIME_PART.exec(text);
      if (m === null) return undefined;
      total += Number(m[1]) * TIME_UNIT[(m[2] as string).toLowerCase()]!;
    }
  }
  return total <= max ? total : undefined;
}

const U32 = 0xffff_ffff;

// ---------------------------------------------------------------------------
// Record types

const META_TYPES = new Set(['OPT', 'TSIG', 'IXFR', 'AXFR', 'MAILB', 'MAILA', 'ANY']);

interface RecordCodec {
  encode(data: unknown, buf?: Buffer, offset?: number): Buffer;
  decode: ((buf: Buffer, offset?: number) => unknown) & { bytes: number };
}
const codecFor = (dnsPacket as unknown as { record(type: string): RecordCodec }).record;
const RAW_CODEC = codecFor('TYPE0');

/**
 * typeKind says how a type's RDATA is written: 'text' for SUPPORTED_TYPES, 'raw' for
 * types dns-packet carries as a Buffer (generic form only); throws for the rest.
 */
function typeKind(type: string): 'text' | 'raw' {
  if (SUPPORTED_TYPES.includes(type)) return 'text';
  const n = typeNumber(type);
  if (n === undefined || n === 0 || (/^TYPE/.test(type) && type !== `TYPE${n}`)) {
    throw new PresentationError(`unsupported record type "${type}"`);
  }
  const mnemonic = typeName(n);
  if (mnemonic !== type) throw new PresentationError(`record type "${type}" has the mnemonic ${mnemonic}; use that instead`);
  if (META_TYPES.has(type) || (n >= 128 && n <= 255)) {
    throw new PresentationError(`record type "${type}" is a query or meta type and cannot hold data`);
  }
  if (codecFor(type) !== RAW_CODEC) throw new PresentationError(`unsupported record type "${type}"`);
  return 'raw';
}

/** RdataReader hands out the tokens of one record's RDATA field by field, naming the field in errors. */
class RdataReader {
  private at = 0;
  constructor(
    private readonly type: string,
    private readonly tokens: readonly string[],
    private readonly origin: string | undefined,
  ) {}

  next(what: string): string {
    const t = this.tokens[this.at++];
    if (t === undefined) throw new PresentationError(`${this.type} ${what} is missing`);
    return t;
  }

  rest(what: string): string[] {
    if (this.at >= this.tokens.length) throw new PresentationError(`${this.type} ${what} is missing`);
    const r = this.tokens.slice(this.at);
    this.at = this.tokens.length;
    return r;
  }

  more(): boolean {
    return this.at < this.tokens.length;
  }

  end(): void {
    const t = this.tokens[this.at];
    if (t !== undefined) throw new PresentationError(`${this.type} has unexpected data "${t}" after its last field`);
  }

  number(what: string, max: number): number {
    const t = this.next(what);
    if (!/^\d{1,10}$/.test(t) || Number(t) > max) throw new PresentationError(`${this.type} ${what} "${t}" is not a number 0-${max}`);
    return Number(t);
  }

  time(what: string): number {
    const t = this.next(what);
    const v = parseSeconds(t, U32);
    if (v === undefined) {
      throw new PresentationError(`${this.type} ${what} "${t}" is not a time 0-${U32} (seconds, or units s m h d w such as 1h30m)`);
    }
    return v;
  }

  name(what: string): string {
    const t = this.next(what);
    if (t.startsWith('"')) throw new PresentationError(`${this.type} ${what} must be a domain name, not a quoted string`);
    try {
      return parseName(t, this.origin);
    } catch (e) {
      if (e instanceof PresentationError) throw new PresentationError(`${this.type} ${what}: ${e.message}`);
      throw e;
    }
  }

  bytes(what: string, max = 255): Buffer {
    return parseCharString(this.next(what), `${this.type} ${what}`, max);
  }

  text(what: string): string {
    return utf8Text(this.bytes(what), `${this.type} ${what}`);
  }

  hex(what: string): Buffer {
    const joined = this.rest(what).join('');
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(joined)) throw new PresentationError(`${this.type} ${what} is not an even number of hex digits`);
    return Buffer.from(joined, 'hex');
  }
}

/** Digest lengths in bytes of DS digest types (RFC 4509, RFC 6605) and TLSA/SSHFP matching types; other values take any length. */
const DS_DIGEST_BYTES: Record<number, number> = { 1: 20, 2: 32, 4: 48 };
const TLSA_MATCH_BYTES: Record<number, number> = { 1: 32, 2: 64 };
const SSHFP_HASH_BYTES: Record<number, number> = { 1: 20, 2: 32 };

function checkLength(type: string, what: string, bytes: Buffer, table: Record<number, number>, kind: number, kindName: string): void {
  const want = table[kind];
  if (want !== undefined && bytes.length !== want) {
    throw new PresentationError(`${type} ${what} is ${bytes.length} bytes but ${kindName} ${kind} needs ${want}`);
  }
}

/**
 * parseRdata turns one record's RDATA text (or tokens from tokenize) of `type` into
 * the `data` value dns-packet encodes: names in the internal form (relative ones get
 * `origin`), TXT as an array of Buffers, CAA with `issuerCritical`, hex fields as
 * Buffers (SSHFP: an upper-case hex string, as dns-packet decodes it); throws
 * PresentationError naming the type and field.
 */
export function parseRdata(type: string, tokens: string[] | string, origin: string | undefined): unknown {
  const t = type.toUpperCase();
  const toks = typeof tokens === 'string' ? tokenize(tokens) : tokens;
  const kind = typeKind(t);
  if (toks[0] === '\\#') return parseGeneric(t, toks.slice(1), kind);
  if (kind === 'raw') throw new PresentationError(`${t} records must use the generic form "\\# <length> <hex>" (RFC 3597 §5)`);
  const r = new RdataReader(t, toks, origin);
  const data = parseFields(t, r);
  r.end();
  return data;
}

function parseFields(t: string, r: RdataReader): unknown {
  switch (t) {
    case 'A': {
      const v = r.next('address');
      if (!/^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(v)) {
        throw new PresentationError(`A address "${v}" is not a dotted-quad IPv4 address`);
      }
      return v;
    }
    case 'AAAA': {
      const v = r.next('address');
      if (!isIPv6(v) || v.includes('%')) throw new PresentationError(`AAAA address "${v}" is not an IPv6 address`);
      return new URL(`http://[${v}]/`).hostname.slice(1, -1);
    }
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return r.name('target');
    case 'MX':
      return { preference: r.number('preference', 0xffff), exchange: r.name('exchange') };
    case 'SRV':
      return {
        priority: r.number('priority', 0xffff),
        weight: r.number('weight', 0xffff),
        port: r.number('port', 0xffff),
        target: r.name('target'),
      };
    case 'SOA':
      // RFC 1035 §3.3.13; the timers accept BIND units, the serial does not.
      return {
        mname: r.name('mname'),
        rname: r.name('rname'),
        serial: r.number('serial', U32),
        refresh: r.time('refresh'),
        retry: r.time('retry'),
        expire: r.time('expire'),
        minimum: r.time('minimum'),
      };
    case 'TXT': {
      // RFC 1035 §3.3.14: one or more character-strings.
      const strings: Buffer[] = [];
      do strings.push(r.bytes(`string ${strings.length + 1}`));
      while (r.more());
      return strings;
    }
    case 'HINFO':
      return { cpu: r.text('cpu'), os: r.text('os') };
    case 'CAA': {
      // RFC 8659 §4.1.1.
      const flags = r.number('flags', 255);
      if (flags & 0x80 && flags !== 0x80) {
        throw new PresentationError(`CAA flags ${flags} mix the critical bit (128) with reserved bits, which dns-packet cannot encode`);
      }
      const tag = r.next('tag');
      if (!/^[A-Za-z0-9]{1,15}$/.test(tag)) throw new PresentationError(`CAA tag "${tag}" is not 1-15 letters and digits`);
      const value = utf8Text(r.bytes('value', 0xffff - 2 - tag.length), 'CAA value');
      return { flags, tag, value, issuerCritical: flags === 0x80 };
    }
    case 'NAPTR':
      // RFC 3403 §4.1.
      return {
        order: r.number('order', 0xffff),
        preference: r.number('preference', 0xffff),
        flags: r.text('flags'),
        services: r.text('services'),
        regexp: r.text('regexp'),
        replacement: r.name('replacement'),
      };
    case 'SSHFP': {
      // RFC 4255 §3.2; dns-packet knows the lengths of hash types 1 and 2 only.
      const algorithm = r.number('algorithm', 255);
      const hash = r.number('fingerprint type', 255);
      if (SSHFP_HASH_BYTES[hash] === undefined) throw new PresentationError(`SSHFP fingerprint type ${hash} is not 1 (SHA-1) or 2 (SHA-256)`);
      const fp = r.hex('fingerprint');
      checkLength('SSHFP', 'fingerprint', fp, SSHFP_HASH_BYTES, hash, 'fingerprint type');
      return { algorithm, hash, fingerprint: fp.toString('hex').toUpperCase() };
    }
    case 'TLSA': {
      // RFC 6698 §2.2.
      const usage = r.number('usage', 255);
      const selector = r.number('selector', 255);
      const matchingType = r.number('matching type', 255);
      const certificate = r.hex('certificate data');
      checkLength('TLSA', 'certificate data', certificate, TLSA_MATCH_BYTES, matchingType, 'matching type');
      return { usage, selector, matchingType, certificate };
    }
    case 'DS': {
      // RFC 4034 §5.3; algorithm and digest type as numbers.
      const keyTag = r.number('key tag', 0xffff);
      const algorithm = r.number('algorithm', 255);
      const digestType = r.number('digest type', 255);
      const digest = r.hex('digest');
      checkLength('DS', 'digest', digest, DS_DIGEST_BYTES, digestType, 'digest type');
      return { keyTag, algorithm, digestType, digest };
    }
  }
  throw new PresentationError(`unsupported record type "${t}"`);
}

/** parseGeneric reads `<length> <hex>` after `\#` (RFC 3597 §5); supported types are decoded by dns-packet and must re-encode to the same bytes. */
function parseGeneric(t: string, toks: string[], kind: 'text' | 'raw'): unknown {
  const lenText = toks[0];
  if (lenText === undefined || !/^\d{1,5}$/.test(lenText) || Number(lenText) > 0xffff) {
    throw new PresentationError(`${t} generic rdata length "${lenText ?? ''}" is not a number 0-65535`);
  }
  const hex = toks.slice(1).join('');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new PresentationError(`${t} generic rdata is not an even number of hex digits`);
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length !== Number(lenText)) {
    throw new PresentationError(`${t} generic rdata has ${bytes.length} bytes but its length says ${lenText}`);
  }
  if (kind === 'raw') return bytes;
  const codec = codecFor(t);
  const framed = Buffer.alloc(bytes.length + 2);
  framed.writeUInt16BE(bytes.length, 0);
  bytes.copy(framed, 2);
  let decoded: unknown;
  try {
    decoded = codec.decode(framed, 0);
  } catch (e) {
    throw new PresentationError(`${t} generic rdata cannot be decoded: ${(e as Error).message.toLowerCase()}`);
  }
  let data: unknown;
  try {
    data = parseRdata(t, formatRdata(t, decoded), undefined);
  } catch (e) {
    if (e instanceof PresentationError) throw new PresentationError(`${t} generic rdata is not a well-formed ${t} record: ${e.message}`);
    throw e;
  }
  // Slice by the RDLENGTH written: dns-packet over-allocates by one byte for the root name "".
  const encoded = codec.encode(data);
  const again = encoded.subarray(2, 2 + encoded.readUInt16BE(0));
  if (!again.equals(bytes)) throw new PresentationError(`${t} generic rdata is not a well-formed ${t} record`);
  return data;
}

// ---------------------------------------------------------------------------
// Formatting

function fieldsOf(type: string, data: unknown): Record<string, unknown> {
  if (typeof data !== 'object' || data === null) throw new PresentationError(`${type} data is not an object`);
  return data as Record<string, unknown>;
}

function num(type: string, d: Record<string, unknown>, key: string): number {
  const v = d[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new PresentationError(`${type} data has no numeric "${key}"`);
  return v;
}

function str(type: string, v: unknown, key: string): string {
  if (typeof v !== 'string') throw new PresentationError(`${type} data has no string "${key}"`);
  return v;
}

function buf(type: string, v: unknown, key: string): Buffer {
  if (!Buffer.isBuffer(v)) throw new PresentationError(`${type} data has no Buffer "${key}"`);
  return v;
}

const textString = (s: string): string => formatCharString(Buffer.from(s, 'utf8'));
const hexUpper = (b: Buffer): string => b.toString('hex').toUpperCase();

/**
 * formatRdata prints a dns-packet `data` value of `type` in canonical presentation
 * form (absolute names, plain numbers, quoted strings, upper-case hex), so that
 * parseRdata(type, formatRdata(type, d), undefined) deep-equals d; throws
 * PresentationError when `data` does not have the shape of that type.
 */
export function formatRdata(type: string, data: unknown): string {
  const t = type.toUpperCase();
  if (typeKind(t) === 'raw') {
    const b = buf(t, data, 'data');
    return b.length === 0 ? '\\# 0' : `\\# ${b.length} ${hexUpper(b)}`;
  }
  switch (t) {
    case 'A':
    case 'AAAA':
      return str(t, data, 'address');
    case 'CNAME':
    case 'DNAME':
    case 'NS':
    case 'PTR':
      return formatName(str(t, data, 'target'));
    case 'TXT': {
      const parts = Array.isArray(data) ? data : [data];
      if (parts.length === 0) throw new PresentationError('TXT data has no strings');
      return parts
        .map((p: unknown) => (typeof p === 'string' ? textString(p) : formatCharString(buf(t, p, 'string'))))
        .join(' ');
    }
  }
  const d = fieldsOf(t, data);
  const name = (key: string): string => formatName(str(t, d[key], key));
  const n = (key: string): number => num(t, d, key);
  const s = (key: string): string => textString(str(t, d[key], key));
  switch (t) {
    case 'MX':
      return `${n('preference')} ${name('exchange')}`;
    case 'SRV':
      return `${n('priority')} ${n('weight')} ${n('port')} ${name('target')}`;
    case 'SOA':
      return `${name('mname')} ${name('rname')} ${n('serial')} ${n('refresh')} ${n('retry')} ${n('expire')} ${n('minimum')}`;
    case 'HINFO':
      return `${s('cpu')} ${s('os')}`;
    case 'CAA':
      return `${n('flags')} ${str(t, d.tag, 'tag')} ${s('value')}`;
    case 'NAPTR':
      return `${n('order')} ${n('preference')} ${s('flags')} ${s('services')} ${s('regexp')} ${name('replacement')}`;
    case 'SSHFP':
      return `${n('algorithm')} ${n('hash')} ${str(t, d.fingerprint, 'fingerprint').toUpperCase()}`;
    case 'TLSA':
      return `${n('usage')} ${n('selector')} ${n('matchingType')} ${hexUpper(buf(t, d.certificate, 'certificate'))}`;
    case 'DS':
      return `${n('keyTag')} ${n('algorithm')} ${n('digestType')} ${hexUpper(buf(t, d.digest, 'digest'))}`;
  }
  throw new PresentationError(`unsupported record type "${t}"`);
}
