import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAppliance, type ApplianceProcess } from '../testing/appliance-process';
import { query, type DnsResult } from '../testing/dns-clients';
import { DEAD_QUESTION, recordsWithoutTtl, startDnsTree, type DnsTree } from '../testing/dns-tree';
import { startUnbound, type UnboundServer } from '../testing/unbound';

/*
 * Iterative resolution against a private DNS tree (root, TLDs and leaf zones
 * served by NSD on 127.53.0.x port 53, see server/testing/dns-tree.ts): the
 * appliance, with the tree's root hints, must answer every question of the
 * tree's table exactly as Unbound does with the same hints — the same rcode and
 * the same answer RRsets (TTLs aside, which age) — with QNAME minimisation on
 * and off.
 */

type Server = { host: string; port: number };

const ask = (server: Server, name: string, type: string, opts: { rd?: boolean } = {}): Promise<DnsResult> =>
  query('dig', 'udp', server, name, type, { rd: opts.rd ?? true, timeoutSec: 5 });

const view = (r: DnsResult) => ({ rcode: r.rcode, answer: recordsWithoutTtl(r.answer).sort() });

const udpPort = (app: ApplianceProcess) => Number(app.listeners['dns-udp']!.split(':').pop());

describe('resolver, iterative mode, against Unbound on a private tree', () => {
  let tree: DnsTree;
  let unbound: UnboundServer;
  let minimising: ApplianceProcess;
  let plain: ApplianceProcess;

  before(async () => {
    tree = await startDnsTree();
    unbound = await startUnbound({ rootHints: tree.rootHintsText, qnameMinimisation: true });
    const toml = (minimise: boolean) => `[recursion]
mode = "iterative"
root_hints = ${JSON.stringify(tree.rootHints)}
qname_minimisation = ${minimise}
timeout = "3s"
[dnssec]
trust_anchors = []
`;
    [minimising, plain] = await Promise.all([startAppliance({ name: 'qmin', toml: toml(true) }), startAppliance({ name: 'plain', toml: toml(false) })]);
  });

  after(async () => {
    await Promise.all([minimising?.stop(), plain?.stop(), unbound?.stop()]);
    await tree?.stop();
  });

  test('every question of the table, resolved and then from the cache: the same rcode and answer RRsets as Unbound, and as the table says', async () => {
    const differences: string[] = [];
    for (const q of [...tree.table, ...tree.table]) {
      const theirs = view(await ask({ host: unbound.address, port: unbound.port }, q.name, q.type));
      const expected = { rcode: q.expect, answer: [...q.answer].sort() };
      if (JSON.stringify(theirs) !== JSON.stringify(expected)) differences.push(`unbound ${q.name} ${q.type}: ${JSON.stringify(theirs)}`);
      for (const app of [minimising, plain]) {
        const r = await ask({ host: '127.0.0.1', port: udpPort(app) }, q.name, q.type);
        const ours = view(r);
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
          differences.push(`${app === minimising ? 'ours (qname minimisation)' : 'ours'} ${q.name} ${q.type} (${q.note}): ${JSON.stringify(ours)} ≠ unbound ${JSON.stringify(theirs)}`);
        }
        if (!r.flags.includes('ra')) differences.push(`${q.name}: no RA`);
        if (r.flags.includes('aa')) differences.push(`${q.name}: AA on a resolved answer`);
      }
    }
    assert.deepEqual(differences, []);
  });

  test('a repeated question comes from the cache: no query leaves, and the TTL is lower', async () => {
    const server = { host: '127.0.0.1', port: udpPort(plain) };
    const sent = async () => {
      const m = await (await fetch(`${plain.url}/metrics`)).text();
      return Number(/nekoq_resolver_upstream_queries_total\{result="sent"\} (\d+)/.exec(m)?.[1]);
    };
    const first = await ask(server, 'www.alpha.test', 'A');
    const before = await sent();
    await sleep(1100);
    const again = await ask(server, 'www.alpha.test', 'A');
    assert.equal(await sent(), before);
    const ttl = (r: DnsResult) => Number(r.answer[0]!.split(' ')[1]);
    assert.ok(ttl(again) < ttl(first), `${ttl(again)} < ${ttl(first)}`);
    assert.deepEqual(view(again), view(first));
  });

  test('a delegation to an address where nothing listens is SERVFAIL within the timeout', async () => {
    const started = performance.now();
    const r = await ask({ host: '127.0.0.1', port: udpPort(plain) }, DEAD_QUESTION.name, DEAD_QUESTION.type);
    assert.equal(r.rcode, 'SERVFAIL');
    assert.ok(performance.now() - started < 3500, `${(performance.now() - started).toFixed(0)} ms`);
  });
});
