import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DurabilityError } from '../../lib/durability';
import { MIGRATIONS } from './migrations';
import { Store, StoreError } from './store';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'nekoq-store-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('Store', () => {
  it('creates the data directory, runs every migration, and keeps files private', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const store = Store.open(dir);
    assert.equal(store.schemaVersion, MIGRATIONS.length);
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 2, 'synchronous = FULL');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    store.close();
    const again = Store.open(dir);
    assert.equal(again.schemaVersion, MIGRATIONS.length);
    again.close();
  });

  it('refuses a data directory another process holds', () => {
    const dir = tempDir();
    const holder = Store.open(dir);
    // A second process, as in production: the lock is SQLite's file lock, per process.
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `
      const { Store } = require(${JSON.stringify(join(__dirname, 'store.ts'))});
      try { Store.open(${JSON.stringify(dir)}); console.log('opened'); } catch (e) { console.log(e.locked ? 'locked' : e.message); }
    `], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'locked', r.stderr);
    holder.close();
    const next = Store.open(dir);
    next.close();
  });

  it('refuses a database from a newer build', () => {
    const dir = tempDir();
    const s = Store.open(dir);
    s.db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    s.close();
    assert.throws(() => Store.open(dir), (e: unknown) => e instanceof StoreError && /newer than this build/.test(e.message));
  });

  it('keeps secrets', () => {
    const dir = tempDir();
    const s = Store.open(dir);
    assert.equal(s.secret('x'), undefined);
    s.setSecret('x', 'one');
    s.setSecret('x', 'two');
    s.close();
    const t = Store.open(dir);
    assert.equal(t.secret('x'), 'two');
    t.close();
  });
});

describe('GroupCommit', () => {
  it('commits the writes of one event-loop turn in one transaction, applying in order', async () => {
    const s = Store.open(tempDir());
    s.db.exec('CREATE TABLE t (v INTEGER)');
    const ins = s.db.prepare('INSERT INTO t (v) VALUES (?)');
    const applied: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => s.durable.commit(() => ins.run(i), () => (applied.push(i), i * 2))),
    );
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i * 2));
    assert.deepEqual(applied, Array.from({ length: 50 }, (_, i) => i));
    assert.equal(s.durable.stats.batches, 1);
    assert.equal(s.durable.stats.ops, 50);
    assert.equal((s.db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 50);
    s.close();
  });

  it('fails a bad write alone and does not apply it', async () => {
    const s = Store.open(tempDir());
    s.db.exec('CREATE TABLE u (v INTEGER PRIMARY KEY)');
    const ins = s.db.prepare('INSERT INTO u (v) VALUES (?)');
    const applied: number[] = [];
    const outcomes = await Promise.allSettled([1, 2, 2, 3].map((v) => s.durable.commit(() => ins.run(v), () => applied.push(v))));
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(applied, [1, 2, 3]);
    assert.deepEqual((s.db.prepare('SELECT v FROM u ORDER BY v').all() as { v: number }[]).map((r) => r.v), [1, 2, 3]);
    s.close();
    const rejected = outcomes[2] as PromiseRejectedResult;
    assert.ok(rejected.reason instanceof DurabilityError && !rejected.reason.closed, 'a failed write is a DurabilityError');
    await assert.rejects(s.durable.commit(() => undefined, () => undefined), (e: unknown) => e instanceof DurabilityError && e.closed);
  });
});
