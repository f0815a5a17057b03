import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzCase, prng, seedQueries } from './mutate';
import { checkCase, makeTarget, SEED_NAMES } from './target';

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
    const msg = fuzzCase(rng, seeds);
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
  console.log(`fuzz: seed=${seed} cases=${ran} crashes=${crashes} unhandled_rejections=${unhandled} seconds=${secs.toFixed(1)} cases_per_second=${Math.round(ran / secs)} stats=${JSON.stringify(responder.stats)}`);
  process.exitCode = crashes > 0 || unhandled > 0 ? 1 : 0;
}

void main();
