import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../lib/auth/password';
import { ConfigError, loadConfig, type Config } from '../lib/config/config';
import { RunningAppliance } from './appliance';
import { createLog } from './log';
import { appRoot, appVersion } from './paths';
import type { FirstStartCredentials } from './secrets';
import { Store, StoreError } from './store/store';

const USAGE = `usage: nekoq-bootstrap [--config FILE] [--dev]
       nekoq-bootstrap hash-password      (reads the password from standard input)
       nekoq-bootstrap --help | --version

  --config FILE   bootstrap.toml to read (default: none, embedded defaults)
  --dev           run the web manager with Next's development compiler
Exit codes: 0 after a graceful shutdown, 1 on a runtime failure, 2 for a bad
configuration, a data directory in use, or bad arguments.`;

/** EXIT codes of the process. */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** main runs the appliance (or a CLI command) and resolves with the exit code. */
async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string' }, help: { type: 'boolean' }, version: { type: 'boolean' }, dev: { type: 'boolean' } },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const root = appRoot();
  const version = appVersion(root);
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (args.values.version) {
    process.stdout.write(`nekoq-bootstrap ${version}\n`);
    return EXIT.ok;
  }
  if (args.positionals[0] === 'hash-password') return hashPasswordCommand();
  if (args.positionals.length > 0) {
    process.stderr.write(`unknown command "${args.positionals[0]}"\n${USAGE}\n`);
    return EXIT.usage;
  }

  let config: Config;
  try {
    const file = args.values.config === undefined ? undefined : resolve(args.values.config);
    const text = file === undefined ? undefined : readFileSync(file, 'utf8');
    config = loadConfig(text, file, { baseDir: file === undefined ? process.cwd() : dirname(file), hostname: hostname() });
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : `reading config: ${(err as Error).message}`;
    process.stderr.write(`config error: ${msg}\n`);
    return EXIT.usage;
  }

  const log = createLog(config.log.level).child({ node: config.node.name });
  let store: Store;
  try {
    store = Store.open(config.node.dataDir);
  } catch (err) {
    const msg = err instanceof StoreError ? err.message : String(err);
    log.error('opening store', { error: msg });
    process.stderr.write(`error: ${msg}\n`);
    return EXIT.usage;
  }

  // next-auth v4 reads these two from the environment itself: build redirects from the
  // Host header (the appliance is reached by IP and by several names) and never from a stale URL.
  process.env.AUTH_TRUST_HOST = 'true';
  delete process.env.NEXTAUTH_URL;

  process.on('uncaughtException', (err) => log.error('uncaught exception', { error: err, stack: err.stack }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: err as Error }));

  let appliance: RunningAppliance;
  try {
    appliance = await RunningAppliance.create(config, {
      log,
      store,
      root,
      version,
      dev: args.values.dev === true,
      showCredentials: (c) => showCredentials(config.auth.adminUser, c),
    });
    let signals = 0;
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.on(sig, () => {
        if (++signals > 1) {
          log.warn('second signal: exiting without draining', { signal: sig });
          process.exit(EXIT.failure);
        }
        void appliance.shutdown(sig);
      });
    }
    await appliance.start();
  } catch (err) {
    log.error('starting', { error: err as Error });
    process.stderr.write(`error: ${(err as Error).message}\n`);
    store.close();
    return EXIT.failure;
  }
  const info = appliance.info();
  log.info('ready', {
    version,
    config: config.source ?? '(embedded defaults)',
    data_dir: config.node.dataDir,
    listeners: Object.fromEntries(info.listeners.map((l) => [l.name, l.address])),
  });
  await appliance.stopped;
  return EXIT.ok;
}

/** showCredentials prints generated credentials once, to standard error and never to the log stream. */
function showCredentials(adminUser: string, c: FirstStartCredentials): void {
  const lines = ['', '  nekoq-bootstrap generated credentials on first start. They are shown only this once;', '  only their hashes are kept. Store them now.', ''];
  if (c.adminPassword !== undefined) lines.push(`  web manager: user "${adminUser}"  password ${c.adminPassword}`);
  if (c.adminToken !== undefined) lines.push(`  API token (role admin): ${c.adminToken}`, '  (it stops working once bootstrap.toml lists [[auth.tokens]])');
  process.stderr.write(`${lines.join('\n')}\n\n`);
}

async function hashPasswordCommand(): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < 12) {
    process.stderr.write('the password must be at least 12 characters (give it on standard input)\n');
    return EXIT.usage;
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  return EXIT.ok;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
