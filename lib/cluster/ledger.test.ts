import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HybridClock, parseStamp } from './hlc';
import { Ledger, newer, type Kind, type LedgerJournal, type LedgerRow } from './ledger';

/** MemoryJournal is the ledger's table in a Map, for tests without SQLite. */
class MemoryJournal implements LedgerJournal {
  rows = new Map<string, LedgerRow>();
  meta = { epoch: undefined as string | undefined, head: 0, floor: 0 };
  state() {
    const hlcs = [...this.rows.values()].map((r) => r.hlc).sort();
    return { ...this.meta, newest: hlcs[hlcs.length - 1] };
  }
  setEpoch(e: string) {
    this.meta.epoch = e;
  }
  setHead(h: number) {
    this.meta.head = h;
  }
  setFloor(f: number) {
    this.meta.floor = f;
  }
  get(kind: Kind, key: string) {
    return this.rows.get(`${kind} ${key}`);
  }
  put(r: LedgerRow) {
    this.rows.set(`${r.kind} ${r.key}`, r);
  }
  remove(kind: Kind, key: string) {
    this.rows.delete(`${kind} ${key}`);
  }
  since(origin: string, since: number, limit: number) {
    return [...this.rows.values()].filter((r) => r.origin === origin && r.seq > since).sort((a, b) => a.seq - b.seq).slice(0, limit);
  }
  under(kind: Kind, prefix: string) {
    return [...this.rows.values()].filter((r) => r.kind === kind && r.key.startsWith(prefix));
  }
  ofOrigin(origin: string) {
    return [...this.rows.values()].filter((r) => r.origin === origin);
  }
  tombstones(before: number, limit: number) {
    return [...this.rows.values()].filter((r) => r.value === null && r.at < before).slice(0, limit);
  }
  origins() {
    const m = new Map<string, number>();
    for (const r of this.rows.values()) if (r.value !== null) m.set(r.origin, (m.get(r.origin) ?? 0) + 1);
    return m;
  }
}

describe('HybridClock', () => {
  it('issues increasing stamps even when the wall clock stands still or goes back', () => {
    let now = 1_000_000;
    const clock = new HybridClock(() => now);
    const a = clock.tick();
    const b = clock.tick();
    now -= 5000;
    const c = clock.tick();
    assert.ok(a < b && b < c);
    assert.deepEqual(parseStamp(c), { wall: 1_000_000, counter: 2 });
  });
  it('orders its next stamp after one observed from a clock ahead of it', () => {
    const ahead = new HybridClock(() => 2_000_000).tick();
    const clock = new HybridClock(() => 1_000_000);
    clock.observe(ahead);
    assert.ok(clock.tick() > ahead);
    clock.observe('garbage');
    assert.ok(clock.tick() > ahead);
  });
  it('borrows the next millisecond after 65536 stamps in one', () => {
    const clock = new HybridClock(() => 5);
    let last = '';
    for (let i = 0; i < 70_000; i++) {
      const s = clock.tick();
      assert.ok(s > last);
      last = s;
    }
    assert.equal(parseStamp(last)!.wall, 6);
  });
});

describe('newer (last writer wins)', () => {
  const v = (hlc: string, origin: string, value: string | null = '1') => ({ hlc, origin, value });
  it('prefers the newer clock, then the greater node name, then a deletion of the same write', () => {
    assert.ok(newer(v('0002', 'a'), v('0001', 'z')));
    assert.ok(newer(v('0001', 'b'), v('0001', 'a')));
    assert.ok(!newer(v('0001', 'a'), v('0001', 'a')));
    assert.ok(newer(v('0001', 'a', null), v('0001', 'a')));
    assert.ok(!newer(v('0001', 'a'), v('0001', 'a', null)));
  });
});

describe('Ledger', () => {
  let now = 10_000;
  const make = (node: string, journal = new MemoryJournal()) => new Ledger({ node, journal, now: () => now });

  it('stamps local changes into its own feed, one row per key, in seq order', () => {
    const l = make('a');
    l.local('kv', 'x', '"1"');
    l.local('kv', 'y', '"2"');
    l.local('kv', 'x', '"3"');
    assert.equal(l.head, 3);
    assert.deepEqual(l.changes(0, 10).changes.map((c) => [c.key, c.seq, c.value]), [['y', 2, '"2"'], ['x', 3, '"3"']]);
    assert.deepEqual(l.changes(2, 10).changes.map((c) => c.key), ['x']);
    const page = l.changes(0, 1);
    assert.equal(page.more, true);
    assert.equal(page.changes.length, 1);
  });

  it('keeps its epoch and position across a restart on the same journal', () => {
    const j = new MemoryJournal();
    const l1 = make('a', j);
    l1.local('kv', 'x', '1');
    const l2 = make('a', j);
    assert.equal(l2.epoch, l1.epoch);
    assert.equal(l2.head, 1);
    assert.ok(l2.local('kv', 'y', '1').hlc > l1.current('kv', 'x')!.hlc);
  });

  it('offer applies a peer change only when it wins, and a local write after it wins over it', () => {
    const l = make('b');
    const peer = { kind: 'kv' as const, key: 'k', origin: 'a', hlc: 'ffff00000000000a', seq: 7, value: '"peer"' };
    assert.equal(l.offer(peer), true);
    assert.equal(l.offer(peer), false, 'the same change again is a no-op');
    assert.equal(l.offer({ ...peer, hlc: '0000000000000001', value: '"older"' }), false);
    assert.equal(l.current('kv', 'k')!.value, '"peer"');
    assert.equal(l.changes(0, 10).changes.length, 0, "a peer's change is not in this node's feed");
    const mine = l.local('kv', 'k', '"mine"');
    assert.ok(mine.hlc > peer.hlc, 'the clock moved past the stamp it saw');
    assert.equal(l.current('kv', 'k')!.origin, 'b');
  });

  it('collect forgets old tombstones and raises the floor past its own', () => {
    const l = make('a');
    l.local('kv', 'gone', null);
    l.local('kv', 'kept', '1');
    now += 10_000;
    assert.equal(l.collect(5000).length, 1);
    assert.equal(l.floor, 1);
    assert.equal(l.current('kv', 'gone'), undefined);
  });

  it('release drops a departed peer\'s instances and adopts its durable data under the same stamp', () => {
    const l = make('b');
    l.offer({ kind: 'svc', key: 't/n/i', origin: 'a', hlc: '0000000000010000', seq: 1, value: '{}' });
    l.offer({ kind: 'kv', key: 'k', origin: 'a', hlc: '0000000000020000', seq: 2, value: '"v"' });
    const r = l.release('a', new Set<Kind>(['svc']));
    assert.deepEqual(r.dropped.map((x) => x.key), ['t/n/i']);
    assert.equal(r.adopted, 1);
    assert.deepEqual(l.current('kv', 'k'), { kind: 'kv', key: 'k', origin: 'b', hlc: '0000000000020000', seq: 1, value: '"v"', at: now });
    assert.deepEqual(l.changes(0, 10).changes.map((c) => c.key), ['k']);
  });
});
