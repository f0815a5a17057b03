// The process harness shared by the benchmarks: servers pinned to core 0 and load
// generators to core 1 (taskset), a temporary directory, CPU sampling from /proc, free
// ports, and clean-up of every child by pid (never by name), also on a signal.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** descendants lists the processes pid forked, and theirs (from /proc, every thread's children). */
export function descendants(pid) {
  const out = [];
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    } catch {}
    for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) out.push(k, ...descendants(k));
  }
  return out;
}

/**
 * createHarness sets up one benchmark run: `label` prefixes its messages, `tmpPrefix`
 * names its temporary directory (removed on exit). It installs exit and signal
 * handlers, so call it once per process.
 */
export function createHarness(label, tmpPrefix) {
  const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const pinned = (core, cmd, args) => (hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const log = (s) => process.stderr.write(`${s}\n`);

  // ---------------------------------------------------------------- processes and clean-up
  const dir = mkdtempSync(join(tmpdir(), tmpPrefix));
  const live = new Set(); // every child we started, servers and load generators

  const killPid = (pid, sig) => {
    try {
      process.kill(pid, sig);
    } catch {}
  };

  /** stop ends a child (and, should it linger, the processes it forked), by pid. */
  async function stop(child) {
    if (!live.has(child)) return;
    const kids = descendants(child.pid);
    const exited = new Promise((r) => child.once('exit', r));
    killPid(child.pid, 'SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!done) killPid(child.pid, 'SIGKILL');
    for (const k of kids) killPid(k, 'SIGKILL'); // a backstop for servers that fork (NSD's workers end with their parent)
    live.delete(child);
  }

  let stopping = false; // set on a signal: nothing new is started
  function cleanupSync() {
    for (const c of live) {
      const kids = descendants(c.pid);
      killPid(c.pid, 'SIGKILL');
      for (const k of kids) killPid(k, 'SIGKILL');
    }
    live.clear();
    rmSync(dir, { recursive: true, force: true });
  }
  async function cleanup() {
    await Promise.all([...live].map(stop));
    cleanupSync();
  }
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      log(`\n${label}: ${sig}, stopping servers`);
      cleanup().finally(() => process.exit(130));
    });
  }

  /** startServer spawns a server pinned to core 0, its output to <dir>/<name>.log. */
  function startServer(name, cmd, args, options = {}) {
    if (stopping) throw new Error('interrupted');
    const logFile = join(dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const [c, a] = pinned(0, cmd, args);
    const child = spawn(c, a, { stdio: ['ignore', fd, fd], ...options });
    closeSync(fd);
    live.add(child);
    child.exitInfo = undefined;
    child.once('exit', (code, signal) => {
      child.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
      live.delete(child);
    });
    child.once('error', (e) => {
      child.exitInfo = e.message;
      live.delete(child);
    });
    child.logFile = logFile;
    return child;
  }
  const logTail = (child) => {
    try {
      return readFileSync(child.logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
    } catch {
      return '';
    }
  };

  /**
   * run runs a load generator pinned to core 1 for about `seconds` and collects its output;
   * with serverPid, it also samples the CPU time of the server (and of the processes it
   * forked) and of the load generator between 0.2 s after the start and 0.2 s before the end.
   */
  function run(cmd, args, { seconds, serverPid, env } = {}) {
    const [c, a] = pinned(1, cmd, args);
    return new Promise((res, rej) => {
      if (stopping) return rej(new Error('interrupted'));
      const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...(env === undefined ? {} : { env: { ...process.env, ...env } }) });
      live.add(child);
      let cpu;
      if (serverPid && seconds) {
        const sample = () => ({ t: process.hrtime.bigint(), server: treeTicks(serverPid), load: treeTicks(child.pid) });
        let first;
        const t1 = setTimeout(() => (first = sample()), 200);
        const t2 = setTimeout(() => {
          const last = sample();
          const secs = Number(last.t - first.t) / 1e9;
          cpu = { serverPct: (100 * (last.server - first.server)) / CLK_TCK / secs, loadPct: (100 * (last.load - first.load)) / CLK_TCK / secs };
        }, Math.max(400, seconds * 1000 - 200));
        child.once('close', () => (clearTimeout(t1), clearTimeout(t2)));
      }
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.once('error', (e) => {
        live.delete(child);
        rej(e);
      });
      child.once('close', (code, signal) => {
        live.delete(child);
        res({ code, signal, stdout, stderr, cpu });
      });
    });
  }

  const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  /** cpuTicks is utime+stime of a whole process (all its threads) from /proc/<pid>/stat; 0 once it is gone. */
  function cpuTicks(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5)
    } catch {
      return 0;
    }
  }
  /** treeTicks adds the processes pid forked (NSD answers from a child process). */
  const treeTicks = (pid) => [pid, ...descendants(pid)].reduce((n, p) => n + cpuTicks(p), 0);

  // ---------------------------------------------------------------- ports
  const taken = new Set();
  async function tryPort(port) {
    const tcp = net.createServer();
    const ok = await new Promise((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, '127.0.0.1', () => r(true));
    });
    if (!ok) return 0;
    const got = tcp.address().port;
    const udp = dgram.createSocket('udp4');
    const udpOk = await new Promise((r) => {
      udp.once('error', () => r(false));
      udp.bind(got, '127.0.0.1', () => r(true));
    });
    await new Promise((r) => tcp.close(r));
    if (udpOk) await new Promise((r) => udp.close(r));
    return udpOk ? got : 0;
  }
  /** freePort returns a port free for both TCP and UDP on 127.0.0.1 (DNS listens on both). */
  async function freePort() {
    for (let i = 0; i < 50; i++) {
      const p = await tryPort(0);
      if (p && !taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
    throw new Error('no free port');
  }

  return {
    dir,
    live,
    hasTaskset,
    pinned,
    sleep,
    log,
    stop,
    cleanup,
    startServer,
    logTail,
    run,
    freePort,
    /** stopping is true once a signal arrived: nothing new is started. */
    get stopping() {
      return stopping;
    },
  };
}

/** missingTools lists the commands of `tools` that are not on the PATH. */
export function missingTools(tools) {
  return tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
}
