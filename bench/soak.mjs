// Soak (issue #9): the appliance under a steady mixed load from a second process —
// DNS over UDP, TCP and DoH, registrations, heartbeats, KV reads, writes, CAS and
// deletes, blocking queries — for --minutes (default 10). It reports RSS over time,
// throughput and latency per kind, errors, and lost acknowledged writes (checked
// live, then again after kill -9 and a restart on the same data directory).
//
//   npm run soak [-- --minutes 10 --scale 1 --seed 1]
//
// Exit 1 when there was an error, a lost write, or RSS after the warm-up was not
// flat: a minute's lowest sample more than 10% from the mean of those floors (see below). The server is pinned to core 0, the load to core 1.
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHarness } from './harness.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'soak-admin-token-00000000000000';
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : args[i + 1];
};

if (args.includes('--load')) await load(JSON.parse(opt('load')));
else await main();

// ---------------------------------------------------------------- the parent: server, RSS, verdict

async function main() {
  const minutes = Number(opt('minutes', '10'));
  const scale = Number(opt('scale', '1'));
  const seed = Number(opt('seed', '1'));
  const h = createHarness('soak', 'nekoq-soak-');
  const { log, sleep } = h;
  if (!existsSync(join(root, 'dist/server/main.js'))) throw new Error('dist/server/main.js is missing: npm run build');
  const ports = { http: await h.freePort(), dns: await h.freePort() };
  const conf = join(h.dir, 'bootstrap.toml');
  writeFileSync(
    conf,
    `[node]\nname = "soak"\ndata_dir = "${join(h.dir, 'data')}"\n[http]\nlisten = "127.0.0.1:${ports.http}"\n[dns]\nlisten = "127.0.0.1:${ports.dns}"\n` +
      `[dnssec]\nenabled = true\n[[auth.tokens]]\nname = "soak"\ntoken = "${TOKEN}"\nrole = "admin"\n[log]\nlevel = "warn"\n`,
  );
  const url = `http://127.0.0.1:${ports.http}`;
  const start = async () => {
    const child = h.startServer('appliance', process.execPath, ['--max-semi-space-size=32', join(root, 'dist/server/main.js'), '--config', conf], { cwd: root });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitInfo) throw new Error(`the appliance exited (${child.exitInfo}):\n${h.logTail(child)}`);
      if (await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false)) return child;
      if (Date.now() > deadline) throw new Error(`no /readyz within 30 s:\n${h.logTail(child)}`);
      await sleep(100);
    }
  };
  let server = await start();
  log(`soak: appliance pid ${server.pid} at ${url}, DNS ${ports.dns}; load for ${minutes} min at scale ${scale}`);

  const samples = [];
  const t0 = Date.now();
  const sample = async () => {
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
    const t = (Date.now() - t0) / 1000;
    // The JS heap in use and external memory (Buffers) from /metrics: a leak in JS shows there, not only in RSS.
    const m = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) }).then((r) => r.text(), () => '');
    const mb = (name) => {
      const line = m.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : +(Number(line.slice(name.length + 1)) / 1048576).toFixed(1);
    };
    // The bounded caches, to tell a cache still filling from a leak: summed over labels.
    const sum = (name) => m.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`)).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    samples.push({
      t,
      rssMb: rss,
      heapUsedMb: mb('nodejs_heap_size_used_bytes'),
      externalMb: mb('nodejs_external_memory_bytes'),
      signatures: sum('nekoq_dnssec_cached_signatures'),
      prebuilt: sum('nekoq_dns_prebuilt_answers'),
    });
  };
  await sample();
  const timer = setInterval(() => void sample(), 10_000);
  const stateFile = join(h.dir, 'acknowledged.json');
  const spec = { url, dnsPort: ports.dns, token: TOKEN, minutes, scale, seed, stateFile };
  const r = await h.run(process.execPath, [fileURLToPath(import.meta.url), '--load', JSON.stringify(spec)], {});
  clearInterval(timer);
  await sample();
  if (r.code !== 0) log(`load generator exited ${r.code}:\n${r.stderr.slice(-3000)}`);
  process.stderr.write(r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').pop());

  // The limits hit during the run (none expected) and the responder's counters.
  const metrics = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const notable = metrics.split('\n').filter((l) => /^nekoq_(limit_hits_total|dns_responses_total|dns_rrl_limited_total|dns_tcp_rejected_total)/.test(l) && !/ 0$/.test(l));
  log(`metrics at the end:\n  ${notable.join('\n  ')}`);

  // kill -9 and a restart on the same data: every acknowledged KV write is still there.
  server.kill('SIGKILL');
  await new Promise((res) => (server.exitInfo ? res() : server.once('exit', res)));
  h.live.delete(server);
  server = await start();
  const acked = JSON.parse(readFileSync(stateFile, 'utf8'));
  let lostAfterKill = 0;
  for (const [key, value] of Object.entries(acked.kv)) {
    const got = await kvGet(url, TOKEN, key);
    if (got !== value) {
      lostAfterKill++;
      if (lostAfterKill <= 5) log(`  after kill -9: ${key} is ${JSON.stringify(got)}, acknowledged ${JSON.stringify(value)}`);
    }
  }
  await h.stop(server);

  // RSS after the warm-up. Garbage collection makes a sawtooth: the JS heap grows by
  // tens of MiB between major collections and shrinks again. A leak raises the floor
  // of the sawtooth, so the verdict is on each whole minute's lowest sample (its
  // floor): every floor within ±10% of their mean. The largest deviation of any one sample
  // (a GC peak) is reported beside it.
  const warm = Math.min(120, minutes * 60 * 0.2);
  const after = samples.filter((s) => s.t >= warm);
  const mean = after.reduce((n, s) => n + s.rssMb, 0) / Math.max(1, after.length);
  const worst = after.reduce((w, s) => Math.max(w, Math.abs(s.rssMb - mean) / mean), 0);
  // Whole minutes of load only: the last samples (the end of the load, the one taken after it) make no minute.
  const floors = [];
  const counted = [];
  for (const s of after) {
    const m = Math.floor((s.t - warm) / 60);
    floors[m] = Math.min(floors[m] ?? Infinity, s.rssMb);
    counted[m] = (counted[m] ?? 0) + 1;
  }
  const floorList = floors.filter((f, m) => f !== undefined && counted[m] >= 6);
  const floorMean = floorList.reduce((n, f) => n + f, 0) / Math.max(1, floorList.length);
  const floorWorst = floorList.reduce((w, f) => Math.max(w, Math.abs(f - floorMean) / floorMean), 0);
  const first = after[0]?.rssMb ?? mean;
  const flat = floorWorst <= 0.1;
  log('\nRSS / JS heap used / external (MiB), cached signatures / prebuilt answers, every 10 s:');
  for (let i = 0; i < samples.length; i += 3) {
    log('  ' + samples.slice(i, i + 3).map((s) => `${s.t.toFixed(0).padStart(4)} s ${s.rssMb.toFixed(0).padStart(4)} ${String(s.heapUsedMb ?? '-').padStart(6)} ${String(s.externalMb ?? '-').padStart(5)} ${String(s.signatures).padStart(6)} ${String(s.prebuilt).padStart(6)}`).join('   '));
  }
  log(
    `after the ${warm} s warm-up: mean ${mean.toFixed(1)} MiB, min ${Math.min(...after.map((s) => s.rssMb)).toFixed(1)}, max ${Math.max(...after.map((s) => s.rssMb)).toFixed(1)}, ` +
      `last/first ${((samples.at(-1).rssMb / first - 1) * 100).toFixed(1)}%, largest deviation of a sample from the mean ${(worst * 100).toFixed(1)}% (GC peaks)`,
  );
  log(
    `floor of each minute: ${floorList.map((f) => f.toFixed(0)).join(' ')} MiB; mean ${floorMean.toFixed(1)}, largest deviation ${(floorWorst * 100).toFixed(1)}% → ${flat ? 'flat' : 'NOT flat'}`,
  );
  log(`lost acknowledged writes: live ${report.lost}, after kill -9 and restart ${lostAfterKill} (of ${Object.keys(acked.kv).length} keys)`);
  const ok = report.errors === 0 && report.lost === 0 && lostAfterKill === 0 && flat;
  console.log(JSON.stringify({ ...report, rss: { warmupSeconds: warm, meanMb: +mean.toFixed(1), worstDeviation: +worst.toFixed(3), floorsMb: floorList.map((f) => +f.toFixed(1)), floorWorstDeviation: +floorWorst.toFixed(3), samples }, lostAfterKill, ok }));
  await h.cleanup();
  process.exit(ok ? 0 : 1);
}

async function kvGet(url, token, key) {
  const r = await fetch(`${url}/v1/kv/${key}`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status === 404) return null;
  const e = await r.json();
  return e.encoding === 'base64' ? Buffer.from(e.value, 'base64').toString() : e.value;
}

// ---------------------------------------------------------------- the load generator (second process)

async function load(spec) {
  const { url, dnsPort, token, minutes, scale, stateFile } = spec;
  let seed = spec.seed >>> 0;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (n) => Math.floor(rnd() * n);
  const auth = { authorization: `Bearer ${token}` };
  const say = (s) => process.stderr.write(`${s}\n`);

  // Per kind: done, errors, expected outcomes (a CAS that was meant to fail; a truncated UDP answer, asked again over TCP as dns-tc-retry), latencies (ms, a bounded reservoir).
  const stats = {};
  const kind = (k) => (stats[k] ??= { done: 0, errors: 0, expected: 0, lat: [], skipped: 0 });
  const errorsSeen = [];
  const record = (k, ms, err) => {
    const s = kind(k);
    s.done++;
    if (s.lat.length < 20_000) s.lat.push(ms);
    else s.lat[pick(20_000)] = ms;
    if (err !== undefined) {
      s.errors++;
      if (errorsSeen.length < 30) errorsSeen.push(`${k}: ${err}`);
    }
  };
  const http = async (method, path, body, headers = {}) => {
    const r = await fetch(url + path, { method, headers: { ...auth, ...headers }, body, signal: AbortSignal.timeout(15_000) });
    const text = await r.text();
    return { status: r.status, text, headers: r.headers };
  };

  // Fixed data: a zone with a record, a stable service of three instances (heartbeats keep it).
  const put = await http('POST', '/v1/zones', JSON.stringify({ name: 'soak.test.' }), { 'content-type': 'application/json' });
  if (put.status !== 201) throw new Error(`creating the zone: ${put.status} ${put.text}`);
  const rr = await http('PUT', '/v1/zones/soak.test./records/www/A', JSON.stringify({ ttl: 60, values: ['192.0.2.10'] }), { 'content-type': 'application/json' });
  if (rr.status !== 200) throw new Error(`adding a record: ${rr.status} ${rr.text}`);

  // ------------------------------------------------------------ registry state
  const live = new Map(); // "name/id" -> { name, id, busy }
  let nextId = 0;
  const register = async (name, id) => {
    const t = performance.now();
    const r = await http('PUT', `/v1/services/discovery/${name}/instances/${id}`, JSON.stringify({ address: `10.1.${pick(250)}.${1 + pick(250)}`, port: 8000 + pick(1000), ttl: 15 }), { 'content-type': 'application/json' }).catch((e) => ({ status: 0, text: e.message }));
    record('register', performance.now() - t, r.status === 200 ? undefined : `${r.status} ${r.text.slice(0, 120)}`);
    if (r.status === 200) live.set(`${name}/${id}`, { name, id, renewedAt: Date.now(), busy: false });
  };
  for (let i = 0; i < 3; i++) await register('stable', `s${i}`);

  // ------------------------------------------------------------ KV state: one write in flight per key
  const KEYS = 2000;
  const kv = new Map(); // key -> { value: string|null, busy }
  for (let i = 0; i < KEYS; i++) kv.set(`soak/k${i}`, { value: null, busy: false });
  let writes = 0;

  // ------------------------------------------------------------ DNS clients
  const pending = new Map(); // id -> { expect, sent, kind }
  let nextDnsId = 1;
  const encode = (id, name, type) => {
    const labels = name.split('.').filter(Boolean);
    const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 1) + 4 + 11);
    q.writeUInt16BE(id, 0);
    q.writeUInt16BE(0x0100, 2);
    q.writeUInt16BE(1, 4);
    q.writeUInt16BE(1, 10);
    let o = 12;
    for (const l of labels) {
      q[o++] = l.length;
      o += q.write(l, o, 'latin1');
    }
    q[o++] = 0;
    q.writeUInt16BE(type, o);
    q.writeUInt16BE(1, o + 2);
    o += 4;
    // OPT: payload 1232, DO on one query in four.
    q[o] = 0;
    q.writeUInt16BE(41, o + 1);
    q.writeUInt16BE(1232, o + 3);
    q.writeUInt16BE(id % 4 === 0 ? 0x8000 : 0, o + 7);
    return q;
  };
  // What a name must get: rcode (or a set of them) and, for fixed data, a piece of the answer.
  const question = () => {
    const r = rnd();
    if (r < 0.35) return { name: 'www.soak.test', type: 1, rcodes: [0], has: Buffer.from([192, 0, 2, 10]) };
    if (r < 0.5) return { name: `nx${pick(1e9)}.soak.test`, type: 1, rcodes: [3] };
    if (r < 0.75) return { name: 'stable.discovery.nekoq.internal', type: 1, rcodes: [0], minAnswers: 3 };
    if (r < 0.85) return { name: '_stable._tcp.discovery.nekoq.internal', type: 33, rcodes: [0], minAnswers: 3 };
    return { name: `svc${pick(40)}.discovery.nekoq.internal`, type: rnd() < 0.5 ? 1 : 33, rcodes: [0, 3] };
  };
  const checkAnswer = (m, p) => {
    if (m.length < 12 || (m[2] & 0x80) === 0) return 'not a response';
    const rcode = m[3] & 0x0f;
    if (!p.q.rcodes.includes(rcode)) return `${p.q.name}: rcode ${rcode}`;
    if ((m[2] & 0x02) !== 0) return `${p.q.name}: truncated`;
    const an = m.readUInt16BE(6);
    if (p.q.minAnswers !== undefined && an < p.q.minAnswers) return `${p.q.name}: ${an} answers`;
    if (p.q.has !== undefined && m.indexOf(p.q.has, 12) === -1) return `${p.q.name}: answer lacks the address`;
    return undefined;
  };
  // `wire` is 'udp' or 'tcp'; the kind recorded is the query's own (a TCP retry of a truncated answer is 'dns-tc-retry').
  const settle = (m, wire) => {
    if (m.length < 2) return;
    const id = m.readUInt16BE(0);
    const p = pending.get(id);
    if (p === undefined || p.wire !== wire) return;
    pending.delete(id);
    if (wire === 'udp' && m.length >= 12 && (m[2] & 0x82) === 0x82 && p.q.rcodes.includes(m[3] & 0x0f)) {
      // Truncated (TC): a real client asks again over TCP (RFC 7766 §5), and so does the soak, checking that answer.
      record(p.transport, performance.now() - p.sent, undefined);
      kind(p.transport).expected++;
      sendDns('dns-tc-retry', p.q);
      return;
    }
    record(p.transport, performance.now() - p.sent, checkAnswer(m, p));
  };
  const newId = () => {
    for (;;) {
      nextDnsId = (nextDnsId + 1) & 0xffff || 1;
      if (!pending.has(nextDnsId)) return nextDnsId;
    }
  };
  const udp = createSocket('udp4');
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  udp.on('message', (m) => settle(m, 'udp'));
  const tcpConns = await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise((resolve, reject) => {
          const s = net.connect(dnsPort, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
          let buf = Buffer.alloc(0);
          s.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
              settle(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
              buf = buf.subarray(2 + buf.readUInt16BE(0));
            }
          });
        }),
    ),
  );
  // A connection closed while the load runs is an error (each one gets a query every ~30 ms, far from the idle timeout).
  let loadRunning = true;
  for (const s of tcpConns) s.on('close', () => loadRunning && record('dns-tcp', 0, 'a connection closed'));
  let nextConn = 0;
  const sendDns = (transport, q = question()) => {
    const id = newId();
    const msg = encode(id, q.name, q.type);
    const p = { q, sent: performance.now(), transport, wire: transport === 'dns-udp' ? 'udp' : 'tcp' };
    pending.set(id, p);
    if (transport === 'dns-udp') udp.send(msg, dnsPort, '127.0.0.1');
    else if (transport === 'dns-tcp' || transport === 'dns-tc-retry') {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      tcpConns[nextConn++ % tcpConns.length].write(Buffer.concat([len, msg]));
    } else {
      pending.delete(id);
      const t = performance.now();
      const get = id % 2 === 0;
      const req = get
        ? fetch(`${url}/dns-query?dns=${msg.toString('base64url')}`, { headers: { accept: 'application/dns-message' }, signal: AbortSignal.timeout(10_000) })
        : fetch(`${url}/dns-query`, { method: 'POST', headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' }, body: msg, signal: AbortSignal.timeout(10_000) });
      return req.then(
        async (r) => {
          const body = Buffer.from(await r.arrayBuffer());
          record('doh', performance.now() - t, r.status !== 200 ? `status ${r.status}` : body.readUInt16BE(0) !== id ? 'wrong id' : checkAnswer(body, p));
        },
        (e) => record('doh', performance.now() - t, e.message),
      );
    }
  };
  // Unanswered DNS queries older than 3 s are errors.
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const [id, p] of pending) {
      if (now - p.sent > 3000) {
        pending.delete(id);
        record(p.transport, now - p.sent, `${p.q.name}: no answer in 3 s`);
      }
    }
  }, 500);

  // ------------------------------------------------------------ HTTP operations (bounded concurrency)
  let inFlight = 0;
  const MAX_IN_FLIGHT = 48;
  const guarded = (k, f) => {
    if (inFlight >= MAX_IN_FLIGHT) {
      kind(k).skipped++;
      return;
    }
    inFlight++;
    f()
      .catch((e) => record(k, 0, e.message))
      .finally(() => inFlight--);
  };
  const kvOp = async () => {
    const key = `soak/k${pick(KEYS)}`;
    const st = kv.get(key);
    if (st.busy) return;
    st.busy = true;
    try {
      const r = rnd();
      const t = performance.now();
      if (r < 0.3) {
        const g = await http('GET', `/v1/kv/${key}`);
        const got = g.status === 404 ? null : g.status === 200 ? JSON.parse(g.text).value : undefined;
        record('kv-get', performance.now() - t, got === st.value ? undefined : `${key}: ${g.status} ${String(got).slice(0, 40)}, expected ${st.value}`);
      } else if (r < 0.75) {
        const value = `v${++writes}-${pick(1e9)}`.padEnd(16 + pick(400), 'x');
        const p = await http('PUT', `/v1/kv/${key}`, value);
        record('kv-put', performance.now() - t, p.status === 200 && p.text.trim() === 'true' ? undefined : `${p.status} ${p.text.slice(0, 100)}`);
        if (p.status === 200) st.value = value;
      } else if (r < 0.9) {
        // CAS: with the index just read it must succeed; with an older one it must fail and change nothing.
        const g = await http('GET', `/v1/kv/${key}`);
        const index = g.status === 200 ? JSON.parse(g.text).modifyIndex : 0;
        const value = `c${++writes}`;
        if (rnd() < 0.2 && index > 0) {
          const c = await http('PUT', `/v1/kv/${key}?cas=${index - 1}`, value);
          if (c.status === 200 && c.text.trim() === 'false') kind('kv-cas').expected++;
          record('kv-cas', performance.now() - t, c.status === 200 && c.text.trim() === 'false' ? undefined : `stale cas: ${c.status} ${c.text.slice(0, 80)}`);
        } else {
          const c = await http('PUT', `/v1/kv/${key}?cas=${index}`, value);
          record('kv-cas', performance.now() - t, c.status === 200 && c.text.trim() === 'true' ? undefined : `cas: ${c.status} ${c.text.slice(0, 80)}`);
          if (c.status === 200 && c.text.trim() === 'true') st.value = value;
        }
      } else {
        const d = await http('DELETE', `/v1/kv/${key}`);
        record('kv-delete', performance.now() - t, d.status === 200 ? undefined : `${d.status} ${d.text.slice(0, 100)}`);
        if (d.status === 200) st.value = null;
      }
    } finally {
      st.busy = false;
    }
  };
  const churn = async () => {
    // Keep about 300 churned instances: register new ones, deregister random ones past that.
    const churned = [...live.values()].filter((i) => i.name !== 'stable' && !i.busy);
    if (churned.length > 300 || (churned.length > 0 && rnd() < 0.4)) {
      const inst = churned[pick(churned.length)];
      inst.busy = true;
      const t = performance.now();
      const r = await http('DELETE', `/v1/services/discovery/${inst.name}/instances/${inst.id}`);
      record('deregister', performance.now() - t, r.status === 204 ? undefined : `${r.status} ${r.text.slice(0, 100)}`);
      if (r.status === 204) live.delete(`${inst.name}/${inst.id}`);
      inst.busy = false;
    } else {
      await register(`svc${pick(40)}`, `i${nextId++}`);
    }
  };
  const heartbeat = async (inst) => {
    inst.busy = true;
    const t = performance.now();
    const r = await http('PUT', `/v1/services/discovery/${inst.name}/instances/${inst.id}/heartbeat`);
    record('heartbeat', performance.now() - t, r.status === 200 ? undefined : `${inst.name}/${inst.id}: ${r.status} ${r.text.slice(0, 100)}`);
    if (r.status === 200) inst.renewedAt = Date.now();
    inst.busy = false;
  };
  // Blocking queries: four watchers of the KV prefix, each waiting up to 5 s for a change.
  let watching = true;
  const watcher = async () => {
    let index = 0;
    while (watching) {
      const t = performance.now();
      try {
        const r = await http('GET', `/v1/kv/soak/?keys&index=${index}&wait=5s`);
        record('blocking', performance.now() - t, r.status === 200 || r.status === 404 ? undefined : `${r.status} ${r.text.slice(0, 100)}`);
        index = Number(r.headers.get('x-nekoq-index') ?? index);
      } catch (e) {
        record('blocking', performance.now() - t, e.message);
      }
    }
  };
  const watchers = [0, 1, 2, 3].map(watcher);

  // ------------------------------------------------------------ the schedule: per 10 ms tick
  const rates = { 'dns-udp': 1500, 'dns-tcp': 150, doh: 150, kv: 250, churn: 20 };
  for (const k of Object.keys(rates)) rates[k] *= scale;
  const carry = Object.fromEntries(Object.keys(rates).map((k) => [k, 0]));
  const endAt = Date.now() + minutes * 60_000;
  const started = Date.now();
  let lastReport = started;
  while (Date.now() < endAt) {
    for (const k of Object.keys(rates)) {
      carry[k] += rates[k] / 100;
      for (; carry[k] >= 1; carry[k]--) {
        if (k === 'kv') guarded('kv', kvOp);
        else if (k === 'churn') guarded('churn', churn);
        else if (k === 'doh') guarded('doh', () => sendDns('doh'));
        else sendDns(k);
      }
    }
    // Heartbeats: every instance renewed 5 s after its last renewal (its lease is 15 s).
    const now = Date.now();
    for (const inst of live.values()) if (!inst.busy && now - inst.renewedAt > 5000) guarded('heartbeat', () => heartbeat(inst));
    if (now - lastReport >= 60_000) {
      lastReport = now;
      const totalErr = Object.values(stats).reduce((n, s) => n + s.errors, 0);
      say(`  ${((now - started) / 60000).toFixed(0)} min: ${Object.entries(stats).map(([k, s]) => `${k} ${s.done}`).join(', ')}; errors ${totalErr}; live instances ${live.size}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = (Date.now() - started) / 1000;
  watching = false;
  loadRunning = false;
  await Promise.all(watchers);
  for (let i = 0; i < 500 && (inFlight > 0 || pending.size > 0); i++) await new Promise((r) => setTimeout(r, 10));
  clearInterval(sweeper);

  // ------------------------------------------------------------ verification: every acknowledged write is there
  let lost = 0;
  for (const [key, st] of kv) {
    const got = await kvGet(url, token, key);
    if (got !== st.value) {
      lost++;
      if (lost <= 5) say(`  lost: ${key} is ${JSON.stringify(got)?.slice(0, 40)}, acknowledged ${JSON.stringify(st.value)?.slice(0, 40)}`);
    }
  }
  const services = new Map();
  for (const inst of live.values()) {
    if (!services.has(inst.name)) {
      const r = await http('GET', `/v1/services/discovery/${inst.name}`);
      services.set(inst.name, new Set(r.status === 200 ? JSON.parse(r.text).instances.map((i) => i.id) : []));
    }
    if (!services.get(inst.name).has(inst.id)) {
      lost++;
      if (lost <= 10) say(`  lost: instance ${inst.name}/${inst.id} registered and renewed, not listed`);
    }
  }
  writeFileSync(stateFile, JSON.stringify({ kv: Object.fromEntries([...kv].map(([k, s]) => [k, s.value])) }));
  udp.close();
  for (const s of tcpConns) s.destroy();

  const pct = (a, p) => (a.length === 0 ? 0 : [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))]);
  const kinds = {};
  say(`\nsoak: ${seconds.toFixed(0)} s of load`);
  say('  kind         ops      ops/s    p50 ms   p99 ms   errors  expected  skipped');
  for (const [k, s] of Object.entries(stats).sort()) {
    kinds[k] = { ops: s.done, perSecond: +(s.done / seconds).toFixed(1), p50ms: +pct(s.lat, 50).toFixed(2), p99ms: +pct(s.lat, 99).toFixed(2), errors: s.errors, expected: s.expected, skipped: s.skipped };
    say(`  ${k.padEnd(10)} ${String(s.done).padStart(8)} ${kinds[k].perSecond.toFixed(1).padStart(9)} ${kinds[k].p50ms.toFixed(2).padStart(9)} ${kinds[k].p99ms.toFixed(2).padStart(8)} ${String(s.errors).padStart(8)} ${String(s.expected).padStart(9)} ${String(s.skipped).padStart(8)}`);
  }
  const errors = Object.values(stats).reduce((n, s) => n + s.errors, 0);
  for (const e of errorsSeen) say(`  error: ${e}`);
  say(`  live instances at the end ${live.size}; KV keys written ${writes}; lost acknowledged writes ${lost}`);
  console.log(JSON.stringify({ seconds: +seconds.toFixed(0), errors, lost, kinds, liveInstances: live.size }));
  process.exit(0);
}
