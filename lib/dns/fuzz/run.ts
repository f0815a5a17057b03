import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzCase, prng, seedQueries } from './mutate';
import { checkCase, makeTarget, SEED_NAMES, ZONE } from './target';
import { checkTable, sendDoh, sendTcp, sendUdp } from './net';
import { removeTemp, startAppliance, tempDir } from '../../../server/testing/appliance-process';

/*
 * npm run fuzz [-- --cases N --seconds S --seed X]: DNS messages, mutated from
 * valid queries or random, straight into both parsers and the responder over
 * every transport (in process). Bounded by count and time. Every failing case
 * is written to fuzz/corpus/<sha1>.bin, which the test suite replays
 * (lib/dns/fuzz/corpus.test.ts). Exit 1 when any case failed.
 */

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`fuzz: --${name} takes a number`);
    process.exit(2);
  }
  return v;
};
const cases = opt('cases', 1_000_000);
const seconds = opt('seconds', 600);
const seed = opt('seed', Date.now() % 2 ** 31);
/** Cases sent over UDP to a running appliance (a quarter as many over TCP, a tenth over DoH); 0 = in process only. */
const net = opt('net', 100_000);
const corpus = join(__dirname, '..', '..', '..', 'fuzz', 'corpus');

let unhandled = 0;
process.on('unhandledRejection', (err) => {
  unhandled++;
  console.error(`unhandled rejection: ${(err as Error).stack ?? String(err)}`);
});

async function main(): Promise<void> {
  const responder = makeTarget();
  const seeds = seedQueries(SEED_NAMES);
  const rng = prng(seed);
  const started = Date.now();
  const deadline = started + seconds * 1000;
  let ran = 0;
  let crashes = 0;
  for (; ran < cases && Date.now() < deadline; ran++) {
    const msg = fuzzCase(rng, seeds, SEED_NAMES);
    const failure = await checkCase(responder, msg);
    if (failure !== undefined) {
      crashes++;
      mkdirSync(corpus, { recursive: true });
      const file = join(corpus, `${createHash('sha1').update(msg).digest('hex')}.bin`);
      writeFileSync(file, msg);
      if (crashes <= 20) console.error(`case ${ran} (seed ${seed}): ${failure.split('\n')[0]} → ${file}`);
    }
    if (ran % 100_000 === 0 && ran > 0) console.error(`… ${ran} cases, ${crashes} crashes, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const secs = (Date.now() - started) / 1000;
  let netReport = '';
  if (net > 0) netReport = await network(seeds, rng);
  console.log(`fuzz: seed=${seed}${netReport} cases=${ran} crashes=${crashes} unhandled_rejections=${unhandled} seconds=${secs.toFixed(1)} cases_per_second=${Math.round(ran / secs)} stats=${JSON.stringify(responder.stats)}`);
  process.exitCode = crashes > 0 || unhandled > 0 || netFailed ? 1 : 0;
}

let netFailed = false;

/** network sends cases to a real appliance (the built server, with the fuzz zone, signing on) over UDP, TCP and DoH, then asks the check table. */
async function network(seeds: readonly Buffer[], rng: () => number): Promise<string> {
  const dir = tempDir('nekoq-fuzz-');
  const zoneFile = join(dir, 'example.com.zone');
  writeFileSync(zoneFile, ZONE);
  console.error("… network: starting an appliance");
  const app = await startAppliance({ dnsToml: `zone_files = ["${zoneFile}"]\n`, toml: '[dnssec]\nenabled = true\n' });
  try {
    const r = await app.api('PUT', '/v1/services/discovery/api/instances/i1', { role: 'register', body: { address: '127.0.0.1', port: 9000, protocol: 'tcp', ttl: 3600 } });
    if (r.status !== 200) throw new Error(`registering: ${r.text}`);
    console.error(`… network: appliance at ${app.url}`);
    const udp = app.listeners["dns-udp"]!;
    const ep = { host: '127.0.0.1', dnsPort: Number(udp.slice(udp.lastIndexOf(':') + 1)), httpUrl: app.url };
    const make = (n: number) => Array.from({ length: n }, () => fuzzCase(rng, seeds, SEED_NAMES));
    const t0 = Date.now();
    const u = await sendUdp(ep, make(net));
    console.error(`… network: ${u.sent} UDP cases sent, ${u.answered} answered`);
    const t = await sendTcp(ep, make(Math.ceil(net / 4)));
    console.error(`… network: ${t.sent} TCP cases on ${t.connections} connections, ${t.answered} answered`);
    const d = await sendDoh(ep, make(Math.ceil(net / 10)));
    console.error(`… network: DoH ${JSON.stringify(d.statuses)}`);
    // Every answer that came back must be a good one; then the check table must be right.
    const problems = [...u.bad, ...t.bad, ...d.bad, ...(await checkTable(ep))];
    const alive = app.proc.exitCode === null && app.proc.signalCode === null;
    if (!alive || problems.length > 0) {
      netFailed = true;
      console.error(`network phase: ${alive ? 'alive' : 'the appliance exited'}; ${problems.join('; ')}\n${app.stderr().slice(-2000)}`);
    }
    return ` udp=${u.sent} udp_answered=${u.answered} tcp=${t.sent} tcp_connections=${t.connections} tcp_answered=${t.answered} doh=${JSON.stringify(d.statuses)} bad_answers=${u.bad.length + t.bad.length + d.bad.length} net_seconds=${((Date.now() - t0) / 1000).toFixed(1)} check_table=${problems.length === 0 ? 'ok' : 'FAILED'} alive=${alive}`;
  } finally {
    await app.stop();
    removeTemp(app.dataDir);
    removeTemp(dir);
  }
}

void main();
