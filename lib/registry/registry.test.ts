import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DurableLog } from '../durability';
import type { Instance, InstanceKey, InstanceSpec } from './instance';
import { orderTypes, ServiceRegistry, type InstanceJournal, type RegistryChange } from './registry';

/** A journal that records what it was told, and a durable log that commits at once: the registry's rules in isolation. */
class RecordingJournal implements InstanceJournal {
  readonly ops: string[] = [];
  upsert(i: Instance, index: number) {
    this.ops.push(`upsert ${i.type}/${i.name}/${i.id} @${index}`);
  }
  renew(k: InstanceKey, at: number) {
    this.ops.push(`renew ${k.type}/${k.name}/${k.id} ${at}`);
  }
  remove(k: InstanceKey, index: number) {
    this.ops.push(`remove ${k.type}/${k.name}/${k.id} @${index}`);
  }
}
const immediate: DurableLog = { commit: async (write, apply) => (write(), apply()) };

function setup(restored?: { instances: Instance[]; index: number }) {
  const clock = { now: 1_000_000 };
  const journal = new RecordingJournal();
  const registry = new ServiceRegistry({ durable: immediate, journal, now: () => clock.now, restored });
  const changes: RegistryChange[] = [];
  registry.onChange((c) => changes.push(c));
  return { clock, journal, registry, changes };
}
const spec = (over: Partial<InstanceSpec> = {}): InstanceSpec => ({
  address: '10.0.0.1', port: 80, protocol: 'tcp', tags: [], meta: {}, weight: 1, priority: 0, ttl: 2, ...over,
});
const key = (id = 'a', name = 'svc', type = 'discovery'): InstanceKey => ({ type, name, id });

describe('ServiceRegistry leases', () => {
  it('an instance is live until exactly ttl after its last renewal', async () => {
    const { clock, registry } = setup();
    await registry.register(key(), spec({ ttl: 2 }));
    clock.now += 1999;
    assert.equal(registry.service('discovery', 'svc').length, 1);
    clock.now += 1;
    assert.equal(registry.service('discovery', 'svc').length, 0, 'gone at ttl, before any sweep');
    assert.equal(await registry.heartbeat(key()), undefined, 'a heartbeat after expiry says register again');
  });

  it('heartbeats extend the lease and change no index', async () => {
    const { clock, registry } = setup();
    await registry.register(key(), spec({ ttl: 2 }));
    const index = registry.index;
    for (let s = 0; s < 10; s++) {
      clock.now += 1000;
      assert.ok(registry.heartbeat(key()));
      assert.equal(registry.sweep(), 0);
    }
    assert.equal(registry.index, index);
    assert.equal(registry.service('discovery', 'svc')[0]?.expiresAt, clock.now + 2000);
  });

  it('journals renewals coalesced: one row write per instance per flush, the latest time', async () => {
    const { clock, registry, journal } = setup();
    await registry.register(key('a'), spec({ ttl: 5 }));
    await registry.register(key('b'), spec({ ttl: 5 }));
    for (let s = 0; s < 5; s++) {
      clock.now += 100;
      registry.heartbeat(key('a'));
    }
    registry.heartbeat(key('b'));
    assert.equal(journal.ops.filter((o) => o.startsWith('renew')).length, 0, 'nothing journalled before the flush');
    await registry.flushRenewals();
    assert.deepEqual(journal.ops.filter((o) => o.startsWith('renew')), [`renew discovery/svc/a ${clock.now}`, `renew discovery/svc/b ${clock.now}`]);
    await registry.flushRenewals();
    assert.equal(journal.ops.filter((o) => o.startsWith('renew')).length, 2, 'an empty flush writes nothing');
  });

  it('sweep removes expired instances, bumps indexes and journals the removal', async () => {
    const { clock, registry, journal, changes } = setup();
    await registry.register(key('a'), spec({ ttl: 1 }));
    await registry.register(key('b'), spec({ ttl: 5 }));
    const before = registry.index;
    clock.now += 1000;
    assert.equal(registry.sweep(), 1);
    assert.equal(registry.index, before + 1);
    assert.equal(registry.indexOf({ type: 'discovery', name: 'svc' }), before + 1);
    assert.deepEqual(changes.map((c) => c.kind), ['register', 'register', 'expire']);
    await new Promise((r) => setImmediate(r));
    assert.ok(journal.ops.includes(`remove discovery/svc/a @${before + 1}`));
    clock.now += 4000;
    assert.equal(registry.sweep(), 1);
    assert.deepEqual(registry.services(), []);
  });

  it('sweeps after a forward clock jump without walking every second', async () => {
    const { clock, registry } = setup();
    await registry.register(key(), spec({ ttl: 1 }));
    clock.now += 365 * 86_400_000;
    assert.equal(registry.sweep(), 1);
  });

  it('re-registering the same spec renews; a changed spec is an update', async () => {
    const { clock, registry, changes } = setup();
    const first = await registry.register(key(), spec());
    assert.equal(first.created, true);
    clock.now += 500;
    const again = await registry.register(key(), spec());
    assert.equal(again.created, false);
    assert.equal(registry.index, 1);
    assert.equal(again.instance.expiresAt, clock.now + 2000);
    const changed = await registry.register(key(), spec({ port: 81 }));
    assert.equal(changed.instance.createIndex, 1);
    assert.equal(changed.instance.modifyIndex, 2);
    assert.deepEqual(changes.map((c) => c.kind), ['register', 'update']);
  });

  it('deregister removes and reports whether there was an instance', async () => {
    const { registry } = setup();
    await registry.register(key(), spec());
    assert.equal(await registry.deregister(key()), true);
    assert.equal(await registry.deregister(key()), false);
    assert.equal(registry.instance(key()), undefined);
  });

  it('restores live instances and drops expired ones', () => {
    const now = 1_000_000;
    const inst = (id: string, expiresAt: number, modifyIndex: number): Instance => ({
      ...key(id), ...spec(), registeredAt: now - 10_000, renewedAt: expiresAt - 2000, expiresAt, createIndex: 1, modifyIndex,
    });
    const { registry } = setup({ instances: [inst('live', now + 500, 7), inst('dead', now, 9)], index: 8 });
    assert.deepEqual(registry.service('discovery', 'svc').map((i) => i.id), ['live']);
    assert.equal(registry.index, 9);
    assert.equal(registry.indexOf({ type: 'discovery', name: 'svc' }), 9, 'views never report less than the restored index');
    assert.equal(registry.indexOf({ type: 'never-seen' }), 9);
  });
});

describe('ServiceRegistry views and blocking', () => {
  it('orders core types first and services by name', async () => {
    const { registry } = setup();
    for (const [type, name] of [['mq', 'b'], ['security', 'z'], ['batch', 'a'], ['discovery', 'y'], ['discovery', 'x']]) {
      await registry.register(key('i', name, type), spec());
    }
    assert.deepEqual(registry.services().map((s) => `${s.type}/${s.name}`), ['discovery/x', 'discovery/y', 'security/z', 'batch/a', 'mq/b']);
    assert.deepEqual(registry.services('mq').map((s) => s.name), ['b']);
    assert.deepEqual(orderTypes(['bus', 'consistency', 'discovery']), ['discovery', 'consistency', 'bus']);
  });

  it('waitForChange wakes on a change to its view only', async () => {
    const { registry } = setup();
    await registry.register(key('a', 'one'), spec());
    const idx = registry.indexOf({ type: 'discovery', name: 'one' });
    let woke = false;
    const waiting = registry.waitForChange({ type: 'discovery', name: 'one' }, idx, 60_000).then(() => (woke = true));
    await registry.register(key('a', 'other'), spec());
    await new Promise((r) => setImmediate(r));
    assert.equal(woke, false, 'a change to another service does not wake it');
    await registry.register(key('b', 'one'), spec());
    await waiting;
    assert.equal(registry.waiting, 0);
  });

  it('waitForChange returns at the timeout, on abort, on close, and at once for a future index', async () => {
    const { registry } = setup();
    await registry.register(key(), spec());
    const t0 = Date.now();
    await registry.waitForChange({}, registry.index, 50);
    assert.ok(Date.now() - t0 >= 45);
    const ac = new AbortController();
    const aborted = registry.waitForChange({}, registry.index, 60_000, ac.signal);
    ac.abort();
    await aborted;
    await registry.waitForChange({}, registry.index + 100, 60_000);
    const closing = registry.waitForChange({}, registry.index, 60_000);
    registry.close();
    await closing;
    assert.equal(registry.waiting, 0);
  });
});
