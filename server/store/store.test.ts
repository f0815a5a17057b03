import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DurabilityError } from '../../lib/durability';
import type { Instance } from '../../lib/registry/instance';
import { SqliteInstanceJournal } from './instance-journal';
import { LeaseMark } from './lease-mark';
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

describe('SqliteInstanceJournal.load and the lease mark', () => {
  const t0 = 1_800_000_000_000;
  const instance = (id: string, ttl: number): Instance => ({
    type: 'mq',
    name: 'kafka',
    id,
    address: '10.0.0.1',
    port: 9092,
    protocol: 'tcp',
    tags: [],
    meta: {},
    weight: 1,
    priority: 0,
    ttl,
    registeredAt: t0,
    renewedAt: t0,
    expiresAt: t0 + ttl * 1000,
    createIndex: 1,
    modifyIndex: 1,
  });
  const journalWith = (...instances: Instance[]) => {
    const store = Store.open(tempDir());
    const journal = new SqliteInstanceJournal(store.db);
    instances.forEach((i, n) => journal.upsert(i, n + 1));
    return { store, journal };
  };
  const ends = (r: { instances: Instance[] }) => Object.fromEntries(r.instances.map((i) => [i.id, i.expiresAt - t0]));

  it('without a mark, or after a graceful stop, restores journalled renewal + ttl + allowance', () => {
    const { store, journal } = journalWith(instance('a', 30));
    assert.deepEqual(ends(journal.load(t0 + 5000, 1000)), { a: 31_000 });
    assert.deepEqual(ends(journal.load(t0 + 5000, 1000, '', { alive: t0 + 4000, durable: t0 + 4000, clean: true })), { a: 31_000 });
    store.close();
  });

  it('after a crash stretches a lease that was running when renewals went unjournalled to the last alive time + ttl, durably', () => {
    const { store, journal } = journalWith(instance('a', 30), instance('short', 1));
    const mark = { alive: t0 + 4000, durable: t0 + 3800, clean: false };
    const first = journal.load(t0 + 6000, 1000, '', mark);
    // 'short' ended (t0 + 2 s, allowance included) before renewals could go missing: gone.
    assert.deepEqual(ends(first), { a: 35_000 });
    assert.deepEqual(first.expired.map((k) => k.id), ['short']);
    assert.equal(first.instances[0]!.renewedAt, t0, 'the client-visible renewal time is the journalled one');
    // A second crash with an older mark does not shorten the lease again: the row moved.
    assert.deepEqual(ends(journal.load(t0 + 7000, 1000, '', { alive: t0 + 100, durable: t0 + 100, clean: false })), { a: 35_000 });
    store.close();
  });

  it('drops a stretched lease whose end passed while the node was down', () => {
    const { store, journal } = journalWith(instance('a', 30));
    const r = journal.load(t0 + 40_000, 1000, '', { alive: t0 + 4000, durable: t0 + 3800, clean: false });
    assert.deepEqual(ends(r), {});
    assert.deepEqual(r.expired.map((k) => k.id), ['a']);
    store.close();
  });
});

describe('LeaseMark', () => {
  it('reads back what the previous process wrote; a new directory has none', () => {
    const dir = tempDir();
    const first = new LeaseMark(dir);
    assert.equal(first.previous, undefined);
    first.write(1000.5, 900, false);
    first.close();
    first.write(1, 1, true); // after close: ignored, no throw
    const second = new LeaseMark(dir);
    assert.deepEqual(second.previous, { alive: 1000.5, durable: 900, clean: false });
    second.write(2000, 2000, true);
    second.close();
    assert.deepEqual(new LeaseMark(dir).previous, { alive: 2000, durable: 2000, clean: true });
    assert.equal(statSync(join(dir, 'lease-mark')).mode & 0o777, 0o600);
  });
});
