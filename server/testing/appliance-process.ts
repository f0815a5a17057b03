import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Tokens every test appliance accepts, one per role. */
export const TEST_TOKENS = {
  admin: 'test-admin-token-0000000000',
  register: 'test-register-token-00000000',
  kv: 'test-kv-token-000000000000000',
  read: 'test-read-token-000000000000',
} as const;

const ROOT = join(__dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'server', 'main.js');

/** The [auth] tokens block matching TEST_TOKENS. */
export const TOKENS_TOML = Object.entries(TEST_TOKENS)
  .map(([role, token]) => `[[auth.tokens]]\nname = "${role}"\ntoken = "${token}"\nrole = "${role}"\n`)
  .join('\n');

export interface ApiResult {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

export interface ApplianceProcess {
  readonly proc: ChildProcess;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly dataDir: string;
  readonly configFile: string;
  /** JSON log lines seen so far (stdout). */
  readonly logs: Record<string, unknown>[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The listeners of the "ready" log line by name (http, https, dns-udp, dns-tcp) as host:port. */
  readonly listeners: Readonly<Record<string, string>>;
  /** ms from spawn to the "ready" log line. */
  readonly readyAfterMs: number;
  /** exited resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** api calls the HTTP API with a role's token (admin by default; null for none). */
  api(
    method: string,
    path: string,
    opts?: { role?: keyof typeof TEST_TOKENS | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<ApiResult>;
  /** stop sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | string>;
  /** kill9 kills the process without warning and waits for it to be gone. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  /** Extra TOML appended to the generated config (http on 127.0.0.1:0, a temp data dir, TEST_TOKENS). */
  readonly toml?: string;
  /** Reuse a data directory (for restart tests); a new temp one otherwise. */
  readonly dataDir?: string;
  /** Extra keys of the generated [dns] section (which already sets listen = "127.0.0.1:0"). */
  readonly dnsToml?: string;
  /** Replace the generated config entirely. */
  readonly rawConfig?: string;
  /** Sections to leave out of the generated config (e.g. to add a [http] of one's own). */
  readonly omitHttp?: boolean;
  /** [node] name; "test-node" unless given. */
  readonly name?: string;
  /** [node] shutdown_timeout (the drain); "3s" unless given. */
  readonly shutdownTimeout?: string;
}

/** tempDir makes a directory that removeTemp deletes. */
export function tempDir(prefix = 'nekoq-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** How long a start may take before it is taken for hung (a normal one takes 1–3 s, 10 s on a loaded machine). */
const READY_TIMEOUT_MS = 90_000;

/**
 * startAppliance runs the compiled server (dist/server/main.js) as its own process
 * on 127.0.0.1 port 0 with a temporary data directory, and resolves once it has
 * logged "ready" (rejects if it exits first, or is not ready within READY_TIMEOUT_MS).
 */
export async function startAppliance(opts: StartOptions = {}): Promise<ApplianceProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const configFile = join(tempDir('nekoq-conf-'), 'bootstrap.toml');
  const toml =
    opts.rawConfig ??
    [
      `[node]\nname = "${opts.name ?? 'test-node'}"\ndata_dir = "${dataDir}"\nshutdown_timeout = "${opts.shutdownTimeout ?? '3s'}"`,
      opts.omitHttp ? '' : '[http]\nlisten = "127.0.0.1:0"',
      `[dns]\nlisten = "127.0.0.1:0"\n${opts.dnsToml ?? ''}`,
      TOKENS_TOML,
      opts.toml ?? '',
    ].join('\n');
  writeFileSync(configFile, toml);
  const started = performance.now();
  const proc = spawn(process.execPath, [MAIN, '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const ready = new Promise<{ url: string; at: number; listeners: Record<string, string> }>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          logs.push(rec);
          if (rec.msg === 'ready') {
            const listeners = rec.listeners as Record<string, string>;
            resolve({ url: `http://${listeners.http}`, at: performance.now(), listeners });
          }
        } catch {
          logs.push({ unparsed: line });
        }
      }
    });
    void exited.then((code) => reject(new Error(`appliance exited with ${code} before ready: ${err}`)));
  });
  // A start that hangs (it has: a deadlock in node's crypto) fails its test instead of the whole run.
  let watchdog: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`appliance not ready within ${READY_TIMEOUT_MS / 1000} s; its log: ${JSON.stringify(logs.slice(-10))} ${err.slice(-2000)}`));
    }, READY_TIMEOUT_MS);
  });
  const { url, at, listeners } = await Promise.race([ready, hung]).finally(() => clearTimeout(watchdog));
  const api: ApplianceProcess['api'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const role = o.role === undefined ? 'admin' : o.role;
    if (role !== null) headers.authorization = `Bearer ${TEST_TOKENS[role]}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) body = JSON.stringify(o.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  };
  return {
    proc,
    url,
    dataDir,
    configFile,
    logs,
    stderr: () => err,
    listeners,
    readyAfterMs: at - started,
    exited,
    api,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** runMain runs the server binary with arguments to completion (for CLI and config-error tests). */
export function runMain(args: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}
