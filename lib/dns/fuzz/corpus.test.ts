import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fuzzCase, prng, seedQueries } from './mutate';
import { checkCase, makeTarget, SEED_NAMES } from './target';

/*
 * The fuzz regression corpus: every message `npm run fuzz` ever found failing
 * (fuzz/corpus/*.bin) must now be handled cleanly; and a short fixed-seed run
 * keeps the fuzzer itself working.
 */

const corpus = join(__dirname, '..', '..', '..', 'fuzz', 'corpus');

test('every case in the fuzz corpus is handled without a crash', async () => {
  const responder = makeTarget();
  const files = existsSync(corpus) ? readdirSync(corpus).filter((f) => f.endsWith('.bin')) : [];
  for (const f of files) {
    const failure = await checkCase(responder, readFileSync(join(corpus, f)));
    assert.equal(failure, undefined, `${f}: ${failure}`);
  }
});

test('a fixed-seed fuzz run of 20 000 cases finds nothing', async () => {
  const responder = makeTarget();
  const seeds = seedQueries(SEED_NAMES);
  const rng = prng(20261124);
  for (let i = 0; i < 20_000; i++) {
    const msg = fuzzCase(rng, seeds, SEED_NAMES);
    const failure = await checkCase(responder, msg);
    assert.equal(failure, undefined, `case ${i} (${msg.toString('hex')}): ${failure}`);
  }
});
