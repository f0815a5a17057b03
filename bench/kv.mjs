#!/usr/bin/env node
// KV benchmark: the appliance's durable KV (/v1/kv, HTTP/1.1) against etcd 3.4 (single
// node, its HTTP/JSON gateway /v3/kv/*), both on the same 1000 keys (bench/k0000 ..) with
// a fixed 100-byte value. Each server is pinned to core 0 and wrk (bench/kv.lua, one
// thread) to core 1 (taskset); both servers run for the whole benchmark and their runs
// alternate (ours, then etcd, for each mode and load), so that this VM's drift from one
// minute to the next moves both sides of a ratio alike. Modes: PUT (acknowledged only
// once on disk: our group commit, etcd's WAL fsync), GET (etcd: linearizable, the
// default, and serializable, a local read). Loads: wrk -t1 -c64 and -c8.
// Before the load, a PUT then GET must round-trip on each server and the 1000 keys are
// written and read back; after it, each server must still hold exactly those 1000 keys
// with the value (wrk does not read bodies: an etcd range on a missing key answers 200).
// Usage: node bench/kv.mjs [--seconds N] [--json [FILE]]
// Needs: wrk, etcd (apt-get install -y wrk etcd-server), taskset (util-linux)
// Exit: 0 when every run ran without error (goals met or not: it is a benchmark, not a
//       test), 2 when ours failed (to start, to answer correctly, or any error in one of
//       its figures), 1 on any other failure.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState } from '../scripts/build-state.mjs';
import { createHarness, missingTools } from './harness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
function usage(msg) {
  if (msg) console.error(`kv bench: ${msg}`);
  console.error('usage: node bench/kv.mjs [--seconds N] [--json [FILE]]');
  process.exit(msg ? 1 : 0);
}
const opts = { seconds: 10, json: undefined };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : undefined);
    if (flag === '--seconds') {
      opts.seconds = Number(value());
      if (!Number.isInteger(opts.seconds) || opts.seconds < 1) usage('--seconds takes a whole number >= 1');
    } else if (flag === '--json') opts.json = resolve(value() ?? 'kv-bench.json');
    else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
}
const SECONDS = opts.seconds;
const CONNECTIONS = [64, 8]; // wrk -c, the same for both servers; -t1 always
const WARMUP_SECONDS = 1;
const KEYS = 1000;
const VALUE = '0123456789'.repeat(10); // 100 bytes, ASCII: the same bytes in our JSON and in etcd's base64
const TOKEN = 'bench-token-0123456789abcdef';
const key = (i) => `bench/k${String(i).padStart(4, '0')}`;
const b64 = (s) => Buffer.from(s).toString('base64');

const h = createHarness('kv bench', 'nekoq-kv-bench-');
const { dir, live, hasTaskset, sleep, log, stop, cleanup, startServer, logTail, run, freePort } = h;

if (missingTools(['wrk']).length) {
  console.error('kv bench: missing wrk: apt-get install -y wrk');
  process.exit(1);
}

// ---------------------------------------------------------------- the two KV clients
// Each client: put(key, value) and get(key, { serializable }) -> value | undefined,
// count() -> the number of keys under bench/; each throws on any unexpected answer.

async function http(url, init, what) {
  let r;
  try {
    r = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  } catch (e) {
    throw new Error(`${what}: ${e.cause?.message ?? e.message}`);
  }
  const text = await r.text();
  return { status: r.status, text };
}
const parse = (text, what) => {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: not JSON: ${text.slice(0, 200)}`);
  }
};

function oursClient(base) {
  const auth = { authorization: `Bearer ${TOKEN}` };
  return {
    async put(k, v) {
      const what = `ours PUT /v1/kv/${k}`;
      const r = await http(`${base}/v1/kv/${k}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: v }, what);
      if (r.status !== 200 || r.text.trim() !== 'true') throw new Error(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
    },
    async get(k) {
      const what = `ours GET /v1/kv/${k}`;
      const r = await http(`${base}/v1/kv/${k}`, { headers: auth }, what);
      if (r.status === 404) return undefined;
      if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
      const e = parse(r.text, what);
      if (e.key !== k) throw new Error(`${what}: answered key ${JSON.stringify(e.key)}`);
      return e.encoding === 'base64' ? Buffer.from(e.value, 'base64').toString() : e.value;
    },
    async count() {
      const what = 'ours GET /v1/kv/bench/?keys';
      const r = await http(`${base}/v1/kv/bench/?keys`, { headers: auth }, what);
      if (r.status === 404) return 0;
      if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
      return parse(r.text, what).length;
    },
  };
}

function etcdClient(base) {
  // etcd 3.4's gateway serves /v3/ (and still /v3beta/); 3.3 served /v3beta/ only, 3.2 /v3alpha/.
  const post = async (path, body, what) => {
    const r = await http(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, what);
    if (r.status === 404) throw new Error(`${what}: 404: this etcd's gateway does not serve ${path} (etcd < 3.4 serves /v3beta/)`);
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
    return parse(r.text, what);
  };
  return {
    async put(k, v) {
      const j = await post('/v3/kv/put', { key: b64(k), value: b64(v) }, `etcd put ${k}`);
      if (!j.header?.revision) throw new Error(`etcd put ${k}: no revision in ${JSON.stringify(j).slice(0, 200)}`);
    },
    async get(k, { serializable = false } = {}) {
      const what = `etcd range ${k}${serializable ? ' (serializable)' : ''}`;
      const j = await post('/v3/kv/range', serializable ? { key: b64(k), serializable: true } : { key: b64(k) }, what);
      const kv = j.kvs?.[0]; // a missing key: 200 with no kvs at all
      if (!kv) return undefined;
      if (Buffer.from(kv.key, 'base64').toString() !== k) throw new Error(`${what}: answered key ${kv.key}`);
      return Buffer.from(kv.value ?? '', 'base64').toString(); // an empty value has no "value" field
    },
    async count() {
      // The prefix bench/ is the range [bench/, bench0): "0" follows "/".
      const j = await post('/v3/kv/range', { key: b64('bench/'), range_end: b64('bench0'), count_only: true }, 'etcd range bench/ (count)');
      return Number(j.count ?? 0); // int64 fields are JSON strings, and absent when 0
    },
  };
}

/** roundTrip checks that a PUT is then read back (every read mode), with a value no earlier run wrote. */
async function roundTrip(name, client, readModes) {
  const probe = `probe-${process.pid}-${Date.now()}-${'x'.repeat(60)}`;
  await client.put(key(0), probe);
  for (const m of readModes) {
    const got = await client.get(key(0), m);
    if (got !== probe) throw new Error(`${name}: PUT then GET${m.serializable ? ' (serializable)' : ''} ${key(0)}: got ${JSON.stringify(got)?.slice(0, 80)}`);
  }
}

/** pool runs fn(i) for i in 0..n-1, `width` at a time. */
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n && !h.stopping) await fn(next++);
  }));
}

/** preload writes the 1000 keys with VALUE. */
async function preload(client) {
  await pool(KEYS, 16, (i) => client.put(key(i), VALUE));
}

/** checkKeys reads the 1000 keys back (every read mode) and counts the keys under bench/: exactly the 1000. */
async function checkKeys(name, client, readModes) {
  const bad = [];
  for (const m of readModes) {
    await pool(KEYS, 16, async (i) => {
      const got = await client.get(key(i), m);
      if (got !== VALUE) bad.push(`${key(i)}${m.serializable ? ' (serializable)' : ''}: ${got === undefined ? 'missing' : `${JSON.stringify(got.slice(0, 40))}…`}`);
    });
  }
  if (bad.length) throw new Error(`${name}: ${bad.length} keys read back wrong: ${bad.slice(0, 3).join('; ')}`);
  const n = await client.count();
  if (n !== KEYS) throw new Error(`${name}: ${n} keys under bench/, expected ${KEYS}`);
}

// ---------------------------------------------------------------- servers
// Each start* returns { name, child, url, client, readModes }; it throws when the server does not come up.

async function startOurs() {
  if (!existsSync(join(root, 'dist/server/main.js'))) throw new Error('dist/server/main.js is missing: npm run build');
  const state = buildState(root);
  if (state.stale) log(`ours: warning: ${state.reason}; measuring the existing build (npm run build to refresh)`);
  const ports = { http: await freePort(), dns: await freePort() };
  const conf = join(dir, 'bootstrap.toml');
  writeFileSync(
    conf,
    `[node]
name = "bench"
data_dir = "${join(dir, 'data')}"
[http]
listen = "127.0.0.1:${ports.http}"
[dns]
listen = "127.0.0.1:${ports.dns}"
[[auth.tokens]]
name = "bench"
token = "${TOKEN}"
role = "admin"
[log]
level = "warn"
`,
  );
  // As npm start runs it (scripts/start.mjs sets the same young-generation size).
  const child = startServer('ours', process.execPath, ['--max-semi-space-size=32', join(root, 'dist/server/main.js'), '--config', conf], { cwd: root });
  const url = `http://127.0.0.1:${ports.http}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitInfo) throw new Error(`ours exited (${child.exitInfo}):\n${logTail(child)}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`ours: /readyz did not answer 200 within 30s:\n${logTail(child)}`);
    await sleep(100);
  }
  const s = { name: 'ours', child, url, client: oursClient(url), readModes: [{}] };
  await roundTrip('ours', s.client, s.readModes);
  return s;
}

let etcdVersion = '';
async function startEtcd() {
  if (missingTools(['etcd']).length) throw new Error('etcd is not installed: apt-get install -y etcd-server');
  etcdVersion = /etcd Version: (\S+)/.exec(spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '';
  const client = await freePort();
  const peer = await freePort();
  const c = `http://127.0.0.1:${client}`;
  const p = `http://127.0.0.1:${peer}`;
  // ETCD_* variables in our environment would override these flags (or clash with them).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
  // Default durability: the WAL is fsynced before a write is acknowledged (--unsafe-no-fsync not set).
  const child = startServer('etcd', 'etcd', [
    '--name', 'bench', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', c, '--advertise-client-urls', c,
    '--listen-peer-urls', p, '--initial-advertise-peer-urls', p,
    '--initial-cluster', `bench=${p}`, '--initial-cluster-state', 'new',
    '--logger', 'zap', '--log-level', 'warn',
  ], { env });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitInfo) throw new Error(`etcd exited (${child.exitInfo}):\n${logTail(child)}`);
    // /health is 200 {"health":"true"} once there is a leader.
    const ok = await fetch(`${c}/health`).then(async (r) => r.status === 200 && (await r.json()).health === 'true', () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`etcd: /health did not answer healthy within 30s:\n${logTail(child)}`);
    await sleep(100);
  }
  const s = { name: 'etcd', child, url: c, client: etcdClient(c), readModes: [{}, { serializable: true }] };
  await roundTrip('etcd', s.client, s.readModes);
  return s;
}

// ---------------------------------------------------------------- load
/** wrk runs bench/kv.lua against a server for `seconds`; mode: put | get | get-serializable. */
async function wrk(s, mode, connections, seconds) {
  if (s.child.exitInfo) throw new Error(`${s.name} exited (${s.child.exitInfo}):\n${logTail(s.child)}`);
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', join(root, 'bench/kv.lua'), s.url];
  const env = {
    BENCH_TARGET: s.name, BENCH_MODE: mode, BENCH_KEYS: String(KEYS), BENCH_VALUE: VALUE, BENCH_TOKEN: TOKEN,
    BENCH_B64_KEY0: b64(key(0)), BENCH_B64_KEYN: b64(key(KEYS - 1)), BENCH_B64_VALUE: b64(VALUE),
  };
  const r = await run('wrk', args, { seconds, serverPid: s.child.pid, env });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !line.startsWith('{')) throw new Error(`wrk ${args.join(' ')} (${mode}) failed (${r.signal ?? r.code}):\n${r.stdout}${r.stderr}`);
  const w = JSON.parse(line);
  const secs = w.duration_us / 1e6;
  return {
    rps: w.requests / secs,
    requests: w.requests,
    p50ms: w.p50_us / 1000,
    p90ms: w.p90_us / 1000,
    p99ms: w.p99_us / 1000,
    maxMs: w.max_us / 1000,
    // wrk counts as status errors the answers >= 400 (3xx would pass; neither server sends one here).
    non2xx: w.status_errors,
    socketErrors: w.connect_errors + w.read_errors + w.write_errors + w.timeouts,
    avgResponseBytes: w.requests > 0 ? w.bytes / w.requests : NaN,
    serverPct: r.cpu?.serverPct,
    loadPct: r.cpu?.loadPct,
    wrk: w,
  };
}

// ---------------------------------------------------------------- the run
const rows = []; // { server, mode, connections, ...wrk figures, failed }
const failures = []; // { server, error }
const servers = {}; // name -> server, while it is usable

function fail(s, error) {
  log(`${s.name}: FAILED: ${error}`);
  failures.push({ server: s.name, error });
}

/** step runs fn on each usable server; an exception makes that server unusable for the rest of the run. */
async function step(label, names, fn) {
  for (const name of names) {
    const s = servers[name];
    if (!s || h.stopping) continue;
    try {
      await fn(s);
    } catch (e) {
      if (!h.stopping) fail(s, `${label}: ${e.message}`); // on a signal, the runs end because we end them
      delete servers[name];
    }
  }
}

const MODE_LABEL = { put: 'PUT (durable)', get: 'GET', 'get-serializable': 'GET serializable' };
const modeName = (server, mode) => (server === 'etcd' && mode === 'get' ? 'GET linearizable' : MODE_LABEL[mode]);

async function measure(s, mode, connections) {
  const r = await wrk(s, mode, connections, SECONDS);
  const failed = r.non2xx > 0 || r.socketErrors > 0;
  rows.push({ server: s.name, mode, connections, ...r, failed });
  log(`  ${s.name} ${modeName(s.name, mode)} -c${connections}: ${Math.round(r.rps)} req/s, p50 ${r.p50ms.toFixed(2)} ms, p99 ${r.p99ms.toFixed(2)} ms, ` +
    `non-2xx ${r.non2xx}, socket errors ${r.socketErrors}, server CPU ${fmt(r.serverPct, 0)}%, wrk CPU ${fmt(r.loadPct, 0)}%`);
  // Any error fails the figure: it is not comparable. The server goes on with the next runs.
  if (failed) fail(s, `${modeName(s.name, mode)} -c${connections}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors in ${r.requests} requests`);
}

async function main() {
  // The file system of the data: on tmpfs an fsync costs nothing and "durable" measures nothing.
  const fsType = spawnSync('findmnt', ['-no', 'FSTYPE', '-T', dir], { encoding: 'utf8' }).stdout?.trim() || '?';
  if (fsType === 'tmpfs') log(`kv bench: warning: ${dir} is on tmpfs: fsync is free there (TMPDIR=/var/tmp to measure a disk)`);
  log(`kv bench: ${SECONDS}s per run, ${KEYS} keys, ${VALUE.length}-byte values, data in ${dir} (${fsType}), ` +
    `servers on core 0, wrk on core 1${hasTaskset ? '' : ' (NOT pinned: no taskset)'}`);
  setup.fsType = fsType;
  for (const [name, start] of [['ours', startOurs], ['etcd', startEtcd]]) {
    if (h.stopping) break;
    log(`${name}: starting`);
    try {
      servers[name] = await start();
    } catch (e) {
      fail({ name }, `start or PUT-then-GET round trip: ${e.message}`);
      for (const c of live) if (c.logFile?.endsWith(`${name}.log`)) await stop(c);
    }
  }
  const both = ['ours', 'etcd'];
  await step('preload of the keys', both, async (s) => {
    await preload(s.client);
    await checkKeys(s.name, s.client, s.readModes);
  });

  // PUT: every key is already there, so every PUT overwrites (both servers alike).
  await step('PUT warm-up', both, (s) => wrk(s, 'put', CONNECTIONS[0], WARMUP_SECONDS));
  for (const c of CONNECTIONS) await step(`PUT -c${c}`, both, (s) => measure(s, 'put', c));

  // GET: the keys preloaded again (and read back) so that every GET hits.
  await step('preload of the keys before GET', both, async (s) => {
    await preload(s.client);
    await checkKeys(s.name, s.client, s.readModes);
  });
  await step('GET warm-up', both, async (s) => {
    await wrk(s, 'get', CONNECTIONS[0], WARMUP_SECONDS);
    if (s.name === 'etcd') await wrk(s, 'get-serializable', CONNECTIONS[0], WARMUP_SECONDS);
  });
  for (const c of CONNECTIONS) {
    await step(`GET -c${c}`, both, async (s) => {
      await measure(s, 'get', c);
      if (s.name === 'etcd') await measure(s, 'get-serializable', c);
    });
  }

  // After the load: still exactly the 1000 keys with the value (wrk's requests wrote and read those keys).
  await step('check of the keys after the load', both, (s) => checkKeys(s.name, s.client, s.readModes));
  await step('stop', both, (s) => stop(s.child));
}

// ---------------------------------------------------------------- report
const setup = {};
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmt = (n, d) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const find = (server, mode, connections) => rows.find((r) => r.server === server && r.mode === mode && r.connections === connections);
const LABEL = { ours: 'nekoq-bootstrap', etcd: 'etcd' };

/** comparisons: ours against each etcd figure, at each load. A failed figure (any error) gives no ratio. */
function comparisons() {
  const out = [];
  for (const [label, goal, oursMode, etcdMode] of [
    ['durable PUT', 'durable PUT/s', 'put', 'put'],
    ['GET vs linearizable GET', 'GET/s (etcd linearizable)', 'get', 'get'],
    ['GET vs serializable GET', 'GET/s (etcd serializable)', 'get', 'get-serializable'],
  ]) {
    for (const c of CONNECTIONS) {
      const o = find('ours', oursMode, c);
      const e = find('etcd', etcdMode, c);
      const ok = o && e && !o.failed && !e.failed;
      out.push({
        comparison: label,
        goal: `ours / etcd, ${goal}, -c${c}`,
        connections: c,
        ours_rps: o?.rps ?? NaN,
        etcd_rps: e?.rps ?? NaN,
        rps_ratio: ok ? o.rps / e.rps : NaN,
        p99_ratio: ok ? o.p99ms / e.p99ms : NaN,
        why: !o || !e ? 'not measured' : !ok ? 'errors' : undefined,
      });
    }
  }
  return out;
}

function goals(cmp) {
  return cmp.map((x) => ({
    goal: x.goal,
    figure: x.rps_ratio,
    target: '≥ 1.0',
    met: Number.isFinite(x.rps_ratio) ? x.rps_ratio >= 1.0 : undefined,
    why: x.why,
  }));
}

function report() {
  const out = [];
  out.push(`KV benchmark: ${SECONDS} s per run, ${KEYS} keys (bench/k0000..), ${VALUE.length}-byte value, key picked at random per request; ` +
    `wrk -t1 -c${CONNECTIONS.join(' / -c')} on core 1, servers on core 0${hasTaskset ? '' : ' (unpinned)'}; data on ${setup.fsType}; ` +
    `Node ${process.version}, etcd ${etcdVersion || '?'} (HTTP/JSON gateway)`);
  out.push('');
  out.push('| server | mode | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors | avg response bytes | server CPU % | wrk CPU % |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    out.push(`| ${LABEL[r.server]} | ${modeName(r.server, r.mode)} | ${r.connections} | ${r.failed ? 'FAILED ' : ''}${fmtInt(r.rps)} | ${fmt(r.p50ms, 2)} | ${fmt(r.p99ms, 2)} | ` +
      `${r.non2xx} | ${r.socketErrors} | ${fmt(r.avgResponseBytes, 0)} | ${fmt(r.serverPct, 0)} | ${fmt(r.loadPct, 0)} |`);
  }
  const cmp = comparisons();
  out.push('');
  out.push('| ours against etcd | conns | ours req/s | etcd req/s | ours / etcd req/s | ours / etcd p99 |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const x of cmp) {
    out.push(`| ${x.comparison} | ${x.connections} | ${fmtInt(x.ours_rps)} | ${fmtInt(x.etcd_rps)} | ${x.why ?? fmt(x.rps_ratio, 2)} | ${x.why ?? fmt(x.p99_ratio, 2)} |`);
  }
  out.push('');
  out.push('PUT: acknowledged once on disk on both (ours: group commit, one fsync per batch; etcd: raft WAL fsync, batched too).');
  out.push('etcd GET linearizable: a ReadIndex round through raft before the local read (no fsync); serializable: the local read.');
  out.push('etcd is driven through its HTTP/JSON gateway (grpc-gateway, which re-sends each request over gRPC to itself), as ours');
  out.push('is through HTTP/JSON; its native gRPC clients would see less CPU per request. Any non-2xx or socket error fails the figure.');
  out.push('Server and wrk CPU: % of one core; wrk near 100% would mean the figure is the load generator\'s ceiling.');
  const g = goals(cmp);
  out.push('');
  out.push('| goal | figure | target | |');
  out.push('| --- | ---: | --- | --- |');
  for (const x of g) out.push(`| ${x.goal} | ${fmt(x.figure, 2)} | ${x.target} | ${x.met === undefined ? `not measured${x.why === 'errors' ? ' (errors)' : ''}` : x.met ? 'met' : 'NOT met'} |`);
  for (const f of failures) out.push(`\nFAILED: ${f.server}: ${f.error.split('\n').filter(Boolean).slice(0, 3).join(' | ').slice(0, 400)}`);
  console.log(out.join('\n'));
  if (opts.json) {
    const num = (n, d = 4) => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);
    const json = {
      setup: { seconds: SECONDS, warmup_seconds: WARMUP_SECONDS, connections: CONNECTIONS, wrk_threads: 1, keys: KEYS, value_bytes: VALUE.length,
        pinned: hasTaskset, fs: setup.fsType, node: process.version, etcd: etcdVersion || null },
      results: rows.map(({ wrk: raw, ...r }) => ({ ...r, mode: modeName(r.server, r.mode), rps: num(r.rps, 1), serverPct: num(r.serverPct, 1), loadPct: num(r.loadPct, 1),
        avgResponseBytes: num(r.avgResponseBytes, 1), wrk: raw })),
      comparisons: cmp.map(({ goal, ...x }) => ({ ...x, ours_rps: num(x.ours_rps, 1), etcd_rps: num(x.etcd_rps, 1), rps_ratio: num(x.rps_ratio), p99_ratio: num(x.p99_ratio), why: x.why ?? null })),
      goals: g.map((x) => ({ ...x, figure: num(x.figure), met: x.met ?? null, why: x.why ?? null })),
      failures,
    };
    writeFileSync(opts.json, JSON.stringify(json, null, 2) + '\n');
    log(`figures written to ${opts.json}`);
  }
}

try {
  await main();
} catch (e) {
  log(`kv bench: ${e.stack ?? e}`);
  failures.push({ server: 'bench', error: String(e.message ?? e) });
}
if (!h.stopping) report();
await cleanup();
const code = failures.some((f) => f.server === 'ours') ? 2 : failures.length ? 1 : 0;
process.exit(h.stopping ? 130 : code);
