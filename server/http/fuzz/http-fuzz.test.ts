import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCorpus, runHttpFuzz, type FuzzSummary } from './run';

/*
 * The HTTP fuzz (issue #9) as a test: every request `npm run fuzz:http` ever
 * found failing (fuzz/http-corpus/*.txt) must now be answered cleanly, and a
 * bounded fixed-seed run against a real appliance finds nothing: no 5xx, every
 * 4xx a catalogued problem, nothing written by a request answered 4xx, slow and
 * stuck requests cut while others are answered, RSS steady, the node still
 * answering at the end. Writes that take no body are also sent with bodies that
 * never arrive or break their chunking: the node must not act on them.
 */

const SEED = 20261124;

function assertClean(s: FuzzSummary, t: { diagnostic(m: string): void }): void {
  t.diagnostic(s.line);
  if (!s.limitsApplied) t.diagnostic('this build has no [limits] section: slow requests were not judged');
  const listed = s.failures.map((f) => `${f.label}: ${f.reason}`).join('\n');
  assert.equal(s.s5xx, 0, listed);
  assert.equal(s.noResponse, 0, listed);
  assert.equal(s.hangs, 0, listed);
  assert.equal(s.partialWrites, 0, listed);
  assert.equal(s.malformed, 0, listed);
  assert.equal(s.otherFailures, 0, listed);
  assert.deepEqual(s.finalChecks, [], listed);
  assert.equal(s.serverErrors, 0, listed);
  assert.deepEqual(s.failures, []);
}

test('every request in fuzz/http-corpus is answered cleanly', { timeout: 120_000 }, async (t) => {
  const replay = readCorpus();
  if (replay.length === 0) {
    t.diagnostic('the corpus is empty');
    return;
  }
  const s = await runHttpFuzz({ cases: 0, seconds: 60, seed: SEED, slow: 0, unfinished: false, replay, log: (l) => t.diagnostic(l) });
  assert.equal(s.replayed, replay.length);
  assertClean(s, t);
});

test('a fixed-seed HTTP fuzz of 2000 cases finds nothing', { timeout: 120_000 }, async (t) => {
  const s = await runHttpFuzz({ cases: 2000, seconds: 40, seed: SEED, slow: 4, rounds: 4, herd: 200, log: (l) => t.diagnostic(l) });
  assert.ok(s.cases >= 500, `only ${s.cases} cases ran in the time`);
  assert.ok(s.s4xx > s.cases / 2, `most cases should be refused: ${s.line}`);
  assert.ok(s.batchesChecked > 0, 'no batch was checked for partial writes');
  if (s.limitsApplied) {
    assert.ok(s.slowCut > 0, `no slow request was cut: ${s.line}`);
    assert.equal(s.herdCut, s.herd, `not every stuck connection was cut or answered: ${s.line}`);
  }
  assert.ok(s.rssEndMb - s.rssWarmMb < 64, `RSS grew from ${s.rssWarmMb} to ${s.rssEndMb} MiB`);
  assertClean(s, t);
});
