import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeTemp, startAppliance, tempDir, type ApplianceProcess } from '../testing/appliance-process';
import { query, type DnsResult } from '../testing/dns-clients';
import { runTool, startNsd, type NsdServer } from '../testing/nsd';

/*
 * The validating resolver against zones signed by another implementation
 * (ldns-signzone), one with NSEC and one with NSEC3, served by NSD. In each, one
 * RRSIG is tampered with. Our resolver, forwarding to NSD with the zones' DS
 * records as its only trust anchors, must set AD on what verifies (answers,
 * wildcards, NXDOMAIN and NODATA through their NSEC/NSEC3 proofs), answer
 * SERVFAIL for the tampered record — and give it, without AD, to a query with CD.
 */

const zoneText = (origin: string) => `$ORIGIN ${origin}.
$TTL 300
@        IN SOA ns hostmaster 1 3600 600 1209600 120
         IN NS  ns
ns       IN A   127.0.0.1
good     IN A   192.0.2.1
tampered IN A   192.0.2.66
*.wild   IN A   192.0.2.7
a.b      IN TXT "b is an empty non-terminal"
`;

interface Signed {
  zone: string;
  file: string;
  ds: string;
}

/** signZone makes a KSK and a ZSK with ldns-keygen, signs the zone with ldns-signzone (NSEC, or NSEC3 without salt or extra iterations), and spoils the RRSIG of tampered.<zone>. */
async function signZone(dir: string, zone: string, nsec3: boolean, extra = ''): Promise<Signed> {
  const run = async (tool: string, args: string[]) => {
    const r = await runTool(tool, args);
    if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const file = join(dir, `${zone}.zone`);
  writeFileSync(file, zoneText(zone) + extra);
  const ksk = join(dir, await run('sh', ['-c', `cd ${dir} && ldns-keygen -a ECDSAP256SHA256 -k ${zone}`]));
  const zsk = join(dir, await run('sh', ['-c', `cd ${dir} && ldns-keygen -a ECDSAP256SHA256 ${zone}`]));
  await run('ldns-signzone', [...(nsec3 ? ['-n', '-t', '0'] : []), '-f', `${file}.signed`, file, ksk, zsk]);
  const signed = readFileSync(`${file}.signed`, 'utf8');
  const spoiled = signed.replace(new RegExp(`^(tampered\\.${zone.replaceAll('.', '\\.')}\\.\\s+\\d+\\s+IN\\s+RRSIG\\s+A .* )([A-Za-z0-9+/])([A-Za-z0-9+/]{3})`, 'm'), (_m, head: string, c: string, rest: string) => `${head}${c === 'A' ? 'B' : 'A'}${rest}`);
  assert.notEqual(spoiled, signed, 'the RRSIG of tampered was found and changed');
  writeFileSync(`${file}.signed`, spoiled);
  const ds = (await run('ldns-key2ds', ['-n', '-2', `${ksk}.key`])).split('\n')[0]!;
  return { zone, file: `${file}.signed`, ds };
}

describe('validating resolver (forward mode) against ldns-signed zones served by NSD', () => {
  let dir: string;
  let nsd: NsdServer;
  let app: ApplianceProcess;
  let wrongAnchor: ApplianceProcess;
  let dns: { host: string; port: number };
  const zones = ['nsec.test', 'nsec3.test'];

  before(async () => {
    dir = tempDir('nekoq-validate-');
    const signed = [await signZone(dir, 'nsec.test', false), await signZone(dir, 'nsec3.test', true)];
    nsd = await startNsd(signed.map((s) => ({ name: s.zone, file: s.file })));
    const toml = (anchors: string[]) => `[recursion]
mode = "forward"
upstreams = ["udp://127.0.0.1:${nsd.port}"]
[dnssec]
trust_anchors = ${JSON.stringify(anchors)}
`;
    app = await startAppliance({ name: 'validating', toml: toml(signed.map((s) => s.ds)) });
    // The same zones, but the anchor of nsec.test is some other key's DS.
    const other = signed[0]!.ds.replace(/[0-9a-f]{8}$/i, '00000000');
    wrongAnchor = await startAppliance({ name: 'wrong-anchor', toml: toml([other]) });
    const udp = app.listeners['dns-udp']!;
    dns = { host: '127.0.0.1', port: Number(udp.slice(udp.lastIndexOf(':') + 1)) };
  });

  after(async () => {
    await app?.stop();
    await wrongAnchor?.stop();
    await nsd?.stop();
    if (dir !== undefined) removeTemp(dir);
  });

  const ask = (name: string, type: string, o: { cd?: boolean; dnssec?: boolean; server?: { host: string; port: number } } = {}): Promise<DnsResult> =>
    query('dig', 'udp', o.server ?? dns, name, type, { rd: true, dnssec: o.dnssec ?? true, cd: o.cd ?? false });

  for (const zone of zones) {
    test(`${zone}: answers, wildcards, NXDOMAIN and NODATA validate (AD)`, async () => {
      for (const [name, type, rcode] of [
        [`good.${zone}`, 'A', 'NOERROR'],
        [`x.y.wild.${zone}`, 'A', 'NOERROR'],
        [`nothing.${zone}`, 'A', 'NXDOMAIN'],
        [`q.nothing.${zone}`, 'AAAA', 'NXDOMAIN'],
        [`good.${zone}`, 'TXT', 'NOERROR'],
        [`b.${zone}`, 'A', 'NOERROR'],
        [`z.wild.${zone}`, 'MX', 'NOERROR'],
      ] as const) {
        for (const round of ['resolved', 'cached']) {
          const r = await ask(name, type);
          assert.equal(r.rcode, rcode, `${round} ${name} ${type}: ${JSON.stringify(r)}`);
          assert.ok(r.flags.includes('ad'), `${round} ${name} ${type} has AD: ${r.flags.join(' ')}`);
        }
      }
      const signed = await ask(`good.${zone}`, 'A');
      assert.ok(signed.answer.some((a) => / RRSIG A 13 3 /.test(a)), 'a DO query gets the RRSIG');
      const plain = await ask(`good.${zone}`, 'A', { dnssec: false });
      assert.ok(!plain.answer.some((a) => / RRSIG /.test(a)), 'a query without DO gets none');
      const nx = await ask(`nothing.${zone}`, 'A');
      assert.ok(nx.authority.some((a) => (zone === 'nsec.test' ? / IN NSEC / : / IN NSEC3 /).test(a)), nx.authority.join('\n'));
    });

    test(`${zone}: a tampered RRSIG is SERVFAIL (EDE 6); with CD the record comes without AD`, async () => {
      for (let i = 0; i < 2; i++) {
        const bad = await ask(`tampered.${zone}`, 'A');
        assert.equal(bad.rcode, 'SERVFAIL', JSON.stringify(bad));
        assert.equal(bad.answer.length, 0);
      }
      const raw = await runTool('dig', [`@${dns.host}`, '-p', String(dns.port), `tampered.${zone}`, 'A', '+dnssec']);
      assert.match(raw.stdout, /EDE: 6 \(DNSSEC Bogus\)/, raw.stdout);
      for (let i = 0; i < 2; i++) {
        const cd = await ask(`tampered.${zone}`, 'A', { cd: true });
        assert.equal(cd.rcode, 'NOERROR', JSON.stringify(cd));
        assert.ok(cd.answer.some((a) => /IN A 192\.0\.2\.66$/.test(a)), cd.answer.join('\n'));
        assert.ok(!cd.flags.includes('ad'));
        assert.ok(cd.flags.includes('cd'));
      }
      // The good name beside it is still secure, before and after the CD query.
      assert.ok((await ask(`good.${zone}`, 'A')).flags.includes('ad'));
    });
  }

  test('a trust anchor that matches no key of the zone makes the zone bogus; other names stay unvalidated', async () => {
    const udp = wrongAnchor.listeners['dns-udp']!;
    const server = { host: '127.0.0.1', port: Number(udp.slice(udp.lastIndexOf(':') + 1)) };
    const r = await ask('good.nsec.test', 'A', { server });
    assert.equal(r.rcode, 'SERVFAIL');
    const cd = await ask('good.nsec.test', 'A', { server, cd: true });
    assert.equal(cd.rcode, 'NOERROR');
    const outside = await ask('good.nsec3.test', 'A', { server });
    assert.equal(outside.rcode, 'NOERROR', 'no anchor above nsec3.test: answered, insecure');
    assert.ok(!outside.flags.includes('ad'));
  });
});

describe('validating resolver: a chain of trust through DS records (ldns-signed parent and children on NSD)', () => {
  let dir: string;
  let nsd: NsdServer;
  let app: ApplianceProcess;
  let dns: { host: string; port: number };

  before(async () => {
    dir = tempDir('nekoq-chain-');
    // Children first: the parent carries their DS records.
    const sec = await signZone(dir, 'sec.top.test', false);
    const bad = await signZone(dir, 'bad.top.test', true);
    const ins = join(dir, 'ins.top.test.zone');
    writeFileSync(ins, zoneText('ins.top.test'));
    const wrongDs = bad.ds.replace(/[0-9a-f]{8}$/i, '00000000');
    const delegations = ['sec', 'ins', 'bad'].map((c) => `${c} IN NS ns.${c}\nns.${c} IN A 127.0.0.1\n`).join('') + `${sec.ds}\n${wrongDs}\n`;
    const top = await signZone(dir, 'top.test', true, delegations);
    nsd = await startNsd([top, sec, bad, { zone: 'ins.top.test', file: ins, ds: '' }].map((z) => ({ name: z.zone, file: z.file })));
    app = await startAppliance({ name: 'chain', toml: `[recursion]\nmode = "forward"\nupstreams = ["udp://127.0.0.1:${nsd.port}"]\n[dnssec]\ntrust_anchors = [${JSON.stringify(top.ds)}]\n` });
    const udp = app.listeners['dns-udp']!;
    dns = { host: '127.0.0.1', port: Number(udp.slice(udp.lastIndexOf(':') + 1)) };
  });

  after(async () => {
    await app?.stop();
    await nsd?.stop();
    if (dir !== undefined) removeTemp(dir);
  });

  const ask = (name: string, type: string, cd = false) => query('dig', 'udp', dns, name, type, { rd: true, dnssec: true, cd });

  test('only the parent is anchored: a child with a matching DS is secure, one proven without DS insecure, one whose DS matches no key bogus', async () => {
    for (const [name, type, rcode, ad] of [
      ['good.sec.top.test', 'A', 'NOERROR', true],
      ['nothing.sec.top.test', 'A', 'NXDOMAIN', true],
      ['x.wild.sec.top.test', 'A', 'NOERROR', true],
      ['good.top.test', 'A', 'NOERROR', true],
      ['good.ins.top.test', 'A', 'NOERROR', false],
      ['nothing.ins.top.test', 'A', 'NXDOMAIN', false],
      ['good.bad.top.test', 'A', 'SERVFAIL', false],
    ] as const) {
      const r = await ask(name, type);
      assert.equal(r.rcode, rcode, `${name} ${type}: ${JSON.stringify(r)}`);
      assert.equal(r.flags.includes('ad'), ad, `${name} ${type} AD: ${r.flags.join(' ')}`);
    }
    const cd = await ask('good.bad.top.test', 'A', true);
    assert.equal(cd.rcode, 'NOERROR');
    assert.ok(cd.answer.some((a) => /192\.0\.2\.1$/.test(a)));
    // The tampered record of a child is caught through the chain too.
    assert.equal((await ask('tampered.sec.top.test', 'A')).rcode, 'SERVFAIL');
  });
});
