#!/usr/bin/env node
// DNSSEC benchmark (issue #8): signed answers (queries with DO) per second against
// unsigned ones (EDNS, no DO), on ONE appliance with [dnssec] enabled = true and the zone
// of bench/dns-zone.mjs (1000 names under bench.example.) in [dns] zone_files, so both
// figures come from the same process, keys and caches. Goal: signed ≥ 0.7 × unsigned.
//  - Query mixes (UDP, dnsperf -c 10; -e for unsigned, -D for signed):
//    "answers": bench/dns-zone.mjs's 1230 questions, every one answered with data;
//    "10% NXDOMAIN": the same plus 137 random names that do not exist (10% of the list),
//      asked over and over, so their signed denials (NSEC white lies) are made once and
//      then served prebuilt like any answer;
//    "10% fresh NXDOMAIN": every 10th query a name never asked before (random labels),
//      so each of those is a miss of every cache: looked up, denied, and — with DO — its
//      NSEC signed on line. The worst case, reported without a goal.
//  - The four legs of the first two mixes alternate three times (medians kept): this VM's
//    figures drift by ±20% from one minute to the next. Then each once at a fixed 20k q/s,
//    half as long: the server's CPU per answer, which that drift does not blur. Then the
//    fresh mix, unsigned and signed, once saturated and once at 20k q/s (each run its own
//    names: dnsperf -n 1 over a file longer than the run needs). The fresh runs flood the
//    prebuilt answers and the signature cache, so they come last.
//  - Before timing, every question of the mixes is asked with and without DO and checked:
//    the right data; with DO, RRSIGs over the answer and authority RRsets, NSEC and SOA
//    with their RRSIGs in a denial, and DO echoed; without DO, no RRSIG or NSEC anywhere.
//    With delv installed, three answers (A, MX, NXDOMAIN) must also be "fully validated"
//    from the zone's DS (GET /v1/dnssec/bench.example). A sample is checked again after
//    the fresh runs.
//  - Also: response sizes per question type (one query each, our own client), the share
//    of answers from the prebuilt fast path and the signatures made in each run
//    (/metrics, GET /v1/dnssec), and the appliance's RSS after the warm runs and at the end.
// One appliance per algorithm (--algorithm both: ECDSAP256SHA256, then ED25519, never at
// the same time), pinned to core 0; dnsperf and this process on core 1 (taskset).
// Usage: node bench/dnssec.mjs [--seconds N] [--algorithm ECDSAP256SHA256|ED25519|both] [--json [FILE]]
// Needs: apt-get install -y dnsperf (delv, from bind9-dnsutils, optional); the compiled
//        server (npx tsc -p tsconfig.server.json).
// Exit: 0 when every part ran (goals met or not: it is a benchmark, not a test),
//       2 when ours failed (to start, to answer correctly, or during a measurement),
//       1 on any other failure.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHarness, missingTools } from './harness.mjs';
import { checkAnswer, ORIGIN, queries as zoneQueries, shuffle, wireQuery, zoneFile } from './dns-zone.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
const ALGORITHMS = ['ECDSAP256SHA256', 'ED25519'];
function usage(msg) {
  if (msg) console.error(`dnssec bench: ${msg}`);
  console.error('usage: node bench/dnssec.mjs [--seconds N] [--algorithm ECDSAP256SHA256|ED25519|both] [--json [FILE]]');
  process.exit(msg ? 1 : 0);
}
const opts = { seconds: 10, algorithms: ['ECDSAP256SHA256'], json: undefined };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : undefined);
    if (flag === '--seconds') {
      opts.seconds = Number(value());
      if (!Number.isInteger(opts.seconds) || opts.seconds < 1) usage('--seconds takes a whole number >= 1');
    } else if (flag === '--algorithm') {
      const v = String(value() ?? '').toUpperCase();
      if (v === 'BOTH') opts.algorithms = [...ALGORITHMS];
      else if (ALGORITHMS.includes(v)) opts.algorithms = [v];
      else usage(`--algorithm takes ${ALGORITHMS.join(', ')} or both`);
    } else if (flag === '--json') opts.json = resolve(value() ?? 'dnssec-bench.json');
    else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
}
const SECONDS = opts.seconds;
const CLIENTS = 10; // dnsperf -c
const WARMUP_SECONDS = 1;
const ROUNDS = 3;
const FIXED_QPS = 20000; // dnsperf -Q: the CPU an answer costs, below saturation
const FIXED_SECONDS = Math.max(3, Math.ceil(SECONDS / 2));
const NX_NAMES = 137; // 10% of the "10% NXDOMAIN" list (1230 + 137)
const FRESH_EVERY = 10; // every 10th query of the fresh mix is a new name
const EDNS_PAYLOAD = 1232; // what our own checks advertise (the appliance's default edns_udp_size)
const READ_TOKEN = 'bench-dnssec-read-token-0123456789';
const TYPE = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28, OPT: 41, RRSIG: 46, NSEC: 47 };

const h = createHarness('dnssec bench', 'nekoq-dnssec-bench-');
const { dir, hasTaskset, sleep, log, stop, cleanup, startServer, logTail, run, freePort } = h;

const missing = missingTools(['dnsperf']);
if (missing.length) {
  console.error(`dnssec bench: missing ${missing.join(', ')}: apt-get install -y dnsperf`);
  process.exit(1);
}
const hasDelv = missingTools(['delv']).length === 0;

// ---------------------------------------------------------------- questions
/** mulberry32 from `seed`: the same numbers on every run. */
function prng(seed) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** randomLabel is `len` letters and digits; from 6 on it cannot be a name of the zone (h0000..h0999, ns1, mail). */
const randomLabel = (rand, len) => Array.from({ length: len }, () => ALNUM[Math.floor(rand() * 36)]).join('');

const POSITIVE = zoneQueries(); // 1230, each answered with data
const NXDOMAIN = (() => {
  const rand = prng(0x5eed0dd5);
  const names = new Set();
  while (names.size < NX_NAMES) names.add(`${randomLabel(rand, 6 + Math.floor(rand() * 9))}.${ORIGIN}`);
  return [...names].map((name) => ({ name, type: 'A', nx: true }));
})();
const NX_MIX = shuffle([...POSITIVE, ...NXDOMAIN], 0x1b873593);
const line = (q) => `${q.name} ${q.type}`;
const FILES = { answers: join(dir, 'answers.txt'), nx10: join(dir, 'nx10.txt') };
const MIX_LABEL = {
  answers: `answers (${POSITIVE.length} questions)`,
  nx10: `10% NXDOMAIN (${NX_NAMES} names, repeating)`,
  fresh: '10% fresh NXDOMAIN (each name new)',
};

/**
 * freshFile writes a query file of `lines` lines: the answers mix in order, with every
 * FRESH_EVERY-th line a name never asked before (random labels, and a counter that keeps
 * them apart), and returns its path. dnsperf -n 1 reads it once: no name comes back.
 */
let freshFiles = 0;
function freshFile(lines) {
  const rand = prng(randomBytes(4).readUInt32BE(0));
  const path = join(dir, `fresh-${++freshFiles}.txt`);
  const out = [];
  let p = 0;
  for (let i = 0; i < lines; i++) {
    if (i % FRESH_EVERY === FRESH_EVERY - 1) out.push(`${randomLabel(rand, 8)}${i.toString(36)}.${ORIGIN} A`);
    else out.push(line(POSITIVE[p++ % POSITIVE.length]));
  }
  writeFileSync(path, out.join('\n') + '\n');
  return path;
}

// ---------------------------------------------------------------- DNS messages
/** ednsQuery is wireQuery (RD set, as stub resolvers and dnsperf send) with an OPT record, DO set or not. */
function ednsQuery(name, type, id, dnssecOk) {
  const q = wireQuery(name, type, id);
  q.writeUInt16BE(1, 10); // ARCOUNT
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(TYPE.OPT, 1); // owner: the root (0)
  opt.writeUInt16BE(EDNS_PAYLOAD, 3);
  opt.writeUInt16BE(dnssecOk ? 0x8000 : 0, 7); // TTL: extended RCODE 0, version 0, flags (DO)
  return Buffer.concat([q, opt]);
}

function skipName(b, o) {
  for (let hops = 0; hops < 128; hops++) {
    if (o >= b.length) throw new Error('name runs past the end');
    const l = b[o];
    if ((l & 0xc0) === 0xc0) return o + 2;
    if (l === 0) return o + 1;
    o += l + 1;
  }
  throw new Error('name too long');
}

/** parseResponse reads the header and every record's type (and an RRSIG's type covered); it throws on a malformed message. */
function parseResponse(b) {
  if (b.length < 12) throw new Error(`short response (${b.length} bytes)`);
  const flags = b.readUInt16BE(2);
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((i) => b.readUInt16BE(i));
  let o = 12;
  for (let i = 0; i < qd; i++) o = skipName(b, o) + 4;
  const sections = [[], [], []];
  [an, ns, ar].forEach((n, s) => {
    for (let i = 0; i < n; i++) {
      o = skipName(b, o);
      if (o + 10 > b.length) throw new Error('record runs past the end');
      const type = b.readUInt16BE(o);
      const ttl = b.readUInt32BE(o + 4);
      const len = b.readUInt16BE(o + 8);
      if (o + 10 + len > b.length) throw new Error('RDATA runs past the end');
      sections[s].push({ type, ttl, covered: type === TYPE.RRSIG ? b.readUInt16BE(o + 10) : undefined });
      o += 10 + len;
    }
  });
  const opt = sections[2].find((r) => r.type === TYPE.OPT);
  return { rcode: flags & 0xf, tc: (flags & 0x0200) !== 0, answer: sections[0], authority: sections[1], additional: sections[2], opt, dnssecOk: opt !== undefined && (opt.ttl & 0x8000) !== 0 };
}

const typeName = (t) => Object.keys(TYPE).find((k) => TYPE[k] === t) ?? String(t);
/** unsignedSets lists the RRset types of a section that have no RRSIG covering them. */
const unsignedSets = (records) => {
  const covered = new Set(records.filter((r) => r.type === TYPE.RRSIG).map((r) => r.covered));
  return [...new Set(records.map((r) => r.type))].filter((t) => t !== TYPE.RRSIG && t !== TYPE.OPT && !covered.has(t));
};

/**
 * checkDnssec returns undefined when resp is a right answer to q (a POSITIVE or NXDOMAIN
 * entry) asked with or without DO, and otherwise what is wrong.
 */
function checkDnssec(resp, q, id, dnssecOk) {
  let m;
  try {
    m = parseResponse(resp);
  } catch (e) {
    return e.message;
  }
  if (resp.readUInt16BE(0) !== id) return `ID ${resp.readUInt16BE(0)}, expected ${id}`;
  if (m.tc) return 'truncated (TC)';
  if (m.opt === undefined) return 'no OPT record in the response to an EDNS query';
  if (q.nx) {
    if (m.rcode !== 3) return `rcode ${m.rcode}, expected NXDOMAIN`;
    if (m.answer.length) return 'records in the answer section of an NXDOMAIN';
    if (!m.authority.some((r) => r.type === TYPE.SOA)) return 'no SOA in the authority section';
  } else {
    const bad = checkAnswer(resp, q, id);
    if (bad) return bad;
    if (!m.answer.some((r) => r.type === TYPE[q.type])) return `no ${q.type} record in the answer`;
  }
  const dnssecRecords = [...m.answer, ...m.authority, ...m.additional].filter((r) => r.type === TYPE.RRSIG || r.type === TYPE.NSEC);
  if (!dnssecOk) {
    if (m.dnssecOk) return 'DO set in the response to a query without DO';
    if (dnssecRecords.length) return `${dnssecRecords.length} RRSIG/NSEC records in an answer to a query without DO`;
    return undefined;
  }
  if (!m.dnssecOk) return 'DO not echoed in the response';
  for (const [name, section] of [['answer', m.answer], ['authority', m.authority]]) {
    const u = unsignedSets(section);
    if (u.length) return `${u.map(typeName).join(', ')} in the ${name} section without an RRSIG`;
  }
  if (!q.nx && !m.answer.some((r) => r.type === TYPE.RRSIG && r.covered === TYPE[q.type])) return `no RRSIG covering the ${q.type} answer`;
  if (q.nx && !m.authority.some((r) => r.type === TYPE.NSEC)) return 'no NSEC in the denial';
  return undefined;
}

// ---------------------------------------------------------------- a DNS client (this process, on core 1)
/** DnsClient sends EDNS queries over one UDP socket to 127.0.0.1:port and matches answers by ID. */
class DnsClient {
  constructor(port) {
    this.port = port;
    this.pending = new Map();
    this.nextId = 1;
    this.socket = dgram.createSocket({ type: 'udp4', lookup: (a, o, cb) => cb(null, a, 4) });
    this.socket.on('message', (m) => {
      if (m.length < 12) return;
      const p = this.pending.get(m.readUInt16BE(0));
      if (p === undefined) return; // late answer to a timed-out query
      clearTimeout(p.timer);
      this.pending.delete(m.readUInt16BE(0));
      p.done({ resp: m, id: m.readUInt16BE(0) });
    });
  }
  async open() {
    await new Promise((r) => this.socket.bind(0, '127.0.0.1', r));
    return this;
  }
  close() {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.socket.close();
  }
  /** ask resolves with { resp, id } or { error } after timeoutMs. */
  ask(q, dnssecOk, timeoutMs = 1000) {
    let id = this.nextId;
    while (this.pending.has(id)) id = (id % 65535) + 1;
    this.nextId = (id % 65535) + 1;
    return new Promise((done) => {
      const p = { done, timer: setTimeout(() => (this.pending.delete(id), done({ error: `no answer within ${timeoutMs} ms` })), timeoutMs) };
      this.pending.set(id, p);
      this.socket.send(ednsQuery(q.name, q.type, id, dnssecOk), this.port, '127.0.0.1');
    });
  }
}

/**
 * verify asks every question of `list` with and without DO (20 in flight, a lost one
 * retried twice) and throws on the first wrong answer; with `sizes`, it adds each
 * response's length there, by question type (NXDOMAIN apart) and DO.
 */
async function verify(name, port, list, sizes) {
  const c = await new DnsClient(port).open();
  try {
    const jobs = list.flatMap((q) => [[q, false], [q, true]]);
    for (let i = 0; i < jobs.length; i += 20) {
      await Promise.all(
        jobs.slice(i, i + 20).map(async ([q, dnssecOk]) => {
          let r;
          for (let attempt = 0; attempt < 3; attempt++) {
            r = await c.ask(q, dnssecOk);
            if (r.resp !== undefined) break;
          }
          const bad = r.error ?? checkDnssec(r.resp, q, r.id, dnssecOk);
          if (bad) throw new Error(`${name}: ${q.name} ${q.type}${dnssecOk ? ' with DO' : ' without DO'}: ${bad}`);
          if (sizes) {
            const k = `${q.nx ? 'NXDOMAIN' : q.type}/${dnssecOk ? 'signed' : 'unsigned'}`;
            const s = (sizes[k] ??= { n: 0, bytes: 0 });
            s.n++;
            s.bytes += r.resp.length;
          }
        }),
      );
    }
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------- dnsperf
/** parseDnsperf reads dnsperf 2.x's "Statistics:" block (as bench/dns.mjs does). */
function parseDnsperf(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const sent = num(/Queries sent:\s+(\d+)/);
  const lost = num(/Queries lost:\s+(\d+)/);
  const r = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent,
    completed: num(/Queries completed:\s+(\d+)/),
    lost,
    lossPct: sent > 0 ? (100 * lost) / sent : NaN,
    latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    runSeconds: num(/Run time \(s\):\s+([\d.]+)/),
    responseCodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
    avgResponseBytes: num(/Average packet size:\s+request \d+, response (\d+)/),
  };
  if (!Number.isFinite(r.qps) || !Number.isFinite(sent)) throw new Error(`cannot parse dnsperf output:\n${out}`);
  return r;
}

/** dnsperf runs one load over UDP with EDNS (-e) or with DO (-D) and checks the response codes against the mix. */
async function dnsperf(s, file, dnssecOk, seconds, extra = [], nx = false) {
  const args = ['-s', '127.0.0.1', '-p', String(s.port), '-m', 'udp', '-d', file, '-c', String(CLIENTS), '-l', String(seconds), dnssecOk ? '-D' : '-e', ...extra];
  const r = await run('dnsperf', args, { seconds, serverPid: s.pid });
  if (r.code !== 0) throw new Error(`dnsperf ${args.join(' ')} failed (${r.signal ?? r.code}):\n${r.stdout}${r.stderr}`);
  const parsed = { ...parseDnsperf(r.stdout), ...r.cpu };
  if (parsed.completed === 0) throw new Error(`dnsperf ${args.join(' ')}: no query answered:\n${r.stdout}`);
  const codes = [...parsed.responseCodes.matchAll(/([A-Z]+) (\d+)/g)].map((m) => m[1]);
  const unexpected = codes.filter((c) => c !== 'NOERROR' && !(nx && c === 'NXDOMAIN'));
  if (unexpected.length) log(`  warning: unexpected response codes: ${parsed.responseCodes}`);
  return parsed;
}

// ---------------------------------------------------------------- the appliance
const rssMb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
};

/** startOurs starts the appliance pinned to core 0: the bench zone, [dnssec] enabled with `algorithm`. */
async function startOurs(algorithm) {
  const name = `ours-${algorithm.toLowerCase()}`;
  const ports = { http: await freePort(), dns: await freePort() };
  const conf = join(dir, `${name}.toml`);
  writeFileSync(
    conf,
    `[node]
name = "${name}"
data_dir = "${join(dir, `${name}-data`)}"
[http]
listen = "127.0.0.1:${ports.http}"
[dns]
listen = "127.0.0.1:${ports.dns}"
zone_files = ["${join(dir, 'bench.zone')}"]
[dnssec]
enabled = true
algorithm = "${algorithm}"
[[auth.tokens]]
name = "bench"
token = "${READ_TOKEN}"
role = "read"
[log]
level = "warn"
`,
  );
  // As npm start runs it (scripts/start.mjs sets the same young-generation size).
  const child = startServer(name, process.execPath, ['--max-semi-space-size=32', join(root, 'dist/server/main.js'), '--config', conf], { cwd: root });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitInfo) throw new Error(`${name} exited (${child.exitInfo}):\n${logTail(child)}`);
    const ok = await fetch(`http://127.0.0.1:${ports.http}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${name}: /readyz did not answer 200 within 30s:\n${logTail(child)}`);
    await sleep(100);
  }
  const api = async (path) => {
    const r = await fetch(`http://127.0.0.1:${ports.http}${path}`, { headers: { authorization: `Bearer ${READ_TOKEN}` }, signal: AbortSignal.timeout(5000) });
    if (r.status !== 200) throw new Error(`${name}: GET ${path}: HTTP ${r.status} ${await r.text()}`);
    return r;
  };
  return {
    name,
    algorithm,
    child,
    pid: child.pid,
    port: ports.dns,
    api,
    /** metrics reads /metrics into { 'name{labels}': value }. */
    async metrics() {
      const text = await (await api('/metrics')).text();
      const m = {};
      for (const l of text.split('\n')) {
        const x = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(l);
        if (x) m[x[1]] = Number(x[2]);
      }
      return m;
    },
    /** signer is GET /v1/dnssec's signatures: { cached, signatures (made), cacheHits }. */
    async signer() {
      return (await (await api('/v1/dnssec')).json()).signatures ?? {};
    },
  };
}

/** validate has delv check three answers against the zone's DS: each must be "fully validated". */
async function validate(s) {
  const zone = await (await s.api(`/v1/dnssec/${ORIGIN.slice(0, -1)}`)).json();
  const ds = zone.ds?.[0];
  if (typeof ds !== 'string') throw new Error(`${s.name}: no DS for ${ORIGIN}: ${JSON.stringify(zone)}`);
  const [owner, , , tag, alg, digestType, digest] = ds.split(/\s+/);
  const anchor = join(dir, `${s.name}-anchor.conf`);
  writeFileSync(anchor, `trust-anchors {\n  "${owner}" static-ds ${tag} ${alg} ${digestType} "${digest}";\n};\n`);
  for (const [name, type] of [[POSITIVE.find((q) => q.type === 'A').name, 'A'], [POSITIVE.find((q) => q.type === 'MX').name, 'MX'], [NXDOMAIN[0].name, 'A']]) {
    const r = spawnSync('delv', ['@127.0.0.1', '-p', String(s.port), '-a', anchor, `+root=${ORIGIN}`, name, type], { encoding: 'utf8', timeout: 15000 });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (!/fully validated/.test(out)) throw new Error(`${s.name}: delv does not validate ${name} ${type}:\n${out.trim()}`);
  }
}

// ---------------------------------------------------------------- the run
const rows = []; // { algorithm, mix, dnssecOk, run, raw }
const failures = []; // { server, error }
const notes = {}; // by algorithm: { roundRatios: [{ answers, nx10 }], sizes, rss, prebuilt, signatures, validated, freshShort }
let oursFailed = false;

/** usPerAnswer is the server's CPU time per answer, in µs, from a run's CPU % and q/s. */
const usPerAnswer = (r) => (10_000 * r.serverPct) / r.qps;
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmt = (n, d) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const median = (runs) => {
  const sorted = [...runs].sort((a, b) => a.qps - b.qps);
  const m = { ...sorted[Math.floor(sorted.length / 2)] };
  m.lost = runs.reduce((n, r) => n + r.lost, 0);
  return m;
};

function add(algorithm, mix, dnssecOk, runLabel, r) {
  rows.push({ algorithm, mix, dnssecOk, run: runLabel, raw: r });
  log(`  ${algorithm} ${mix} ${dnssecOk ? 'signed' : 'unsigned'} ${runLabel}: ${fmtInt(r.qps)} q/s, lost ${fmt(r.lossPct, 2)}%, avg ${fmt(r.latencyMs, 3)} ms, ` +
    `server CPU ${fmt(r.serverPct, 0)}% (${fmt(usPerAnswer(r), 1)} µs/answer), dnsperf CPU ${fmt(r.loadPct, 0)}%, ${fmt(r.avgResponseBytes, 0)} B, ` +
    `fast path ${fmt(r.fastPct, 2)}%, ${fmtInt(r.signaturesMade)} signatures made`);
}

/** measured runs dnsperf and adds the fast/full path split (/metrics) and the signatures made (GET /v1/dnssec) over the run. */
async function measured(s, leg, seconds, extra = []) {
  const [m0, g0] = [await s.metrics(), await s.signer()];
  const r = await dnsperf(s, leg.file, leg.dnssecOk, seconds, extra, leg.mix !== 'answers');
  const [m1, g1] = [await s.metrics(), await s.signer()];
  r.fast = (m1['nekoq_dns_responses_total{path="fast"}'] ?? 0) - (m0['nekoq_dns_responses_total{path="fast"}'] ?? 0);
  r.full = (m1['nekoq_dns_responses_total{path="full"}'] ?? 0) - (m0['nekoq_dns_responses_total{path="full"}'] ?? 0);
  r.fastPct = (100 * r.fast) / (r.fast + r.full);
  r.signaturesMade = (g1.signatures ?? NaN) - (g0.signatures ?? NaN);
  r.signatureCacheHits = (g1.cacheHits ?? NaN) - (g0.cacheHits ?? NaN);
  return r;
}

async function measureAlgorithm(algorithm) {
  const n = (notes[algorithm] = { roundRatios: [], sizes: {}, rss: {}, prebuilt: {}, signatureCache: {}, validated: false, freshShort: [] });
  log(`${algorithm}: starting the appliance`);
  const s = await startOurs(algorithm);
  try {
    await verify(s.name, s.port, [...POSITIVE, ...NXDOMAIN], n.sizes);
    if (hasDelv) {
      await validate(s);
      n.validated = true;
    }
    log(`${algorithm}: ${POSITIVE.length + NXDOMAIN.length} questions checked with and without DO${hasDelv ? '; delv validates A, MX and NXDOMAIN' : ' (delv not installed: no validation)'}`);

    // ---- saturated, alternating: answers and 10% NXDOMAIN, unsigned and signed.
    const legs = [
      { mix: 'answers', dnssecOk: false, file: FILES.answers },
      { mix: 'answers', dnssecOk: true, file: FILES.answers },
      { mix: 'nx10', dnssecOk: false, file: FILES.nx10 },
      { mix: 'nx10', dnssecOk: true, file: FILES.nx10 },
    ];
    for (const l of legs) {
      l.runs = [];
      await dnsperf(s, l.file, l.dnssecOk, WARMUP_SECONDS, [], l.mix !== 'answers');
    }
    for (let i = 0; i < ROUNDS; i++) {
      for (const l of legs) {
        const r = await measured(s, l, SECONDS);
        log(`  ${algorithm} ${l.mix} ${l.dnssecOk ? 'signed' : 'unsigned'} round ${i + 1}: ${fmtInt(r.qps)} q/s, ${fmt(r.fastPct, 2)}% from the fast path, ${fmtInt(r.signaturesMade)} signatures made`);
        l.runs.push(r);
      }
      n.roundRatios.push({ answers: legs[1].runs[i].qps / legs[0].runs[i].qps, nx10: legs[3].runs[i].qps / legs[2].runs[i].qps });
    }
    for (const l of legs) {
      l.median = median(l.runs);
      add(algorithm, l.mix, l.dnssecOk, `median of ${ROUNDS}`, l.median);
    }
    // ---- the same at a fixed rate: CPU per answer.
    for (const l of legs) add(algorithm, l.mix, l.dnssecOk, `at ${FIXED_QPS / 1000}k q/s`, await measured(s, l, FIXED_SECONDS, ['-Q', String(FIXED_QPS)]));
    n.rss.warm = rssMb(s.pid);
    n.prebuilt.warm = (await s.metrics()).nekoq_dns_prebuilt_answers;
    n.signatureCache.warm = (await s.signer()).cached;

    // ---- fresh NXDOMAIN names: every 10th query misses every cache. One file per run,
    // longer than the run can use (bounded by the repeating mix's median at the same DO).
    for (const [fixed, dnssecOk] of [[false, false], [false, true], [true, false], [true, true]]) {
      const bound = fixed ? FIXED_QPS : legs[dnssecOk ? 3 : 2].median.qps;
      const seconds = fixed ? FIXED_SECONDS : SECONDS;
      const file = freshFile(Math.ceil(Math.max(bound, 1000) * seconds * 1.25) + 1000);
      const r = await measured(s, { mix: 'fresh', dnssecOk, file }, seconds, ['-n', '1', ...(fixed ? ['-Q', String(FIXED_QPS)] : [])]);
      if (r.runSeconds < seconds * 0.9) n.freshShort.push(`${dnssecOk ? 'signed' : 'unsigned'}${fixed ? ' at fixed rate' : ''}: the query file ran out after ${fmt(r.runSeconds, 1)} s`);
      add(algorithm, 'fresh', dnssecOk, fixed ? `at ${FIXED_QPS / 1000}k q/s` : 'once', r);
    }
    // ---- still right after the flood of fresh names, and what is held at the end.
    await verify(s.name, s.port, [...POSITIVE.slice(0, 200), ...NXDOMAIN.slice(0, 20)]);
    n.rss.end = rssMb(s.pid);
    n.prebuilt.end = (await s.metrics()).nekoq_dns_prebuilt_answers;
    n.signatureCache.end = (await s.signer()).cached;
  } finally {
    await stop(s.child);
  }
}

async function main() {
  if (!existsSync(join(root, 'dist/server/main.js'))) {
    log('ours: dist/server/main.js is missing: npx tsc -p tsconfig.server.json');
    const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.server.json'], { cwd: root, stdio: ['ignore', 2, 2] });
    if (b.status !== 0) {
      failures.push({ server: 'ours', error: `npx tsc -p tsconfig.server.json failed (${b.status ?? b.signal})` });
      oursFailed = true;
      return;
    }
  } else {
    const built = statSync(join(root, 'dist/server/main.js')).mtimeMs;
    const newer = (d) => readdirSync(join(root, d), { recursive: true }).some((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(join(root, d, f)).mtimeMs > built);
    if (newer('lib') || newer('server')) log('ours: warning: lib/ or server/ is newer than dist/; measuring the existing build (npx tsc -p tsconfig.server.json to refresh)');
  }
  // This process checks answers and reads /metrics between runs: core 1, with dnsperf.
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  writeFileSync(join(dir, 'bench.zone'), zoneFile());
  writeFileSync(FILES.answers, POSITIVE.map(line).join('\n') + '\n');
  writeFileSync(FILES.nx10, NX_MIX.map(line).join('\n') + '\n');
  log(`dnssec bench: ${SECONDS}s per run, ${opts.algorithms.join(' then ')}, appliance on core 0, dnsperf on core 1${hasTaskset ? '' : ' (NOT pinned: no taskset)'}`);
  for (const algorithm of opts.algorithms) {
    if (h.stopping) break;
    try {
      await measureAlgorithm(algorithm);
    } catch (e) {
      log(`${algorithm}: FAILED: ${e.message}`);
      failures.push({ server: `ours (${algorithm})`, error: e.message });
      oursFailed = true;
    }
  }
}

// ---------------------------------------------------------------- report
const find = (algorithm, mix, dnssecOk, fixed) => rows.find((r) => r.algorithm === algorithm && r.mix === mix && r.dnssecOk === dnssecOk && r.run.startsWith('at ') === fixed)?.raw;

function goals() {
  const g = [];
  const goal = (name, figure, target, met, digits = 3) => g.push({ goal: name, figure, target, met: target === '' || !Number.isFinite(figure) ? undefined : met(figure), digits });
  for (const a of opts.algorithms) {
    const ratio = (mix, fixed = false) => (find(a, mix, true, fixed)?.qps ?? NaN) / (find(a, mix, false, fixed)?.qps ?? NaN);
    const cpu = (mix, dnssecOk) => {
      const r = find(a, mix, dnssecOk, true);
      return r ? usPerAnswer(r) : NaN;
    };
    goal(`${a}: signed / unsigned q/s, ${MIX_LABEL.answers}`, ratio('answers'), '≥ 0.7', (x) => x >= 0.7);
    goal(`${a}: signed / unsigned q/s, ${MIX_LABEL.nx10}`, ratio('nx10'), '≥ 0.7', (x) => x >= 0.7);
    goal(`${a}: signed / unsigned q/s, ${MIX_LABEL.fresh}, the worst case`, ratio('fresh'), '', () => true);
    goal(`${a}: CPU per answer at ${FIXED_QPS / 1000}k q/s, signed / unsigned, answers`, cpu('answers', true) / cpu('answers', false), '', () => true);
    // Each fresh name is one query in FRESH_EVERY: its cost beyond a repeating query of the same mix.
    goal(`${a}: CPU µs per fresh NXDOMAIN beyond a prebuilt answer, unsigned`, (cpu('fresh', false) - cpu('answers', false)) * FRESH_EVERY, '', () => true, 0);
    goal(`${a}: CPU µs per fresh NXDOMAIN beyond a prebuilt answer, signed`, (cpu('fresh', true) - cpu('answers', true)) * FRESH_EVERY, '', () => true, 0);
  }
  return g;
}

function report() {
  const out = [];
  out.push(`DNSSEC benchmark: ${SECONDS} s per run (UDP, dnsperf -c ${CLIENTS}; unsigned: -e, EDNS without DO; signed: -D, DO set), one appliance per algorithm ` +
    `with [dnssec] enabled and ${ORIGIN} (1000 names) from [dns] zone_files; appliance on core 0, dnsperf on core 1${hasTaskset ? '' : ' (unpinned)'}; Node ${process.version}`);
  out.push('');
  out.push('| algorithm | queries | DO | run | q/s | lost % | avg latency ms | server CPU % | server CPU µs per answer | dnsperf CPU % | avg response bytes | fast path % | signatures made |');
  out.push('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { algorithm, mix, dnssecOk, run: runLabel, raw: r } of rows) {
    out.push(`| ${algorithm} | ${MIX_LABEL[mix]} | ${dnssecOk ? 'yes' : 'no'} | ${runLabel} | ${fmtInt(r.qps)} | ${fmt(r.lossPct, 2)} | ${fmt(r.latencyMs, 3)} | ${fmt(r.serverPct, 0)} | ` +
      `${fmt(usPerAnswer(r), 1)} | ${fmt(r.loadPct, 0)} | ${fmt(r.avgResponseBytes, 0)} | ${fmt(r.fastPct, 2)} | ${fmtInt(r.signaturesMade)} |`);
  }
  out.push('');
  out.push('CPU: % of one core from /proc over the run less 0.2 s at each end. A dnsperf near 100% means the figure is its ceiling,');
  out.push(`not the server's. Saturated figures drift by ±20% on this VM, hence the alternation; the runs at ${FIXED_QPS / 1000}k q/s compare what an answer`);
  out.push('costs instead. Fast path: share of the run\'s responses copied from a prebuilt answer (/metrics nekoq_dns_responses_total);');
  out.push('signatures made: RRSIGs computed during the run (GET /v1/dnssec), not taken from the signature cache. Fresh runs: one pass');
  out.push('over their own file (dnsperf -n 1), every 10th name new; they evict prebuilt answers and signatures the other mixes then rebuild.');

  const sizeKeys = ['A', 'AAAA', 'TXT', 'MX', 'NXDOMAIN'];
  out.push('');
  out.push('| algorithm | question | n | unsigned bytes (avg) | signed bytes (avg) |');
  out.push('| --- | --- | ---: | ---: | ---: |');
  for (const a of opts.algorithms) {
    const sz = notes[a]?.sizes ?? {};
    for (const k of sizeKeys) {
      const u = sz[`${k}/unsigned`];
      const sg = sz[`${k}/signed`];
      if (!u && !sg) continue;
      out.push(`| ${a} | ${k === 'NXDOMAIN' ? 'A, NXDOMAIN' : k} | ${u?.n ?? sg?.n} | ${fmt(u ? u.bytes / u.n : NaN, 0)} | ${fmt(sg ? sg.bytes / sg.n : NaN, 0)} |`);
    }
  }
  out.push('(one query each from this process, EDNS payload 1232; not minimal responses: a signed answer carries the NS RRset and glue with their RRSIGs)');

  const g = goals();
  out.push('');
  out.push('| goal | figure | target | |');
  out.push('| --- | ---: | --- | --- |');
  for (const x of g) out.push(`| ${x.goal} | ${fmt(x.figure, x.digits)} | ${x.target || '–'} | ${x.target === '' ? '' : x.met === undefined ? 'not measured' : x.met ? 'met' : 'NOT met'} |`);
  out.push('');
  for (const a of opts.algorithms) {
    const n = notes[a];
    if (!n) continue;
    if (n.roundRatios.length) {
      out.push(`${a}: signed / unsigned in each round: answers ${n.roundRatios.map((r) => r.answers.toFixed(3)).join(', ')}; ` +
        `10% NXDOMAIN ${n.roundRatios.map((r) => r.nx10.toFixed(3)).join(', ')}`);
    }
    if (n.rss.warm === undefined) continue; // failed before the warm runs ended
    out.push(`${a}: RSS ${fmt(n.rss.warm, 1)} MB after the warm runs (${fmtInt(n.prebuilt.warm)} prebuilt answers, ${fmtInt(n.signatureCache.warm)} cached RRSIG sets), ` +
      `${fmt(n.rss.end, 1)} MB at the end (${fmtInt(n.prebuilt.end)} prebuilt answers, ${fmtInt(n.signatureCache.end)} cached RRSIG sets); ` +
      `signatures ${n.validated ? 'validated by delv' : hasDelv ? 'not validated' : 'NOT validated (no delv)'}`);
    for (const s of n.freshShort) out.push(`${a}: note: fresh run ${s}`);
  }
  for (const f of failures) out.push(`\nFAILED: ${f.server}: ${f.error.split('\n').filter(Boolean).slice(0, 3).join(' | ').slice(0, 400)}`);
  console.log(out.join('\n'));
  if (opts.json) {
    const json = {
      setup: { seconds: SECONDS, fixed_seconds: FIXED_SECONDS, clients: CLIENTS, rounds: ROUNDS, fixed_qps: FIXED_QPS, algorithms: opts.algorithms, answers: POSITIVE.length, nxdomain_names: NX_NAMES, fresh_every: FRESH_EVERY, zone: ORIGIN, pinned: hasTaskset, node: process.version },
      results: rows.map(({ raw, ...r }) => ({ ...r, cpuUsPerAnswer: usPerAnswer(raw), detail: raw })),
      goals: g.map(({ digits, ...x }) => ({ ...x, figure: Number.isFinite(x.figure) ? Number(x.figure.toFixed(4)) : null })),
      notes,
      failures,
    };
    mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify(json, null, 2) + '\n');
    log(`figures written to ${opts.json}`);
  }
}

let code = 0;
try {
  await main();
  report();
  code = oursFailed ? 2 : failures.length ? 1 : 0;
} catch (e) {
  log(`dnssec bench: ${e.stack ?? e}`);
  code = oursFailed ? 2 : 1;
}
await cleanup();
process.exit(code);
