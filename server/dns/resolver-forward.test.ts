import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RCODE, TYPE } from '../../lib/dns/constants';
import { decodeMessage, encodeQuery, type Message } from '../../lib/dns/message';
import { removeTemp, startAppliance, tempDir, type ApplianceProcess } from '../testing/appliance-process';
import { query } from '../testing/dns-clients';
import { startNsd, type NsdServer } from '../testing/nsd';

/*
 * Forward mode against real servers: NSD holds the data; between us and NSD sits
 * a UDP relay that drops every other query, and beside it an upstream that takes
 * queries and never answers. Every answer must still come within [recursion]
 * timeout; the cache must answer repeats with no packet upstream and a smaller
 * TTL, over every transport; clients outside the allow-list get REFUSED.
 */

const TIMEOUT_MS = 2000;

const BIG_TXT = Array.from({ length: 60 }, (_, i) => `big IN TXT "record ${String(i).padStart(3, '0')} of a set too large for one UDP answer"`).join('\n');
const ZONE = `$ORIGIN fwd.test.
$TTL 300
@        IN SOA ns hostmaster 1 3600 600 1209600 120
         IN NS  ns
ns       IN A   127.0.0.1
www      IN A   192.0.2.1
alias    IN CNAME www
*.wild   IN A   192.0.2.7
v4only   IN A   192.0.2.5
${BIG_TXT}
`;

/** A UDP relay to `target` that drops every other query it gets (the 2nd, 4th, …) and counts what it forwards. */
class DroppingRelay {
  received = 0;
  forwarded = 0;
  private constructor(
    readonly socket: Socket,
    readonly port: number,
  ) {}

  static async start(target: number): Promise<DroppingRelay> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const relay = new DroppingRelay(socket, socket.address().port);
    socket.on('message', (msg, rinfo) => {
      relay.received++;
      if (relay.received % 2 === 0) return;
      relay.forwarded++;
      const out = createSocket('udp4');
      out.on('message', (answer) => {
        socket.send(answer, rinfo.port, rinfo.address);
        out.close();
      });
      out.on('error', () => out.close());
      out.send(msg, target, '127.0.0.1');
    });
    return relay;
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

/** ask sends one query over UDP (from `source`, default 127.0.0.1) and resolves with the decoded answer and the time it took. */
async function ask(port: number, name: string, type: number, opts: { rd?: boolean; source?: string; timeoutMs?: number } = {}): Promise<{ msg: Message; ms: number }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, opts.source ?? '127.0.0.1', r));
  const id = Math.floor(Math.random() * 65536);
  const q = encodeQuery(name, type, { id, rd: opts.rd ?? true, payload: 1232 });
  const started = performance.now();
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${name} within ${opts.timeoutMs ?? 5000} ms`)), opts.timeoutMs ?? 5000);
      socket.on('message', (buf) => {
        const msg = decodeMessage(buf);
        if (msg.id !== id) return;
        clearTimeout(timer);
        resolve({ msg, ms: performance.now() - started });
      });
      socket.send(q, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

const addresses = (m: Message) => m.answer.filter((r) => r.type === TYPE.A).map((r) => [...r.rdata].join('.'));

describe('resolver, forward mode', () => {
  let dir: string;
  let nsd: NsdServer;
  let relay: DroppingRelay;
  let blackhole: Socket;
  let blackholeHits = 0;
  let app: ApplianceProcess;
  let dnsPort: number;

  before(async () => {
    dir = tempDir('nekoq-fwd-');
    const zoneFile = join(dir, 'fwd.test.zone');
    writeFileSync(zoneFile, ZONE);
    nsd = await startNsd([{ name: 'fwd.test', file: zoneFile }]);
    relay = await DroppingRelay.start(nsd.port);
    blackhole = createSocket('udp4');
    await new Promise<void>((r) => blackhole.bind(0, '127.0.0.1', r));
    blackhole.on('message', () => blackholeHits++);
    app = await startAppliance({
      toml: `[recursion]
mode = "forward"
upstreams = ["udp://127.0.0.1:${blackhole.address().port}", "udp://127.0.0.1:${relay.port}"]
timeout = "${TIMEOUT_MS}ms"
allow = ["127.0.0.1/32", "::1/128"]
[dnssec]
trust_anchors = []
`,
    });
    dnsPort = Number(app.listeners['dns-udp']!.split(':').pop());
  });

  after(async () => {
    await app?.stop();
    await relay?.close();
    blackhole?.close();
    await nsd?.stop();
    removeTemp(dir);
  });

  test('with one upstream down and one dropping every other query, every answer comes within the timeout', async () => {
    const times: number[] = [];
    for (let i = 0; i < 16; i++) {
      const { msg, ms } = await ask(dnsPort, `n${i}.wild.fwd.test`, TYPE.A);
      assert.equal(msg.rcode, RCODE.NOERROR, `n${i}`);
      assert.deepEqual(addresses(msg), ['192.0.2.7'], `n${i}`);
      assert.ok(msg.ra, 'RA is set for a client that may recurse');
      times.push(ms);
    }
    assert.ok(Math.max(...times) < TIMEOUT_MS, `slowest answer ${Math.max(...times).toFixed(0)} ms`);
    assert.ok(relay.received > relay.forwarded, 'the relay dropped queries');
    assert.ok(blackholeHits > 0, 'the dead upstream was tried');
    // Concurrent distinct names too: each is its own resolution with its own retries.
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(dnsPort, `c${i}.wild.fwd.test`, TYPE.A)));
    for (const { msg, ms } of burst) {
      assert.equal(msg.rcode, RCODE.NOERROR);
      assert.ok(ms < TIMEOUT_MS, `${ms.toFixed(0)} ms`);
    }
  });

  test('a repeated query is answered from the cache, with no upstream packet and a smaller TTL, over UDP, TCP and DoH', async () => {
    const first = await ask(dnsPort, 'www.fwd.test', TYPE.A);
    assert.deepEqual(addresses(first.msg), ['192.0.2.1']);
    const firstTtl = first.msg.answer[0]!.ttl;
    assert.ok(firstTtl <= 300 && firstTtl >= 298, `ttl ${firstTtl}`);
    const upstreamBefore = relay.received + blackholeHits;
    await sleep(2100);
    const again = await ask(dnsPort, 'www.fwd.test', TYPE.A);
    assert.deepEqual(addresses(again.msg), ['192.0.2.1']);
    assert.ok(again.msg.answer[0]!.ttl <= firstTtl - 2, `ttl ${again.msg.answer[0]!.ttl} after 2 s, was ${firstTtl}`);
    const server = { host: '127.0.0.1', port: dnsPort };
    const tcp = await query('dig', 'tcp', server, 'www.fwd.test', 'A', { rd: true });
    assert.deepEqual(tcp.answer.map((r) => r.split(/\s+/).pop()), ['192.0.2.1']);
    const doh = await fetch(`${app.url}/dns-query`, {
      method: 'POST',
      headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' },
      body: new Uint8Array(encodeQuery('www.fwd.test', TYPE.A, { id: 0, rd: true })),
    });
    assert.equal(doh.status, 200);
    const dohMsg = decodeMessage(Buffer.from(await doh.arrayBuffer()));
    assert.deepEqual(addresses(dohMsg), ['192.0.2.1']);
    assert.ok(dohMsg.answer[0]!.ttl < firstTtl);
    assert.equal(relay.received + blackholeHits, upstreamBefore, 'no packet went upstream for the repeats');
  });

  test('a CNAME, an NXDOMAIN and a NODATA are forwarded, and the negative answers are cached with the SOA', async () => {
    const alias = await ask(dnsPort, 'alias.fwd.test', TYPE.A);
    assert.equal(alias.msg.rcode, RCODE.NOERROR);
    assert.deepEqual(alias.msg.answer.map((r) => r.type), [TYPE.CNAME, TYPE.A]);
    const nx = await ask(dnsPort, 'nope.fwd.test', TYPE.A);
    assert.equal(nx.msg.rcode, RCODE.NXDOMAIN);
    assert.equal(nx.msg.authority[0]?.type, TYPE.SOA);
    const nodata = await ask(dnsPort, 'v4only.fwd.test', TYPE.AAAA);
    assert.equal(nodata.msg.rcode, RCODE.NOERROR);
    assert.equal(nodata.msg.answer.length, 0);
    assert.equal(nodata.msg.authority[0]?.type, TYPE.SOA);
    const before = relay.received + blackholeHits;
    const nx2 = await ask(dnsPort, 'nope.fwd.test', TYPE.AAAA);
    assert.equal(nx2.msg.rcode, RCODE.NXDOMAIN, 'an NXDOMAIN covers every type of the name (RFC 2308)');
    await ask(dnsPort, 'v4only.fwd.test', TYPE.AAAA);
    assert.equal(relay.received + blackholeHits, before);
    assert.ok(nx2.msg.authority[0]!.ttl <= 120, 'negative TTL is the SOA minimum');
  });

  test('a query without RD is answered from the cache only', async () => {
    const cached = await ask(dnsPort, 'www.fwd.test', TYPE.A, { rd: false });
    assert.equal(cached.msg.rcode, RCODE.NOERROR);
    assert.deepEqual(addresses(cached.msg), ['192.0.2.1']);
    const before = relay.received + blackholeHits;
    const uncached = await ask(dnsPort, 'never-asked.wild.fwd.test', TYPE.A, { rd: false });
    assert.equal(uncached.msg.rcode, RCODE.REFUSED);
    assert.equal(relay.received + blackholeHits, before);
  });

  test('a client outside the allow-list is REFUSED (EDE 18) and sees no RA, even for names already cached', async () => {
    const server = { host: '127.0.0.1', port: dnsPort };
    for (const name of ['www.fwd.test', 'other.wild.fwd.test']) {
      const r = await query('dig', 'udp', server, name, 'A', { rd: true, source: '127.0.0.2' });
      assert.equal(r.rcode, 'REFUSED', name);
      assert.ok(!r.flags.includes('ra'), name);
      assert.deepEqual(r.answer, []);
    }
    const refused = await ask(dnsPort, 'www.fwd.test', TYPE.A, { source: '127.0.0.2' });
    assert.equal(refused.msg.rcode, RCODE.REFUSED);
    assert.equal(refused.msg.answer.length, 0);
    // Local data is still served to everybody (the service zone here), without RA for the outsider.
    const local = await ask(dnsPort, 'ns.nekoq.internal', TYPE.A, { source: '127.0.0.2' });
    assert.equal(local.msg.rcode, RCODE.NOERROR);
    assert.ok(!local.msg.ra);
    const localAllowed = await ask(dnsPort, 'ns.nekoq.internal', TYPE.A);
    assert.ok(localAllowed.msg.ra);
  });

  test('a truncated UDP answer is asked again over TCP; a DoH upstream works', async () => {
    const direct = await startAppliance({ name: 'tc', toml: `[recursion]\nmode = "forward"\nupstreams = ["udp://127.0.0.1:${nsd.port}"]\n[dnssec]\ntrust_anchors = []\n` });
    try {
      const port = Number(direct.listeners['dns-udp']!.split(':').pop());
      const tcp = await query('dig', 'tcp', { host: '127.0.0.1', port }, 'big.fwd.test', 'TXT', { rd: true });
      assert.equal(tcp.rcode, 'NOERROR');
      assert.equal(tcp.answer.length, 60, 'the whole RRset came back: we retried over TCP');
      const metrics = await (await fetch(`${direct.url}/metrics`)).text();
      assert.match(metrics, /nekoq_resolver_upstream_queries_total\{result="tcp_retry"\} 1\b/);
      const viaDoh = await startAppliance({ name: 'doh', toml: `[recursion]\nmode = "forward"\nupstreams = ["${direct.url}/dns-query"]\n[dnssec]\ntrust_anchors = []\n` });
      try {
        const dohPort = Number(viaDoh.listeners['dns-udp']!.split(':').pop());
        const r = await ask(dohPort, 'alias.fwd.test', TYPE.A);
        assert.equal(r.msg.rcode, RCODE.NOERROR);
        assert.deepEqual(addresses(r.msg), ['192.0.2.1']);
      } finally {
        await viaDoh.stop();
      }
    } finally {
      await direct.stop();
    }
  });

  test('the cache can be flushed by name and whole through the admin API', async () => {
    await ask(dnsPort, 'www.fwd.test', TYPE.A);
    const status = await app.api('GET', '/v1/admin/resolver');
    assert.equal(status.status, 200);
    const body = status.json as { mode: string; cache: { entries: number }; upstreams: { upstream: string; up: boolean }[] };
    assert.equal(body.mode, 'forward');
    assert.ok(body.cache.entries > 0);
    assert.equal(body.upstreams.length, 2);
    const forbidden = await app.api('DELETE', '/v1/admin/resolver/cache', { role: 'read' });
    assert.equal(forbidden.status, 403);
    const bad = await app.api('DELETE', '/v1/admin/resolver/cache?name=a..b');
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { code: string }).code, 'invalid_query');
    const one = await app.api('DELETE', '/v1/admin/resolver/cache?name=www.fwd.test.');
    assert.equal(one.status, 200, one.text);
    assert.equal((one.json as { flushed: number }).flushed, 1);
    const before = relay.received + blackholeHits;
    await ask(dnsPort, 'www.fwd.test', TYPE.A);
    assert.ok(relay.received + blackholeHits > before, 'after the flush the name is asked upstream again');
    const all = await app.api('DELETE', '/v1/admin/resolver/cache');
    assert.ok((all.json as { flushed: number }).flushed > 1);
    const after = await app.api('GET', '/v1/admin/resolver');
    assert.equal((after.json as { cache: { entries: number } }).cache.entries, 0);
  });
});
