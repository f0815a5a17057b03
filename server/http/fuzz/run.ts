import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ERRORS } from '../../../lib/errors';
import { encodeQuery } from '../../../lib/dns/message';
import { startAppliance, TEST_TOKENS, type ApplianceProcess } from '../../testing/appliance-process';
import { caseAt, caseFromBytes, SENTINELS, type Family, type HttpCase } from './cases';

/*
 * npm run fuzz:http [-- --cases N --seconds S --seed X]: HTTP fuzzing of every
 * /v1 endpoint and /dns-query (issue #9) against a real appliance over real
 * sockets. Checks, for every case: a well-formed answer, never 5xx, 4xx as a
 * problem document with a catalogued code; requests answered 4xx change nothing
 * (a state fingerprint and sentinel objects, compared around batches); slow and
 * stuck requests are cut by the server's timeouts while others are still
 * answered promptly; RSS after the last round stays near RSS after the warm-up;
 * and the node still answers a check list at the end. Failing cases are saved
 * as raw request bytes in fuzz/http-corpus/<sha1>.txt, which the test suite
 * replays (server/http/fuzz/http-fuzz.test.ts). Exit 1 on any failure.
 */

export const CORPUS_DIR = join(__dirname, '..', '..', '..', 'fuzz', 'http-corpus');

/** The appliance's config: leases that outlive the run, signing and a resolver on (so those routes do more than refuse), a cluster secret (the feed checks signatures). */
const BASE_TOML = `
[registry]
default_ttl = 3600

[dnssec]
enabled = true

[recursion]
mode = "forward"
upstreams = ["udp://127.0.0.1:9"]
timeout = "300ms"

[cluster]
secret = "fuzz-cluster-secret-0123456789abcdef-0123456789"
`;

/** [limits] for the run: short timeouts, so that slow and stuck requests are cut within seconds. */
const LIMITS_TOML = `
[limits]
http_request_timeout = "2s"
http_header_timeout = "2s"
`;

export interface FuzzOptions {
  readonly cases: number;
  readonly seconds: number;
  readonly seed: number;
  /** Cases sent at once (each on its own connection). */
  readonly concurrency?: number;
  /** Cases between two fingerprints. */
  readonly batch?: number;
  /** Slow or stuck requests kept open at all times; 0: none. */
  readonly slow?: number;
  /** Rounds the cases are split into (the first is the warm-up for the RSS figure); state is cleared between rounds. */
  readonly rounds?: number;
  /** Saved requests to send before the generated cases (the corpus). */
  readonly replay?: readonly { name: string; bytes: Buffer }[];
  /** Where failing cases go; undefined: not saved. */
  readonly corpusDir?: string | undefined;
  /** Send the writes that take no body with bodies that never finish (default true). */
  readonly unfinished?: boolean;
  /** Stuck connections opened all at once after the rounds (a slowloris): the node must answer others meanwhile and cut them all. */
  readonly herd?: number;
  /** Largest RSS growth from the warm-up to the end, MiB. */
  readonly rssBoundMb?: number;
  readonly log?: (line: string) => void;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  replayed: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  bare4xx: number;
  noResponse: number;
  /** Closed without an answer where that is allowed: CONNECT, or refused at once while the request was still being sent. */
  closedOnRefusal: number;
  hangs: number;
  partialWrites: number;
  malformed: number;
  otherFailures: number;
  slow: number;
  slowCut: number;
  slowUnverified: number;
  probeMaxMs: number;
  unfinished: number;
  herd: number;
  herdCut: number;
  herdProbeMs: number;
  batches: number;
  batchesChecked: number;
  rssWarmMb: number;
  rssEndMb: number;
  serverErrors: number;
  finalChecks: string[];
  limitsApplied: boolean;
  seconds: number;
  failures: { label: string; reason: string; file?: string | undefined }[];
  ok: boolean;
  line: string;
}

/** The server's timeouts as the run knows them: from [limits] when the build takes the section, else the hard-coded ones. */
interface Timeouts {
  readonly headerMs: number;
  readonly requestMs: number;
  /** How often node looks for requests past their time. */
  readonly checkMs: number;
  /** Whether the server was started with our [limits] (else slow requests outlive a short run and are not judged). */
  readonly applied: boolean;
}

// ---------------------------------------------------------------- the wire

interface Parsed {
  status: number;
  headers: Map<string, string[]>;
  body: Buffer;
  interim: number;
}

type Outcome =
  | { kind: 'response'; res: Parsed; ms: number }
  /** `early`: closed before the whole request was written (refused at once; a reset may have eaten the answer). */
  | { kind: 'closed'; ms: number; error: string | undefined; partial: number; early: boolean }
  | { kind: 'malformed'; ms: number; why: string; partial: string }
  | { kind: 'hang'; ms: number; received: number };

/**
 * parseResponse reads one final HTTP/1.1 response from the front of `buf`
 * (skipping 1xx ones): undefined while more bytes are needed, a string when the
 * bytes are not a response. `eof`: the server closed, which ends a body without
 * a length.
 */
export function parseResponse(buf: Buffer, head: boolean, eof: boolean): Parsed | string | undefined {
  let at = 0;
  let interim = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end === -1) return buf.length - at > 64 * 1024 ? 'headers over 64 KiB' : eof && buf.length > at ? 'cut inside the headers' : undefined;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(lines[0]!);
    if (m === null) return `bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`;
    const status = Number(m[1]);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const h = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (h === null) return `bad header line ${JSON.stringify(line.slice(0, 80))}`;
      const k = h[1]!.toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), h[2]!]);
    }
    at = end + 4;
    if (status >= 100 && status < 200) {
      interim++;
      continue;
    }
    const cl = headers.get('content-length');
    const te = headers.get('transfer-encoding');
    if (cl !== undefined && te !== undefined) return 'both content-length and transfer-encoding';
    if (cl !== undefined && (cl.length > 1 || !/^\d+$/.test(cl[0]!))) return `bad content-length ${cl.join(',')}`;
    if (head || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0), interim };
    if (cl !== undefined) {
      const n = Number(cl[0]);
      if (buf.length - at < n) return eof ? `body cut after ${buf.length - at} of ${n} bytes` : undefined;
      return { status, headers, body: buf.subarray(at, at + n), interim };
    }
    if (te !== undefined) {
      if (te.join(',').toLowerCase() !== 'chunked') return `transfer-encoding ${te.join(',')}`;
      const parts: Buffer[] = [];
      let p = at;
      for (;;) {
        const nl = buf.indexOf('\r\n', p);
        if (nl === -1) return eof ? 'chunked body cut' : undefined;
        const size = parseInt(buf.subarray(p, nl).toString('latin1').split(';')[0]!, 16);
        if (!Number.isFinite(size)) return 'bad chunk size';
        if (buf.length < nl + 2 + size + 2) return eof ? 'chunked body cut' : undefined;
        if (size === 0) return { status, headers, body: Buffer.concat(parts), interim };
        parts.push(buf.subarray(nl + 2, nl + 2 + size));
        p = nl + 2 + size + 2;
      }
    }
    // Delimited by the close.
    return eof ? { status, headers, body: buf.subarray(at), interim } : undefined;
  }
}

/**
 * send sends one case on its own connection and resolves with what came back:
 * a response, a close without one, bytes that are no response, or nothing
 * within `hangMs` (a trickled case keeps sending a byte a second meanwhile).
 */
export function send(port: number, c: HttpCase, hangMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    const chunks: Buffer[] = [];
    let got = 0;
    let done = false;
    let error: string | undefined;
    let trickle: NodeJS.Timeout | undefined;
    let written = false;
    const sock = connect({ host: '127.0.0.1', port });
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(trickle);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ kind: 'hang', ms: ms(), received: got }), hangMs);
    const look = (eof: boolean) => {
      if (got === 0) {
        if (eof) finish({ kind: 'closed', ms: ms(), error, partial: 0, early: !written });
        return;
      }
      const buf = Buffer.concat(chunks);
      const r = parseResponse(buf, c.method === 'HEAD', eof);
      if (typeof r === 'string') finish({ kind: 'malformed', ms: ms(), why: r, partial: buf.subarray(0, 200).toString('latin1') });
      else if (r !== undefined) finish({ kind: 'response', res: r, ms: ms() });
    };
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      look(false);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    sock.on('close', () => look(true));
    sock.on('connect', () => {
      if (c.delivery === 'whole') {
        sock.write(c.bytes, (err) => {
          if (err === undefined || err === null) written = true;
        });
        return;
      }
      sock.write(c.bytes.subarray(0, c.head));
      if (c.delivery === 'trickle') {
        let at = c.head;
        trickle = setInterval(() => {
          if (at >= c.bytes.length || sock.destroyed) return clearInterval(trickle);
          sock.write(c.bytes.subarray(at, at + 1));
          at++;
        }, 1000);
      }
    });
  });
}

// ---------------------------------------------------------------- verdicts

type Verdict =
  | { ok: true; status: number | undefined; bare: boolean; cut: boolean; changed: Family | undefined; body: string | undefined }
  | { ok: false; kind: 'hang' | 'no_response' | '5xx' | 'malformed' | 'other'; reason: string; status?: number };

const isMutatingMethod = (m: string) => m !== 'GET' && m !== 'HEAD';

/** judge applies the checks of one case's outcome; `slow`: the server may cut it after its timeouts. */
function judge(c: HttpCase, o: Outcome, t: Timeouts, slow: boolean): Verdict {
  if (o.kind === 'hang') return { ok: false, kind: 'hang', reason: `no answer after ${o.ms} ms (${o.received} bytes came back)` };
  if (o.kind === 'malformed') return { ok: false, kind: 'malformed', reason: `not an HTTP response: ${o.why}; starts ${JSON.stringify(o.partial.slice(0, 120))}` };
  if (o.kind === 'closed') {
    // Cut on purpose: the request was still arriving when its time ran out.
    const earliest = Math.min(t.headerMs, t.requestMs) * 0.9;
    if (slow && o.ms >= earliest) return { ok: true, status: undefined, bare: false, cut: true, changed: undefined, body: undefined };
    if (c.mayClose) return { ok: true, status: undefined, bare: false, cut: false, changed: undefined, body: undefined };
    // Refused while the rest was still being sent (a parse error, a declared length over the limit): the server
    // answered and closed, and the reset our next bytes caused may have dropped that answer before we read it.
    if (o.early && (o.error === 'EPIPE' || o.error === 'ECONNRESET') && (c.bare || c.bytes.length > 64 * 1024)) {
      return { ok: true, status: undefined, bare: true, cut: false, changed: undefined, body: undefined };
    }
    return { ok: false, kind: 'no_response', reason: `closed after ${o.ms} ms without an answer${o.error === undefined ? '' : ` (${o.error})`}` };
  }
  const { status, headers, body } = o.res;
  if (status >= 500) return { ok: false, kind: '5xx', reason: `${status} ${body.subarray(0, 300).toString('utf8')}`, status };
  const changed = status >= 200 && status < 300 && isMutatingMethod(c.method) && c.family !== 'none' ? c.family : undefined;
  const text = body.length > 0 && body.length < 1 << 20 ? body.toString('utf8') : undefined;
  if (status >= 200 && status < 300) return { ok: true, status, bare: false, cut: false, changed, body: text };
  if (status < 400) return { ok: false, kind: 'other', reason: `status ${status} (neither 2xx nor 4xx)`, status };
  const type = headers.get('content-type')?.[0] ?? '';
  const isBare = type === '' && body.length === 0;
  if (isBare) {
    // node's own answers (an Expect it does not meet, say) carry no problem document; the front answers its parse errors and timeouts with one.
    if (c.bare || (slow && (status === 408 || status === 400))) return { ok: true, status, bare: true, cut: status === 408, changed: undefined, body: undefined };
    return { ok: false, kind: 'other', reason: `bare ${status} without a problem document`, status };
  }
  if (!/^application\/problem\+json\b/i.test(type)) return { ok: false, kind: 'other', reason: `${status} with content-type ${JSON.stringify(type)}`, status };
  if (c.method === 'HEAD') return { ok: true, status, bare: false, cut: false, changed: undefined, body: undefined };
  let problem: { code?: unknown; status?: unknown };
  try {
    problem = JSON.parse(body.toString('utf8')) as typeof problem;
  } catch {
    return { ok: false, kind: 'other', reason: `${status} problem body is not JSON: ${body.subarray(0, 100).toString('latin1')}`, status };
  }
  const code = typeof problem.code === 'string' ? problem.code : '';
  const spec = Object.hasOwn(ERRORS, code) ? ERRORS[code as keyof typeof ERRORS] : undefined;
  if (spec === undefined) return { ok: false, kind: 'other', reason: `${status} with unknown code ${JSON.stringify(problem.code)}`, status };
  if (spec.status !== status || problem.status !== status) return { ok: false, kind: 'other', reason: `${status} with code ${code} (catalogued as ${spec.status}, body says ${String(problem.status)})`, status };
  // A request that was still arriving when its time ran out is answered 408 request_timeout and cut.
  return { ok: true, status, bare: false, cut: slow && code === 'request_timeout', changed: undefined, body: undefined };
}

// ---------------------------------------------------------------- state

type Component = 'ledger' | 'kv' | 'svc' | 'zones' | 'sentinelKv' | 'sentinelSvc' | 'sentinelZone' | 'countKv' | 'countSvc' | 'countZones';
type Fingerprint = Record<Component, string>;

/** Which components a successful write of each family may move (the ledger moves with any). */
const MOVES: Record<Exclude<Family, 'none'>, readonly Component[]> = {
  kv: ['kv', 'sentinelKv', 'countKv'],
  svc: ['svc', 'sentinelSvc', 'countSvc'],
  zones: ['zones', 'sentinelZone', 'countZones'],
  all: ['kv', 'sentinelKv', 'countKv', 'svc', 'sentinelSvc', 'countSvc', 'zones', 'sentinelZone', 'countZones'],
};

/** Times of an instance's life (they move with heartbeats): left out of the comparisons. */
const stripTimes = (text: string) => text.replace(/"(registeredAt|renewedAt|expiresAt)":("[^"]*"|null)/g, '');

async function fingerprint(app: ApplianceProcess): Promise<Fingerprint> {
  const get = (path: string) => app.api('GET', path, { role: 'read' });
  const [peers, kv, boot, services, zones, node, inst, records] = await Promise.all([
    get('/v1/peers'),
    get(`/v1/kv/${SENTINELS.kvKey}`),
    get(`/v1/kv/${SENTINELS.bootKey}`),
    get('/v1/services'),
    get('/v1/zones'),
    get('/v1/node'),
    get(`/v1/services/${SENTINELS.instance.type}/${SENTINELS.instance.name}/instances/${SENTINELS.instance.id}`),
    get(`/v1/zones/${SENTINELS.zone}/records`),
  ]);
  const counts = (node.json?.counts ?? {}) as Record<string, number>;
  return {
    ledger: `${String(peers.json?.epoch)}:${String(peers.json?.head)}`,
    kv: kv.headers.get('x-nekoq-index') ?? '?',
    svc: `${String(services.json?.index)} ${stripTimes(services.text)}`,
    zones: zones.text,
    sentinelKv: `${kv.status} ${kv.text} | ${boot.status} ${boot.text}`,
    sentinelSvc: `${inst.status} ${stripTimes(inst.text)}`,
    sentinelZone: `${records.status} ${records.text}`,
    countKv: String(counts.kvKeys),
    countSvc: `${counts.serviceTypes}/${counts.services}/${counts.instances}`,
    countZones: `${counts.zones}/${counts.rrsets}`,
  };
}

/** differences lists the components that differ and that none of `moved` excuses. */
function differences(a: Fingerprint, b: Fingerprint, moved: ReadonlySet<Family>): string[] {
  const excused = new Set<Component>();
  for (const f of moved) if (f !== 'none') for (const comp of MOVES[f]) excused.add(comp);
  if (moved.size > 0) excused.add('ledger');
  return (Object.keys(a) as Component[]).filter((k) => a[k] !== b[k] && !excused.has(k)).map((k) => `${k}: ${a[k].slice(0, 160)} → ${b[k].slice(0, 160)}`);
}

/** restoreSentinels puts the sentinel objects back as they were made (after a 2xx may have changed them). */
async function restoreSentinels(app: ApplianceProcess, families: ReadonlySet<Family>): Promise<void> {
  const all = families.has('all');
  const must = async (what: string, p: Promise<{ status: number; text: string }>, ok: number[]) => {
    const r = await p;
    if (!ok.includes(r.status)) throw new Error(`restoring the sentinels: ${what}: ${r.status} ${r.text.slice(0, 200)}`);
  };
  if (all || families.has('kv')) {
    const kv = await app.api('GET', `/v1/kv/${SENTINELS.kvKey}`, { role: 'read' });
    if (kv.json?.value !== SENTINELS.kvValue || kv.json?.flags !== SENTINELS.kvFlags) {
      await must('kv key', app.api('PUT', `/v1/kv/${SENTINELS.kvKey}?flags=${SENTINELS.kvFlags}`, { role: 'kv', raw: SENTINELS.kvValue, headers: { 'content-type': 'text/plain; charset=utf-8' } }), [200]);
    }
    const boot = await app.api('GET', `/v1/kv/${SENTINELS.bootKey}`, { role: 'read' });
    if (boot.json?.value !== 'on') await must('bootstrap key', app.api('PUT', `/v1/kv/${SENTINELS.bootKey}`, { role: 'kv', raw: 'on' }), [200]);
  }
  if (all || families.has('svc')) {
    const s = SENTINELS.instance;
    await must('instance', app.api('PUT', `/v1/services/${s.type}/${s.name}/instances/${s.id}`, { role: 'register', body: SENTINELS.instanceBody }), [200]);
  }
  if (all || families.has('zones')) {
    const z = await app.api('GET', `/v1/zones/${SENTINELS.zone}/records`, { role: 'read' });
    if (z.status === 404) await must('zone', app.api('POST', '/v1/zones', { body: { name: SENTINELS.zone, nameservers: ['ns1.example.net.'], ttl: 3600 } }), [201]);
    const now = z.status === 200 ? ((z.json?.rrsets ?? []) as { name: string; type: string; ttl: number; values: string[] }[]) : [];
    for (const r of SENTINELS.rrsets) {
      const owner = r.name === '@' ? SENTINELS.zone : `${r.name}.${SENTINELS.zone}`;
      const have = now.find((x) => x.name === owner && x.type === r.type);
      if (have !== undefined && have.ttl === r.body.ttl && JSON.stringify(have.values) === JSON.stringify(r.body.values)) continue;
      await must(`rrset ${r.name} ${r.type}`, app.api('PUT', `/v1/zones/${SENTINELS.zone}/records/${r.name}/${r.type}`, { body: r.body }), [200]);
    }
    // Only the sentinel RRsets (and the SOA and NS a zone is made with) stay.
    for (const x of now) {
      const keep = ['SOA', 'NS'].includes(x.type) || SENTINELS.rrsets.some((r) => (r.name === '@' ? SENTINELS.zone : `${r.name}.${SENTINELS.zone}`) === x.name && r.type === x.type);
      if (!keep) await must(`extra rrset ${x.name} ${x.type}`, app.api('DELETE', `/v1/zones/${SENTINELS.zone}/records/${encodeURIComponent(x.name)}/${x.type}`), [204, 404]);
    }
  }
}

/** clearState removes what the cases made (every key, instance and API zone but the sentinels') and puts the sentinels back. */
async function clearState(app: ApplianceProcess): Promise<void> {
  await app.api('DELETE', '/v1/kv/?recurse', { role: 'kv' });
  const services = await app.api('GET', '/v1/services', { role: 'read' });
  for (const s of (services.json?.services ?? []) as { type: string; name: string; instances: { id: string }[] }[]) {
    for (const i of s.instances) {
      const sen = SENTINELS.instance;
      if (s.type === sen.type && s.name === sen.name && i.id === sen.id) continue;
      await app.api('DELETE', `/v1/services/${s.type}/${s.name}/instances/${i.id}`, { role: 'register' });
    }
  }
  const zones = await app.api('GET', '/v1/zones', { role: 'read' });
  for (const z of (zones.json?.zones ?? []) as { name: string; source: string }[]) {
    if (z.name !== SENTINELS.zone && z.source === 'api') await app.api('DELETE', `/v1/zones/${encodeURIComponent(z.name)}`);
  }
  await restoreSentinels(app, new Set<Family>(['all']));
}

/** rssMb reads a process's resident set size from /proc, MiB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

// ---------------------------------------------------------------- the run

/** startFuzzAppliance starts the appliance with our [limits]; a build without the section gets the run without it (slow requests then outlive a short run). */
async function startFuzzAppliance(log: (s: string) => void): Promise<{ app: ApplianceProcess; timeouts: Timeouts }> {
  try {
    const app = await startAppliance({ toml: BASE_TOML + LIMITS_TOML });
    return { app, timeouts: { headerMs: 2000, requestMs: 2000, checkMs: 500, applied: true } };
  } catch (err) {
    if (!/limits/.test((err as Error).message)) throw err;
    log('… this build has no [limits] section: running with its fixed timeouts (headers 20 s, request 60 s); slow requests are not judged');
    const app = await startAppliance({ toml: BASE_TOML });
    return { app, timeouts: { headerMs: 20_000, requestMs: 60_000, checkMs: 30_000, applied: false } };
  }
}

/** runHttpFuzz runs the whole fuzz against a fresh appliance and stops it; it never throws for a finding, only reports it. */
export async function runHttpFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const concurrency = opts.concurrency ?? 6;
  const batchSize = opts.batch ?? 16;
  const slowMax = opts.slow ?? 6;
  const rounds = Math.max(2, opts.rounds ?? 5);
  const rssBound = opts.rssBoundMb ?? 64;
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const { app, timeouts } = await startFuzzAppliance(log);
  const port = Number(new URL(app.url).port);
  const pid = app.proc.pid!;
  const hangMs = 15_000;
  const slowDeadlineMs = Math.max(timeouts.headerMs, timeouts.requestMs) + timeouts.checkMs + 3000;
  const probeLimitMs = 3000;

  const s: FuzzSummary = {
    seed: opts.seed,
    cases: 0,
    replayed: 0,
    s2xx: 0,
    s4xx: 0,
    s5xx: 0,
    bare4xx: 0,
    noResponse: 0,
    closedOnRefusal: 0,
    hangs: 0,
    partialWrites: 0,
    malformed: 0,
    otherFailures: 0,
    slow: 0,
    slowCut: 0,
    slowUnverified: 0,
    probeMaxMs: 0,
    unfinished: 0,
    herd: 0,
    herdCut: 0,
    herdProbeMs: 0,
    batches: 0,
    batchesChecked: 0,
    rssWarmMb: NaN,
    rssEndMb: NaN,
    serverErrors: 0,
    finalChecks: [],
    limitsApplied: timeouts.applied,
    seconds: 0,
    failures: [],
    ok: false,
    line: '',
  };
  const saved = new Set<string>();
  const save = (c: HttpCase, reason: string) => {
    let file: string | undefined;
    if (opts.corpusDir !== undefined && saved.size < 200) {
      mkdirSync(opts.corpusDir, { recursive: true });
      const name = `${createHash('sha1').update(c.bytes).digest('hex')}.txt`;
      file = join(opts.corpusDir, name);
      if (!saved.has(name)) writeFileSync(file, c.bytes);
      saved.add(name);
    }
    s.failures.push({ label: c.label, reason, file });
    if (s.failures.length <= 30) log(`FAIL ${c.label}: ${reason}${file === undefined ? '' : ` → ${file}`}`);
  };
  /** Lease ends of instances the cases registered: an expiry inside a batch moves the registry under the check. */
  const expiries: number[] = [];
  const noteExpiry = (body: string | undefined) => {
    if (body === undefined) return;
    for (const m of body.matchAll(/"expiresAt":"([^"]+)"/g)) {
      const t = Date.parse(m[1]!);
      if (Number.isFinite(t)) expiries.push(t);
    }
  };
  const expiryWithin = (from: number, to: number) => expiries.some((t) => t >= from - 1500 && t <= to + 1500);

  const record = (c: HttpCase, v: Verdict, slow: boolean): Family | undefined => {
    if (v.ok) {
      if (v.status !== undefined) {
        if (v.status < 300) s.s2xx++;
        else s.s4xx++;
        if (v.bare) s.bare4xx++;
      }
      if (slow && v.cut) s.slowCut++;
      if (v.status === undefined && !v.cut) s.closedOnRefusal++;
      if (v.status !== undefined && v.status < 300) noteExpiry(v.body);
      return v.changed;
    }
    if (v.status !== undefined) {
      if (v.status >= 500) s.s5xx++;
      else if (v.status < 300) s.s2xx++;
      else s.s4xx++;
    }
    if (v.kind === 'hang') s.hangs++;
    else if (v.kind === 'no_response') s.noResponse++;
    else if (v.kind === 'malformed') s.malformed++;
    else if (v.kind !== '5xx') s.otherFailures++;
    save(c, `${v.kind}: ${v.reason}`);
    // A failed case may have written: the check of its batch is off.
    return isMutatingMethod(c.method) ? (c.family === 'none' ? undefined : c.family) : undefined;
  };

  // The slow lane: slow and stuck requests kept open alongside the batches.
  let slowIndex = 0;
  let slowStop = false;
  const slowInFlight = new Set<Promise<void>>();
  const slowOne = async () => {
    const c = caseAt(opts.seed, slowIndex++, true);
    s.slow++;
    const waitMs = timeouts.applied ? slowDeadlineMs : Math.max(1000, deadline - performance.now() + 1000);
    const o = await send(port, c, waitMs);
    if (o.kind === 'hang' && !timeouts.applied) {
      s.slowUnverified++;
      return;
    }
    record(c, judge(c, o, timeouts, true), true);
  };
  const slowLoop = () => {
    while (!slowStop && slowInFlight.size < slowMax) {
      const p: Promise<void> = slowOne().finally(() => {
        slowInFlight.delete(p);
        slowLoop();
      });
      slowInFlight.add(p);
    }
  };

  const verdicts = new WeakMap<HttpCase, Verdict>();
  /** runBatch sends cases `concurrency` at a time and returns the families their 2xx answers may have changed. */
  const runBatch = async (batch: readonly HttpCase[]): Promise<Set<Family>> => {
    const moved = new Set<Family>();
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const c = batch[next++]!;
        const o = await send(port, c, c.delivery === 'whole' ? hangMs : slowDeadlineMs);
        const v = judge(c, o, timeouts, c.delivery !== 'whole');
        verdicts.set(c, v);
        const f = record(c, v, c.delivery !== 'whole');
        if (f !== undefined) moved.add(f);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return moved;
  };

  /** localize re-sends the writes of a batch whose fingerprint moved one at a time, to name the case that writes on a 4xx. */
  const localize = async (batch: readonly HttpCase[], diff: string[]) => {
    s.partialWrites++;
    log(`PARTIAL WRITE in a batch answered only 4xx: ${diff.join('; ')}`);
    let found = false;
    const suspects = batch.filter((x) => isMutatingMethod(x.method)).slice(0, 40);
    // Some of these race (a write and node's 400 for the bytes after it): each suspect gets three tries.
    for (const c of suspects) {
      for (let attempt = 0; attempt < 3; attempt++) {
        await restoreSentinels(app, new Set<Family>(['all']));
        const before = await fingerprint(app);
        const t0 = Date.now();
        const o = await send(port, c, hangMs);
        const v = judge(c, o, timeouts, false);
        const after = await fingerprint(app);
        if (v.ok && v.changed === undefined && !expiryWithin(t0, Date.now())) {
          const d = differences(before, after, new Set());
          if (d.length > 0) {
            found = true;
            save(c, `partial_write: answered ${v.status ?? 'nothing'} and changed ${d.join('; ')}`);
            break;
          }
        }
      }
    }
    if (!found) {
      // Not made again alone: name the batch's writes that node's parser refused (bare 4xx), the likeliest, else all.
      const bare = suspects.filter((c) => verdicts.get(c)?.ok === true && (verdicts.get(c) as { bare?: boolean }).bare === true);
      const named = bare.length > 0 ? bare : suspects;
      s.failures.push({ label: 'partial write (batch)', reason: `not made again alone; the batch's writes: ${named.map((c) => c.label).join(', ')}; ${diff.join('; ')}` });
      for (const c of named.slice(0, 5)) save(c, `partial_write (in a batch, not made again alone): ${diff.join('; ')}`);
    }
  };

  /**
   * unfinished sends each write that takes no body (deletes, a heartbeat, a rollover) at the sentinels with a
   * body that never arrives or whose chunked framing breaks: the node must not act on a request it has not
   * received whole. Each is judged alone, the fingerprint read before and after.
   */
  const unfinished = async () => {
    const sen = SENTINELS.instance;
    const targets: [string, string, keyof typeof TEST_TOKENS][] = [
      ['DELETE', `/v1/kv/${SENTINELS.kvKey}`, 'kv'],
      ['DELETE', '/v1/kv/sentinel/?recurse', 'kv'],
      ['DELETE', `/v1/services/${sen.type}/${sen.name}/instances/${sen.id}`, 'register'],
      ['PUT', `/v1/services/${sen.type}/${sen.name}/instances/${sen.id}/heartbeat`, 'register'],
      ['DELETE', `/v1/zones/${SENTINELS.zone}/records/www/A`, 'admin'],
      ['DELETE', `/v1/zones/${SENTINELS.zone}`, 'admin'],
      ['POST', `/v1/dnssec/${SENTINELS.zone}/rollover`, 'admin'],
    ];
    for (const [method, path, role] of targets) {
      for (const framing of ['stalled', 'bad-chunk'] as const) {
        const head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TEST_TOKENS[role]}\r\n`;
        const bytes = Buffer.from(
          framing === 'stalled' ? `${head}content-length: 100\r\n\r\n{"a":` : `${head}transfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
          'latin1',
        );
        const c: HttpCase = { bytes, head: bytes.length, delivery: 'stall', label: `unfinished ${method} ${path} (${framing})`, method, family: 'none', bare: true, mayClose: false };
        await restoreSentinels(app, new Set<Family>(['all']));
        const before = await fingerprint(app);
        const t0 = Date.now();
        // Not waiting for the server's timeout: an answer within 500 ms to a request still arriving is the finding; then we go away.
        const o = await send(port, c, 500);
        await new Promise((r) => setTimeout(r, 300));
        const after = await fingerprint(app);
        s.unfinished++;
        const answered = o.kind === 'response' ? o.res.status : undefined;
        const d = expiryWithin(t0, Date.now()) ? [] : differences(before, after, new Set());
        if (d.length > 0 || (answered !== undefined && answered < 300)) {
          s.partialWrites++;
          save(c, `partial_write: a ${method} whose body ${framing === 'stalled' ? 'never arrived' : 'has a broken chunk'} was acted on (answered ${answered ?? 'nothing'})${d.length > 0 ? `; changed ${d.join('; ')}` : ''}`);
        } else if (answered !== undefined && answered >= 500) {
          s.s5xx++;
          save(c, `5xx: ${answered}`);
        }
      }
    }
    await restoreSentinels(app, new Set<Family>(['all']));
    baseline = await fingerprint(app);
    baseAt = Date.now();
  };

  /** herd opens `n` connections at once that send half a request and stop, asks the node ordinary questions meanwhile, and waits for the server to cut them all. */
  const herd = async (n: number) => {
    const stuck = Array.from({ length: n }, (_, i) => {
      const c = caseAt(opts.seed ^ 0x4e5d, i, true);
      const half: HttpCase = { ...c, delivery: 'stall', head: Math.max(1, Math.min(c.head, Math.floor(c.bytes.length / 2))) };
      return send(port, half, timeouts.applied ? slowDeadlineMs : 3000).then((o) => ({ c: half, o }));
    });
    s.herd = n;
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    const [health, kv] = await Promise.all([app.api('GET', '/healthz', { role: null }), app.api('GET', `/v1/kv/${SENTINELS.kvKey}`, { role: 'read' })]);
    s.herdProbeMs = Math.round(performance.now() - t0);
    if (health.status !== 200 || kv.status !== 200 || s.herdProbeMs > probeLimitMs) {
      s.hangs++;
      s.failures.push({ label: 'herd probe', reason: `with ${n} stuck connections open, /healthz ${health.status} and a KV read ${kv.status} took ${s.herdProbeMs} ms` });
    }
    for (const { c, o } of await Promise.all(stuck)) {
      if (!timeouts.applied) continue;
      const v = judge(c, o, timeouts, true);
      if (v.ok && (v.cut || v.status !== undefined)) s.herdCut++;
      else if (!v.ok) {
        if (v.kind === 'hang') s.hangs++;
        else s.otherFailures++;
        save(c, `herd: ${v.kind}: ${v.reason}`);
      }
    }
  };

  let baseline: Fingerprint;
  let baseAt = Date.now();
  const checkBatch = async (batch: readonly HttpCase[], moved: Set<Family>) => {
    s.batches++;
    const p0 = performance.now();
    const probing = slowInFlight.size > 0;
    const [health] = await Promise.all([app.api('GET', '/healthz', { role: null })]);
    const now = await fingerprint(app);
    const probeMs = performance.now() - p0;
    if (probing) {
      s.probeMaxMs = Math.max(s.probeMaxMs, Math.round(probeMs));
      if (probeMs > probeLimitMs || health.status !== 200) {
        s.hangs++;
        s.failures.push({ label: 'probe', reason: `with ${slowInFlight.size} slow requests open, /healthz and the state reads took ${Math.round(probeMs)} ms (status ${health.status})` });
        log(`FAIL probe: ${Math.round(probeMs)} ms with ${slowInFlight.size} slow requests open`);
      }
    }
    const t = Date.now();
    if (expiryWithin(baseAt, t)) moved.add('svc');
    const diff = differences(baseline, now, moved);
    if (moved.size === 0) s.batchesChecked++;
    if (diff.length > 0) await localize(batch, diff);
    if (moved.size > 0 || diff.length > 0) {
      await restoreSentinels(app, moved.size > 0 ? moved : new Set<Family>(['all']));
      baseline = await fingerprint(app);
    } else baseline = now;
    baseAt = Date.now();
  };

  try {
    await clearState(app);
    baseline = await fingerprint(app);
    baseAt = Date.now();

    // The corpus first: every saved case, alone.
    for (const r of opts.replay ?? []) {
      const c = caseFromBytes(r.bytes, `corpus ${r.name}`);
      const moved = await runBatch([c]);
      s.replayed++;
      await checkBatch([c], moved);
    }

    if (slowMax > 0) slowLoop();
    const perRound = Math.max(1, Math.ceil(opts.cases / rounds));
    let index = 0;
    for (let round = 0; round < rounds && index < opts.cases && performance.now() < deadline; round++) {
      const end = Math.min(opts.cases, index + perRound);
      while (index < end && performance.now() < deadline) {
        const batch: HttpCase[] = [];
        for (; batch.length < batchSize && index < end; index++) batch.push(caseAt(opts.seed, index));
        const moved = await runBatch(batch);
        s.cases += batch.length;
        await checkBatch(batch, moved);
      }
      await clearState(app);
      baseline = await fingerprint(app);
      baseAt = Date.now();
      const rss = rssMb(pid);
      if (round === 0) s.rssWarmMb = rss;
      s.rssEndMb = rss;
      log(`… round ${round}: ${s.cases} cases, ${s.s2xx} 2xx, ${s.s4xx} 4xx, ${s.failures.length} failures, ${s.slow} slow (${s.slowCut} cut), rss ${rss.toFixed(1)} MiB, ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    slowStop = true;
    if (timeouts.applied) await Promise.all(slowInFlight);
    else {
      // Their time is longer than the run: those still open are not judged.
      const left = slowInFlight.size;
      await Promise.race([Promise.all(slowInFlight), new Promise((r) => setTimeout(r, 1500))]);
      if (slowInFlight.size > 0) log(`… ${left} slow requests still open at the end (the build's timeouts are longer than the run)`);
    }
    if (opts.unfinished !== false) await unfinished();
    if ((opts.herd ?? 0) > 0) await herd(opts.herd!);
    if (Number.isFinite(s.rssWarmMb) && s.rssEndMb - s.rssWarmMb > rssBound) {
      s.failures.push({ label: 'memory', reason: `RSS grew from ${s.rssWarmMb.toFixed(1)} to ${s.rssEndMb.toFixed(1)} MiB (bound ${rssBound} MiB)` });
    }
    s.finalChecks = await finalChecks(app, port);
    for (const f of s.finalChecks) s.failures.push({ label: 'final check', reason: f });
  } finally {
    slowStop = true;
    s.serverErrors = app.logs.filter((l) => l.level === 'error' || l.msg === 'handling request').length;
    for (const l of app.logs.filter((x) => x.level === 'error').slice(0, 10)) log(`server error log: ${JSON.stringify(l).slice(0, 400)}`);
    if (app.proc.exitCode !== null || app.proc.signalCode !== null) s.failures.push({ label: 'process', reason: `the appliance exited (${app.proc.exitCode ?? app.proc.signalCode}): ${app.stderr().slice(-500)}` });
    await app.stop();
  }
  if (s.serverErrors > 0) s.failures.push({ label: 'server log', reason: `${s.serverErrors} error lines in the appliance's log` });
  s.seconds = (performance.now() - started) / 1000;
  s.ok = s.failures.length === 0;
  s.line =
    `cases=${s.cases}${s.replayed > 0 ? ` replayed=${s.replayed}` : ''} seed=${s.seed} responses: 2xx=${s.s2xx} 4xx=${s.s4xx} (bare=${s.bare4xx}) 5xx=${s.s5xx} ` +
    `no_response=${s.noResponse} closed_on_refusal=${s.closedOnRefusal} malformed=${s.malformed} other=${s.otherFailures} hangs=${s.hangs} partial_writes=${s.partialWrites} ` +
    `slow=${s.slow} slow_cut=${s.slowCut} unfinished=${s.unfinished} herd=${s.herd} herd_cut=${s.herdCut} herd_probe_ms=${s.herdProbeMs}${timeouts.applied ? '' : ` slow_unverified=${s.slowUnverified + slowInFlight.size} (no [limits] in this build)`} probe_max_ms=${s.probeMaxMs} ` +
    `batches_checked=${s.batchesChecked}/${s.batches} rss_mb: warm=${s.rssWarmMb.toFixed(1)} end=${s.rssEndMb.toFixed(1)} ` +
    `server_errors=${s.serverErrors} final_checks=${s.finalChecks.length === 0 ? 'ok' : 'FAILED'} seconds=${s.seconds.toFixed(1)} failures=${s.failures.length}`;
  return s;
}

/** finalChecks asks the node a list of ordinary questions after the fuzz; it returns what went wrong. */
async function finalChecks(app: ApplianceProcess, port: number): Promise<string[]> {
  const bad: string[] = [];
  const expect = (what: string, ok: boolean, got: unknown) => {
    if (!ok) bad.push(`${what}: got ${JSON.stringify(got).slice(0, 300)}`);
  };
  const h = await app.api('GET', '/healthz', { role: null });
  expect('GET /healthz', h.status === 200 && h.json?.status === 'alive', [h.status, h.text]);
  const ready = await app.api('GET', '/readyz', { role: null });
  expect('GET /readyz', ready.status === 200, [ready.status, ready.text]);
  const node = await app.api('GET', '/v1/node', { role: 'read' });
  expect('GET /v1/node', node.status === 200 && node.json?.node === 'test-node', [node.status, node.text]);
  const put = await app.api('PUT', '/v1/kv/final/check', { role: 'kv', raw: 'x-ü' });
  expect('PUT /v1/kv/final/check', put.status === 200 && put.json === true, [put.status, put.text]);
  const got = await app.api('GET', '/v1/kv/final/check', { role: 'read' });
  expect('GET /v1/kv/final/check', got.status === 200 && got.json?.value === 'x-ü', [got.status, got.text]);
  const del = await app.api('DELETE', '/v1/kv/final/check', { role: 'kv' });
  expect('DELETE /v1/kv/final/check', del.status === 200 && del.json === true, [del.status, del.text]);
  const sen = await app.api('GET', `/v1/kv/${SENTINELS.kvKey}`, { role: 'read' });
  expect('the sentinel key', sen.status === 200 && sen.json?.value === SENTINELS.kvValue && sen.json?.flags === SENTINELS.kvFlags, [sen.status, sen.text]);
  const reg = await app.api('PUT', '/v1/services/fz/final/instances/f1', { role: 'register', body: { address: '192.0.2.99', port: 99, ttl: 60 } });
  expect('register fz/final/f1', reg.status === 200 && reg.json?.address === '192.0.2.99', [reg.status, reg.text]);
  const svc = await app.api('GET', '/v1/services/fz/final', { role: 'read' });
  expect('GET /v1/services/fz/final', svc.status === 200 && svc.json?.instances?.length === 1, [svc.status, svc.text]);
  const dereg = await app.api('DELETE', '/v1/services/fz/final/instances/f1', { role: 'register' });
  expect('deregister fz/final/f1', dereg.status === 204, [dereg.status, dereg.text]);
  const recs = await app.api('GET', `/v1/zones/${SENTINELS.zone}/records`, { role: 'read' });
  expect('the sentinel zone', recs.status === 200 && recs.text.includes('192.0.2.1'), [recs.status, recs.text]);
  const boot = await app.api('GET', '/v1/bootstrap', { role: 'read' });
  expect('GET /v1/bootstrap', boot.status === 200 && boot.json?.config?.sentinel === 'on', [boot.status, boot.text]);
  const q = encodeQuery('www.sentinel.test', 1, { id: 7, rd: false }).toString('base64url');
  const doh = await fetch(`http://127.0.0.1:${port}/dns-query?dns=${q}`);
  const answer = Buffer.from(await doh.arrayBuffer());
  expect('DoH www.sentinel.test. A', doh.status === 200 && doh.headers.get('content-type') === 'application/dns-message' && answer.length > 12 && (answer[3]! & 0x0f) === 0, [doh.status, answer.toString('hex')]);
  const bad415 = await app.api('PUT', '/v1/services/fz/final/instances/f1', { role: 'register', raw: '{}', headers: { 'content-type': 'text/plain' } });
  expect('a 415 is still a problem', bad415.status === 415 && bad415.json?.code === 'unsupported_media_type', [bad415.status, bad415.text]);
  expect('the process is alive', app.proc.exitCode === null && app.proc.signalCode === null, app.proc.exitCode);
  return bad;
}

/** readCorpus returns the saved cases (fuzz/http-corpus/*.txt). */
export function readCorpus(dir = CORPUS_DIR): { name: string; bytes: Buffer }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
}

// ---------------------------------------------------------------- the command

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    if (i === -1) return dflt;
    const v = Number(args[i + 1]);
    if (!Number.isFinite(v) || v < 0) {
      console.error(`fuzz:http: --${name} takes a number`);
      process.exit(2);
    }
    return v;
  };
  if (args.includes('--help')) {
    console.log('npm run fuzz:http -- [--cases N] [--seconds S] [--seed X] [--concurrency C] [--slow K] [--rounds R] [--herd H] [--no-replay] [--no-save]');
    return;
  }
  const summary = await runHttpFuzz({
    cases: opt('cases', 20_000),
    seconds: opt('seconds', 300),
    seed: opt('seed', Date.now() % 2 ** 31),
    concurrency: opt('concurrency', 6),
    slow: opt('slow', 6),
    rounds: opt('rounds', 5),
    herd: opt('herd', 500),
    replay: args.includes('--no-replay') ? [] : readCorpus(),
    corpusDir: args.includes('--no-save') ? undefined : CORPUS_DIR,
  });
  console.log(summary.line);
  for (const f of summary.failures.slice(0, 50)) console.log(`  ${f.label}: ${f.reason}${f.file === undefined ? '' : ` (${f.file})`}`);
  process.exitCode = summary.ok ? 0 : 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`fuzz:http: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 2;
  });
}
