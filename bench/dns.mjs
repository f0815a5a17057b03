#!/usr/bin/env node
// DNS benchmark: the appliance's authoritative DNS (UDP, TCP, DoH) against NSD, Knot,
// Unbound (DoH) and a bare node:dgram echo responder (the ceiling of a Node UDP server),
// every figure measured in the same run on the same zone (bench/dns-zone.mjs: 1000
// names under bench.example.). Each server is pinned to core 0 and the load generator
// (dnsperf, h2load) to core 1 (taskset); servers run one at a time, except ours and the
// echo, whose UDP runs alternate three times (medians kept) because this VM's figures
// drift by ±20% from one minute to the next.
// Usage: node bench/dns.mjs [--seconds N] [--only ours|refs] [--json [FILE]]
// Needs: apt-get install -y dnsperf nsd knot unbound nghttp2-client openssl
// Exit: 0 when every server ran (goals met or not: it is a benchmark, not a test),
//       2 when ours failed (to build, start or answer correctly), 1 on any other failure.
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState } from '../scripts/build-state.mjs';
import { createHarness, missingTools } from './harness.mjs';
import { checkAnswer, dnsperfFile, ORIGIN, queries, unboundLocalData, wireQuery, zoneFile } from './dns-zone.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
function usage(msg) {
  if (msg) console.error(`dns bench: ${msg}`);
  console.error('usage: node bench/dns.mjs [--seconds N] [--only ours|refs] [--json [FILE]]');
  process.exit(msg ? 1 : 0);
}
const opts = { seconds: 10, only: 'all', json: undefined };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[++i] : undefined);
    if (flag === '--seconds') {
      opts.seconds = Number(value());
      if (!Number.isInteger(opts.seconds) || opts.seconds < 1) usage('--seconds takes a whole number >= 1');
    } else if (flag === '--only') {
      opts.only = value();
      if (opts.only !== 'ours' && opts.only !== 'refs') usage('--only takes ours or refs');
    } else if (flag === '--json') opts.json = resolve(value() ?? 'dns-bench.json');
    else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
}
const SECONDS = opts.seconds;
const CLIENTS = 10; // dnsperf -c, h2load -c
const STREAMS = 10; // h2load -m
const FIXED_QPS = 20000;
const WARMUP_SECONDS = 1;
const runOurs = opts.only !== 'refs';
const runRefs = opts.only !== 'ours';

const h = createHarness('dns bench', 'nekoq-dns-bench-');
const { dir, live, hasTaskset, pinned, sleep, log, stop, cleanup, startServer, logTail, run, freePort } = h;

const missing = missingTools(['dnsperf', 'h2load', 'openssl', ...(runRefs ? ['nsd', 'knotd', 'unbound'] : [])]);
if (missing.length) {
  console.error(`dns bench: missing ${missing.join(', ')}: apt-get install -y dnsperf nsd knot unbound nghttp2-client openssl`);
  process.exit(1);
}

// ---------------------------------------------------------------- DNS checks
const QUERIES = queries();

/** udpQuery sends one wire query and resolves with the response, or undefined after timeoutMs. */
function udpQuery(port, msg, timeoutMs = 1000) {
  return new Promise((res) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      res(undefined);
    }, timeoutMs);
    s.once('message', (m) => {
      clearTimeout(t);
      s.close();
      res(m);
    });
    s.once('error', () => {
      clearTimeout(t);
      s.close();
      res(undefined);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

function tcpQuery(port, msg, timeoutMs = 2000) {
  return new Promise((res, rej) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      rej(new Error('TCP query timed out'));
    }, timeoutMs);
    sock.once('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      sock.write(Buffer.concat([len, msg]));
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(t);
        sock.destroy();
        res(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
  });
}

/** waitUdp polls with the first query until the server answers (any response), or fails. */
async function waitUdp(name, port, child, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  const msg = wireQuery(QUERIES[0].name, QUERIES[0].type, 1);
  while (Date.now() < deadline) {
    if (child.exitInfo) throw new Error(`${name} exited (${child.exitInfo}):\n${logTail(child)}`);
    if (await udpQuery(port, msg, 200)) return;
    await sleep(100);
  }
  throw new Error(`${name} did not answer on udp/${port} within ${timeoutMs / 1000}s:\n${logTail(child)}`);
}

/** verifyUdp asks every query of the mix once and checks each answer (echo: only the header). */
async function verifyUdp(name, port, { echo = false } = {}) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  try {
    for (let i = 0; i < QUERIES.length; i++) {
      const q = QUERIES[i];
      const id = (i + 1) & 0xffff;
      const msg = wireQuery(q.name, q.type, id);
      let resp;
      for (let attempt = 0; attempt < 3 && !resp; attempt++) {
        resp = await new Promise((res) => {
          const t = setTimeout(() => {
            s.off('message', on);
            res(undefined);
          }, 500);
          const on = (m) => {
            if (m.length >= 2 && m.readUInt16BE(0) !== id) return; // late answer to an earlier try
            clearTimeout(t);
            s.off('message', on);
            res(m);
          };
          s.on('message', on);
          s.send(msg, port, '127.0.0.1');
        });
      }
      if (!resp) throw new Error(`${name}: no UDP answer to ${q.name} ${q.type}`);
      const bad = echo ? (resp.readUInt16BE(0) === id && resp[2] & 0x80 ? undefined : 'not an echo with QR set') : checkAnswer(resp, q, id);
      if (bad) throw new Error(`${name}: UDP ${q.name} ${q.type}: ${bad}`);
    }
  } finally {
    s.close();
  }
}

async function verifyTcp(name, port) {
  for (const [i, q] of QUERIES.slice(0, 5).entries()) {
    const resp = await tcpQuery(port, wireQuery(q.name, q.type, i + 1));
    const bad = checkAnswer(resp, q, i + 1);
    if (bad) throw new Error(`${name}: TCP ${q.name} ${q.type}: ${bad}`);
  }
}

/** verifyDoh GETs every query of the mix over one HTTP/2 TLS session (and POSTs a few) and checks the answers. */
async function verifyDoh(name, port, { post = true } = {}) {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  const sessionError = new Promise((_, rej) => session.once('error', rej));
  sessionError.catch(() => {});
  const request = (q, method) =>
    new Promise((res, rej) => {
      const body = wireQuery(q.name, q.type, 0);
      const headers =
        method === 'GET'
          ? { ':method': 'GET', ':path': `/dns-query?dns=${body.toString('base64url')}`, accept: 'application/dns-message' }
          : { ':method': 'POST', ':path': '/dns-query', accept: 'application/dns-message', 'content-type': 'application/dns-message' };
      const req = session.request(headers, { endStream: method === 'GET' });
      if (method === 'POST') req.end(body);
      const chunks = [];
      let status = 0;
      let type = '';
      req.setTimeout(3000, () => req.close(http2.constants.NGHTTP2_CANCEL));
      req.on('response', (h) => {
        status = h[':status'];
        type = String(h['content-type'] ?? '');
      });
      req.on('data', (c) => chunks.push(c));
      req.on('error', rej);
      req.on('close', () => {
        if (status !== 200) return rej(new Error(`${name}: DoH ${method} ${q.name} ${q.type}: HTTP status ${status || 'none'}`));
        if (!type.startsWith('application/dns-message')) return rej(new Error(`${name}: DoH ${method}: content-type "${type}"`));
        const bad = checkAnswer(Buffer.concat(chunks), q, 0);
        if (bad) return rej(new Error(`${name}: DoH ${method} ${q.name} ${q.type}: ${bad}`));
        res();
      });
    });
  try {
    for (let i = 0; i < QUERIES.length; i += 50) {
      await Promise.race([Promise.all(QUERIES.slice(i, i + 50).map((q) => request(q, 'GET'))), sessionError]);
    }
    if (post) await Promise.race([Promise.all(QUERIES.slice(0, 5).map((q) => request(q, 'POST'))), sessionError]);
  } finally {
    session.destroy();
  }
}

async function waitDoh(name, port, child, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (child.exitInfo) throw new Error(`${name} exited (${child.exitInfo}):\n${logTail(child)}`);
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        res(true);
      });
      s.once('error', (e) => {
        last = e;
        res(false);
      });
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name}: nothing listens on tcp/${port}: ${last?.message}\n${logTail(child)}`);
}

// ---------------------------------------------------------------- load generators
/** parseDnsperf reads dnsperf 2.x's "Statistics:" block. */
function parseDnsperf(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : NaN;
  };
  const sent = num(/Queries sent:\s+(\d+)/);
  const completed = num(/Queries completed:\s+(\d+)/);
  const lost = num(/Queries lost:\s+(\d+)/);
  const r = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent,
    completed,
    lost,
    lossPct: sent > 0 ? (100 * lost) / sent : NaN,
    // The first "Average Latency": in TCP mode a second one, under "Connection Statistics", is the connections'.
    latencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    responseCodes: /Response codes:\s+(.*)/.exec(out)?.[1]?.trim() ?? '',
    avgResponseBytes: num(/Average packet size:\s+request \d+, response (\d+)/),
  };
  if (!Number.isFinite(r.qps) || !Number.isFinite(sent)) throw new Error(`cannot parse dnsperf output:\n${out}`);
  return r;
}

async function dnsperf(serverPid, port, mode, seconds, extra = []) {
  const args = ['-s', '127.0.0.1', '-p', String(port), '-m', mode, '-d', join(dir, 'queries.txt'), '-c', String(CLIENTS), '-l', String(seconds), ...extra];
  const r = await run('dnsperf', args, { seconds, serverPid });
  if (r.code !== 0) throw new Error(`dnsperf ${args.join(' ')} failed (${r.signal ?? r.code}):\n${r.stdout}${r.stderr}`);
  const parsed = { ...parseDnsperf(r.stdout), ...r.cpu };
  if (parsed.completed > 0 && !/^NOERROR \d+ \(100\.00%\)$/.test(parsed.responseCodes)) {
    log(`  warning: not every response is NOERROR: ${parsed.responseCodes}`);
  }
  return parsed;
}

const toMs = (v, unit) => Number(v) * { us: 1e-3, ms: 1, s: 1e3 }[unit];
/** parseH2load reads h2load's summary. */
function parseH2load(out) {
  const fin = /finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const lat = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  if (!fin || !req || !codes) throw new Error(`cannot parse h2load output:\n${out}`);
  const [done, succeeded, failed, errored, timeout] = [req[3], req[4], req[5], req[6], req[7]].map(Number);
  const ok2xx = Number(codes[1]);
  const notOk = Math.max(done - ok2xx, failed + errored + timeout);
  return {
    qps: Number(fin[3]),
    total: Number(req[1]),
    done,
    succeeded,
    failed,
    errored,
    timeout,
    non2xx: done - ok2xx,
    lossPct: done > 0 ? (100 * notOk) / done : NaN,
    latencyMs: lat ? toMs(lat[5], lat[6]) : NaN,
  };
}

async function h2load(serverPid, port, seconds) {
  const urls = join(dir, `doh-urls-${port}.txt`);
  writeFileSync(
    urls,
    QUERIES.map((q) => `https://127.0.0.1:${port}/dns-query?dns=${wireQuery(q.name, q.type, 0).toString('base64url')}`).join('\n') + '\n',
  );
  const args = ['-c', String(CLIENTS), '-m', String(STREAMS), '-t', '1', '-D', String(seconds), '-i', urls, '-H', 'accept: application/dns-message'];
  const r = await run('h2load', args, { seconds, serverPid });
  if (r.code !== 0) throw new Error(`h2load ${args.join(' ')} failed (${r.signal ?? r.code}):\n${r.stdout}${r.stderr}`);
  const parsed = { ...parseH2load(r.stdout), ...r.cpu };
  if (parsed.done === 0) throw new Error(`h2load completed no request:\n${r.stdout}`);
  return parsed;
}


// ---------------------------------------------------------------- files
function writeCommonFiles() {
  writeFileSync(join(dir, 'bench.zone'), zoneFile());
  writeFileSync(join(dir, 'queries.txt'), dnsperfFile());
  const tls = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { encoding: 'utf8' },
  );
  if (tls.status !== 0) throw new Error(`openssl: ${tls.stderr}`);
}

// ---------------------------------------------------------------- servers
// Each start* returns { child, ports }; it throws when the server does not come up.

async function startEcho() {
  const port = await freePort();
  // The ceiling: receive, flip QR, send back. A synchronous lookup skips dns.lookup()'s
  // asynchronous round trip on every send; a 32 MB young generation cuts scavenges.
  const src = `const s = require('node:dgram').createSocket({ type: 'udp4', lookup: (a, f, cb) => cb(null, a, 4) });
s.on('message', (m, r) => { m[2] |= 0x80; s.send(m, r.port, r.address); });
s.bind(${port}, '127.0.0.1');`;
  const child = startServer('echo', process.execPath, ['--max-semi-space-size=32', '-e', src]);
  await waitUdp('echo', port, child);
  await verifyUdp('echo', port, { echo: true });
  return { child, ports: { dns: port } };
}

async function startNsd() {
  const port = await freePort();
  const d = join(dir, 'nsd');
  mkdirSync(d);
  const conf = join(d, 'nsd.conf');
  writeFileSync(
    conf,
    `server:
    ip-address: 127.0.0.1@${port}
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "${d}"
    database: ""
    zonelistfile: "${d}/zone.list"
    pidfile: "${d}/nsd.pid"
    xfrdfile: "${d}/xfrd.state"
    xfrdir: "${d}"
    verbosity: 0
    hide-version: yes
    # NSD answers with response-rate limiting by default: it drops most of a benchmark.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "${ORIGIN}"
    zonefile: "${join(dir, 'bench.zone')}"
`,
  );
  const child = startServer('nsd', 'nsd', ['-d', '-c', conf]);
  await waitUdp('nsd', port, child);
  await verifyUdp('nsd', port);
  await verifyTcp('nsd', port);
  return { child, ports: { dns: port } };
}

async function startKnot() {
  const port = await freePort();
  const d = join(dir, 'knot');
  mkdirSync(d);
  const conf = join(d, 'knot.conf');
  writeFileSync(
    conf,
    `server:
    rundir: "${d}"
    pidfile: "${d}/knot.pid"
    listen: 127.0.0.1@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "${d}"
log:
  - target: stderr
    any: warning
zone:
  - domain: ${ORIGIN}
    storage: "${dir}"
    file: "bench.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
`,
  );
  const child = startServer('knot', 'knotd', ['-c', conf]);
  await waitUdp('knot', port, child);
  await verifyUdp('knot', port);
  await verifyTcp('knot', port);
  return { child, ports: { dns: port } };
}

async function startUnbound() {
  const dohPort = await freePort();
  const d = join(dir, 'unbound');
  mkdirSync(d);
  const conf = join(d, 'unbound.conf');
  writeFileSync(
    conf,
    `server:
    interface: 127.0.0.1@${dohPort}
    https-port: ${dohPort}
    http-endpoint: "/dns-query"
    http-notls-downstream: no
    tls-service-key: "${join(dir, 'key.pem')}"
    tls-service-pem: "${join(dir, 'cert.pem')}"
    do-daemonize: no
    num-threads: 1
    so-reuseport: no
    incoming-num-tcp: 100
    username: ""
    chroot: ""
    directory: "${d}"
    pidfile: "${d}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    do-ip6: no
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
${unboundLocalData()}remote-control:
    control-enable: no
`,
  );
  const check = spawnSync('unbound-checkconf', [conf], { encoding: 'utf8' });
  if (check.status !== 0 && check.error === undefined) throw new Error(`unbound-checkconf: ${check.stdout}${check.stderr}`);
  const child = startServer('unbound', 'unbound', ['-d', '-c', conf]);
  await waitDoh('unbound', dohPort, child);
  await verifyDoh('unbound', dohPort);
  return { child, ports: { doh: dohPort } };
}

async function startOurs() {
  const ports = { http: await freePort(), https: await freePort(), dns: await freePort() };
  const conf = join(dir, 'bootstrap.toml');
  writeFileSync(
    conf,
    `[node]
name = "bench"
data_dir = "${join(dir, 'data')}"
[http]
listen = "127.0.0.1:${ports.http}"
[https]
listen = "127.0.0.1:${ports.https}"
cert = "${join(dir, 'cert.pem')}"
key = "${join(dir, 'key.pem')}"
[dns]
listen = "127.0.0.1:${ports.dns}"
zone_files = ["${join(dir, 'bench.zone')}"]
[log]
level = "warn"
`,
  );
  // As npm start runs it (scripts/start.mjs sets the same young-generation size).
  const child = startServer('ours', process.execPath, ['--max-semi-space-size=32', join(root, 'dist/server/main.js'), '--config', conf], { cwd: root });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitInfo) throw new Error(`ours exited (${child.exitInfo}):\n${logTail(child)}`);
    const ok = await fetch(`http://127.0.0.1:${ports.http}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`ours: /readyz did not answer 200 within 30s:\n${logTail(child)}`);
    await sleep(100);
  }
  await verifyUdp('ours', ports.dns);
  await verifyTcp('ours', ports.dns);
  await verifyDoh('ours', ports.https);
  return { child, ports };
}

// ---------------------------------------------------------------- the run
const rows = []; // { server, mode, qps, lossPct, latencyMs, cpuPct, loadCpuPct, raw }
const failures = []; // { server, error }
let oursFailed = false;

async function withServer(name, start, measure) {
  if (h.stopping) return false;
  log(`${name}: starting`);
  let srv;
  try {
    srv = await start();
  } catch (e) {
    log(`${name}: FAILED to start or to answer correctly: ${e.message}`);
    failures.push({ server: name, error: e.message });
    for (const c of live) if (c.logFile?.endsWith(`${name}.log`)) await stop(c);
    return false;
  }
  try {
    await measure(srv);
  } catch (e) {
    log(`${name}: FAILED during the measurement: ${e.message}`);
    failures.push({ server: name, error: e.message });
    return false;
  } finally {
    await stop(srv.child);
  }
  return true;
}

function add(server, mode, r) {
  rows.push({ server, mode, qps: r.qps, lossPct: r.lossPct, latencyMs: r.latencyMs, cpuPct: r.serverPct, loadCpuPct: r.loadPct, raw: r });
  log(`  ${mode}: ${Math.round(r.qps)} q/s, lost ${r.lossPct.toFixed(2)}%, avg ${r.latencyMs.toFixed(3)} ms, server CPU ${fmt(r.serverPct, 0)}%, load generator CPU ${fmt(r.loadPct, 0)}%`);
}

async function udp(name, s) {
  await dnsperf(s.child.pid, s.ports.dns, 'udp', WARMUP_SECONDS);
  add(name, 'UDP', await dnsperf(s.child.pid, s.ports.dns, 'udp', SECONDS));
}
/**
 * udpPaired measures ours and the echo ceiling in alternation, ROUNDS times each,
 * both servers running (the idle one costs nothing), and keeps the median run of
 * each: this VM's UDP figures move ±20% between runs a minute apart, which would
 * otherwise decide the ratio more than either server does.
 */
async function udpPaired(echo, ours) {
  const runs = { echo: [], ours: [] };
  for (const [name, s] of [['echo', echo], ['ours', ours]]) await dnsperf(s.child.pid, s.ports.dns, 'udp', WARMUP_SECONDS);
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, s] of [['echo', echo], ['ours', ours]]) {
      const r = await dnsperf(s.child.pid, s.ports.dns, 'udp', SECONDS);
      log(`  ${name} UDP round ${i + 1}: ${Math.round(r.qps)} q/s`);
      runs[name].push(r);
    }
  }
  pairedRatios = runs.ours.map((r, i) => r.qps / runs.echo[i].qps);
  for (const name of ['echo', 'ours']) {
    const sorted = [...runs[name]].sort((a, b) => a.qps - b.qps);
    const median = sorted[Math.floor(sorted.length / 2)];
    median.lost = runs[name].reduce((n, r) => n + r.lost, 0);
    add(name, `UDP (median of ${ROUNDS})`, median);
  }
}
const ROUNDS = 3;
let pairedRatios = [];
async function tcp(name, s) {
  add(name, 'TCP', await dnsperf(s.child.pid, s.ports.dns, 'tcp', SECONDS));
}
async function doh(name, s, port) {
  await h2load(s.child.pid, port, WARMUP_SECONDS);
  add(name, 'DoH', await h2load(s.child.pid, port, SECONDS));
}
// Fixed rate: what 20k q/s costs in CPU, and the latency when the server is not saturated.
async function fixedRate(name, s) {
  add(name, `UDP at ${FIXED_QPS / 1000}k q/s`, await dnsperf(s.child.pid, s.ports.dns, 'udp', SECONDS, ['-Q', String(FIXED_QPS)]));
}

async function main() {
  if (runOurs) {
    const state = buildState(root);
    if (!existsSync(join(root, 'dist/server/main.js'))) {
      log('ours: dist/server/main.js is missing: npm run build');
      const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
      if (b.status !== 0) {
        failures.push({ server: 'ours', error: `npm run build failed (${b.status ?? b.signal})` });
        oursFailed = true;
      }
    } else if (state.stale) log(`ours: warning: ${state.reason}; measuring the existing build (npm run build to refresh)`);
  }
  writeCommonFiles();
  log(`dns bench: ${SECONDS}s per run, ${QUERIES.length} queries over ${ORIGIN}, servers on core 0, load on core 1${hasTaskset ? '' : ' (NOT pinned: no taskset)'}`);

  if (runRefs) {
    await withServer('nsd', startNsd, async (s) => {
      await udp('nsd', s);
      await tcp('nsd', s);
    });
    await withServer('knot', startKnot, async (s) => {
      await udp('knot', s);
      await tcp('knot', s);
    });
    await withServer('unbound', startUnbound, async (s) => doh('unbound', s, s.ports.doh));
  }
  if (runOurs && !oursFailed) {
    const rest = async (s) => {
      await fixedRate('ours', s);
      await tcp('ours', s);
      await doh('ours', s, s.ports.https);
    };
    if (runRefs) {
      let ok = false;
      await withServer('echo', startEcho, async (e) => {
        ok = await withServer('ours', startOurs, async (s) => {
          await udpPaired(e, s);
          await rest(s);
        });
      });
      oursFailed = !ok;
    } else {
      oursFailed = !(await withServer('ours', startOurs, async (s) => {
        await udp('ours', s);
        await rest(s);
      }));
    }
  }
  report();
}

// ---------------------------------------------------------------- report
const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const fmt = (n, d) => (Number.isFinite(n) ? n.toFixed(d) : '–');
const find = (server, mode) => rows.find((r) => r.server === server && r.mode === mode);
const LABEL = { ours: 'nekoq-bootstrap', nsd: 'NSD 4', knot: 'Knot DNS 3', echo: 'node:dgram echo (ceiling)', unbound: 'Unbound (DoH)' };

function goals() {
  const ratio = (a, b) => (a && b ? a.qps / b.qps : NaN);
  const fixed = find('ours', `UDP at ${FIXED_QPS / 1000}k q/s`);
  const g = [];
  const add = (goal, figure, target, met, digits = 3) => g.push({ goal, figure, target, met: Number.isFinite(figure) ? met(figure) : undefined, digits });
  const oursUdp = find('ours', 'UDP') ?? find('ours', `UDP (median of ${ROUNDS})`);
  const echoUdp = find('echo', `UDP (median of ${ROUNDS})`);
  add('ours / NSD, UDP q/s', ratio(oursUdp, find('nsd', 'UDP')), '≥ 0.6', (x) => x >= 0.6);
  const echoRatio = ratio(oursUdp, echoUdp);
  add('ours / node:dgram echo, UDP q/s (and 0 loss)', echoRatio, '≥ 0.9, 0 lost', (x) => x >= 0.9 && oursUdp.raw.lost === 0);
  add(`ours CPU at ${FIXED_QPS / 1000}k q/s, % of one core`, fixed?.cpuPct ?? NaN, '≤ 60', (x) => x <= 60, 0);
  add(`ours avg latency at ${FIXED_QPS / 1000}k q/s, ms`, fixed?.latencyMs ?? NaN, '≤ 0.4', (x) => x <= 0.4, 3);
  add('ours / NSD, TCP q/s', ratio(find('ours', 'TCP'), find('nsd', 'TCP')), '≥ 1.0', (x) => x >= 1.0);
  add('ours / Unbound, DoH req/s', ratio(find('ours', 'DoH'), find('unbound', 'DoH')), '≥ 0.4', (x) => x >= 0.4);
  return g;
}

function report() {
  const out = [];
  out.push(`DNS benchmark: ${SECONDS} s per run, ${QUERIES.length}-query mix over ${ORIGIN} (1000 names; A, AAAA, TXT, MX), ` +
    `dnsperf -c ${CLIENTS} / h2load -c ${CLIENTS} -m ${STREAMS}; servers on core 0, load on core 1${hasTaskset ? '' : ' (unpinned)'}; Node ${process.version}`);
  out.push('');
  out.push('| server | mode | q/s | lost % | avg latency ms | server CPU % | load generator CPU % | avg response bytes |');
  out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    out.push(`| ${LABEL[r.server] ?? r.server} | ${r.mode} | ${fmtInt(r.qps)} | ${fmt(r.lossPct, 2)} | ${fmt(r.latencyMs, 3)} | ${fmt(r.cpuPct, 0)} | ${fmt(r.loadCpuPct, 0)} | ${fmt(r.raw.avgResponseBytes, 0)} |`);
  }
  out.push('');
  out.push('CPU: % of one core, sampled from /proc over the run less 0.2 s at each end. A load generator near 100% means the figure is');
  out.push('its ceiling, not the server\'s (one dnsperf thread on one core). DoH: HTTP/2 over TLS, GET ?dns=, h2load req/s.');
  out.push('Response bytes (dnsperf): Knot answers minimally (no authority/additional), NSD with them; the echo returns the query.');
  const g = goals();
  out.push('');
  out.push('| goal | figure | target | |');
  out.push('| --- | ---: | --- | --- |');
  for (const x of g) out.push(`| ${x.goal} | ${fmt(x.figure, x.digits)} | ${x.target} | ${x.met === undefined ? 'not measured' : x.met ? 'met' : 'NOT met'} |`);
  if (pairedRatios.length > 0) out.push(`\nours / echo in each alternating round: ${pairedRatios.map((r) => r.toFixed(3)).join(', ')}`);
  for (const f of failures) out.push(`\nFAILED: ${f.server}: ${f.error.split('\n').filter(Boolean).slice(0, 3).join(' | ').slice(0, 400)}`);
  console.log(out.join('\n'));
  if (opts.json) {
    const json = {
      setup: { seconds: SECONDS, clients: CLIENTS, doh_streams: STREAMS, fixed_qps: FIXED_QPS, queries: QUERIES.length, zone: ORIGIN, pinned: hasTaskset, node: process.version, only: opts.only },
      results: rows.map(({ raw, ...r }) => ({ ...r, detail: raw })),
      goals: g.map(({ digits, ...x }) => ({ ...x, figure: Number.isFinite(x.figure) ? Number(x.figure.toFixed(4)) : null })),
      failures,
    };
    writeFileSync(opts.json, JSON.stringify(json, null, 2) + '\n');
    log(`figures written to ${opts.json}`);
  }
}

let code = 0;
try {
  await main();
  code = oursFailed ? 2 : failures.length ? 1 : 0;
} catch (e) {
  log(`dns bench: ${e.stack ?? e}`);
  code = oursFailed ? 2 : 1;
}
await cleanup();
process.exit(code);
