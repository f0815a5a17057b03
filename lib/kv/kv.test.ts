import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DurabilityError, type DurableLog } from '../durability';
import { checkKey, checkPrefix, KvStore, TxnError, type KvEntry, type KvJournal } from './kv';

/** A DurableLog like the store's group commit: writes and applies of one turn run together, in order. */
class TurnLog implements DurableLog {
  private queue: { write: () => void; apply: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  failNext = false;
  commit<T>(write: () => void, apply: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ write, apply, resolve: resolve as (v: unknown) => void, reject });
    });
  }
  private flush() {
    const batch = this.queue;
    this.queue = [];
    for (const op of batch) {
      if (this.failNext) {
        this.failNext = false;
        op.reject(new DurabilityError('disk full', false));
        continue;
      }
      op.write();
      op.resolve(op.apply());
    }
  }
}

/** A journal that keeps rows in a Map, as SQLite would. */
class MapJournal implements KvJournal {
  rows = new Map<string, KvEntry>();
  index = 0;
  load() {
    return { entries: [...this.rows.values()], index: this.index };
  }
  put(e: KvEntry, index: number) {
    this.rows.set(e.key, e);
    this.index = index;
  }
  remove(key: string, index: number) {
    this.rows.delete(key);
    this.index = index;
  }
}

const b = (s: string) => Buffer.from(s);

describe('keys', () => {
  const ok = ['a', 'bootstrap/db/url', 'ünïcode/ключ', 'a.b-c_d:e', 'x'.repeat(512)];
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['/a', /start with/],
    ['a//b', /empty segment/],
    ['a/', /end with/],
    ['x'.repeat(513), /512 bytes/],
    ['é'.repeat(257), /512 bytes/],
    ['a\u0000b', /control/],
    ['a\ud800', /UTF-8/],
  ];
  for (const k of ok) test(`accepts ${JSON.stringify(k.slice(0, 30))}`, () => assert.equal(checkKey(k), undefined));
  for (const [k, why] of bad) test(`refuses ${JSON.stringify(k.slice(0, 30))}`, () => assert.match(checkKey(k) ?? '', why));
  test('prefixes may be empty and end with "/"', () => {
    assert.equal(checkPrefix(''), undefined);
    assert.equal(checkPrefix('bootstrap/'), undefined);
    assert.match(checkPrefix('/x') ?? '', /start with/);
  });
});

describe('KvStore', () => {
  const open = (journal = new MapJournal(), log = new TurnLog()) => ({ kv: new KvStore(log, journal), journal, log });

  test('put, get, indexes: every write takes the next store-wide index; createIndex stays', async () => {
    const { kv } = open();
    assert.deepEqual(await kv.put('a', b('1')), { ok: true, index: 1 });
    assert.deepEqual(await kv.put('a', b('2'), { flags: 7 }), { ok: true, index: 2 });
    assert.deepEqual(kv.get('a'), { key: 'a', value: b('2'), flags: 7, createIndex: 1, modifyIndex: 2 });
    assert.equal(kv.index, 2);
  });

  test('a write is not visible before it is durable', async () => {
    const { kv } = open();
    const p = kv.put('a', b('1'));
    assert.equal(kv.get('a'), undefined);
    await p;
    assert.deepEqual(kv.get('a')?.value, b('1'));
  });

  test('cas: 0 creates only; n replaces only at modifyIndex n; decided exactly among writes queued in one turn', async () => {
    const { kv } = open();
    const [first, second] = await Promise.all([kv.put('k', b('x'), { cas: 0 }), kv.put('k', b('y'), { cas: 0 })]);
    assert.deepEqual([first.ok, second.ok], [true, false]);
    const idx = kv.get('k')!.modifyIndex;
    const racers = await Promise.all([kv.put('k', b('a'), { cas: idx }), kv.put('k', b('b'), { cas: idx }), kv.put('k', b('c'), { cas: idx })]);
    assert.deepEqual(racers.map((r) => r.ok), [true, false, false]);
    assert.deepEqual(kv.get('k')!.value, b('a'));
    assert.equal((await kv.put('missing', b('v'), { cas: 5 })).ok, false);
  });

  test('delete with cas; deleting a missing key succeeds; deleteTree removes a prefix only', async () => {
    const { kv } = open();
    for (const k of ['app/a', 'app/b', 'app/c/d', 'apple', 'other']) await kv.put(k, b(k));
    const idx = kv.get('app/a')!.modifyIndex;
    assert.equal((await kv.delete('app/a', { cas: idx + 100 })).ok, false);
    assert.equal((await kv.delete('app/a', { cas: idx })).ok, true);
    assert.equal((await kv.delete('nothing')).ok, true);
    await kv.deleteTree('app/');
    assert.deepEqual(kv.list('').map((e) => e.key), ['apple', 'other']);
  });

  test('list and keys with a separator (Consul semantics)', async () => {
    const { kv } = open();
    for (const k of ['web/a', 'web/b/c', 'web/b/d', 'web/e/f/g', 'webx', 'zz']) await kv.put(k, b('v'));
    assert.deepEqual(kv.list('web/').map((e) => e.key), ['web/a', 'web/b/c', 'web/b/d', 'web/e/f/g']);
    assert.deepEqual(kv.keys('web/', '/'), ['web/a', 'web/b/', 'web/e/']);
    assert.deepEqual(kv.keys('web'), ['web/a', 'web/b/c', 'web/b/d', 'web/e/f/g', 'webx']);
    assert.deepEqual(kv.keys('', '/'), ['web/', 'webx', 'zz']);
  });

  test('txn: all or nothing, the failing operation named, one index for all changes', async () => {
    const { kv } = open();
    await kv.put('a', b('1'));
    const aIdx = kv.get('a')!.modifyIndex;
    await assert.rejects(
      kv.txn([
        { verb: 'set', key: 'x', value: b('new') },
        { verb: 'cas', key: 'a', value: b('2'), index: aIdx + 1 },
      ]),
      (err: unknown) => err instanceof TxnError && err.op === 1 && /modifyIndex/.test(err.reason),
    );
    assert.equal(kv.get('x'), undefined, 'nothing of a failed transaction is written');
    const r = await kv.txn([
      { verb: 'check-index', key: 'a', index: aIdx },
      { verb: 'set', key: 'x', value: b('new') },
      { verb: 'cas', key: 'a', value: b('2'), index: aIdx },
      { verb: 'get', key: 'x' },
      { verb: 'delete', key: 'gone' },
    ]);
    assert.equal(kv.get('x')!.modifyIndex, r.index);
    assert.equal(kv.get('a')!.modifyIndex, r.index);
    assert.deepEqual(r.results[3]?.value, b('new'));
    await assert.rejects(kv.txn([{ verb: 'get', key: 'nope' }]), (err: unknown) => err instanceof TxnError && err.op === 0);
    await kv.txn([{ verb: 'delete-tree', key: '' }]);
    assert.equal(kv.size, 0);
  });

  test('blocking reads wake on a write to their key or prefix only, and time out unchanged', async () => {
    const { kv } = open();
    await kv.put('cfg/a', b('1'));
    const after = kv.index;
    let woke = '';
    const key = kv.waitForChange({ key: 'cfg/a' }, after, 5000).then(() => (woke += 'key '));
    const prefix = kv.waitForChange({ prefix: 'cfg/' }, after, 5000).then(() => (woke += 'prefix '));
    const other = kv.waitForChange({ prefix: 'else/' }, after, 50).then(() => (woke += 'timeout '));
    await kv.put('cfg/b', b('2'));
    await prefix;
    assert.equal(woke, 'prefix ');
    await kv.delete('cfg/a');
    await key;
    await other;
    assert.equal(woke, 'prefix key timeout ');
    assert.equal(kv.changedSince({ key: 'cfg/a' }, after), true, 'a deletion counts as a change');
    assert.equal(kv.changedSince({ prefix: 'else/' }, after), false);
  });

  test('a write the store cannot make durable is refused and leaves no trace', async () => {
    const { kv, log } = open();
    log.failNext = true;
    await assert.rejects(kv.put('a', b('1')), DurabilityError);
    assert.equal(kv.get('a'), undefined);
    assert.equal((await kv.put('a', b('2'), { cas: 0 })).ok, true, 'the failed write does not block a create');
  });

  test('a restart restores entries and the index, and blocking reads from before it return at once', async () => {
    const { kv, journal } = open();
    await kv.put('a', b('1'));
    await kv.put('b', b('2'));
    const again = new KvStore(new TurnLog(), journal);
    assert.equal(again.index, 2);
    assert.deepEqual(again.get('b')?.value, b('2'));
    assert.equal((await again.put('c', b('3'))).index, 3);
    assert.equal(again.changedSince({ prefix: 'zzz' }, 1), true);
  });
});
