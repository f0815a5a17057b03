// Real DNS clients (dig from BIND 9.18, kdig from Knot 3.2) driven as child
// processes, with their text output parsed into one comparable shape, so that
// integration tests can put the same question to the appliance and to NSD over
// UDP, TCP and DoH and compare what comes back.
//
// Client quirks that matter to a test writer (checked against dig 9.18.49 and
// kdig 3.2.6):
//  - kdig lower-cases the query name before sending it, so case echo (0x20) can
//    only be checked with dig; kdig's `question` is always lower-case.
//  - kdig sends no EDNS unless asked, and over DoH it pads (EDNS option 12) by
//    default; query() always states EDNS, bufsize and padding explicitly so the
//    query on the wire is the same from both clients on every transport.
//  - DoH: both clients accept a self-signed certificate by default (`+https`
//    alone is TLS with the opportunistic profile: no verification). Pass
//    `tlsCa` to make them verify (`+tls-ca=<file>`; the certificate must carry
//    the server's address or `tlsHostname` in its subjectAltName).
//  - dig's DoH client needs a Content-Length header on the HTTP/2 response;
//    without one it fails with "short (< header size) message". kdig does not.
//  - kdig sends DoH queries with message ID 0 (RFC 8484 §4.1); dig does not.
import { execFile } from 'node:child_process';

/** Client names the command-line DNS tool to run. */
export type Client = 'dig' | 'kdig';

/** Transport is plain UDP, plain TCP, or DNS over HTTPS (RFC 8484, HTTP/2 over TLS). */
export type Transport = 'udp' | 'tcp' | 'https';

export interface QueryOptions {
  /** Send an EDNS0 OPT record (default true). */
  edns?: boolean;
  /** EDNS UDP payload size advertised in the query (default 1232; ignored without EDNS). */
  bufsize?: number;
  /** Set the DO bit (default false; needs EDNS). */
  dnssec?: boolean;
  /** Set the RD bit (default false). */
  rd?: boolean;
  /** Set the CD bit, Checking Disabled (default false). */
  cd?: boolean;
  /** Keep a truncated UDP answer instead of retrying over TCP (default true). */
  ignoreTc?: boolean;
  /** Seconds to wait for each reply (default 2). */
  timeoutSec?: number;
  /** EDNS cookies are never sent; the field exists so that a test can say so. */
  cookie?: false;
  /** Query class (default 'IN'; 'CH' for version.bind and the like). */
  qclass?: string;
  /** DoH only: URL path of the endpoint (default '/dns-query'). */
  dohPath?: string;
  /** DoH only: use GET with ?dns= instead of POST (default false). */
  dohGet?: boolean;
  /** DoH only: PEM file of the CA to verify the server with; no verification without it. */
  tlsCa?: string;
  /** DoH only: name to verify the certificate against (default: the server address). */
  tlsHostname?: string;
  /** DoH only: add EDNS padding (RFC 7830) to the query (default false; needs EDNS). */
  padding?: boolean;
  /** Local address to send from (`-b` for both clients), e.g. '127.0.0.2'; default: the kernel's choice. */
  source?: string;
}

/** DnsResult is one response as both clients see it, normalized so that equal answers are deep-equal. */
export interface DnsResult {
  /** Response code, with extended rcodes folded in: 'NOERROR', 'NXDOMAIN', 'REFUSED', 'BADVERS' … */
  rcode: string;
  /** Header flags set in the response, lower-case and sorted: qr aa tc rd ra ad cd. */
  flags: string[];
  /** 'name. CLASS TYPE' with the name exactly as the server returned it; '' when the response had no question. */
  question: string;
  /** Records of the answer section, normalized by normalizeRecord, in server order. */
  answer: string[];
  /** Records of the authority section, normalized, in server order. */
  authority: string[];
  /** Records of the additional section without the OPT pseudo-record, normalized, in server order. */
  additional: string[];
  /** The server's OPT record (RFC 6891 §6.1.3), or undefined when the response had none. */
  edns: { version: number; udp: number; do: boolean } | undefined;
}

const DEFAULT_BUFSIZE = 1232;
const DEFAULT_TIMEOUT_SEC = 2;

/**
 * query asks `server` for `name`/`type` with a real client over `transport` and
 * resolves with the parsed response. It rejects, quoting the client's output,
 * when the client gets no response (timeout, connection refused, TLS failure),
 * when it exits with an error, or when its output holds no DNS header.
 */
export async function query(
  client: Client,
  transport: Transport,
  server: { host: string; port: number },
  name: string,
  type: string,
  opts: QueryOptions = {},
): Promise<DnsResult> {
  const args = client === 'dig' ? digArgs(transport, server, name, type, opts) : kdigArgs(transport, server, name, type, opts);
  const timeoutSec = opts.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  // Room for one UDP try, a possible TCP retry after TC, and process start-up.
  const killAfterMs = (timeoutSec * 2 + 3) * 1000;
  const { code, stdout, stderr } = await run(client, args, killAfterMs);
  const what = `${client} ${transport} ${name} ${type} @${server.host}:${server.port}`;
  if (code !== 0) {
    throw new Error(`${what}: exit ${code}: ${(stderr + stdout).trim()}`);
  }
  try {
    return parseClientOutput(stdout);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}\n--- output ---\n${stdout}${stderr}`);
  }
}

function digArgs(transport: Transport, server: { host: string; port: number }, name: string, type: string, o: QueryOptions): string[] {
  const edns = o.edns ?? true;
  if (!edns && (o.dnssec || o.padding)) throw new Error('query: dnssec and padding need edns');
  const a = [
    '-r', // ignore ~/.digrc
    `@${server.host}`,
    '-p', String(server.port),
    '-q', name,
    '-t', type,
    '-c', o.qclass ?? 'IN',
    '+noall', '+comments', '+question', '+answer', '+authority', '+additional',
    '+nomultiline', '+nosplit', '+noshort', '+noidnin', '+noidnout', '+nottlunits',
    '+nocookie', '+noadflag', '+nocdflag', '+noednsnegotiation', '+nonsid',
    o.rd ? '+recurse' : '+norecurse',
    o.cd ? '+cdflag' : '+nocdflag',
    (o.ignoreTc ?? true) ? '+ignore' : '+noignore',
    `+timeout=${o.timeoutSec ?? DEFAULT_TIMEOUT_SEC}`,
    '+tries=1',
  ];
  if (o.source !== undefined) a.push('-b', o.source);
  a.push(...(edns ? ['+edns=0', `+bufsize=${o.bufsize ?? DEFAULT_BUFSIZE}`] : ['+noedns']));
  a.push(o.dnssec ? '+dnssec' : '+nodnssec');
  if (transport === 'tcp') a.push('+tcp');
  if (transport === 'udp') a.push('+notcp');
  if (transport === 'https') {
    const path = o.dohPath ?? '/dns-query';
    a.push(o.dohGet ? `+https-get=${path}` : `+https=${path}`);
    // dig pads nothing by default, and any +padding (even =0) switches EDNS on.
    if (o.padding) a.push('+padding=128');
    if (o.tlsCa !== undefined) a.push(`+tls-ca=${o.tlsCa}`);
    if (o.tlsHostname !== undefined) a.push(`+tls-hostname=${o.tlsHostname}`);
  }
  return a;
}

function kdigArgs(transport: Transport, server: { host: string; port: number }, name: string, type: string, o: QueryOptions): string[] {
  const edns = o.edns ?? true;
  if (!edns && (o.dnssec || o.padding)) throw new Error('query: dnssec and padding need edns');
  const a = [
    `@${server.host}`,
    '-p', String(server.port),
    '-q', name,
    '-t', type,
    '-c', o.qclass ?? 'IN',
    '+nomultiline', '+noshort', '+nogeneric', '+nojson', '+noidn', '+nostats', '+noqr',
    '+nocookie', '+noadflag', '+nocdflag', '+nonsid',
    o.rd ? '+recurse' : '+norecurse',
    o.cd ? '+cdflag' : '+nocdflag',
    (o.ignoreTc ?? true) ? '+ignore' : '+noignore',
    `+timeout=${o.timeoutSec ?? DEFAULT_TIMEOUT_SEC}`,
    '+retry=0',
  ];
  if (o.source !== undefined) a.push('-b', o.source);
  a.push(...(edns ? ['+edns=0', `+bufsize=${o.bufsize ?? DEFAULT_BUFSIZE}`] : ['+noedns']));
  a.push(o.dnssec ? '+dnssec' : '+nodnssec');
  // UDP is kdig's default; an explicit +notcp would also forbid the TCP retry after TC.
  if (transport === 'tcp') a.push('+tcp');
  if (transport === 'https') {
    a.push(`+https=${o.dohPath ?? '/dns-query'}`);
    if (o.dohGet) a.push('+https-get');
    a.push(o.padding ? '+padding' : '+nopadding');
    if (o.tlsCa !== undefined) a.push(`+tls-ca=${o.tlsCa}`);
    if (o.tlsHostname !== undefined) a.push(`+tls-hostname=${o.tlsHostname}`);
  }
  return a;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err === null) return resolve({ code: 0, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
      if (e.code === 'ENOENT') return reject(new Error(`running ${file}: not installed`));
      if (e.killed) return resolve({ code: `killed after ${timeoutMs} ms`, stdout, stderr });
      resolve({ code: typeof e.code === 'number' ? e.code : (e.signal ?? String(e.code)), stdout, stderr });
    });
  });
}

type Section = 'question' | 'answer' | 'authority' | 'additional';

/**
 * parseClientOutput turns the text output of dig (+noall +comments +question
 * +answer +authority +additional) or kdig (default layout) into a DnsResult.
 * When the output holds more than one response (a TC retry), the last one wins.
 * Throws when there is no header line.
 */
export function parseClientOutput(text: string): DnsResult {
  let result: DnsResult | undefined;
  let section: Section | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const header = /->>HEADER<<-\s*opcode:\s*[^,;]+[,;]\s*status:\s*([^,;\s]+)/.exec(line);
    if (header) {
      result = { rcode: header[1]!.toUpperCase(), flags: [], question: '', answer: [], authority: [], additional: [], edns: undefined };
      section = undefined;
      continue;
    }
    if (result === undefined) continue;
    const flags = /^;;\s*flags:\s*([^;]*);/i.exec(line);
    if (flags) {
      result.flags = flags[1]!.trim().split(/\s+/).filter((f) => f !== '').map((f) => f.toLowerCase()).sort();
      continue;
    }
    // dig: "; EDNS: version: 0, flags: do; udp: 1232"; kdig: ";; Version: 0; flags: do; UDP size: 1232 B; ext-rcode: …"
    const edns =
      /^;\s*EDNS:\s*version:\s*(\d+),\s*flags:\s*([^;]*);.*?\budp:\s*(\d+)/.exec(line) ??
      /^;;\s*Version:\s*(\d+);\s*flags:\s*([^;]*);.*?\bUDP size:\s*(\d+)/.exec(line);
    if (edns) {
      result.edns = { version: Number(edns[1]), udp: Number(edns[3]), do: /\bdo\b/i.test(edns[2]!) };
      continue;
    }
    const sec = /^;;\s*(QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (sec) {
      section = sec[1]!.toLowerCase() as Section;
      continue;
    }
    // Any other section header (dig's OPT PSEUDOSECTION, kdig's EDNS PSEUDOSECTION …) ends the current one.
    if (/^;;.*(SECTION|PSEUDOSECTION):/.test(line)) {
      section = undefined;
      continue;
    }
    if (line.trim() === '' || section === undefined) continue;
    if (section === 'question') {
      if (!line.startsWith(';') || result.question !== '') continue;
      const [qname, qclass, qtype] = line.replace(/^;+\s*/, '').trim().split(/\s+/);
      if (qname !== undefined && qclass !== undefined && qtype !== undefined) result.question = `${qname} ${qclass.toUpperCase()} ${qtype.toUpperCase()}`;
      continue;
    }
    if (line.startsWith(';')) continue;
    const rr = normalizeRecord(line);
    if (rr.split(' ')[3] === 'OPT') continue;
    result[section].push(rr);
  }
  if (result === undefined) throw new Error('no DNS header in client output');
  return result;
}

// ---------------------------------------------------------------------------
// Record normalization

interface Token {
  text: string;
  quoted: boolean;
}

/** tokenize splits presentation format at unquoted white space, keeping escapes and quotes in the token text. */
function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    let text = '';
    let inQuote = false;
    let quoted = false;
    while (i < s.length && (inQuote || !/\s/.test(s[i]!))) {
      const c = s[i]!;
      if (c === '\\' && i + 1 < s.length) {
        text += c + s[i + 1]!;
        i += 2;
        continue;
      }
      if (c === '"') {
        inQuote = !inQuote;
        quoted = true;
      }
      text += c;
      i++;
    }
    out.push({ text, quoted });
  }
  return out;
}

/** unescape decodes a presentation-format string (\DDD and \X escapes, quotes removed) into bytes. */
function unescape(s: string): number[] {
  const bytes: number[] = [];
  const body = s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
  const utf8 = Buffer.from(body, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const b = utf8[i]!;
    if (b === 0x22) continue; // stray quotes inside a token (key="value") carry no data
    if (b === 0x5c && i + 1 < utf8.length) {
      const d = utf8.subarray(i + 1, i + 4).toString('latin1');
      if (/^\d{3}$/.test(d)) {
        bytes.push(Number(d) & 0xff);
        i += 3;
      } else {
        bytes.push(utf8[i + 1]!);
        i += 1;
      }
      continue;
    }
    bytes.push(b);
  }
  return bytes;
}

/** charString renders bytes as a quoted character-string: printable ASCII as is, `"` and `\` escaped, the rest \DDD. */
function charString(bytes: number[]): string {
  return `"${escapeBytes(bytes, (b) => b === 0x22 || b === 0x5c)}"`;
}

function escapeBytes(bytes: number[], needsBackslash: (b: number) => boolean): string {
  let s = '';
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e) s += '\\' + String(b).padStart(3, '0');
    else if (needsBackslash(b)) s += '\\' + String.fromCharCode(b);
    else s += String.fromCharCode(b);
  }
  return s;
}

const NAME_SPECIAL = new Set([...'.;\\"()@$'].map((c) => c.charCodeAt(0)));

/** canonicalName lower-cases a domain name, makes it absolute and re-escapes it (space and non-printables as \DDD). */
function canonicalName(s: string): string {
  if (s === '.' || s === '@') return '.';
  const labels: number[][] = [[]];
  const utf8 = Buffer.from(s, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const b = utf8[i]!;
    const cur = labels[labels.length - 1]!;
    if (b === 0x5c && i + 1 < utf8.length) {
      const d = utf8.subarray(i + 1, i + 4).toString('latin1');
      if (/^\d{3}$/.test(d)) {
        cur.push(Number(d) & 0xff);
        i += 3;
      } else {
        cur.push(utf8[i + 1]!);
        i += 1;
      }
    } else if (b === 0x2e) {
      labels.push([]);
    } else {
      cur.push(b);
    }
  }
  if (labels.length > 1 && labels[labels.length - 1]!.length === 0) labels.pop();
  const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
  // Space is the one printable byte that names print as \DDD (both clients do).
  const label = (l: number[]) => l.map((b) => (b === 0x20 ? '\\032' : escapeBytes([lower(b)], (x) => NAME_SPECIAL.has(x)))).join('');
  return labels.map(label).join('.') + '.';
}

function canonicalInt(s: string): string {
  return /^\d+$/.test(s) ? String(Number(s)) : s;
}

function canonicalIp6(s: string): string {
  try {
    return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return s.toLowerCase();
  }
}

type Field = 'name' | 'int' | 'str' | 'raw' | 'ip6' | 'upper';
type Rest = 'strs' | 'hex' | 'b64' | 'raw' | 'upper';

// Field layouts of the types whose presentation differs between clients or
// carries names to lower-case. Types not listed keep their tokens, single-spaced.
const LAYOUT: Record<string, { fields: Field[]; rest?: Rest }> = {
  A: { fields: ['raw'] },
  AAAA: { fields: ['ip6'] },
  NS: { fields: ['name'] },
  CNAME: { fields: ['name'] },
  DNAME: { fields: ['name'] },
  PTR: { fields: ['name'] },
  MB: { fields: ['name'] },
  MG: { fields: ['name'] },
  MR: { fields: ['name'] },
  MX: { fields: ['int', 'name'] },
  KX: { fields: ['int', 'name'] },
  AFSDB: { fields: ['int', 'name'] },
  RT: { fields: ['int', 'name'] },
  RP: { fields: ['name', 'name'] },
  MINFO: { fields: ['name', 'name'] },
  SOA: { fields: ['name', 'name', 'int', 'int', 'int', 'int', 'int'] },
  SRV: { fields: ['int', 'int', 'int', 'name'] },
  TXT: { fields: [], rest: 'strs' },
  SPF: { fields: [], rest: 'strs' },
  HINFO: { fields: ['str', 'str'] },
  CAA: { fields: ['int', 'raw', 'str'] },
  NAPTR: { fields: ['int', 'int', 'str', 'str', 'str', 'name'] },
  DS: { fields: ['int', 'int', 'int'], rest: 'hex' },
  CDS: { fields: ['int', 'int', 'int'], rest: 'hex' },
  SSHFP: { fields: ['int', 'int'], rest: 'hex' },
  TLSA: { fields: ['int', 'int', 'int'], rest: 'hex' },
  SMIMEA: { fields: ['int', 'int', 'int'], rest: 'hex' },
  DNSKEY: { fields: ['int', 'int', 'int'], rest: 'b64' },
  CDNSKEY: { fields: ['int', 'int', 'int'], rest: 'b64' },
  RRSIG: { fields: ['upper', 'int', 'int', 'int', 'raw', 'raw', 'int', 'name'], rest: 'b64' },
  NSEC: { fields: ['name'], rest: 'upper' },
};

function field(kind: Field, t: Token): string {
  switch (kind) {
    case 'name':
      return canonicalName(t.text);
    case 'int':
      return canonicalInt(t.text);
    case 'str':
      return charString(unescape(t.text));
    case 'ip6':
      return canonicalIp6(t.text);
    case 'upper':
      return t.text.toUpperCase();
    case 'raw':
      return t.text;
  }
}

function rest(kind: Rest, ts: Token[]): string[] {
  switch (kind) {
    case 'strs':
      return ts.map((t) => charString(unescape(t.text)));
    case 'hex':
      return ts.length === 0 ? [] : [ts.map((t) => t.text).join('').toUpperCase()];
    case 'b64':
      return ts.length === 0 ? [] : [ts.map((t) => t.text).join('')];
    case 'upper':
      return ts.map((t) => t.text.toUpperCase());
    case 'raw':
      return ts.map((t) => t.text);
  }
}

/** svcbParams canonicalizes SvcParams (RFC 9460 §2.1): key lower-case, value unquoted unless it needs quotes. */
function svcbParams(ts: Token[]): string[] {
  return ts.map((t) => {
    const eq = t.text.indexOf('=');
    if (eq < 0) return t.text.toLowerCase();
    const key = t.text.slice(0, eq).toLowerCase();
    const bytes = unescape(t.text.slice(eq + 1));
    const value = escapeBytes(bytes, (b) => b === 0x22 || b === 0x5c);
    return /[\s;()]/.test(value) || value === '' ? `${key}="${value}"` : `${key}=${value}`;
  });
}

/** locRdata canonicalizes LOC (RFC 1876 §3): d m s.sss for both axes, sizes in metres with two decimals. */
function locRdata(ts: Token[]): string {
  const words = ts.map((t) => t.text);
  let i = 0;
  const axis = (hemis: string): string => {
    const parts: number[] = [];
    while (i < words.length && !hemis.includes(words[i]!.toUpperCase()) && parts.length < 3) parts.push(Number(words[i++]));
    const h = (words[i++] ?? '').toUpperCase();
    const [d = 0, m = 0, s = 0] = parts;
    return `${d} ${m} ${s.toFixed(3)} ${h}`;
  };
  const lat = axis('NS');
  const lon = axis('EW');
  const metres = (w: string | undefined, dflt: number) => `${(w === undefined ? dflt : Number(w.replace(/m$/i, ''))).toFixed(2)}m`;
  return [lat, lon, metres(words[i], 0), metres(words[i + 1], 1), metres(words[i + 2], 10000), metres(words[i + 3], 10)].join(' ');
}

/**
 * normalizeRecord turns one resource record as printed by dig or kdig into
 * `owner ttl CLASS TYPE rdata`: owner and names inside rdata lower-cased and
 * absolute, single spaces, character-strings always quoted with one escaping
 * (printable ASCII as is, `\"` `\\`, everything else \DDD), hex upper-case and
 * unsplit, base64 unsplit, RFC 3597 generic data as `\# len HEX`. The same
 * record printed by either client normalizes to the same string.
 */
export function normalizeRecord(line: string): string {
  const ts = tokenize(line.trim());
  if (ts.length < 2) throw new Error(`not a resource record: ${line}`);
  const owner = canonicalName(ts[0]!.text);
  let i = 1;
  let ttl = '';
  let klass = '';
  // The clients print owner TTL CLASS TYPE; RFC 1035 §5.1 also allows CLASS before TTL.
  for (let k = 0; k < 2 && i < ts.length; k++) {
    const w = ts[i]!.text;
    if (ttl === '' && /^\d+$/.test(w)) {
      ttl = String(Number(w));
      i++;
    } else if (klass === '' && /^(IN|CH|CS|HS|NONE|ANY|CLASS\d+)$/i.test(w)) {
      klass = w.toUpperCase();
      i++;
    }
  }
  const type = (ts[i++]?.text ?? '').toUpperCase();
  const rdata = ts.slice(i);
  let out: string[];
  if (rdata[0]?.text === '\\#') {
    out = ['\\#', canonicalInt(rdata[1]?.text ?? '0'), ...rest('hex', rdata.slice(2))];
  } else if (type === 'SVCB' || type === 'HTTPS') {
    out = [canonicalInt(rdata[0]?.text ?? ''), canonicalName(rdata[1]?.text ?? '.'), ...svcbParams(rdata.slice(2))];
  } else if (type === 'LOC') {
    out = [locRdata(rdata)];
  } else {
    const layout = LAYOUT[type];
    if (layout === undefined) {
      out = rdata.map((t) => (t.quoted ? charString(unescape(t.text)) : t.text));
    } else {
      out = [];
      let j = 0;
      for (const kind of layout.fields) {
        const t = rdata[j++];
        if (t === undefined) break;
        out.push(field(kind, t));
      }
      const left = rdata.slice(j);
      out.push(...(layout.rest === undefined ? left.map((t) => t.text) : rest(layout.rest, left)));
    }
  }
  return [owner, ttl, klass, type, ...out].filter((w) => w !== '').join(' ');
}

// ---------------------------------------------------------------------------
// curl through DoH

/**
 * curlDohResolve fetches http://host:port/path with curl, which resolves `host`
 * through the DoH server at `dohUrl` (A and AAAA, RFC 8484 POST over HTTP/2).
 * curl 7.88 only speaks DoH to https:// URLs; a plain http:// DoH URL is refused
 * here. The DoH server's certificate is not verified unless `cacert` is given.
 * Resolves with the HTTP status and body; rejects, quoting curl's error, when
 * curl fails (exit 6 "Couldn't resolve host name" when DoH gave no address).
 */
export async function curlDohResolve(
  dohUrl: string,
  host: string,
  port: number,
  path: string,
  opts: { cacert?: string; timeoutSec?: number } = {},
): Promise<{ status: number; body: string }> {
  if (!dohUrl.startsWith('https://')) throw new Error(`curlDohResolve: curl needs an https:// DoH URL, got ${dohUrl}`);
  const timeoutSec = opts.timeoutSec ?? 5;
  const marker = '\n--curl-status--';
  const args = ['-s', '-S', '--max-time', String(timeoutSec), '--doh-url', dohUrl];
  args.push(...(opts.cacert !== undefined ? ['--cacert', opts.cacert] : ['--doh-insecure']));
  args.push('-w', `${marker}%{http_code}`, `http://${host}:${port}${path.startsWith('/') ? path : '/' + path}`);
  const { code, stdout, stderr } = await run('curl', args, (timeoutSec + 3) * 1000);
  if (code !== 0) throw new Error(`curl --doh-url ${dohUrl} http://${host}:${port}${path}: exit ${code}: ${stderr.trim()}`);
  const at = stdout.lastIndexOf(marker);
  return { status: Number(stdout.slice(at + marker.length)), body: stdout.slice(0, at) };
}
