#!/usr/bin/env node
// Resolver benchmark (issue #7): the appliance's cached resolver answers against its own
// authoritative fast path, and cache-miss latency against Unbound, all on the private
// tree of server/testing/dns-tree.ts (NSD for the root, test., example. and the leaf
// zones; here on 127.153.0.x:53 instead of 127.53.0.x, so that a test run at the same
// time does not collide with it). Every figure is measured in the same run:
//  - q/s (dnsperf -c 10, UDP): "auth" is bench/dns-zone.mjs's zone from [dns] zone_files;
//    "cached" is 1008 questions over the tree (x0000..x0999.wild.alpha.test A through the
//    wildcard, plus A/AAAA/MX/TXT, CNAME chains and a DNAME), asked once before to fill
//    the cache. Three legs alternate three times (medians kept): auth on an appliance with
//    recursion off (as bench/dns.mjs runs it), auth and cached on one with
//    [recursion] mode = "iterative". Then each leg once at a fixed 20k q/s, half as long:
//    the server's CPU per answer, which the drift of saturated runs does not blur. Then
//    Unbound's cached q/s on the same questions, saturated and at 20k q/s.
//  - cache misses: names never asked before (m…-<i>.wild.alpha.test A) from a node:dgram
//    client, after 3000 unmeasured ones (JIT warm-up): one at a time (the zone's
//    delegations are cached: one query to the leaf server each without QNAME
//    minimisation), 16 in flight, and cold (both caches flushed before each query: the
//    whole walk from the root hints); ours and Unbound, QNAME minimisation on and off;
//    with the resolver's CPU per miss and, for ours, upstream queries per miss (/metrics).
// Servers (ours, Unbound, the tree's NSDs) are pinned to core 0; dnsperf and this process,
// which is the client of the miss phases, to core 1 (taskset).
// Usage: node bench/resolver.mjs [--seconds N] [--json [FILE]] [--cpu-prof DIR]
//   --cpu-prof DIR: run the iterative appliance under node --cpu-prof, profile into DIR.
// Needs: apt-get install -y dnsperf nsd unbound (and dig, from bind9-dnsutils); root, for
//        port 53 on 127.153.0.x; the compiled server (npx tsc -p tsconfig.server.json).
// Exit: 0 when every part ran (goals met or not: it is a benchmark, not a test),
//       2 when ours failed (to start, to answer correctly, or during a measurement),
//       1 on any other failure.
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { createHarness, descendants, missingTools } from './harness.mjs';
import { checkAnswer, dnsperfFile, ORIGIN, queries as zoneQueries, shuffle, wireQuery, zoneFile } from './dns-zone.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
function usage(msg) {
  if (msg) console.error(`resolver bench: ${msg}`);
  console.error('usage: node bench/resolver.mjs [--seconds N] [--json [FILE]] [--cpu-prof DIR]');
  process.exit(msg ? 1 : 0);
}
const opts = { seconds: 10, json: undefined, cpuProf: undefined };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : undefined);
    if (flag === '--seconds') {
      opts.seconds = Number(value());
      if (!Number.isInteger(opts.seconds) || opts.seconds < 1) usage('--seconds takes a whole number >= 1');
    } else if (flag === '--json') opts.json = resolve(value() ?? 'resolver-bench.json');
    else if (flag === '--cpu-prof') {
      const d = value();
      if (d === undefined) usage('--cpu-prof takes a directory');
      opts.cpuProf = resolve(d);
      mkdirSync(opts.cpuProf, { recursive: true });
    } else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
}
const SECONDS = opts.seconds;
const CLIENTS = 10; // dnsperf -c
const WARMUP_SECONDS = 1;
const ROUNDS = 3;
const FIXED_QPS = 20000; // dnsperf -Q: the CPU an answer costs, below saturation
const FIXED_SECONDS = Math.max(3, Math.ceil(SECONDS / 2)); // steady: shorter runs do
const WILD_NAMES = 1000; // x0000..x0999.wild.alpha.test in the cached mix
const WARM_MISSES = 3000; // CONCURRENCY in flight, not measured: JIT warm-up of the miss path
const SEQ_MISSES = 300; // one at a time, zone delegations cached
const CONC_MISSES = 5000; // CONCURRENCY in flight
const CONCURRENCY = 16;
const COLD_MISSES = 100; // both caches flushed before each
const MISS_TIMEOUT_MS = 5000;
const WILD_ADDRESS = '192.0.2.9'; // *.wild.alpha.test. A in the tree
const ADMIN_TOKEN = 'bench-resolver-admin-token-0123456789';
/** The tree's addresses: DEFAULT_TREE's 127.53.0.x moved to 127.153.0.x (every 127/8 address is on lo). */
const TREE_FROM = '127.53.0.';
const TREE_TO = '127.153.0.';

const h = createHarness('resolver bench', 'nekoq-resolver-bench-');
const { dir, hasTaskset, sleep, log, stop, cleanup, startServer, logTail, run, freePort } = h;

const missing = missingTools(['dnsperf', 'nsd', 'nsd-checkzone', 'nsd-checkconf', 'unbound', 'unbound-control', 'unbound-checkconf', 'dig']);
if (missing.length) {
  console.error(`resolver bench: missing ${missing.join(', ')}: apt-get install -y dnsperf nsd unbound bind9-dnsutils`);
  process.exit(1);
}
if (process.getuid?.() !== 0) {
  console.error('resolver bench: the private tree listens on port 53: run as root');
  process.exit(1);
}

// ---------------------------------------------------------------- questions
/** The cached mix: what the tree answers with data, shuffled with a fixed seed. */
function cachedQueries() {
  const q = [
    { name: 'www.alpha.test.', type: 'A', expect: '192.0.2.1' },
    { name: 'www.alpha.test.', type: 'AAAA', expect: '2001:db8::1' },
    { name: 'alias.alpha.test.', type: 'A', expect: '192.0.2.2' }, // CNAME into beta.test., reached without glue
    { name: 'chain.beta.test.', type: 'A', expect: '192.0.2.2' }, // two CNAMEs
    { name: 'www.dn.alpha.test.', type: 'A', expect: '192.0.2.2' }, // DNAME
    { name: 'www.beta.test.', type: 'A', expect: '192.0.2.2' },
    { name: 'mail.alpha.test.', type: 'MX' },
    { name: 'txt.alpha.test.', type: 'TXT' },
  ];
  for (let i = 0; i < WILD_NAMES; i++) q.push({ name: `x${String(i).padStart(4, '0')}.wild.alpha.test.`, type: 'A', expect: WILD_ADDRESS });
  shuffle(q, 0x2545f491);
  return q;
}
const AUTH = zoneQueries();
const CACHED = cachedQueries();
const QUERY_FILES = { auth: join(dir, 'auth-queries.txt'), cached: join(dir, 'cached-queries.txt') };

// ---------------------------------------------------------------- a DNS client (this process, on core 1)
/**
 * DnsClient sends queries over one UDP socket to 127.0.0.1:port and matches answers by
 * ID; ask() resolves with { resp, ms } or { error } (timeout, or a wrong answer).
 */
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
      const ms = Number(process.hrtime.bigint() - p.t0) / 1e6;
      clearTimeout(p.timer);
      this.pending.delete(m.readUInt16BE(0));
      p.done({ resp: m, ms });
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
  ask(q, timeoutMs = MISS_TIMEOUT_MS) {
    let id = this.nextId;
    while (this.pending.has(id)) id = (id % 65535) + 1;
    this.nextId = (id % 65535) + 1;
    return new Promise((done) => {
      const p = { t0: 0n, done: (r) => done(r.resp === undefined ? r : { ...r, error: checkAnswer(r.resp, q, id) }), timer: undefined };
      p.timer = setTimeout(() => {
        this.pending.delete(id);
        done({ error: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      this.pending.set(id, p);
      p.t0 = process.hrtime.bigint();
      this.socket.send(wireQuery(q.name, q.type, id), this.port, '127.0.0.1');
    });
  }
}

/** verify asks every query once (retrying a lost one twice) and throws on the first wrong answer; it fills a resolver's cache. */
async function verify(name, port, list) {
  const c = await new DnsClient(port).open();
  try {
    for (let i = 0; i < list.length; i += 20) {
      await Promise.all(
        list.slice(i, i + 20).map(async (q) => {
          let r;
          for (let attempt = 0; attempt < 3; attempt++) {
            r = await c.ask(q, 2000);
            if (r.resp !== undefined) break;
          }
          if (r.error) throw new Error(`${name}: ${q.name} ${q.type}: ${r.error}`);
        }),
      );
    }
  } finally {
    c.close();
  }
}

/**
 * misses asks `names` (A, each answered by the wildcard) with `concurrency` in flight,
 * awaiting before(i) ahead of query i (not timed), and returns latency figures (ms).
 */
async function misses(port, names, { concurrency = 1, before } = {}) {
  const c = await new DnsClient(port).open();
  const ms = [];
  const errors = [];
  let next = 0;
  const t0 = process.hrtime.bigint();
  let busyMs = 0; // time spent in before(), left out of the rate
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < names.length) {
          const i = next++;
          if (before) {
            const b0 = process.hrtime.bigint();
            await before(i);
            busyMs += Number(process.hrtime.bigint() - b0) / 1e6;
          }
          const r = await c.ask({ name: names[i], type: 'A', expect: WILD_ADDRESS });
          if (r.error) errors.push(`${names[i]}: ${r.error}`);
          else ms.push(r.ms);
        }
      }),
    );
  } finally {
    c.close();
  }
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6 - busyMs;
  ms.sort((a, b) => a - b);
  const pct = (p) => (ms.length ? ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)] : NaN);
  return {
    n: names.length,
    ok: ms.length,
    errors: errors.length,
    firstError: errors[0],
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: ms.length ? ms[ms.length - 1] : NaN,
    mean: ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : NaN,
    perSecond: (1000 * ms.length) / wallMs,
  };
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
    responseCodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
    avgResponseBytes: num(/Average packet size:\s+request \d+, response (\d+)/),
  };
  if (!Number.isFinite(r.qps) || !Number.isFinite(sent)) throw new Error(`cannot parse dnsperf output:\n${out}`);
  return r;
}

async function dnsperf(serverPid, port, mix, seconds, extra = []) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-m', 'udp', '-d', QUERY_FILES[mix], '-c', String(CLIENTS), '-l', String(seconds), ...extra];
  const r = await run('dnsperf', args, { seconds, serverPid });
  if (r.code !== 0) throw new Error(`dnsperf ${args.join(' ')} failed (${r.signal ?? r.code}):\n${r.stdout}${r.stderr}`);
  const parsed = { ...parseDnsperf(r.stdout), ...r.cpu };
  if (parsed.completed > 0 && !/^NOERROR \d+ \(100\.00%\)$/.test(parsed.responseCodes)) log(`  warning: not every response is NOERROR: ${parsed.responseCodes}`);
  return parsed;
}

// ---------------------------------------------------------------- processes
const comm = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};
/** pin moves every thread of pid (and of the processes it forked) to one core. */
function pin(pid, core) {
  if (!hasTaskset) return;
  for (const p of [pid, ...descendants(pid)]) spawnSync('taskset', ['-a', '-p', '-c', String(core), String(p)], { stdio: 'ignore' });
}
/** ownChildren lists the direct and indirect children of this process named `name`. */
const ownChildren = (name) => descendants(process.pid).filter((p) => comm(p) === name);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
/** cpuMs is the CPU time (user + system) of pid and the processes it forked, in ms; ticks of 1/CLK_TCK s. */
function cpuMs(pid) {
  let ticks = 0;
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5)
    } catch {}
  }
  return (1000 * ticks) / CLK_TCK;
}
const rssMb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
};

// ---------------------------------------------------------------- servers
let testing; // the TypeScript test helpers, loaded through tsx

/** startTree starts DEFAULT_TREE on 127.153.0.x and pins its NSDs to core 0. */
async function startTree() {
  const spec = JSON.parse(JSON.stringify(testing.tree.DEFAULT_TREE).replaceAll(TREE_FROM, TREE_TO));
  const before = new Set(ownChildren('nsd'));
  const tree = await testing.tree.startDnsTree(spec);
  for (const p of ownChildren('nsd')) if (!before.has(p)) pin(p, 0);
  return tree;
}

/** startOurs starts the appliance pinned to core 0 with the bench zone and, unless recursion is "off", the resolver over the tree. */
async function startOurs(name, { recursion, qmin = true, tree, cpuProf }) {
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
[recursion]
mode = "${recursion}"
${recursion === 'off' ? '' : `root_hints = ${JSON.stringify(tree.rootHints)}\nqname_minimisation = ${qmin}\n`}[dnssec]
trust_anchors = []
[[auth.tokens]]
name = "bench"
token = "${ADMIN_TOKEN}"
role = "admin"
[log]
level = "warn"
`,
  );
  // As npm start runs it (scripts/start.mjs sets the same young-generation size).
  const prof = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
  const child = startServer(name, process.execPath, ['--max-semi-space-size=32', ...prof, join(root, 'dist/server/main.js'), '--config', conf], { cwd: root });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitInfo) throw new Error(`${name} exited (${child.exitInfo}):\n${logTail(child)}`);
    const ok = await fetch(`http://127.0.0.1:${ports.http}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${name}: /readyz did not answer 200 within 30s:\n${logTail(child)}`);
    await sleep(100);
  }
  await verify(name, ports.dns, AUTH);
  const api = (method, path) =>
    fetch(`http://127.0.0.1:${ports.http}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: AbortSignal.timeout(5000) });
  return {
    name,
    child,
    pid: child.pid,
    port: ports.dns,
    /** flush empties the resolver cache and the prebuilt answers (DELETE /v1/admin/resolver/cache). */
    async flush() {
      const r = await api('DELETE', '/v1/admin/resolver/cache');
      if (r.status !== 200) throw new Error(`${name}: DELETE /v1/admin/resolver/cache: HTTP ${r.status} ${await r.text()}`);
    },
    /** metrics reads /metrics into { 'name{labels}': value }. */
    async metrics() {
      const text = await (await api('GET', '/metrics')).text();
      const m = {};
      for (const line of text.split('\n')) {
        const x = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
        if (x) m[x[1]] = Number(x[2]);
      }
      return m;
    },
  };
}

/** startUnbound starts Unbound (server/testing/unbound.ts) over the tree and pins it to core 0. */
async function startUnbound(tree, qmin) {
  const before = new Set(ownChildren('unbound'));
  const u = await testing.unbound.startUnbound({ rootHints: tree.rootHintsText, qnameMinimisation: qmin });
  const pids = ownChildren('unbound').filter((p) => !before.has(p));
  if (pids.length !== 1) {
    await u.stop();
    throw new Error(`unbound: expected one new unbound process, found ${pids.length}`);
  }
  pin(pids[0], 0);
  return { name: `unbound${qmin ? '' : '-noqmin'}`, pid: pids[0], port: u.port, flush: () => u.flush(), stop: () => u.stop(), stderr: () => u.stderr() };
}

// ---------------------------------------------------------------- the run
const rows = []; // { server, mode, qps, lossPct, latencyMs, cpuPct, loadCpuPct, raw }
const missRows = []; // { resolver, qmin, kind, ...misses() figures, upstreamPerMiss, cpuMsPerMiss }
const failures = []; // { server, error }
const notes = { roundRatios: [], fastShare: [], rss: {}, cache: undefined };
let oursFailed = false;

/** usPerAnswer is the server's CPU time per answer, in µs, from a row's CPU % and q/s. */
const usPerAnswer = (r) => (10_000 * r.cpuPct) / r.qps;
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmt = (n, d) => (Number.isFinite(n) ? n.toFixed(d) : '–');

function add(server, mode, r) {
  rows.push({ server, mode, qps: r.qps, lossPct: r.lossPct, latencyMs: r.latencyMs, cpuPct: r.serverPct, loadCpuPct: r.loadPct, raw: r });
  log(`  ${server} ${mode}: ${Math.round(r.qps)} q/s, lost ${fmt(r.lossPct, 2)}%, avg ${fmt(r.latencyMs, 3)} ms, server CPU ${fmt(r.serverPct, 0)}%, load generator CPU ${fmt(r.loadPct, 0)}%`);
}
const median = (runs) => {
  const sorted = [...runs].sort((a, b) => a.qps - b.qps);
  const m = { ...sorted[Math.floor(sorted.length / 2)] };
  m.lost = runs.reduce((n, r) => n + r.lost, 0);
  return m;
};

/**
 * qpsLegs alternates dnsperf runs over three legs, ROUNDS times, and keeps each leg's
 * median: this VM's UDP figures drift by ±20% from one minute to the next. For the
 * cached leg it also reads the share of answers given by the prebuilt fast path.
 */
async function qpsLegs(auth, resolving) {
  const legs = [
    { server: 'ours, recursion off', mode: 'auth (bench.example.)', s: auth, mix: 'auth' },
    { server: 'ours, iterative', mode: 'auth (bench.example.)', s: resolving, mix: 'auth' },
    { server: 'ours, iterative', mode: 'cached (tree)', s: resolving, mix: 'cached' },
  ];
  for (const l of legs) {
    l.runs = [];
    await dnsperf(l.s.pid, l.s.port, l.mix, WARMUP_SECONDS);
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const l of legs) {
      const m0 = l.mix === 'cached' ? await l.s.metrics() : undefined;
      const r = await dnsperf(l.s.pid, l.s.port, l.mix, SECONDS);
      if (m0) {
        const m1 = await l.s.metrics();
        const d = (k) => (m1[k] ?? 0) - (m0[k] ?? 0);
        const fast = d('nekoq_dns_responses_total{path="fast"}');
        const full = d('nekoq_dns_responses_total{path="full"}');
        r.fastShare = fast / (fast + full);
        r.upstreamQueries = d('nekoq_resolver_upstream_queries_total{result="sent"}');
        notes.fastShare.push({ fast, full, upstream: r.upstreamQueries });
      }
      log(`  ${l.server} ${l.mode} round ${i + 1}: ${Math.round(r.qps)} q/s${r.fastShare === undefined ? '' : `, ${fmt(100 * r.fastShare, 2)}% from the fast path`}`);
      l.runs.push(r);
    }
    notes.roundRatios.push({ cachedOverAuth: legs[2].runs[i].qps / legs[1].runs[i].qps, cachedOverAuthOff: legs[2].runs[i].qps / legs[0].runs[i].qps });
  }
  for (const l of legs) add(l.server, `${l.mode}, median of ${ROUNDS}`, median(l.runs));
  // At a fixed rate the server is not saturated: its CPU per answer compares the two paths
  // without the drift that moves saturated figures from one run to the next.
  for (const l of legs) add(l.server, `${l.mode}, at ${FIXED_QPS / 1000}k q/s`, await dnsperf(l.s.pid, l.s.port, l.mix, FIXED_SECONDS, ['-Q', String(FIXED_QPS)]));
}

/** missSuite runs the three miss measurements on one resolver; `tag` keeps its names apart from every other run's. */
async function missSuite(label, s, qmin, tag, beforeCold) {
  const names = (kind, n) => Array.from({ length: n }, (_, i) => `m${tag}-${kind}-${i}.wild.alpha.test.`);
  const upstream = async () => (s.metrics ? (await s.metrics())['nekoq_resolver_upstream_queries_total{result="sent"}'] : NaN);
  const measure = async (kind, list, o) => {
    const u0 = await upstream();
    const c0 = cpuMs(s.pid);
    const r = await misses(s.port, list, o);
    const c1 = cpuMs(s.pid);
    const u1 = await upstream();
    // The resolver's CPU per miss (the tree's NSDs not counted); the cold series includes the flushes.
    const row = { resolver: label, qmin, kind, ...r, upstreamPerMiss: (u1 - u0) / list.length, cpuMsPerMiss: (c1 - c0) / list.length };
    missRows.push(row);
    log(`  ${label} ${kind}: p50 ${fmt(r.p50, 3)} ms, p99 ${fmt(r.p99, 3)} ms, max ${fmt(r.max, 3)} ms, ${fmtInt(r.perSecond)} misses/s, ${fmt(row.cpuMsPerMiss, 3)} CPU ms each` +
      `${Number.isFinite(row.upstreamPerMiss) ? `, ${fmt(row.upstreamPerMiss, 2)} upstream queries each` : ''}${r.errors ? `, ${r.errors} FAILED (${r.firstError})` : ''}`);
    if (r.errors) throw new Error(`${label} ${kind}: ${r.errors} of ${r.n} misses failed, first: ${r.firstError}`);
  };
  // The zone's delegations into the cache first (a fresh resolver), then the miss path
  // warmed up, not measured: right after start, V8 compiles it on background threads that
  // share the server's core and hold up the main thread for 1-3 ms now and then (the
  // tail of the first few thousand misses is that, not the resolver).
  await misses(s.port, names('prime', 5));
  const warm = await misses(s.port, names('warm', WARM_MISSES), { concurrency: CONCURRENCY });
  if (warm.errors) throw new Error(`${label} warm-up: ${warm.errors} of ${warm.n} misses failed, first: ${warm.firstError}`);
  await measure('warm zone, sequential', names('seq', SEQ_MISSES));
  await measure(`warm zone, ${CONCURRENCY} in flight`, names('conc', CONC_MISSES), { concurrency: CONCURRENCY });
  if (beforeCold) await beforeCold();
  await measure('cold (flushed before each)', names('cold', COLD_MISSES), { before: () => s.flush() });
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
  // This process is the client of the miss phases: core 1, with the load generators.
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  testing = {
    tree: await tsImport('../server/testing/dns-tree.ts', import.meta.url),
    unbound: await tsImport('../server/testing/unbound.ts', import.meta.url),
  };
  writeFileSync(join(dir, 'bench.zone'), zoneFile());
  writeFileSync(QUERY_FILES.auth, dnsperfFile());
  writeFileSync(QUERY_FILES.cached, CACHED.map((q) => `${q.name} ${q.type}`).join('\n') + '\n');
  log(`resolver bench: ${SECONDS}s per dnsperf run, servers on core 0, load on core 1${hasTaskset ? '' : ' (NOT pinned: no taskset)'}`);

  log('tree: starting NSD on 127.153.0.{1,2,3,10,11,12}:53');
  let tree;
  try {
    tree = await startTree();
  } catch (e) {
    failures.push({ server: 'tree', error: e.message });
    log(`tree: FAILED: ${e.message}`);
    return;
  }
  const running = []; // ours and Unbound, stopped in finally
  const tag = Date.now().toString(36);
  try {
    // ---- q/s: authoritative fast path against cached resolver answers, then Unbound's cache.
    let auth;
    let resolving;
    try {
      log('ours: starting (recursion off) and (iterative, QNAME minimisation on)');
      auth = await startOurs('ours-auth', { recursion: 'off' });
      running.push(auth);
      resolving = await startOurs('ours-iter', { recursion: 'iterative', qmin: true, tree, cpuProf: opts.cpuProf });
      running.push(resolving);
      await verify('ours-iter', resolving.port, CACHED); // resolves each question once: the cache is full
      await verify('ours-iter', resolving.port, CACHED); // from the cache, and prebuilt
      await qpsLegs(auth, resolving);
      notes.rss['ours, recursion off (after the q/s runs)'] = rssMb(auth.pid);
      notes.rss['ours, iterative (cache filled, after the q/s runs)'] = rssMb(resolving.pid);
    } catch (e) {
      log(`ours: FAILED: ${e.message}`);
      failures.push({ server: 'ours', error: e.message });
      oursFailed = true;
    }
    if (auth) {
      await stop(auth.child);
      running.splice(running.indexOf(auth), 1);
    }

    let unbound;
    try {
      log('unbound: starting (QNAME minimisation on)');
      unbound = await startUnbound(tree, true);
      running.push(unbound);
      await verify('unbound', unbound.port, CACHED);
      await verify('unbound', unbound.port, CACHED);
      await dnsperf(unbound.pid, unbound.port, 'cached', WARMUP_SECONDS);
      add('Unbound', 'cached (tree)', await dnsperf(unbound.pid, unbound.port, 'cached', SECONDS));
      add('Unbound', `cached (tree), at ${FIXED_QPS / 1000}k q/s`, await dnsperf(unbound.pid, unbound.port, 'cached', FIXED_SECONDS, ['-Q', String(FIXED_QPS)]));
    } catch (e) {
      log(`unbound: FAILED: ${e.message}`);
      failures.push({ server: 'unbound', error: e.message });
    }

    // ---- cache misses, QNAME minimisation on, then off.
    if (resolving && !oursFailed) {
      try {
        await missSuite('ours', resolving, true, `${tag}a`, async () => {
          notes.rss[`ours, iterative (after ${fmtInt(5 + WARM_MISSES + SEQ_MISSES + CONC_MISSES)} misses more)`] = rssMb(resolving.pid);
          const m = await resolving.metrics();
          notes.cache = { entries: m.nekoq_resolver_cache_entries, bytes: m.nekoq_resolver_cache_bytes, prebuilt: m.nekoq_dns_prebuilt_answers };
        });
      } catch (e) {
        log(`ours: FAILED: ${e.message}`);
        failures.push({ server: 'ours', error: e.message });
        oursFailed = true;
      }
    }
    if (unbound) {
      try {
        await missSuite('Unbound', unbound, true, `${tag}b`);
      } catch (e) {
        failures.push({ server: 'unbound', error: e.message });
      }
    }

    if (!oursFailed) {
      let noqmin;
      try {
        log('ours: starting (iterative, QNAME minimisation off)');
        noqmin = await startOurs('ours-noqmin', { recursion: 'iterative', qmin: false, tree });
        running.push(noqmin);
        await missSuite('ours', noqmin, false, `${tag}c`);
      } catch (e) {
        log(`ours (QNAME minimisation off): FAILED: ${e.message}`);
        failures.push({ server: 'ours', error: e.message });
        oursFailed = true;
      }
    }
    try {
      log('unbound: starting (QNAME minimisation off)');
      const u = await startUnbound(tree, false);
      running.push(u);
      await missSuite('Unbound', u, false, `${tag}d`);
    } catch (e) {
      log(`unbound (QNAME minimisation off): FAILED: ${e.message}`);
      failures.push({ server: 'unbound', error: e.message });
    }
  } finally {
    for (const s of running) await (s.child ? stop(s.child) : s.stop());
    await tree.stop();
  }
  if (opts.cpuProf) log(`cpu profile of ours-iter written to ${opts.cpuProf}`);
}

// ---------------------------------------------------------------- report
function goals() {
  const find = (server, mode, fixed = false) => rows.find((r) => r.server === server && r.mode.startsWith(mode) && r.mode.includes(' at ') === fixed);
  const ratio = (a, b) => (a && b ? a.qps / b.qps : NaN);
  const cached = find('ours, iterative', 'cached');
  const miss = (resolver, kind) => missRows.find((r) => r.resolver === resolver && r.qmin && r.kind.startsWith(kind));
  const g = [];
  const goal = (name, figure, target, met, digits = 3) => g.push({ goal: name, figure, target, met: target === '' || !Number.isFinite(figure) ? undefined : met(figure), digits });
  goal('cached / auth q/s, same iterative appliance', ratio(cached, find('ours, iterative', 'auth')), '≥ 0.8', (x) => x >= 0.8);
  goal('cached / auth q/s, auth on the recursion-off appliance', ratio(cached, find('ours, recursion off', 'auth')), '≥ 0.8', (x) => x >= 0.8);
  const cpu = (r) => (r ? usPerAnswer(r) : NaN);
  goal(`CPU per answer at ${FIXED_QPS / 1000}k q/s, cached / auth, same appliance`, cpu(find('ours, iterative', 'cached', true)) / cpu(find('ours, iterative', 'auth', true)), '', () => true);
  goal('ours / Unbound, cached q/s', ratio(cached, find('Unbound', 'cached')), '', () => true);
  for (const kind of ['warm zone, sequential', 'cold']) {
    const o = miss('ours', kind);
    const u = miss('Unbound', kind);
    goal(`miss p50 ours / Unbound, ${kind} (QNAME min. on)`, o && u ? o.p50 / u.p50 : NaN, '', () => true);
    goal(`miss p99 ours / Unbound, ${kind} (QNAME min. on)`, o && u ? o.p99 / u.p99 : NaN, '', () => true);
  }
  return g;
}

function report() {
  const out = [];
  out.push(`Resolver benchmark: ${SECONDS} s per dnsperf run (UDP, -c ${CLIENTS}); auth mix: ${AUTH.length} queries over ${ORIGIN}; ` +
    `cached mix: ${CACHED.length} questions over the private tree (NSD on 127.153.0.x:53); servers on core 0, load on core 1${hasTaskset ? '' : ' (unpinned)'}; Node ${process.version}`);
  out.push('');
  out.push('| server | mix | q/s | lost % | avg latency ms | server CPU % | server CPU µs per answer | load generator CPU % | avg response bytes |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    out.push(`| ${r.server} | ${r.mode} | ${fmtInt(r.qps)} | ${fmt(r.lossPct, 2)} | ${fmt(r.latencyMs, 3)} | ${fmt(r.cpuPct, 0)} | ${fmt(usPerAnswer(r), 1)} | ${fmt(r.loadCpuPct, 0)} | ${fmt(r.raw.avgResponseBytes, 0)} |`);
  }
  out.push('');
  out.push('CPU: % of one core from /proc over the run less 0.2 s at each end. A load generator near 100% means the figure is its');
  out.push('ceiling, not the server\'s (one dnsperf thread on one core). Saturated figures drift by ±20% on this VM from one run to');
  out.push(`the next, which is why the legs alternate; the runs at ${FIXED_QPS / 1000}k q/s compare what an answer costs instead.`);
  out.push('');
  out.push(`Cache misses (A, names under the *.wild.alpha.test. wildcard never asked before; node:dgram client on core 1). Warm zone: the`);
  out.push(`delegations are cached, and ${WARM_MISSES} misses went first, not counted (JIT warm-up). Cold: ours flushed with DELETE /v1/admin/resolver/cache, Unbound`);
  out.push(`with flush_zone . + flush_infra all, before each query (not timed): the walk starts at the root hints. misses/s: wall time.`);
  out.push(`Resolver CPU: /proc ticks of ${1000 / CLK_TCK} ms over the series (cold: the flushes included); the tree's NSDs not counted.`);
  out.push('');
  out.push('| resolver | QNAME min. | kind | n | p50 ms | p90 ms | p99 ms | max ms | misses/s | resolver CPU ms per miss | upstream queries per miss |');
  out.push('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of missRows) {
    out.push(`| ${r.resolver} | ${r.qmin ? 'on' : 'off'} | ${r.kind} | ${r.ok}${r.errors ? ` (${r.errors} failed)` : ''} | ${fmt(r.p50, 3)} | ${fmt(r.p90, 3)} | ${fmt(r.p99, 3)} | ${fmt(r.max, 3)} | ${fmtInt(r.perSecond)} | ${fmt(r.cpuMsPerMiss, 3)} | ${fmt(r.upstreamPerMiss, 2)} |`);
  }
  const g = goals();
  out.push('');
  out.push('| goal | figure | target | |');
  out.push('| --- | ---: | --- | --- |');
  for (const x of g) out.push(`| ${x.goal} | ${fmt(x.figure, x.digits)} | ${x.target || '–'} | ${x.target === '' ? '' : x.met === undefined ? 'not measured' : x.met ? 'met' : 'NOT met'} |`);
  if (notes.roundRatios.length) {
    out.push(`\ncached / auth in each round (same appliance): ${notes.roundRatios.map((r) => r.cachedOverAuth.toFixed(3)).join(', ')}; ` +
      `against the recursion-off appliance: ${notes.roundRatios.map((r) => r.cachedOverAuthOff.toFixed(3)).join(', ')}`);
  }
  if (notes.fastShare.length) {
    out.push(`cached runs from the prebuilt fast path: ${notes.fastShare.map((f) => `${fmt((100 * f.fast) / (f.fast + f.full), 2)}%`).join(', ')} ` +
      `(full path: ${notes.fastShare.map((f) => f.full).join(', ')} responses; upstream queries: ${notes.fastShare.map((f) => f.upstream).join(', ')})`);
  }
  for (const [k, v] of Object.entries(notes.rss)) out.push(`RSS of ${k}: ${fmt(v, 1)} MB`);
  if (notes.cache) {
    out.push(`ours, iterative, then: ${fmtInt(notes.cache.entries)} resolver cache entries (${fmt(notes.cache.bytes / 1048576, 1)} MB by its own count), ` +
      `${fmtInt(notes.cache.prebuilt)} prebuilt answers`);
  }
  for (const f of failures) out.push(`\nFAILED: ${f.server}: ${f.error.split('\n').filter(Boolean).slice(0, 3).join(' | ').slice(0, 400)}`);
  console.log(out.join('\n'));
  if (opts.json) {
    const json = {
      setup: { seconds: SECONDS, clients: CLIENTS, rounds: ROUNDS, auth_queries: AUTH.length, cached_queries: CACHED.length, seq_misses: SEQ_MISSES, conc_misses: CONC_MISSES, concurrency: CONCURRENCY, cold_misses: COLD_MISSES, pinned: hasTaskset, node: process.version },
      results: rows.map(({ raw, ...r }) => ({ ...r, detail: raw })),
      misses: missRows,
      goals: g.map(({ digits, ...x }) => ({ ...x, figure: Number.isFinite(x.figure) ? Number(x.figure.toFixed(4)) : null })),
      rounds: notes.roundRatios,
      fast_path: notes.fastShare,
      rss_mb: notes.rss,
      cache_at_end: notes.cache,
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
  log(`resolver bench: ${e.stack ?? e}`);
  code = oursFailed ? 2 : 1;
}
await cleanup();
process.exit(code);
