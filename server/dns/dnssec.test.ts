import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeTemp, startAppliance, tempDir, type ApplianceProcess } from '../testing/appliance-process';
import { query } from '../testing/dns-clients';
import { runTool } from '../testing/nsd';
import { startUnbound, type UnboundServer } from '../testing/unbound';

/*
 * Signing checked by validators that are not ours: delv (BIND) with our DS as
 * its trust anchor must call every answer "fully validated" — positive ones,
 * NXDOMAIN and NODATA, wildcards, in an operator zone and in the service zone —
 * and Unbound, forwarding to us with our DS as anchor, must set AD. A ZSK
 * rollover runs while Unbound keeps validating: no answer may lose AD.
 */

const ZONE = `$ORIGIN signed.test.
$TTL 300
@        IN SOA ns hostmaster 1 3600 600 1209600 120
         IN NS  ns
ns       IN A   127.0.0.1
www      IN A   192.0.2.1
         IN AAAA 2001:db8::1
Mixed    IN MX  10 Mail.Signed.TEST.
mail     IN A   192.0.2.25
alias    IN CNAME www
*.wild   IN A   192.0.2.7
a.b.c    IN TXT "deep name; b.c and c are empty non-terminals"
child    IN NS  ns.child
ns.child IN A   192.0.2.53
`;

const SERVICE_ZONE = 'nekoq.internal';

interface Port {
  host: string;
  port: number;
}

/** delv asks `server` with `anchor` (a DS record in presentation form) as the only trust anchor and returns its output. */
async function delv(server: Port, anchorFile: string, root: string, name: string, type: string): Promise<string> {
  const r = await runTool('delv', [`@${server.host}`, '-p', String(server.port), '-a', anchorFile, `+root=${root}`, name, type]);
  return r.stdout + r.stderr;
}

/** anchorFile writes delv's trust-anchors clause for one DS record ("owner. IN DS tag alg type digest"). */
function anchorFile(dir: string, ds: string): string {
  const [owner, , , tag, alg, digestType, digest] = ds.split(/\s+/);
  const file = join(dir, `${owner}anchor.conf`);
  writeFileSync(file, `trust-anchors {\n  "${owner}" static-ds ${tag} ${alg} ${digestType} "${digest}";\n};\n`);
  return file;
}

describe('DNSSEC signing, checked by delv and Unbound', () => {
  let dir: string;
  let app: ApplianceProcess;
  let dns: Port;
  const ds: Record<string, string> = {};
  const anchors: Record<string, string> = {};

  before(async () => {
    dir = tempDir('nekoq-dnssec-');
    const zoneFile = join(dir, 'signed.test.zone');
    writeFileSync(zoneFile, ZONE);
    app = await startAppliance({
      dnsToml: `zone_files = ["${zoneFile}"]\nttl = 2\n`,
      toml: '[dnssec]\nenabled = true\ndnskey_ttl = 2\npropagation_delay = "1s"\n',
    });
    const udp = app.listeners['dns-udp']!;
    dns = { host: '127.0.0.1', port: Number(udp.slice(udp.lastIndexOf(':') + 1)) };
    const r = await app.api('PUT', '/v1/services/discovery/api/instances/i1', { role: 'register', body: { address: '127.0.0.1', port: 9000, protocol: 'tcp', ttl: 600 } });
    assert.equal(r.status, 200, r.text);
    for (const zone of ['signed.test', SERVICE_ZONE]) {
      const k = await app.api('GET', `/v1/dnssec/${zone}`, { role: 'read' });
      assert.equal(k.status, 200, k.text);
      assert.equal(k.json.ds.length, 1, 'one KSK, one DS');
      assert.ok(!/private/i.test(k.text), 'no private key in the API');
      assert.deepEqual(k.json.keys.map((x: { role: string }) => x.role).sort(), ['ksk', 'zsk']);
      ds[zone] = k.json.ds[0];
      anchors[zone] = anchorFile(dir, ds[zone]!);
    }
  });

  after(async () => {
    await app?.stop();
    if (dir !== undefined) removeTemp(dir);
  });

  const cases: [string, string, string, RegExp][] = [
    ['signed.test', 'www.signed.test', 'A', /^www\.signed\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.1$/m],
    ['signed.test', 'www.signed.test', 'AAAA', /IN\s+AAAA\s+2001:db8::1/],
    ['signed.test', 'mixed.signed.test', 'MX', /IN\s+MX\s+10 Mail\.Signed\.TEST\./i],
    ['signed.test', 'alias.signed.test', 'A', /alias\.signed\.test\.\s+\d+\s+IN\s+CNAME/],
    ['signed.test', 'x.y.wild.signed.test', 'A', /IN\s+A\s+192\.0\.2\.7/],
    ['signed.test', 'signed.test', 'DNSKEY', /IN\s+DNSKEY\s+257 3 13/],
    ['signed.test', 'nothing.signed.test', 'A', /NXDOMAIN/],
    ['signed.test', 'q.a.b.c.signed.test', 'A', /NXDOMAIN/],
    ['signed.test', 'www.signed.test', 'TXT', /NXRRSET/],
    ['signed.test', 'b.c.signed.test', 'TXT', /NXRRSET/],
    ['signed.test', 'z.wild.signed.test', 'MX', /NXRRSET/],
    ['signed.test', 'child.signed.test', 'DS', /NXRRSET/],
    [SERVICE_ZONE, 'api.discovery.nekoq.internal', 'A', /IN\s+A\s+127\.0\.0\.1/],
    [SERVICE_ZONE, 'api.discovery.nekoq.internal', 'SRV', /IN\s+SRV\s+0 1 9000 i1\.api\.discovery\.nekoq\.internal\./],
    [SERVICE_ZONE, '_api._tcp.discovery.nekoq.internal', 'SRV', /IN\s+SRV\s+0 1 9000/],
    [SERVICE_ZONE, 'missing.discovery.nekoq.internal', 'SRV', /NXDOMAIN/],
    [SERVICE_ZONE, 'api.discovery.nekoq.internal', 'TXT', /NXRRSET/],
    [SERVICE_ZONE, '_tcp.discovery.nekoq.internal', 'A', /NXRRSET/],
  ];

  test('delv fully validates answers, NXDOMAIN and NODATA in an operator zone and the service zone', async () => {
    for (const [zone, name, type, expect] of cases) {
      const out = await delv(dns, anchors[zone]!, zone, name, type);
      assert.match(out, /fully validated/, `${name} ${type}: ${out}`);
      assert.doesNotMatch(out, /resolution failed: (?!ncache)/, `${name} ${type}: ${out}`);
      assert.match(out, expect, `${name} ${type}: ${out}`);
    }
  });

  test('delv rejects our answers under another zone\'s key (the check can fail)', async () => {
    const out = await delv(dns, anchors[SERVICE_ZONE]!, 'signed.test', 'www.signed.test', 'A');
    assert.doesNotMatch(out, /fully validated/, out);
  });

  test('signatures only with DO; DNSKEY is answered either way', async () => {
    const plain = await query('dig', 'udp', dns, 'www.signed.test', 'A');
    assert.ok(!plain.answer.some((r) => / RRSIG /.test(r)), plain.answer.join('\n'));
    assert.ok(!plain.authority.some((r) => / (RRSIG|NSEC) /.test(r)));
    const signed = await query('dig', 'udp', dns, 'www.signed.test', 'A', { dnssec: true });
    assert.ok(signed.answer.some((r) => / RRSIG A 13 3 /.test(r)), signed.answer.join('\n'));
    const neg = await query('dig', 'udp', dns, 'nothing.signed.test', 'A', { dnssec: true });
    assert.equal(neg.rcode, 'NXDOMAIN');
    assert.equal(neg.authority.filter((r) => / IN NSEC /.test(r)).length, 2, neg.authority.join('\n'));
    const keys = await query('kdig', 'tcp', dns, 'signed.test', 'DNSKEY');
    assert.equal(keys.answer.filter((r) => / DNSKEY /.test(r)).length, 2);
    // A referral: the child's NS unsigned, the parent's proof that it has no DS.
    const ref = await query('dig', 'udp', dns, 'www.child.signed.test', 'A', { dnssec: true });
    assert.ok(!ref.flags.includes('aa'));
    assert.ok(ref.authority.some((r) => /^child\.signed\.test\. \d+ IN NSEC /.test(r)), ref.authority.join('\n'));
    assert.ok(!ref.authority.some((r) => / RRSIG NS /.test(r)));
  });

  test('Unbound with our DS as trust anchor, forwarding to us, answers with AD; a ZSK rollover loses no AD', async () => {
    let unbound: UnboundServer | undefined;
    try {
      unbound = await startUnbound({ forwardTo: [{ address: dns.host, port: dns.port }], trustAnchors: [ds['signed.test']!, ds[SERVICE_ZONE]!] });
      const ub = { host: unbound.address, port: unbound.port };
      for (const [name, type] of [
        ['www.signed.test', 'A'],
        ['api.discovery.nekoq.internal', 'SRV'],
        ['nothing.signed.test', 'A'],
        ['www.signed.test', 'TXT'],
      ] as const) {
        const r = await query('dig', 'udp', ub, name, type, { rd: true, dnssec: true });
        assert.ok(r.flags.includes('ad'), `${name} ${type}: ${r.flags.join(' ')} ${r.rcode}\n${unbound.stderr()}`);
      }
      // Rollover of the service zone's ZSK (dnskey_ttl 2 s, propagation 1 s, TTLs 2 s): the new key signs after 3 s, the old leaves after 3 s more.
      const before = (await app.api('GET', `/v1/dnssec/${SERVICE_ZONE}`)).json.keys.find((k: { role: string }) => k.role === 'zsk').keyTag as number;
      const roll = await app.api('POST', `/v1/dnssec/${SERVICE_ZONE}/rollover`);
      assert.equal(roll.status, 202, roll.text);
      assert.equal((await app.api('POST', `/v1/dnssec/${SERVICE_ZONE}/rollover`)).json.code, 'rollover_in_progress');
      assert.equal((await app.api('POST', `/v1/dnssec/${SERVICE_ZONE}/rollover`, { role: 'read' })).status, 403);
      const after = roll.json.keys.find((k: { role: string; state: string }) => k.role === 'zsk' && k.state === 'published').keyTag as number;
      const signers = new Set<string>();
      const deadline = Date.now() + 8000;
      let answers = 0;
      while (Date.now() < deadline) {
        const r = await query('dig', 'udp', ub, 'api.discovery.nekoq.internal', 'A', { rd: true, dnssec: true });
        assert.equal(r.rcode, 'NOERROR', unbound.stderr());
        assert.ok(r.flags.includes('ad'), `answer ${answers} lost AD during the rollover: ${r.flags.join(' ')}\n${unbound.stderr()}`);
        const direct = await query('dig', 'udp', dns, 'api.discovery.nekoq.internal', 'A', { dnssec: true });
        for (const rec of direct.answer) {
          const m = / RRSIG A 13 4 \d+ \d+ \d+ (\d+) /.exec(rec);
          if (m !== null) signers.add(m[1]!);
        }
        answers++;
        await sleep(250);
      }
      assert.ok(signers.has(String(before)) && signers.has(String(after)), `signed first by ${before}, then by ${after}: saw ${[...signers].join(', ')}`);
      const keys = (await query('dig', 'udp', dns, SERVICE_ZONE, 'DNSKEY')).answer.filter((r) => / DNSKEY 256 /.test(r));
      assert.equal(keys.length, 1, `the old ZSK has left the DNSKEY RRset: ${keys.join('\n')}`);
      const out = await delv(dns, anchors[SERVICE_ZONE]!, SERVICE_ZONE, 'api.discovery.nekoq.internal', 'SRV');
      assert.match(out, /fully validated/, out);
    } finally {
      await unbound?.stop();
    }
  });

  test('keys survive kill -9: the DS is the same after a restart', async () => {
    await app.kill9();
    app = await startAppliance({ dataDir: app.dataDir, dnsToml: `zone_files = ["${join(dir, 'signed.test.zone')}"]\n`, toml: '[dnssec]\nenabled = true\n' });
    const k = await app.api('GET', '/v1/dnssec/signed.test', { role: 'read' });
    assert.equal(k.json.ds[0], ds['signed.test']);
    const udp = app.listeners['dns-udp']!;
    const out = await delv({ host: '127.0.0.1', port: Number(udp.slice(udp.lastIndexOf(':') + 1)) }, anchors['signed.test']!, 'signed.test', 'www.signed.test', 'A');
    assert.match(out, /fully validated/, out);
  });
});
