// A reference server (NSD, Unbound) run in the foreground for a test: its own
// process group, output kept, and one way to stop it that reaches its children.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface Daemon {
  /** What it has written to stdout and stderr (the last 64 KiB). */
  output(): string;
  /** Whether it has exited. */
  gone(): boolean;
  readonly exited: Promise<number | string>;
  /** Rejects with "running <name>: …" when the command could not be started. */
  readonly spawnError: Promise<never>;
  /** cleanup stops the whole group (SIGTERM, SIGKILL after 3 s) and removes `dir`; call it once. */
  cleanup(): Promise<void>;
}

/**
 * spawnDaemon starts `command` in its own process group (detached), so that
 * cleanup reaches the children it forks (NSD's xfrd and server processes), and
 * kills the group with SIGKILL should the test process exit first.
 */
export function spawnDaemon(name: string, command: string, args: readonly string[], dir: string): Daemon {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | string>((res) => proc.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  let gone = false;
  void exited.then(() => (gone = true));
  const spawnError = new Promise<never>((_, rej) => proc.once('error', (e) => rej(new Error(`running ${name}: ${e.message}`))));
  spawnError.catch(() => undefined);
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (proc.pid !== undefined) process.kill(-proc.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  return {
    output: () => out,
    gone: () => gone,
    exited,
    spawnError,
    async cleanup() {
      process.removeListener('exit', onExit);
      if (!gone) {
        killGroup('SIGTERM');
        const t = setTimeout(() => killGroup('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      // Children may outlive the main process by a moment.
      killGroup('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
