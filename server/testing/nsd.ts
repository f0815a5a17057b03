// A real NSD (4.6) as a reference authoritative server for integration tests:
// the same zone file served by NSD and by the appliance must give the same
// answers (compare them with query() from dns-clients.ts).
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnDaemon } from './daemon';
import { query } from './dns-clients';

/** NsdServer is a running NSD on address:port (UDP and TCP). */
export interface NsdServer {
  /** The address NSD listens on (default 127.0.0.1). */
  readonly address: string;
  readonly port: number;
  /** stderr returns what NSD has logged so far. */
  stderr(): string;
  /** stop terminates NSD (SIGTERM, then SIGKILL after 3 s) and removes its temporary directory. */
  stop(): Promise<void>;
}

export interface NsdOptions {
  /** refuse-any: yes (NSD then sets TC on UDP ANY queries; see the test for what 4.6.1 really does). */
  refuseAny?: boolean;
  /** minimal-responses: yes (additional data only where needed, e.g. referral glue). */
  minimalResponses?: boolean;
  /** Extra lines for the server: clause, e.g. ['hide-version: yes']. */
  serverLines?: string[];
  /** How long to wait for every zone's SOA to answer, in ms (default 10000). */
  readyTimeoutMs?: number;
  /** IPv4 address to listen on (default 127.0.0.1). */
  address?: string;
  /** Port to listen on (default: a free one, retried when taken meanwhile); a given port is tried once. */
  port?: number;
}

const BIND_ATTEMPTS = 5;

/**
 * startNsd runs `nsd -d` in the foreground on 127.0.0.1 (or opts.address) and
 * a free port (or opts.port), with one server process, no chroot, no database,
 * no remote control, no rate limiting and no zone-file write-back, everything
 * it writes kept in a temporary directory. It resolves once every zone
 * answers its SOA query with NOERROR and AA. It rejects with nsd-checkzone's
 * or nsd-checkconf's message when a zone or the configuration is invalid, and
 * with NSD's stderr when NSD exits or does not become ready in time.
 */
export async function startNsd(zones: { name: string; file: string }[], opts: NsdOptions = {}): Promise<NsdServer> {
  if (zones.length === 0) throw new Error('startNsd: no zones');
  for (const z of zones) {
    const r = await runTool('nsd-checkzone', [z.name, resolve(z.file)]);
    if (r.code !== 0) throw new Error(`nsd-checkzone ${z.name} ${z.file}: ${(r.stderr + r.stdout).trim()}`);
  }
  const address = opts.address ?? '127.0.0.1';
  if (opts.port !== undefined) return launch(zones, opts, address, opts.port);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = await freePort(address);
    try {
      return await launch(zones, opts, address, port);
    } catch (e) {
      lastError = e as Error;
      if (!/bind|address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function launch(zones: { name: string; file: string }[], opts: NsdOptions, address: string, port: number): Promise<NsdServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nekoq-nsd-'));
  const conf = join(dir, 'nsd.conf');
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    'server:',
    `  ip-address: ${address}`,
    `  port: ${port}`,
    '  server-count: 1',
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: ${q(dir)}`,
    `  pidfile: ${q(join(dir, 'nsd.pid'))}`,
    `  xfrdfile: ${q(join(dir, 'xfrd.state'))}`,
    `  xfrdir: ${q(dir)}`,
    `  zonelistfile: ${q(join(dir, 'zone.list'))}`,
    '  database: ""',
    '  zonefiles-write: 0',
    '  verbosity: 0',
    '  rrl-ratelimit: 0',
    '  rrl-whitelist-ratelimit: 0',
    `  minimal-responses: ${opts.minimalResponses ? 'yes' : 'no'}`,
    `  refuse-any: ${opts.refuseAny ? 'yes' : 'no'}`,
    ...(opts.serverLines ?? []).map((l) => `  ${l}`),
    'remote-control:',
    '  control-enable: no',
    ...zones.flatMap((z) => ['zone:', `  name: ${q(z.name)}`, `  zonefile: ${q(resolve(z.file))}`]),
    '',
  ];
  writeFileSync(conf, lines.join('\n'));
  const check = await runTool('nsd-checkconf', [conf]);
  if (check.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nsd-checkconf: ${(check.stderr + check.stdout).trim()}`);
  }

  const daemon = spawnDaemon('nsd', 'nsd', ['-d', '-c', conf], dir);
  const { exited, spawnError, cleanup } = daemon;

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10000);
  const pending = new Set(zones.map((z) => z.name));
  let last = '';
  try {
    while (pending.size > 0) {
      if (daemon.gone()) throw new Error(`nsd exited with ${await exited} before it was ready (${address} port ${port}): ${daemon.output().trim()}`);
      if (Date.now() > deadline) throw new Error(`nsd not ready after ${opts.readyTimeoutMs ?? 10000} ms (${address} port ${port}; last: ${last}): ${daemon.output().trim()}`);
      for (const name of [...pending]) {
        try {
          const r = await Promise.race([query('dig', 'udp', { host: address, port }, name, 'SOA', { timeoutSec: 1 }), spawnError]);
          if (r.rcode === 'NOERROR' && r.flags.includes('aa') && r.answer.length > 0) pending.delete(name);
          else last = `${name} SOA: ${r.rcode} ${r.flags.join(' ')}`;
        } catch (e) {
          last = (e as Error).message.split('\n')[0]!;
          if (/running nsd/.test(last)) throw e;
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    stderr: () => daemon.output(),
    stop: () => (stopping ??= cleanup()),
  };
}

/** freePort finds a port that is free for both TCP and UDP on `address` (it may be taken again before use). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const s = createServer();
      s.once('error', rej);
      s.listen(0, address, () => {
        const a = s.address();
        s.close(() => (typeof a === 'object' && a !== null ? res(a.port) : rej(new Error('no port'))));
      });
    });
    const udpFree = await new Promise<boolean>((res) => {
      const u = createSocket('udp4');
      u.once('error', () => res(false));
      u.bind(port, address, () => u.close(() => res(true)));
    });
    if (udpFree) return port;
  }
}

/** runTool runs a command-line tool to its end (10 s at most) and resolves with its exit code and output; it rejects only when the tool is not installed. */
export function runTool(file: string, args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    execFile(file, args, { timeout: 10000 }, (e, stdout, stderr) => {
      if (e === null) return res({ code: 0, stdout, stderr });
      const ee = e as NodeJS.ErrnoException & { code?: number | string };
      if (ee.code === 'ENOENT') return rej(new Error(`running ${file}: not installed`));
      res({ code: typeof ee.code === 'number' ? ee.code : String(ee.code ?? e.message), stdout, stderr });
    });
  });
}
