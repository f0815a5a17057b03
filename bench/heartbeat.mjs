#!/usr/bin/env node
// Heartbeat benchmark (issue #2): heartbeats/s, p50/p99 latency and RSS of the
// appliance, with a bare node:http server that answers 200 to everything measured in
// the same run as the ceiling. The server is pinned to core 0 and the load
// generator (wrk) to core 1 (taskset). Every heartbeat is acknowledged only after its
// group commit is on disk. Bounded: BENCH_SECONDS (default 10) per run.
// Usage: npm run bench:heartbeat   (env: BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_INSTANCES)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../scripts/build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
ensureBuilt(root);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1000);
const TOKEN = 'bench-register-token-0123456789';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pinned = (core, cmd, args) => (hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startAppliance(dir) {
  const conf = join(dir, 'bench.toml');
  writeFileSync(conf, `[node]\nname = "bench"\ndata_dir = "${join(dir, 'data')}"\n[http]\nlisten = "127.0.0.1:0"\n[dns]\nlisten = "127.0.0.1:0"\n` +
    `[[auth.tokens]]\nname = "bench"\ntoken = "${TOKEN}"\nrole = "admin"\n[log]\nlevel = "warn"\n`);
  const [cmd, args] = pinned(0, process.execPath, [join(root, 'scripts/start.mjs'), '--config', conf]);
  // log level warn hides the ready line; read the port from /readyz polling instead.
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return child;
}

// findApi returns the base URL of the appliance's HTTP API once it is ready. The process
// listens on several TCP ports (HTTP, DNS over TCP, the web manager's private one):
// the API is the one whose /readyz says ready.
async function findApi(pid) {
  for (let i = 0; i < 600; i++) {
    const out = spawnSync('ss', ['-ltnpH'], { encoding: 'utf8' }).stdout ?? '';
    const ports = out.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => Number(/127\.0\.0\.1:(\d+)/.exec(l)?.[1])).filter((p) => p > 0);
    for (const port of ports) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
        .then(async (r) => r.ok && (await r.json()).status === 'ready', () => false);
      if (ready) return `http://127.0.0.1:${port}`;
    }
    await sleep(100);
  }
  throw new Error('the appliance did not become ready within 60 s');
}

// wrk (C, one thread on core 1) generates the load: a JavaScript client on one core
// saturates near 20k req/s and would measure itself, not the server.
function load(url, connections = CONNECTIONS) {
  const [cmd, args] = pinned(1, 'wrk', ['-t1', `-c${connections}`, `-d${SECONDS}s`, '-s', join(root, 'bench/heartbeat.lua'), url]);
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, BENCH_TOKEN: TOKEN, BENCH_INSTANCES: String(INSTANCES) },
  });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const summary = (r) => ({
  rps: Math.round(r.requests / (r.duration_us / 1e6)),
  total: r.requests,
  p50ms: r.p50_us / 1000,
  p90ms: r.p90_us / 1000,
  p99ms: r.p99_us / 1000,
  errors: r.socket_errors,
  non2xx: r.status_errors,
});

if (spawnSync('wrk', ['--version']).error) {
  console.error('this benchmark needs wrk: apt-get install -y wrk');
  process.exit(1);
}

// 1. The ceiling: bare node:http, 200 with a small JSON body, pinned like the appliance.
const ceilingSrc = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, {'content-type':'application/json'}); s.end('{"ok":true}'); }); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`;
const [ccmd, cargs] = pinned(0, process.execPath, ['-e', ceilingSrc]);
const ceilingProc = spawn(ccmd, cargs, { stdio: ['ignore', 'pipe', 'inherit'] });
const ceilingPort = await new Promise((r) => ceilingProc.stdout.once('data', (d) => r(Number(String(d).trim()))));
const ceiling = summary(load(`http://127.0.0.1:${ceilingPort}`));
ceilingProc.kill();

// 2. The appliance.
const dir = mkdtempSync(join(tmpdir(), 'nekoq-bench-'));
const app = startAppliance(dir);
const base = await findApi(app.pid);
await sleep(2000);
const idleRss = rssMb(app.pid);
for (let i = 0; i < INSTANCES; i++) {
  const r = await fetch(`${base}/v1/services/bench/hb/instances/i${i}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ address: `10.0.${(i >> 8) & 255}.${i & 255}`, port: 8000, ttl: 600 }),
  });
  if (!r.ok) throw new Error(`register ${i}: ${r.status}`);
}
const transactions = async () => {
  const metrics = await (await fetch(`${base}/metrics`)).text();
  return Number(/^nekoq_store_commit_batch_ops_count (\S+)$/m.exec(metrics)?.[1] ?? NaN);
};
const before = await transactions();
const ours = summary(load(base));
const loadedRss = rssMb(app.pid);
const during = (await transactions()) - before;
// Latency under light load (4 connections): at saturation p99 measures the queue, not the server.
const light = summary(load(base, 4));
app.kill('SIGTERM');
await new Promise((r) => app.once('exit', r));
rmSync(dir, { recursive: true, force: true });

const report = {
  setup: { seconds: SECONDS, connections: CONNECTIONS, instances: INSTANCES, pinned: hasTaskset, node: process.version },
  ceiling_node_http: ceiling,
  appliance_heartbeat: ours,
  ratio_to_ceiling: Number((ours.rps / ceiling.rps).toFixed(2)),
  idle_rss_mb: Number(idleRss.toFixed(1)),
  rss_after_load_mb: Number(loadedRss.toFixed(1)),
  appliance_heartbeat_4_connections: light,
  store_transactions_during_load: { transactions: during, heartbeats_per_transaction: Math.round(ours.total / during) },
  goals: { heartbeats_per_s: '>= 20000', p99_ms: '<= 5', idle_rss_mb: '<= 120' },
};
console.log(JSON.stringify(report, null, 2));
