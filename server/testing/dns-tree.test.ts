// Proves the resolver test harness: the private DNS tree (dns-tree.ts) serves
// each zone from its own address and refers downwards as a real hierarchy
// does, and Unbound (unbound.ts) resolving from the tree's root hints answers
// every question of the tree's table as the table says. The resolver's own
// test compares the appliance with Unbound over the same table.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { query, type DnsResult } from './dns-clients';
import { DEAD_ADDRESS, DEFAULT_TREE, recordsWithoutTtl, startDnsTree, type DnsTree } from './dns-tree';
import { startUnbound, type UnboundServer } from './unbound';

/** ask sends one non-recursive question to port 53 of a tree server, the way an iterative resolver does. */
function ask(address: string, name: string, type: string): Promise<DnsResult> {
  return query('dig', 'udp', { host: address, port: 53 }, name, type, { timeoutSec: 1 });
}

/** resolve asks a resolver for name/type with RD set. */
function resolve(server: { address: string; port: number }, name: string, type: string, source?: string): Promise<DnsResult> {
  return query('dig', 'udp', { host: server.address, port: server.port }, name, type, { rd: true, timeoutSec: 5, ...(source !== undefined ? { source } : {}) });
}

const SOA_TAIL = '1 7200 3600 1209600 300';

let tree: DnsTree | undefined;
const unbounds: UnboundServer[] = [];

before(async () => {
  tree = await startDnsTree();
});

after(async () => {
  await Promise.all(unbounds.map((u) => u.stop()));
  await tree?.stop();
});

describe('dns tree', () => {
  it('serves each zone authoritatively from its own address only', async () => {
    const checks = tree!.servers.flatMap((s) =>
      s.zones.flatMap((zone) =>
        tree!.servers.map(async (other) => {
          const r = await ask(other.address, zone, 'SOA');
          const answered = r.rcode === 'NOERROR' && r.flags.includes('aa') && r.answer.some((a) => a.startsWith(`${zone} `) && a.includes(' SOA '));
          // Every other server refers (a parent), or refuses.
          return answered === (other === s) ? '' : `${zone} SOA @${other.label} (${other.address}): ${r.rcode} ${r.flags.join(' ')} ${r.answer.join('; ')}`;
        }),
      ),
    );
    assert.deepEqual((await Promise.all(checks)).filter((c) => c !== ''), []);
  });

  it('refers from the root to the TLDs with glue', async () => {
    const r = await ask('127.53.0.1', 'www.alpha.test.', 'A');
    assert.deepEqual(
      { rcode: r.rcode, aa: r.flags.includes('aa'), answer: r.answer, authority: r.authority, additional: r.additional },
      { rcode: 'NOERROR', aa: false, answer: [], authority: ['test. 3600 IN NS ns1.nic.test.'], additional: ['ns1.nic.test. 3600 IN A 127.53.0.2'] },
    );
    const e = await ask('127.53.0.1', 'ns.gamma.example.', 'A');
    assert.deepEqual([e.authority, e.additional], [['example. 3600 IN NS ns1.nic.example.'], ['ns1.nic.example. 3600 IN A 127.53.0.3']]);
  });

  it('refers from test. to alpha.test. with glue and to beta.test. without', async () => {
    const a = await ask('127.53.0.2', 'www.alpha.test.', 'A');
    assert.deepEqual([a.rcode, a.authority, a.additional], ['NOERROR', ['alpha.test. 3600 IN NS ns1.alpha.test.'], ['ns1.alpha.test. 3600 IN A 127.53.0.10']]);
    const b = await ask('127.53.0.2', 'www.beta.test.', 'A');
    assert.deepEqual([b.rcode, b.flags.includes('aa'), b.authority, b.additional], ['NOERROR', false, ['beta.test. 3600 IN NS ns.gamma.example.'], []]);
  });

  it('refers from example. to gamma.example., which holds the address of beta.test.\'s server', async () => {
    const g = await ask('127.53.0.3', 'ns.gamma.example.', 'A');
    assert.deepEqual([g.authority, g.additional], [['gamma.example. 3600 IN NS ns1.gamma.example.'], ['ns1.gamma.example. 3600 IN A 127.53.0.12']]);
    const ns = await ask('127.53.0.12', 'ns.gamma.example.', 'A');
    assert.deepEqual([ns.rcode, ns.flags.includes('aa'), ns.answer], ['NOERROR', true, ['ns.gamma.example. 3600 IN A 127.53.0.11']]);
    const www = await ask('127.53.0.11', 'www.beta.test.', 'A');
    assert.deepEqual([www.flags.includes('aa'), www.answer], [true, ['www.beta.test. 3600 IN A 192.0.2.2']]);
  });

  it('makes lame.test. lame: its server answers REFUSED', async () => {
    const l = await ask('127.53.0.2', 'www.lame.test.', 'A');
    assert.deepEqual([l.authority, l.additional], [['lame.test. 3600 IN NS ns.lame.test.'], ['ns.lame.test. 3600 IN A 127.53.0.10']]);
    const r = await ask('127.53.0.10', 'www.lame.test.', 'A');
    assert.equal(r.rcode, 'REFUSED');
  });

  it('serves nothing on the address dead.test. is delegated to', async () => {
    const d = await ask('127.53.0.2', 'www.dead.test.', 'A');
    assert.deepEqual(d.additional, [`ns.dead.test. 3600 IN A ${DEAD_ADDRESS}`]);
    await assert.rejects(ask(DEAD_ADDRESS, 'www.dead.test.', 'A'), /connection refused|timed out/);
  });

  it('answers from alpha.test. as the table expects (authoritative view)', async () => {
    const dn = await ask('127.53.0.10', 'www.dn.alpha.test.', 'A');
    assert.deepEqual(dn.answer, ['dn.alpha.test. 3600 IN DNAME beta.test.', 'www.dn.alpha.test. 3600 IN CNAME www.beta.test.']);
    const nx = await ask('127.53.0.10', 'nope.alpha.test.', 'A');
    assert.deepEqual([nx.rcode, nx.authority], ['NXDOMAIN', [`alpha.test. 300 IN SOA ns1.alpha.test. hostmaster.alpha.test. ${SOA_TAIL}`]]);
    const w = await ask('127.53.0.10', 'unique-123.wild.alpha.test.', 'A');
    assert.deepEqual(w.answer, ['unique-123.wild.alpha.test. 3600 IN A 192.0.2.9']);
  });

  it('refuses to start a second tree while the first holds port 53', async () => {
    await assert.rejects(startDnsTree(), /dns tree: binding (udp|tcp) 127\.53\.0\.1:53: address in use/);
  });

  it('gives root hints in both forms', () => {
    assert.deepEqual(tree!.rootHints, ['a.root-servers.test.=127.53.0.1']);
    assert.match(tree!.rootHintsText, /^\.\s+3600000\s+NS\s+a\.root-servers\.test\.\na\.root-servers\.test\.\s+3600000\s+A\s+127\.53\.0\.1\n$/);
  });
});

for (const qnameMinimisation of [false, true]) {
  describe(`unbound over the tree (qname-minimisation ${qnameMinimisation ? 'yes' : 'no'})`, () => {
    let unbound: UnboundServer;
    before(async () => {
      unbound = await startUnbound({ rootHints: tree!.rootHintsText, qnameMinimisation });
      unbounds.push(unbound);
    });

    // In table order: the later questions meet a warm cache, as they would in a resolver's life.
    for (const q of DEFAULT_TREE.table) {
      it(`${q.name} ${q.type} → ${q.expect}: ${q.note}`, async () => {
        const r = await resolve(unbound, q.name, q.type);
        assert.deepEqual(
          { rcode: r.rcode, ra: r.flags.includes('ra'), answer: recordsWithoutTtl(r.answer).sort() },
          { rcode: q.expect, ra: true, answer: q.answer },
          `--- unbound ---\n${unbound.stderr()}`,
        );
      });
    }

    it('forgets everything on flush() and resolves from the root down again', async () => {
      // Without RD, Unbound answers from its cache only (access-control allow_snoop).
      const fromCache = async () => {
        const r = await query('dig', 'udp', { host: unbound.address, port: unbound.port }, 'www.alpha.test.', 'A', { timeoutSec: 5 });
        return recordsWithoutTtl(r.answer).filter((a) => a.startsWith('www.alpha.test. '));
      };
      assert.deepEqual(await fromCache(), ['www.alpha.test. IN A 192.0.2.1'], 'cached before flush');
      await unbound.flush();
      assert.deepEqual(await fromCache(), [], 'cached after flush');
      const r = await resolve(unbound, 'chain.beta.test.', 'A');
      assert.deepEqual(recordsWithoutTtl(r.answer).sort(), tree!.table.find((q) => q.name === 'chain.beta.test.')!.answer);
    });

    it('takes questions from 127.0.0.2 (dig and kdig -b)', async () => {
      for (const client of ['dig', 'kdig'] as const) {
        const r = await query(client, 'udp', { host: unbound.address, port: unbound.port }, 'www.alpha.test.', 'A', { rd: true, source: '127.0.0.2' });
        assert.deepEqual([client, r.rcode, recordsWithoutTtl(r.answer)], [client, 'NOERROR', ['www.alpha.test. IN A 192.0.2.1']]);
      }
    });
  });
}

describe('unbound forwarding', () => {
  it('forwards to forwardTo instead of iterating', async () => {
    const fwd = await startUnbound({ forwardTo: [{ address: '127.53.0.10', port: 53 }] });
    unbounds.push(fwd);
    const r = await resolve(fwd, 'www.alpha.test.', 'A');
    assert.deepEqual([r.rcode, recordsWithoutTtl(r.answer)], ['NOERROR', ['www.alpha.test. IN A 192.0.2.1']]);
    // 127.53.0.10 serves alpha.test. only: a forwarder that is no resolver leaves the rest unanswered.
    const b = await resolve(fwd, 'www.beta.test.', 'A');
    assert.equal(b.rcode, 'SERVFAIL');
    await fwd.stop();
  });
});
