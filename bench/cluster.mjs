#!/usr/bin/env node
// Cluster benchmark: how fast and how cheaply a node's writes reach its peers, and how long
// a new node takes to pull a full copy. Every node is an appliance process pinned to core 0
// (taskset); this process, the client of all of them, runs on core 1.
//  1. Propagation, 3 nodes a, b, c in a full mesh (each pulls the others' own writes through
//     the signed long-poll feed GET /v1/cluster/changes). N instance registrations are sent
//     to a at a steady pace (open loop, a few in flight); a watcher on b (a blocking query
//     GET /v1/services/discovery/bench?index=<n>&wait=5s) notes when each instance id first
//     shows up. Each answer carries the whole service, so with one service (the default) the
//     watcher's own cost grows with it; --watch-services K spreads the instances over K
//     services with one watcher each. Latency = seen on b - acknowledged by a (both on this process's clock; a
//     negative figure means b served it before a's answer got here). Then DNS RRset writes
//     on a, one at a time, each followed by polling b's zone summary until its RRset count
//     grows (zones have no blocking query): latency = seen on b - acknowledged by a.
//  2. Bytes per change: the `bytes` b's /v1/peers reports for peer a (the bodies of a's
//     feed responses, HTTP headers not counted) before and after the N registrations,
//     divided by N.
//  3. Full sync: a fresh node loads S instances (100 services) and S records (one zone),
//     then a new observer d whose only peer is that node starts; its first contact is a
//     snapshot. Time from d's "ready" log line (and from its spawn) until its /v1/peers
//     shows the peer ok, no lag, position.seq = position.head and every row the source
//     owns; d's RSS after. The pullers start before the "ready" line, so part of the
//     snapshot (or all of it) may be applied before it: compare d's spawn → ready with an
//     empty node's (the source's own start), which the table shows too.
// Usage: node bench/cluster.mjs [--instances N] [--watch-services K] [--rate N] [--records N] [--sync N | --sync-instances N --sync-records N]
//        [--json [FILE]]   (defaults: 1000 at 200/s, 200, 10000 and 10000)
// Output: a table, then one JSON line (stdout); progress on stderr.
// Exit: 0 when every figure was measured, 2 when the cluster failed (a node did not start,
//       a change never arrived, the sync did not complete), 1 on any other failure.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildState } from '../scripts/build-state.mjs';
import { createHarness } from './harness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(root, 'dist/server/main.js');

// ---------------------------------------------------------------- options
function usage(msg) {
  if (msg) console.error(`cluster bench: ${msg}`);
  console.error('usage: node bench/cluster.mjs [--instances N] [--watch-services K] [--rate N] [--records N] [--sync N | --sync-instances N --sync-records N] [--json [FILE]]');
  process.exit(msg ? 1 : 0);
}
const opts = { instances: 1000, watchServices: 1, rate: 200, records: 200, syncInstances: 10_000, syncRecords: 10_000, json: undefined };
{
  const argv = process.argv.slice(2);
  const ints = {
    '--instances': ['instances', 1, 5000], '--watch-services': ['watchServices', 1, 100], '--rate': ['rate', 1, 2000], '--records': ['records', 1, 2000],
    '--sync-instances': ['syncInstances', 0, 50_000], '--sync-records': ['syncRecords', 0, 50_000],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : undefined);
    if (flag === '--sync') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 50_000) usage('--sync takes a whole number 0..50000');
      opts.syncInstances = opts.syncRecords = n;
    } else if (ints[flag]) {
      const [key, min, max] = ints[flag];
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) usage(`${flag} takes a whole number ${min}..${max}`);
      opts[key] = n;
    } else if (flag === '--json') opts.json = resolve(value() ?? 'cluster-bench.json');
    else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
}
const N = opts.instances; // registrations on a, watched on b
const RATE = opts.rate; // registrations per second
const WATCH_SERVICES = opts.watchServices; // the services they are spread over, one blocking watcher on b each
const MAX_IN_FLIGHT = 16; // the pacer's limit on unanswered registrations
const RECORDS = opts.records; // RRset writes on a, watched on b, one at a time
const RECORD_POLL_MS = 2; // the gap between two polls of b's zone summary
const SYNC_INSTANCES = opts.syncInstances; // instances loaded before the full sync
const SYNC_RECORDS = opts.syncRecords; // RRsets loaded before the full sync
const SYNC_SERVICES = 100;
const LOAD_CONCURRENCY = 32;
const SYNC_POLL_MS = 100; // d's /v1/peers is polled this often (it counts rows: not free)
const WARMUP = 50; // registrations (another service) before the measured ones
const TOKEN = 'bench-cluster-token-0123456789';
const SECRET = 'bench-cluster-secret-9f3c2a7e5b1d4c8a6e0f';
const ZONE = 'example.com';
const TYPE = 'discovery';

const h = createHarness('cluster bench', 'nekoq-cluster-bench-');
const { dir, hasTaskset, sleep, log, stop, cleanup, startServer, logTail, freePort } = h;

// This process is the client of every node: keep it off the servers' core (all its threads).
const pinnedSelf = hasTaskset && spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)]).status === 0;

// ---------------------------------------------------------------- HTTP
const auth = { authorization: `Bearer ${TOKEN}` };
/** api calls a node's API; it throws on a network error, never on a status. */
async function api(base, method, path, body, timeoutMs = 10_000) {
  const init = { method, headers: { ...auth }, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let r;
  try {
    r = await fetch(`${base}${path}`, init);
  } catch (e) {
    throw new Error(`${method} ${path}: ${e.cause?.message ?? e.message}`);
  }
  const text = await r.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, json, text };
}
/** must is api that throws unless the status is one of `ok`. */
async function must(base, method, path, body, ok = [200]) {
  const r = await api(base, method, path, body);
  if (!ok.includes(r.status)) throw new Error(`${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
  return r;
}

/** until polls check every `everyMs` until it returns something other than undefined/false; throws after timeoutMs. */
async function until(what, check, timeoutMs, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (h.stopping) throw new Error('interrupted');
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------- nodes
const rssMb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
};

/** cpuSeconds is the CPU time (user + system) a process has used, from /proc/<pid>/stat; NaN once it is gone. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * startNode writes a node's config and starts it (core 0); it resolves once the "ready"
 * log line is out, with { name, child, url, spawnedAt, readyAt } (wall-clock ms).
 * ports: name -> HTTP port of every node it names; peers: the names it pulls from.
 */
async function startNode(name, ports, peers, { observer = false, label = name } = {}) {
  const conf = join(dir, `${label}.toml`);
  writeFileSync(
    conf,
    `[node]
name = "${name}"
data_dir = "${join(dir, `${label}-data`)}"
[http]
listen = "127.0.0.1:${ports[name]}"
[dns]
listen = "127.0.0.1:0"
[[auth.tokens]]
name = "bench"
token = "${TOKEN}"
role = "admin"
[registry]
default_ttl = 3600
[log]
level = "info"
[cluster]
name = "bench"
secret = "${SECRET}"
observer = ${observer}
${peers.map((p) => `[[cluster.peers]]\nname = "${p}"\nurl = "http://127.0.0.1:${ports[p]}"\n`).join('\n')}`,
  );
  const spawnedAt = Date.now();
  // As npm start runs it (scripts/start.mjs sets the same young-generation size).
  const child = startServer(label, process.execPath, ['--max-semi-space-size=32', MAIN, '--config', conf], { cwd: root });
  const ready = await until(
    `${name}'s "ready" log line`,
    () => {
      if (child.exitInfo) throw new Error(`${name} exited (${child.exitInfo}):\n${logTail(child)}`);
      let text = '';
      try {
        text = readFileSync(child.logFile, 'utf8');
      } catch {}
      const line = text.split('\n').find((l) => l.includes('"msg":"ready"'));
      return line ? JSON.parse(line) : undefined;
    },
    30_000,
    10,
  ).catch((e) => {
    throw new Error(`${e.message}\n${logTail(child)}`);
  });
  const http = ready.listeners?.http;
  if (http !== `127.0.0.1:${ports[name]}`) throw new Error(`${name}: ready line says http is ${http}, expected 127.0.0.1:${ports[name]}`);
  return { name, child, url: `http://127.0.0.1:${ports[name]}`, spawnedAt, readyAt: Date.parse(ready.time) || Date.now() };
}

/** commits is how many group-commit transactions (one fsync each) a node has run, from /metrics. */
async function commits(node) {
  const text = (await api(node.url, 'GET', '/metrics')).text;
  return Number(/^nekoq_store_commit_batch_ops_count (\S+)$/m.exec(text)?.[1] ?? NaN);
}
const peersOf = async (node) => (await must(node.url, 'GET', '/v1/peers')).json;
const peerOf = async (node, peer) => (await peersOf(node)).peers.find((p) => p.name === peer);
/** caughtUp: the peer answers, and every change of its feed this node heard of is applied. */
const caughtUp = (p) => p && p.state === 'ok' && p.lag.seq === 0 && p.position.seq === p.position.head;

// ---------------------------------------------------------------- figures
/** pct is the nearest-rank percentile of sorted numbers. */
const pct = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
function dist(values) {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, min: s[0] ?? NaN, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

const results = {}; // the figures, by part
const failures = []; // { part, error }
const fail = (part, e) => {
  const error = e?.message ?? String(e);
  log(`${part}: FAILED: ${error}`);
  failures.push({ part, error });
};

// ---------------------------------------------------------------- 1 and 2: propagation over a, b, c
const instanceBody = (i) => ({ address: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 80 });
const serviceOf = (k) => (WATCH_SERVICES === 1 ? 'bench' : `bench${k}`);
const instanceId = (i) => `i${String(i).padStart(4, '0')}`;

/**
 * watch runs blocking queries on one service of a node and calls seen(id, t) the first time
 * each instance id is in an answer (t: performance.now() when the answer's headers arrived).
 * It returns { stop, ready, answers, errors }.
 */
function watch(node, name, seen) {
  let running = true;
  const state = { answers: 0, errors: 0, bytes: 0 };
  const path = `/v1/services/${TYPE}/${name}`;
  let index = 0;
  let resolveReady;
  const ready = new Promise((r) => (resolveReady = r));
  const known = new Set();
  const controller = new AbortController();
  const loop = (async () => {
    while (running) {
      let r;
      try {
        const q = index === 0 ? '' : `?index=${index}&wait=5s`;
        r = await fetch(`${node.url}${path}${q}`, { headers: auth, signal: AbortSignal.any([controller.signal, AbortSignal.timeout(15_000)]) });
      } catch (e) {
        if (!running) break;
        state.errors++;
        await sleep(50);
        continue;
      }
      const t = performance.now();
      const text = await r.text().catch(() => '');
      if (r.status !== 200) {
        state.errors++;
        await sleep(50);
        continue;
      }
      state.answers++;
      state.bytes += text.length;
      index = Number(r.headers.get('x-nekoq-index')) || index;
      for (const inst of JSON.parse(text).instances ?? []) {
        if (known.has(inst.id)) continue;
        known.add(inst.id);
        seen(inst.id, t);
      }
      resolveReady();
    }
  })();
  return {
    ready,
    state,
    async stop() {
      running = false;
      controller.abort();
      await loop;
    },
  };
}

async function propagation() {
  const names = ['a', 'b', 'c'];
  const ports = {};
  for (const n of names) ports[n] = await freePort();
  log(`starting a, b, c (full mesh) on ports ${names.map((n) => ports[n]).join(', ')}`);
  const nodes = {};
  try {
    const started = await Promise.all(names.map((n) => startNode(n, ports, names.filter((p) => p !== n))));
    for (const s of started) nodes[s.name] = s;
    const { a, b, c } = nodes;
    // Every node has taken its (empty) first snapshot of every peer.
    await until('every node to be in step with its peers', async () => {
      for (const n of started) if (!(await peersOf(n)).peers.every(caughtUp)) return false;
      return true;
    }, 30_000, 50);

    // The zone for part 1b, made before the measured registrations so its changes are not counted.
    await must(a.url, 'POST', '/v1/zones', { name: ZONE }, [201]);
    await until(`zone ${ZONE} on b`, async () => (await api(b.url, 'GET', `/v1/zones/${ZONE}`)).status === 200, 10_000);

    // Warm-up: the same path (register on a, see on b) on another service.
    for (let i = 0; i < WARMUP; i++) await must(a.url, 'PUT', `/v1/services/${TYPE}/warmup/instances/${instanceId(i)}`, instanceBody(i));
    await until('the warm-up instances on b', async () => (await must(b.url, 'GET', `/v1/services/${TYPE}/warmup`)).json.instances.length === WARMUP, 10_000);
    const headA = async () => (await peersOf(a)).head;
    const bInStepWithA = async () => {
      const head = await headA();
      const p = await peerOf(b, 'a');
      return caughtUp(p) && p.position.seq === head ? p : false;
    };
    const before = await until('b to be in step with a', bInStepWithA, 10_000);
    await sleep(200);
    const beforeBytes = (await peerOf(b, 'a')).bytes;

    // -------------------------------------------------------- 1a: registrations on a, seen on b
    const sent = new Array(N);
    const acked = new Array(N);
    const seenAt = new Map(); // id -> t
    const watchers = Array.from({ length: WATCH_SERVICES }, (_, k) => watch(b, serviceOf(k), (id, t) => seenAt.set(id, t)));
    const watcherState = () => ({
      answers: watchers.reduce((n, w) => n + w.state.answers, 0),
      errors: watchers.reduce((n, w) => n + w.state.errors, 0),
      bytes: watchers.reduce((n, w) => n + w.state.bytes, 0),
    });
    await Promise.race([
      Promise.all(watchers.map((w) => w.ready)),
      sleep(10_000).then(() => {
        throw new Error(`b's watchers got no answer in 10 s (${watcherState().errors} errors)`);
      }),
    ]);
    if (seenAt.size !== 0) throw new Error(`the services ${TYPE}/bench* on b are not empty`);
    log(`registering ${N} instances (${WATCH_SERVICES} service${WATCH_SERVICES > 1 ? 's' : ''}) on a at ${RATE}/s (at most ${MAX_IN_FLIGHT} in flight), watching b`);
    const errors = [];
    let inFlight = 0;
    let freed;
    const pending = [];
    const cpuBefore = Object.fromEntries(started.map((n) => [n.name, cpuSeconds(n.child.pid)]));
    const commitsBefore = Object.fromEntries(await Promise.all(started.map(async (n) => [n.name, await commits(n)])));
    const t0 = performance.now() + 20;
    let lateStarts = 0;
    for (let i = 0; i < N && !h.stopping; i++) {
      const at = t0 + (i * 1000) / RATE;
      const now = performance.now();
      if (at > now) await sleep(at - now);
      while (inFlight >= MAX_IN_FLIGHT) await new Promise((r) => (freed = r));
      if (performance.now() - at > 5) lateStarts++;
      inFlight++;
      sent[i] = performance.now();
      pending.push(
        api(a.url, 'PUT', `/v1/services/${TYPE}/${serviceOf(i % WATCH_SERVICES)}/instances/${instanceId(i)}`, instanceBody(i))
          .then((r) => {
            acked[i] = performance.now();
            if (r.status !== 200) errors.push(`${instanceId(i)}: ${r.status} ${r.text.slice(0, 100)}`);
          }, (e) => errors.push(`${instanceId(i)}: ${e.message}`))
          .finally(() => {
            inFlight--;
            freed?.();
          }),
      );
    }
    await Promise.all(pending);
    const sendSeconds = (Math.max(...acked.filter(Number.isFinite)) - t0) / 1000;
    if (errors.length) throw new Error(`${errors.length} registrations failed on a: ${errors.slice(0, 3).join('; ')}`);
    try {
      await until(`all ${N} instances on b`, () => seenAt.size >= N, 30_000, 20);
    } catch (e) {
      const missing = [];
      for (let i = 0; i < N; i++) if (!seenAt.has(instanceId(i))) missing.push(instanceId(i));
      let direct = 0;
      for (let k = 0; k < WATCH_SERVICES; k++) direct += (await api(b.url, 'GET', `/v1/services/${TYPE}/${serviceOf(k)}`)).json?.instances?.length ?? 0;
      throw new Error(`${e.message}: ${missing.length} never seen (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ..' : ''}); ` +
        `b answers ${direct} instances; b's peer a: ${JSON.stringify(await peerOf(b, 'a').catch(() => null))}`);
    } finally {
      await Promise.all(watchers.map((w) => w.stop()));
    }
    const watched = watcherState();
    const windowS = (performance.now() - t0) / 1000;
    const cpuPct = Object.fromEntries(started.map((n) => [n.name, (100 * (cpuSeconds(n.child.pid) - cpuBefore[n.name])) / windowS]));
    const commitCounts = Object.fromEntries(await Promise.all(started.map(async (n) => [n.name, (await commits(n)) - commitsBefore[n.name]])));
    const fromAck = [];
    const fromSend = [];
    for (let i = 0; i < N; i++) {
      const t = seenAt.get(instanceId(i));
      fromAck.push(t - acked[i]);
      fromSend.push(t - sent[i]);
    }
    const ackLatency = dist(acked.map((t, i) => t - sent[i]));
    results.instances = {
      n: N, rate: RATE, sendSeconds, lateStarts,
      fromAck: dist(fromAck), fromSend: dist(fromSend), putAck: ackLatency,
      seenBeforeAck: fromAck.filter((x) => x < 0).length, cpuPct, windowS, commitCounts,
      watcherAnswers: watched.answers, watcherErrors: watched.errors, watcherMB: watched.bytes / 1e6,
    };
    log(`  seen on b: p50 ${results.instances.fromAck.p50.toFixed(1)} ms after a's ack, p99 ${results.instances.fromAck.p99.toFixed(1)} ms (${watched.answers} blocking answers)`);

    // -------------------------------------------------------- 2: feed bytes per change
    const after = await until('b to be in step with a after the registrations', bInStepWithA, 10_000);
    const changes = after.position.seq - before.position.seq;
    results.bytes = {
      bytes: after.bytes - beforeBytes,
      registrations: N,
      feedChanges: changes,
      perRegistration: (after.bytes - beforeBytes) / N,
      perFeedChange: changes > 0 ? (after.bytes - beforeBytes) / changes : NaN,
    };
    log(`  a's feed to b: ${results.bytes.bytes} body bytes for ${N} registrations (${changes} feed changes)`);
    let onC = 0;
    for (let k = 0; k < WATCH_SERVICES; k++) onC += (await must(c.url, 'GET', `/v1/services/${TYPE}/${serviceOf(k)}`)).json.instances.length;
    results.instances.onC = onC;
    if (onC !== N) fail('propagation', new Error(`c holds ${onC} of the ${N} instances (b holds them all)`));

    // -------------------------------------------------------- 1b: RRset writes on a, seen on b
    log(`writing ${RECORDS} RRsets on a one at a time, polling b every ${RECORD_POLL_MS} ms`);
    const base = (await must(b.url, 'GET', `/v1/zones/${ZONE}`)).json.rrsets;
    const rrLatency = [];
    const rrAck = [];
    let polls = 0;
    for (let j = 0; j < RECORDS && !h.stopping; j++) {
      const s = performance.now();
      await must(a.url, 'PUT', `/v1/zones/${ZONE}/records/r${j}/A`, { ttl: 60, values: [`192.0.2.${j % 250}`] });
      const ack = performance.now();
      rrAck.push(ack - s);
      const deadline = ack + 10_000;
      for (;;) {
        polls++;
        const r = await must(b.url, 'GET', `/v1/zones/${ZONE}`);
        const t = performance.now();
        if (r.json.rrsets >= base + j + 1) {
          rrLatency.push(t - ack);
          break;
        }
        if (t > deadline) throw new Error(`RRset r${j}.${ZONE} A never showed on b (10 s): b's zone has ${r.json.rrsets} RRsets, expected ${base + j + 1}`);
        await sleep(RECORD_POLL_MS);
      }
    }
    const rrsets = (await must(b.url, 'GET', `/v1/zones/${ZONE}/records`)).json.rrsets;
    const wrong = [];
    for (let j = 0; j < RECORDS; j++) {
      const rr = rrsets.find((x) => x.name === `r${j}.${ZONE}.` && x.type === 'A');
      if (!rr || rr.values?.[0] !== `192.0.2.${j % 250}`) wrong.push(`r${j}`);
    }
    if (wrong.length) throw new Error(`b's zone lacks or has other values for ${wrong.length} RRsets: ${wrong.slice(0, 5).join(', ')}`);
    results.records = { n: RECORDS, fromAck: dist(rrLatency), putAck: dist(rrAck), pollMs: RECORD_POLL_MS, polls };
    log(`  seen on b: p50 ${results.records.fromAck.p50.toFixed(1)} ms after a's ack, p99 ${results.records.fromAck.p99.toFixed(1)} ms`);
  } finally {
    for (const n of Object.values(nodes)) await stop(n.child);
  }
}

// ---------------------------------------------------------------- 3: full sync of a new observer
/** pool runs fn(0..count-1) with `concurrency` in flight; it throws the first error once all are done. */
async function pool(count, concurrency, fn) {
  let next = 0;
  const errors = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !h.stopping && errors.length === 0) {
        const i = next++;
        await fn(i).catch((e) => errors.push(e));
      }
    }),
  );
  if (errors.length) throw errors[0];
}

async function fullSync() {
  const ports = { a: await freePort(), d: await freePort() };
  log(`starting a fresh node a on port ${ports.a}`);
  const nodes = [];
  try {
    const a = await startNode('a', ports, [], { label: 'sync-a' });
    nodes.push(a);
    const t = performance.now();
    await must(a.url, 'POST', '/v1/zones', { name: ZONE }, [201]);
    log(`loading ${SYNC_INSTANCES} instances (${SYNC_SERVICES} services) and ${SYNC_RECORDS} RRsets into a, ${LOAD_CONCURRENCY} in flight`);
    await pool(SYNC_INSTANCES, LOAD_CONCURRENCY, (i) =>
      must(a.url, 'PUT', `/v1/services/${TYPE}/svc${i % SYNC_SERVICES}/instances/${instanceId(Math.floor(i / SYNC_SERVICES))}`, instanceBody(i)),
    );
    const instancesSeconds = (performance.now() - t) / 1000;
    await pool(SYNC_RECORDS, LOAD_CONCURRENCY, (j) => must(a.url, 'PUT', `/v1/zones/${ZONE}/records/r${j}/A`, { ttl: 60, values: [`192.0.${(j >> 8) & 255}.${j & 255}`] }));
    const loadSeconds = (performance.now() - t) / 1000;
    const recordsSeconds = loadSeconds - instancesSeconds;
    const source = await peersOf(a);
    log(`  loaded in ${loadSeconds.toFixed(1)} s (instances ${Math.round(SYNC_INSTANCES / instancesSeconds)}/s, RRsets ${Math.round(SYNC_RECORDS / recordsSeconds)}/s); a owns ${source.owned} rows, feed head ${source.head}`);

    log('starting observer d (peer: a only)');
    const d = await startNode('d', ports, ['a'], { observer: true, label: 'sync-d' });
    nodes.push(d);
    const readyRss = rssMb(d.child.pid);
    const cpuAtReady = { a: cpuSeconds(a.child.pid), d: cpuSeconds(d.child.pid) };
    let polls = 0;
    const synced = await until(
      "d's copy of a to be complete",
      async () => {
        polls++;
        const s = await peersOf(d);
        const p = s.peers.find((x) => x.name === 'a');
        return caughtUp(p) && p.owned >= source.owned && p.position.seq >= source.head ? { at: Date.now(), p } : false;
      },
      60_000,
      SYNC_POLL_MS,
    ).catch(async (e) => {
      throw new Error(`${e.message}; d's peer a: ${JSON.stringify((await peerOf(d, 'a').catch(() => null)) ?? null)}`);
    });
    const syncCpuS = { a: cpuSeconds(a.child.pid) - cpuAtReady.a, d: cpuSeconds(d.child.pid) - cpuAtReady.d };
    // What d answers: every instance of a sample of services, and every RRset.
    const svc = (await must(d.url, 'GET', `/v1/services/${TYPE}/svc${SYNC_SERVICES - 1}`)).json.instances.length;
    const rrsets = (await must(d.url, 'GET', `/v1/zones/${ZONE}/records`)).json.rrsets.length;
    const expectRrsets = (await must(a.url, 'GET', `/v1/zones/${ZONE}/records`)).json.rrsets.length;
    const expectSvc = Math.max(0, Math.ceil((SYNC_INSTANCES - (SYNC_SERVICES - 1)) / SYNC_SERVICES));
    if (svc !== expectSvc || rrsets !== expectRrsets) {
      throw new Error(`d reports the sync complete but answers ${svc} instances of svc${SYNC_SERVICES - 1} (a: ${expectSvc}) and ${rrsets} RRsets (a: ${expectRrsets})`);
    }
    await sleep(1000);
    results.sync = {
      instances: SYNC_INSTANCES,
      rrsets: SYNC_RECORDS,
      owned: synced.p.owned,
      sourceOwned: source.owned,
      fromReadyS: (synced.at - d.readyAt) / 1000,
      fromSpawnS: (synced.at - d.spawnedAt) / 1000,
      startS: (d.readyAt - d.spawnedAt) / 1000,
      emptyStartS: (a.readyAt - a.spawnedAt) / 1000,
      bytes: synced.p.bytes,
      bytesPerRow: synced.p.bytes / synced.p.owned,
      snapshots: synced.p.snapshots,
      applied: synced.p.applied,
      rssReadyMb: readyRss,
      syncCpuS,
      rssMb: rssMb(d.child.pid),
      sourceRssMb: rssMb(a.child.pid),
      pollMs: SYNC_POLL_MS,
      polls,
      loadSeconds,
      instancesPerS: SYNC_INSTANCES / instancesSeconds,
      rrsetsPerS: SYNC_RECORDS / recordsSeconds,
    };
    log(`  d in sync ${results.sync.fromReadyS.toFixed(2)} s after ready, ${results.sync.bytes} bytes`);
  } finally {
    for (const n of nodes) await stop(n.child);
  }
}

// ---------------------------------------------------------------- the run
async function main() {
  if (!existsSync(MAIN)) throw new Error('dist/server/main.js is missing: npx tsc -p tsconfig.server.json');
  const state = buildState(root);
  if (state.stale) log(`cluster bench: warning: ${state.reason}; measuring the existing build of the server`);
  const fsType = spawnSync('findmnt', ['-no', 'FSTYPE', '-T', dir], { encoding: 'utf8' }).stdout?.trim() || '?';
  results.setup = { instances: N, rate: RATE, records: RECORDS, sync_instances: SYNC_INSTANCES, sync_records: SYNC_RECORDS, pinned: hasTaskset, benchPinned: pinnedSelf, fs: fsType, node: process.version };
  log(`cluster bench: data in ${dir} (${fsType}), nodes on core 0, this process on core ${pinnedSelf ? '1' : '? (not pinned)'}`);
  try {
    await propagation();
  } catch (e) {
    if (!h.stopping) fail('propagation', e);
  }
  if (h.stopping) return;
  try {
    await fullSync();
  } catch (e) {
    if (!h.stopping) fail('full sync', e);
  }
}

// ---------------------------------------------------------------- report
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

function report() {
  const out = [];
  const s = results.setup ?? {};
  out.push(`Cluster benchmark: nodes on core 0${s.pinned ? '' : ' (unpinned)'}, this client on core ${s.benchPinned ? 1 : '?'}; data on ${s.fs ?? '?'}; Node ${process.version}`);
  out.push('');
  out.push('| propagation a → b (3-node mesh) | n | min ms | p50 ms | p90 ms | p99 ms | max ms |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const row = (label, d) => out.push(`| ${label} | ${d?.n ?? '–'} | ${fmt(d?.min)} | ${fmt(d?.p50)} | ${fmt(d?.p90)} | ${fmt(d?.p99)} | ${fmt(d?.max)} |`);
  const i = results.instances;
  row(`instance registered on a (${RATE}/s), seen on b: from a's ack`, i?.fromAck);
  row('  same, from the PUT being sent', i?.fromSend);
  row('  (a\'s ack of the PUT itself)', i?.putAck);
  const r = results.records;
  row(`RRset PUT on a (one at a time), seen on b: from a's ack`, r?.fromAck);
  row('  (a\'s ack of the PUT itself)', r?.putAck);
  out.push('');
  out.push('| figure | value |');
  out.push('| --- | ---: |');
  if (i) {
    out.push(`| registrations sent in (s) / started > 5 ms late | ${fmt(i.sendSeconds, 2)} / ${i.lateStarts} |`);
    out.push(`| instances seen on b before a's ack reached the client | ${i.seenBeforeAck} |`);
    out.push(`| blocking answers from b to the ${WATCH_SERVICES} watcher${WATCH_SERVICES > 1 ? 's' : ''} (MB of JSON) | ${i.watcherAnswers} (${fmt(i.watcherMB, 1)}) |`);
    out.push(`| group commits (fsyncs) while registering: a / b / c | ${['a', 'b', 'c'].map((n) => fmtInt(i.commitCounts?.[n])).join(' / ')} |`);
    out.push(`| CPU % of one core while registering (${fmt(i.windowS, 1)} s): a / b / c (all on core 0) | ${['a', 'b', 'c'].map((n) => fmt(i.cpuPct?.[n], 0)).join(' / ')} |`);
  }
  if (r) out.push(`| RRset latency resolution: b polled every | ${r.pollMs} ms (+ a request) |`);
  const b = results.bytes;
  if (b) {
    out.push(`| a's feed to b, response body bytes (HTTP headers excluded) for ${b.registrations} registrations | ${fmtInt(b.bytes)} |`);
    out.push(`| body bytes per registration | ${fmt(b.perRegistration, 0)} |`);
    out.push(`| feed changes for them / body bytes per feed change | ${b.feedChanges} / ${fmt(b.perFeedChange, 0)} |`);
  }
  const y = results.sync;
  if (y) {
    out.push(`| full sync: a loaded with ${fmtInt(y.instances)} instances + ${fmtInt(y.rrsets)} RRsets, ${LOAD_CONCURRENCY} in flight (s) | ${fmt(y.loadSeconds, 1)} |`);
    out.push(`| full sync: load rate, instance PUTs/s / RRset PUTs/s | ${fmtInt(y.instancesPerS)} / ${fmtInt(y.rrsetsPerS)} |`);
    out.push(`| full sync: rows a owns / d holds from a | ${fmtInt(y.sourceOwned)} / ${fmtInt(y.owned)} |`);
    out.push(`| full sync: d spawned → ready (s); an empty node's spawned → ready (s) | ${fmt(y.startS, 2)}; ${fmt(y.emptyStartS, 2)} |`);
    out.push(`| **full sync: d ready → in step with a (s)** (polled every ${y.pollMs} ms) | ${fmt(y.fromReadyS, 2)} |`);
    out.push(`| full sync: d spawned → in step with a (s) | ${fmt(y.fromSpawnS, 2)} |`);
    out.push(`| full sync: feed body bytes received by d (per row) | ${fmtInt(y.bytes)} (${fmt(y.bytesPerRow, 0)}) |`);
    out.push(`| full sync: CPU seconds from d's ready to in step: a / d | ${fmt(y.syncCpuS?.a, 2)} / ${fmt(y.syncCpuS?.d, 2)} |`);
    out.push(`| full sync: snapshots taken / changes applied | ${y.snapshots} / ${fmtInt(y.applied)} |`);
    out.push(`| d's RSS at ready / 1 s after the sync (MB); a's RSS (MB) | ${fmt(y.rssReadyMb)} / ${fmt(y.rssMb)}; ${fmt(y.sourceRssMb)} |`);
  }
  for (const f of failures) out.push(`\nFAILED: ${f.part}: ${f.error.split('\n').filter(Boolean).slice(0, 4).join(' | ').slice(0, 600)}`);
  console.log(out.join('\n'));
  const num = (n, d = 2) => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);
  const d2 = (d) => d && { n: d.n, min: num(d.min), p50: num(d.p50), p90: num(d.p90), p99: num(d.p99), max: num(d.max) };
  const json = {
    bench: 'cluster',
    setup: results.setup,
    instance_propagation_ms: i && { ...d2(i.fromAck), from_send: d2(i.fromSend), put_ack: d2(i.putAck), seen_before_ack: i.seenBeforeAck, rate: RATE, services: WATCH_SERVICES, send_seconds: num(i.sendSeconds),
      cpu_pct: i.cpuPct && Object.fromEntries(Object.entries(i.cpuPct).map(([k, v]) => [k, num(v, 0)])), commits: i.commitCounts },
    record_propagation_ms: r && { ...d2(r.fromAck), put_ack: d2(r.putAck), poll_ms: r.pollMs },
    feed_body_bytes: b && { total: b.bytes, registrations: b.registrations, per_registration: num(b.perRegistration, 1), feed_changes: b.feedChanges, per_feed_change: num(b.perFeedChange, 1) },
    full_sync: y && {
      rows: y.owned, source_rows: y.sourceOwned, seconds_from_ready: num(y.fromReadyS, 3), seconds_from_spawn: num(y.fromSpawnS, 3),
      ready_after_s: num(y.startS, 3), empty_node_ready_after_s: num(y.emptyStartS, 3),
      bytes: y.bytes, bytes_per_row: num(y.bytesPerRow, 1), snapshots: y.snapshots, cpu_s: { a: num(y.syncCpuS.a), d: num(y.syncCpuS.d) }, rss_mb: num(y.rssMb, 1), rss_ready_mb: num(y.rssReadyMb, 1),
      load_seconds: num(y.loadSeconds), load_instances_per_s: num(y.instancesPerS, 0), load_rrsets_per_s: num(y.rrsetsPerS, 0),
    },
    failures,
  };
  console.log(JSON.stringify(json));
  if (opts.json) writeFileSync(opts.json, JSON.stringify(json, null, 2) + '\n');
}

try {
  await main();
} catch (e) {
  fail('bench', e);
}
if (!h.stopping) report();
await cleanup();
const clusterFailed = failures.some((f) => f.part !== 'bench');
process.exit(h.stopping ? 130 : clusterFailed ? 2 : failures.length ? 1 : 0);
