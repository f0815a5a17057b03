import { typeName, typeNumber } from './constants';
import {
  PresentationError,
  formatName,
  formatRdata,
  isSubdomain,
  parseName,
  parseRdata,
  parseSeconds,
  tokenize,
} from './presentation';

/*
 * Master files (RFC 1035 §5): reading one into records and writing records back.
 * We read exactly one file: $INCLUDE is refused. The class must be IN.
 */

/** One resource record read from a zone file; `line` is where its text starts (1-based). */
export interface ZoneRecord {
  /** Owner name in the internal form, lower case. */
  readonly name: string;
  /** Seconds. */
  readonly ttl: number;
  /** Upper-case mnemonic, or TYPE<n> for types without one (RFC 3597 §5). */
  readonly type: string;
  /** The dns-packet `data` value, as parseRdata gives it. */
  readonly data: unknown;
  readonly line: number;
}

/** ZoneFileError is a zone-file problem at a line (1-based; 0 for a bad option); the message is `line N: reason`. */
export class ZoneFileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'ZoneFileError';
  }
}

/** Largest TTL (RFC 2181 §8). */
const MAX_TTL = 2 ** 31 - 1;
const TTL_RULE = `0-${MAX_TTL} (seconds, or units s m h d w such as 1h30m)`;

/** parseTtl reads a TTL in seconds ("3600", "1h", "1h30m", "2d", "1w"; BIND units); undefined when malformed or above 2^31-1 (RFC 2181 §8). */
export function parseTtl(text: string): number | undefined {
  return parseSeconds(text, MAX_TTL);
}

/** One record or directive: its text with comments removed and parentheses joined, and the line it starts on. */
interface Entry {
  readonly line: number;
  /** The first line starts with a space or tab: the owner is the previous one (RFC 1035 §5.1). */
  readonly blankOwner: boolean;
  readonly text: string;
}

/**
 * splitEntries cuts the file into entries (RFC 1035 §5.1): a newline ends an entry
 * unless a "(" is open; ";" starts a comment; quoted strings and escapes are copied
 * untouched so that ";" and "(" inside them are text.
 */
function splitEntries(source: string): Entry[] {
  const text = source.replace(/\r\n?/g, '\n');
  const out: Entry[] = [];
  let line = 1;
  let start = 1;
  let blankOwner = false;
  let atLineStart = true;
  let open = false;
  let buf = '';
  const finish = (): void => {
    if (buf.trim() !== '') out.push({ line: start, blankOwner, text: buf });
    buf = '';
  };
  for (let i = 0; i < text.length; ) {
    const c = text[i] as string;
    if (atLineStart && !open) {
      start = line;
      blankOwner = c === ' ' || c === '\t';
    }
    atLineStart = false;
    if (c === '\n') {
      line++;
      atLineStart = true;
      if (open) buf += ' ';
      else finish();
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"' && text[j] !== '\n') j += text[j] === '\\' && text[j + 1] !== '\n' ? 2 : 1;
      if (j >= text.length || text[j] !== '"') throw new ZoneFileError(start, 'unterminated quoted string');
      buf += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= text.length || text[i + 1] === '\n') throw new ZoneFileError(start, 'backslash at the end of a line');
      buf += text.slice(i, i + 2);
      i += 2;
    } else if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '(') {
      if (open) throw new ZoneFileError(start, 'nested "(" inside a record');
      open = true;
      buf += ' ';
      i++;
    } else if (c === ')') {
      if (!open) throw new ZoneFileError(start, '")" without a matching "("');
      open = false;
      buf += ' ';
      i++;
    } else {
      buf += c;
      i++;
    }
  }
  if (open) throw new ZoneFileError(start, '"(" is never closed');
  finish();
  return out;
}

const CLASS_TOKEN = /^(?:IN|CH|CS|HS|NONE|ANY|CLASS\d{1,5})$/i;

/** canonicalType writes TYPE<n> as the mnemonic when there is one (RFC 3597 §5), and other types in upper case. */
function canonicalType(token: string): string {
  const upper = token.toUpperCase();
  if (!/^TYPE\d+$/.test(upper)) return upper;
  const n = typeNumber(upper);
  return n === undefined ? upper : typeName(n);
}

function internalOrigin(origin: string): string {
  if (origin.endsWith('.')) throw new ZoneFileError(0, `origin "${origin}" must be given without the trailing dot`);
  if (origin === '') return '';
  try {
    return parseName(formatName(origin), undefined).toLowerCase();
  } catch (e) {
    if (e instanceof PresentationError) throw new ZoneFileError(0, `origin: ${e.message}`);
    throw e;
  }
}

/**
 * parseZoneFile reads an RFC 1035 §5 master file into records with lower-case owner
 * names; `opts.origin` (internal form) is the starting $ORIGIN and `opts.defaultTtl`
 * the TTL of records that give none when there is no $TTL (RFC 2308 §4). The origin
 * returned is `opts.origin`, else the first $ORIGIN of the file, else undefined.
 * Throws ZoneFileError with the line where the faulty record starts.
 */
export function parseZoneFile(
  text: string,
  opts: { origin?: string; defaultTtl?: number },
): { origin: string | undefined; records: ZoneRecord[] } {
  let origin = opts.origin === undefined ? undefined : internalOrigin(opts.origin);
  let zoneOrigin = origin;
  let dollarTtl: number | undefined;
  let owner: string | undefined;
  const records: ZoneRecord[] = [];
  for (const entry of splitEntries(text)) {
    const fail = (reason: string): never => {
      throw new ZoneFileError(entry.line, reason);
    };
    try {
      const tokens = tokenize(entry.text);
      const first = tokens[0] as string;
      if (!entry.blankOwner && first.startsWith('$')) {
        const directive = first.toUpperCase();
        if (directive === '$ORIGIN') {
          if (tokens.length !== 2) fail('$ORIGIN needs exactly one domain name');
          origin = parseName(tokens[1] as string, origin);
          zoneOrigin ??= origin.toLowerCase();
        } else if (directive === '$TTL') {
          if (tokens.length !== 2) fail('$TTL needs exactly one TTL');
          dollarTtl = parseTtl(tokens[1] as string) ?? fail(`$TTL "${tokens[1]}" is not a TTL ${TTL_RULE}`);
        } else if (directive === '$INCLUDE') {
          fail('$INCLUDE is not supported: a zone file cannot read other files');
        } else {
          fail(`unknown directive "${first}"`);
        }
        continue;
      }
      let i = 0;
      let name: string;
      if (entry.blankOwner) {
        name = owner ?? fail('the line starts with whitespace but no owner name came before it');
      } else {
        const t = tokens[i++] as string;
        if (t.startsWith('"')) fail('the owner name must not be quoted');
        try {
          name = parseName(t, origin).toLowerCase();
        } catch (e) {
          throw e instanceof PresentationError ? new PresentationError(`owner name: ${e.message}`) : e;
        }
      }
      owner = name;
      let ttl: number | undefined;
      let sawClass = false;
      for (;;) {
        const t = tokens[i];
        if (t === undefined) break;
        if (/^\d/.test(t)) {
          if (ttl !== undefined) fail(`a second TTL "${t}"`);
          ttl = parseTtl(t) ?? fail(`TTL "${t}" is not a TTL ${TTL_RULE}`);
        } else if (CLASS_TOKEN.test(t)) {
          if (sawClass) fail(`a second class "${t}"`);
          const cls = t.toUpperCase();
          if (cls !== 'IN' && cls !== 'CLASS1') fail(`class ${cls} is not supported: only IN`);
          sawClass = true;
        } else {
          break;
        }
        i++;
      }
      const typeToken = tokens[i++] ?? fail('the record type is missing');
      if (typeToken.startsWith('"')) fail(`expected a record type, found ${typeToken}`);
      const type = canonicalType(typeToken);
      const data = parseRdata(type, tokens.slice(i), origin);
      ttl ??= dollarTtl ?? opts.defaultTtl ?? fail('no TTL given and no $TTL');
      records.push({ name, ttl, type, data, line: entry.line });
    } catch (e) {
      if (e instanceof PresentationError) throw new ZoneFileError(entry.line, e.message);
      throw e;
    }
  }
  return { origin: zoneOrigin, records };
}

/** canonicalCompare orders names as RFC 4034 §6.1 does: labels compared right to left as lower-case octets, the parent first. */
function canonicalCompare(a: string, b: string): number {
  const la = a === '' ? [] : a.toLowerCase().split('.').reverse();
  const lb = b === '' ? [] : b.toLowerCase().split('.').reverse();
  for (let i = 0; i < la.length && i < lb.length; i++) {
    const c = Buffer.compare(Buffer.from(la[i] as string, 'utf8'), Buffer.from(lb[i] as string, 'utf8'));
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** ownerText prints a name relative to the origin: "@" for the apex, relative below it, absolute elsewhere. */
function ownerText(name: string, origin: string): string {
  if (name.toLowerCase() === origin.toLowerCase()) return '@';
  const full = formatName(name);
  if (!isSubdomain(name, origin)) return full;
  if (origin === '') return full.slice(0, -1);
  return full.slice(0, full.length - formatName(origin).length - 1);
}

function mostCommonTtl(records: readonly { ttl: number }[]): number | undefined {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.ttl, (counts.get(r.ttl) ?? 0) + 1);
  let best: number | undefined;
  let bestCount = 0;
  for (const [ttl, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== undefined && ttl < best)) {
      best = ttl;
      bestCount = count;
    }
  }
  return best;
}

/**
 * formatZoneFile writes records as a master file (RFC 1035 §5) that parseZoneFile
 * reads back to the same records: $ORIGIN and $TTL (the most common TTL) first, then
 * SOA, the other apex records, and the remaining names in canonical order (RFC 4034
 * §6.1), records of one name in the order given; throws PresentationError when a
 * record's data does not fit its type.
 */
export function formatZoneFile(
  origin: string,
  records: readonly { name: string; ttl: number; type: string; data: unknown }[],
): string {
  const lines = [`$ORIGIN ${formatName(origin)}`];
  const ttl = mostCommonTtl(records);
  if (ttl !== undefined) lines.push(`$TTL ${ttl}`);
  const apex = origin.toLowerCase();
  const rank = (r: { name: string; type: string }): number =>
    r.type.toUpperCase() === 'SOA' ? 0 : r.name.toLowerCase() === apex ? 1 : 2;
  const sorted = records
    .map((r, index) => ({ r, index }))
    .sort((a, b) => rank(a.r) - rank(b.r) || canonicalCompare(a.r.name, b.r.name) || a.index - b.index);
  for (const { r } of sorted) {
    const type = r.type.toUpperCase();
    let rdata: string;
    try {
      rdata = formatRdata(type, r.data);
    } catch (e) {
      throw e instanceof PresentationError ? new PresentationError(`${formatName(r.name)} ${type}: ${e.message}`) : e;
    }
    lines.push(`${ownerText(r.name, origin)}\t${r.ttl}\tIN\t${type}\t${rdata}`);
  }
  return `${lines.join('\n')}\n`;
}
