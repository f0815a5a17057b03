import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DurableLog } from '../durability';
import { ApiError } from '../errors';
import { TYPE } from './constants';
import { ZoneStore, type StoredRRset, type ZoneJournal } from './zone-store';

/** Group commit as the store does it: writes and applies of one turn run together, later in the turn. */
class TurnLog implements DurableLog {
  private queue: { write: () => void; apply: () => unknown; resolve: (v: unknown) => void }[] = [];
  commit<T>(write: () => void, apply: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ write, apply, resolve: resolve as (v: unknown) => void });
    });
  }
  private flush() {
    const batch = this.queue;
    this.queue = [];
    for (const op of batch) op.write();
    for (const op of batch) op.resolve(op.apply());
  }
}

/** A journal that keeps rows like the SQLite tables, failing loudly on what SQLite would refuse. */
class MapJournal implements ZoneJournal {
  zones = new Map<string, Map<string, StoredRRset>>();
  load() {
    return [...this.zones].map(([zone, sets]) => ({ zone, rrsets: [...sets.values()] }));
  }
  createZone(zone: string, rrsets: readonly StoredRRset[]) {
    if (this.zones.has(zone)) throw new Error('UNIQUE constraint failed: zones.name');
    this.zones.set(zone, new Map());
    for (const r of rrsets) this.putRRset(zone, r);
  }
  replaceZone(zone: string, rrsets: readonly StoredRRset[]) {
    this.zones.set(zone, new Map());
    for (const r of rrsets) this.putRRset(zone, r);
  }
  putRRset(zone: string, r: StoredRRset) {
    const z = this.zones.get(zone);
    if (z === undefined) throw new Error('FOREIGN KEY constraint failed');
    z.set(`${r.name} ${r.type}`, r);
  }
  deleteRRset(zone: string, name: string, type: string) {
    this.zones.get(zone)?.delete(`${name} ${type}`);
  }
  deleteZone(zone: string) {
    this.zones.delete(zone);
  }
}

describe('ZoneStore', () => {
  const open = () => {
    const journal = new MapJournal();
    return { zones: new ZoneStore(new TurnLog(), journal), journal };
  };

  test('writes started together all land, in order, each on the snapshot the one before left', async () => {
    const { zones, journal } = open();
    await zones.create('example.com', { nameservers: ['ns1.example.com.'] });
    await Promise.all([
      zones.putRRset('example.com', 'www', 'A', 60, ['192.0.2.1']),
      zones.putRRset('example.com', 'mail', 'A', 60, ['192.0.2.2']),
      zones.putRRset('example.com', 'deep.ent', 'TXT', 60, ['"x"']),
    ]);
    const z = zones.zoneFor('www.example.com')!;
    assert.ok(z.node('www.example.com')?.get(TYPE.A));
    assert.ok(z.node('mail.example.com')?.get(TYPE.A));
    assert.equal(z.exists('ent.example.com'), true, 'an empty non-terminal exists');
    assert.equal(zones.summary('example.com').serial, 4);
    const reloaded = new ZoneStore(new TurnLog(), journal);
    assert.deepEqual(reloaded.rrsets('example.com'), zones.rrsets('example.com'), 'memory and storage agree');
    await zones.deleteRRset('example.com', 'deep.ent', 'TXT');
    assert.equal(zones.zoneFor('example.com')!.exists('ent.example.com'), false, 'the empty non-terminal goes with its last descendant');
  });

  test('two creates of one zone started together: one succeeds, the other is zone_exists (not a storage failure)', async () => {
    const { zones } = open();
    const results = await Promise.allSettled([
      zones.create('race.example', { nameservers: ['ns.race.example.'] }),
      zones.create('race.example', { nameservers: ['ns.race.example.'] }),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(failed.reason instanceof ApiError && failed.reason.code === 'zone_exists');
  });

  test('a put racing a zone deletion is zone_not_found', async () => {
    const { zones } = open();
    await zones.create('gone.example', { nameservers: ['ns.gone.example.'] });
    const [del, put] = await Promise.allSettled([zones.deleteZone('gone.example'), zones.putRRset('gone.example', 'www', 'A', 60, ['192.0.2.1'])]);
    assert.equal(del.status, 'fulfilled');
    assert.ok(put.status === 'rejected' && put.reason instanceof ApiError && put.reason.code === 'zone_not_found');
  });

  test('a refused write does not hold up the ones queued behind it', async () => {
    const { zones } = open();
    await zones.create('q.example', { nameservers: ['ns.q.example.'] });
    const [bad, good] = await Promise.allSettled([
      zones.putRRset('q.example', '@', 'CNAME', 60, ['elsewhere.example.']),
      zones.putRRset('q.example', 'ok', 'A', 60, ['192.0.2.9']),
    ]);
    assert.ok(bad.status === 'rejected' && bad.reason instanceof ApiError && bad.reason.code === 'invalid_record');
    assert.equal(good.status, 'fulfilled');
  });
});
