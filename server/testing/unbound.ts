// A real Unbound (1.17) as the reference recursive resolver for integration
// tests: it resolves over the private tree of dns-tree.ts (root hints) or
// forwards to a given server, and a resolver under test must give the same
// answers (compare them with query() from dns-clients.ts, rd: true).
//
// Configuration that matters:
//  - do-not-query-localhost: no. By default Unbound never sends to 127/8 or ::1
//    and answers SERVFAIL for the whole tree.
//  - local-zone: "<zone>" nodefault for test., invalid. and the other special
//    names Unbound answers itself by default (static: NXDOMAIN, never asked).
//  - access-control: allow_snoop, not allow: `allow` answers REFUSED to
//    questions without RD, and a test may want to look into the cache.
//  - No trust anchor and module-config "iterator" unless trustAnchors is
//    given: Debian's /etc/unbound/unbound.conf (root.key) is not read since
//    the configuration is our own file.
//  - A delegation to an address where nothing listens (dead.test. in the
//    default tree) takes Unbound about 30 s to give up on, and the client got
//    no answer at all within 120 s: keep such questions out of fast tests.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnDaemon } from './daemon';
import { query } from './dns-clients';
import { freePort, runTool } from './nsd';

/** UnboundServer is a running Unbound on address:port (UDP and TCP). */
export interface UnboundServer {
  readonly address: string;
  readonly port: number;
  /** stderr returns what Unbound has logged so far. */
  stderr(): string;
  /**
   * flush empties every cache (messages, RRsets, and the infrastructure cache
   * of server RTTs and lameness) through unbound-control, so that the next
   * question is resolved from the root hints again. Rejects with
   * unbound-control's output when it fails.
   */
  flush(): Promise<void>;
  /** stop terminates Unbound (SIGTERM, then SIGKILL after 3 s) and removes its temporary directory. */
  stop(): Promise<void>;
}

export interface UnboundOptions {
  /** Text of a named.root-style root hints file (DnsTree.rootHintsText). One of rootHints and forwardTo is required. */
  rootHints?: string;
  /** Forward every question (forward-zone ".") to these servers instead of iterating. */
  forwardTo?: { address: string; port: number }[];
  /** IPv4 address to listen on (default 127.0.0.1). */
  address?: string;
  /** Port to listen on (default: a free one, retried when taken meanwhile); a given port is tried once. */
  port?: number;
  /** qname-minimisation (RFC 9156; default false here, Unbound's own default is yes). */
  qnameMinimisation?: boolean;
  /**
   * Trust anchors (DS or DNSKEY records in presentation format, one per
   * `trust-anchor:` line). When given, the validator runs ("validator
   * iterator"); without, there is no DNSSEC validation at all.
   */
  trustAnchors?: string[];
  /** Extra lines for the server: clause, e.g. ['verbosity: 2']. */
  serverLines?: string[];
  /** How long to wait for Unbound to answer, in ms (default 10000). */
  readyTimeoutMs?: number;
}

const BIND_ATTEMPTS = 5;

/**
 * Zones Unbound 1.17 answers itself by default as `static` (NXDOMAIN, never
 * asked upstream; `unbound-control list_local_zones`) that a private tree may
 * use. localhost. and the reverse zones keep their defaults.
 */
const UNBLOCKED_DEFAULT_ZONES = ['test.', 'invalid.', 'onion.', 'home.arpa.'];

/**
 * startUnbound runs `unbound -d` in the foreground on 127.0.0.1 (or
 * opts.address) and a free port (or opts.port): one thread, no chroot, no
 * privilege drop, no syslog, no prefetch, no IPv6 upstream, remote control
 * only on a Unix socket in its temporary directory. It resolves once Unbound
 * answers `id.server CH TXT`. It rejects with unbound-checkconf's message when
 * the configuration is invalid, and with Unbound's stderr when it exits or
 * does not answer in time.
 */
export async function startUnbound(opts: UnboundOptions): Promise<UnboundServer> {
  if (opts.rootHints === undefined && (opts.forwardTo === undefined || opts.forwardTo.length === 0)) {
    // Without either, Unbound would iterate from the built-in Internet root servers.
    throw new Error('startUnbound: give rootHints or forwardTo');
  }
  const address = opts.address ?? '127.0.0.1';
  if (opts.port !== undefined) return launch(opts, address, opts.port);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = await freePort(address);
    try {
      return await launch(opts, address, port);
    } catch (e) {
      lastError = e as Error;
      if (!/bind|address already in use|could not open ports/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function launch(opts: UnboundOptions, address: string, port: number): Promise<UnboundServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nekoq-unbound-'));
  const conf = join(dir, 'unbound.conf');
  const q = (s: string) => JSON.stringify(s);
  const validate = opts.trustAnchors !== undefined && opts.trustAnchors.length > 0;
  if (opts.rootHints !== undefined) writeFileSync(join(dir, 'root.hints'), opts.rootHints);
  const lines = [
    'server:',
    `  interface: ${address}`,
    `  port: ${port}`,
    '  do-ip4: yes',
    '  do-ip6: no',
    '  do-udp: yes',
    '  do-tcp: yes',
    '  num-threads: 1',
    '  username: ""',
    '  chroot: ""',
    `  directory: ${q(dir)}`,
    `  pidfile: ${q(join(dir, 'unbound.pid'))}`,
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  log-servfail: yes',
    '  identity: "nekoq-test-unbound"',
    // allow_snoop: questions without RD are answered from the cache (allow alone REFUSES them).
    '  access-control: 127.0.0.0/8 allow_snoop',
    '  do-not-query-localhost: no',
    '  harden-referral-path: no',
    '  prefetch: no',
    '  prefetch-key: no',
    `  qname-minimisation: ${opts.qnameMinimisation ? 'yes' : 'no'}`,
    `  module-config: ${validate ? '"validator iterator"' : '"iterator"'}`,
    ...(opts.rootHints !== undefined ? [`  root-hints: ${q(join(dir, 'root.hints'))}`] : []),
    ...(validate ? opts.trustAnchors!.map((t) => `  trust-anchor: ${q(t)}`) : []),
    ...UNBLOCKED_DEFAULT_ZONES.map((z) => `  local-zone: ${q(z)} nodefault`),
    ...(opts.serverLines ?? []).map((l) => `  ${l}`),
    'remote-control:',
    '  control-enable: yes',
    `  control-interface: ${q(join(dir, 'control.sock'))}`,
    '  control-use-cert: no',
    ...(opts.forwardTo !== undefined && opts.forwardTo.length > 0
      ? ['forward-zone:', '  name: "."', ...opts.forwardTo.map((f) => `  forward-addr: ${f.address}@${f.port}`)]
      : []),
    '',
  ];
  writeFileSync(conf, lines.join('\n'));
  const check = await runTool('unbound-checkconf', [conf]);
  if (check.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`unbound-checkconf: ${(check.stderr + check.stdout).trim()}`);
  }

  const daemon = spawnDaemon('unbound', 'unbound', ['-d', '-p', '-c', conf], dir);
  const { exited, spawnError, cleanup } = daemon;

  const readyMs = opts.readyTimeoutMs ?? 10000;
  const deadline = Date.now() + readyMs;
  let last = '';
  try {
    for (;;) {
      if (daemon.gone()) throw new Error(`unbound exited with ${await exited} before it was ready (${address} port ${port}): ${daemon.output().trim()}`);
      if (Date.now() > deadline) throw new Error(`unbound not ready after ${readyMs} ms (${address} port ${port}; last: ${last}): ${daemon.output().trim()}`);
      try {
        const r = await Promise.race([query('dig', 'udp', { host: address, port }, 'id.server.', 'TXT', { qclass: 'CH', timeoutSec: 1 }), spawnError]);
        if (r.rcode === 'NOERROR' && r.answer.length > 0) break;
        last = `id.server CH TXT: ${r.rcode}`;
      } catch (e) {
        last = (e as Error).message.split('\n')[0]!;
        if (/running unbound/.test(last)) throw e;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  const control = async (...args: string[]) => {
    const r = await runTool('unbound-control', ['-c', conf, ...args]);
    if (r.code !== 0 || !/^ok\b/m.test(r.stdout)) throw new Error(`unbound-control ${args.join(' ')}: ${(r.stderr + r.stdout).trim()}`);
  };
  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    stderr: () => daemon.output(),
    flush: async () => {
      // flush_zone . drops every message and RRset at or below the root;
      // flush_infra all forgets server RTTs, timeouts and lameness.
      await control('flush_zone', '.');
      await control('flush_infra', 'all');
      await control('flush_requestlist');
    },
    stop: () => (stopping ??= cleanup()),
  };
}
