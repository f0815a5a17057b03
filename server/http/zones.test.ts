import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { removeTemp, runMain, startAppliance, tempDir, type ApplianceProcess } from '../testing/appliance-process';
import { query } from '../testing/dns-clients';

const ZONE_FILE = `$ORIGIN shop.example.
$TTL 600
@       IN SOA ns.nekoq.internal. hostmaster ( 2024050101 ; serial
                 3600 600 1209600 120 )
        IN NS  ns.nekoq.internal.
        IN MX  10 mail
mail    IN A   198.51.100.25
www     IN CNAME @
@       IN A   198.51.100.80
txt     IN TXT "a ; b" "quote\\"d" plain
caa     IN CAA 0 issue "ca.example.net"
srv     IN SRV 1 2 443 www
`;

describe('authoritative zones over the API', () => {
  let app: ApplianceProcess;
  let dir: string;
  let dns: { host: string; port: number };

  before(async () => {
    dir = tempDir('nekoq-zones-');
    const fileZone = join(dir, 'static.example.zone');
    writeFileSync(fileZone, '$ORIGIN static.example.\n@ 300 IN SOA ns hm 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 192.0.2.1\n');
    app = await startAppliance({ dnsToml: `zone_files = ["${fileZone}"]\n` });
    const l = app.listeners['dns-udp']!;
    dns = { host: '127.0.0.1', port: Number(l.slice(l.lastIndexOf(':') + 1)) };
  });
  after(async () => {
    await app?.stop();
    removeTemp(dir);
  });

  test('create, list, put and delete RRsets; every change is served at once and bumps the serial', async () => {
    const created = await app.api('POST', '/v1/zones', { body: { name: 'Corp.Example' } });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json, { name: 'corp.example.', source: 'api', serial: 1, rrsets: 2 });
    assert.equal((await app.api('POST', '/v1/zones', { body: { name: 'corp.example.' } })).json.code, 'zone_exists');

    const list = await app.api('GET', '/v1/zones', { role: 'read' });
    assert.deepEqual(
      list.json.zones.map((z: { name: string; source: string }) => [z.name, z.source]),
      [
        ['corp.example.', 'api'],
        ['static.example.', 'file'],
      ],
    );

    const put = await app.api('PUT', '/v1/zones/corp.example/records/www/A', { body: { ttl: 120, values: ['192.0.2.10', '192.0.2.11', '192.0.2.10'] } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.json, { name: 'www.corp.example.', type: 'A', ttl: 120, values: ['192.0.2.10', '192.0.2.11'] });
    const answer = await query('dig', 'udp', dns, 'www.corp.example', 'A');
    assert.deepEqual(answer.answer, ['www.corp.example. 120 IN A 192.0.2.10', 'www.corp.example. 120 IN A 192.0.2.11']);
    assert.ok(answer.flags.includes('aa'));

    const mx = await app.api('PUT', '/v1/zones/corp.example./records/@/MX', { body: { values: ['10 mail', '20 backup.example.net.'] } });
    assert.deepEqual(mx.json.values, ['10 mail.corp.example.', '20 backup.example.net.']);
    assert.equal((await app.api('GET', '/v1/zones/corp.example', { role: 'read' })).json.serial, 3);

    const records = await app.api('GET', '/v1/zones/corp.example/records', { role: 'read' });
    assert.deepEqual(
      records.json.rrsets.map((r: { name: string; type: string }) => `${r.name} ${r.type}`),
      ['corp.example. SOA', 'corp.example. NS', 'corp.example. MX', 'www.corp.example. A'],
    );

    assert.equal((await app.api('DELETE', '/v1/zones/corp.example/records/www/A')).status, 204);
    assert.equal((await query('dig', 'udp', dns, 'www.corp.example', 'A')).rcode, 'NXDOMAIN');
    assert.equal((await app.api('DELETE', '/v1/zones/corp.example/records/www/A')).json.code, 'rrset_not_found');
  });

  const BAD: [string, string, unknown, string, RegExp][] = [
    ['bad address', 'www/A', { values: ['192.0.2.300'] }, 'invalid_record', /values\[0\]/],
    ['CNAME beside other data', '@/CNAME', { values: ['elsewhere.example.'] }, 'invalid_record', /CNAME/],
    ['name outside the zone', 'www.other.example./A', { values: ['192.0.2.1'] }, 'invalid_record', /outside the zone/],
    ['unknown type', 'www/BOGUS', { values: ['x'] }, 'invalid_record', /not accepted/],
    ['empty values', 'www/A', { values: [] }, 'validation_failed', /values/],
    ['ttl out of range', 'www/A', { ttl: -1, values: ['192.0.2.1'] }, 'validation_failed', /ttl/],
    ['two CNAMEs', 'alias/CNAME', { values: ['a.example.', 'b.example.'] }, 'invalid_record', /only one CNAME/],
    ['SOA off the apex', 'www/SOA', { values: ['ns hm 1 2 3 4 5'] }, 'invalid_record', /apex/],
  ];
  for (const [what, path, body, code, detail] of BAD) {
    test(`refused and nothing changes: ${what}`, async () => {
      await app.api('POST', '/v1/zones', { body: { name: 'bad.example' } });
      const before = await app.api('GET', '/v1/zones/bad.example/export', { role: 'read' });
      const r = await app.api('PUT', `/v1/zones/bad.example/records/${path}`, { body });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.code, code);
      assert.match(r.json.detail, detail);
      assert.equal((await app.api('GET', '/v1/zones/bad.example/export', { role: 'read' })).text, before.text);
    });
  }

  test('export then import gives the same zone; a syntax error is refused with its line and changes nothing', async () => {
    await app.api('POST', '/v1/zones', { body: { name: 'shop.example' } });
    const imported = await app.api('POST', '/v1/zones/shop.example/import', { raw: ZONE_FILE, headers: { 'content-type': 'text/dns' } });
    assert.equal(imported.status, 200, imported.text);
    assert.equal(imported.json.serial, 2024050101);
    const exported = await app.api('GET', '/v1/zones/shop.example/export', { role: 'read' });
    assert.equal(exported.headers.get('content-type'), 'text/dns; charset=utf-8');
    assert.match(exported.text, /^\$ORIGIN shop\.example\.$/m);
    // The zone may be named with its final dot, or in another case: the same zone, the same file.
    assert.equal((await app.api('GET', '/v1/zones/Shop.Example./export', { role: 'read' })).text, exported.text);
    assert.equal((await app.api('GET', '/v1/zones/shop.example.', { role: 'read' })).json.name, 'shop.example.');

    const again = await app.api('POST', '/v1/zones/shop.example/import', { raw: exported.text, headers: { 'content-type': 'text/dns' } });
    assert.equal(again.status, 200, again.text);
    assert.equal((await app.api('GET', '/v1/zones/shop.example/export', { role: 'read' })).text, exported.text);
    const txt = await query('dig', 'udp', dns, 'txt.shop.example', 'TXT');
    assert.deepEqual(txt.answer, ['txt.shop.example. 600 IN TXT "a ; b" "quote\\"d" "plain"']);

    const broken = ZONE_FILE.replace('mail    IN A   198.51.100.25', 'mail    IN A   198.51.100');
    const r = await app.api('POST', '/v1/zones/shop.example/import', { raw: broken, headers: { 'content-type': 'text/dns' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'invalid_zone_file');
    assert.match(r.json.detail, /^line 7: /);
    assert.equal((await app.api('GET', '/v1/zones/shop.example/export', { role: 'read' })).text, exported.text);

    const outside = await app.api('POST', '/v1/zones/shop.example/import', { raw: `${ZONE_FILE}other.example. IN A 192.0.2.1\n`, headers: { 'content-type': 'text/dns' } });
    assert.equal(outside.json.code, 'invalid_zone_file');
    assert.match(outside.json.detail, /^line 13: .*outside the zone/);
  });

  test('zones from zone files are served and read-only through the API', async () => {
    const ns = await query('dig', 'udp', dns, 'ns.static.example', 'A');
    assert.deepEqual(ns.answer, ['ns.static.example. 300 IN A 192.0.2.1']);
    const put = await app.api('PUT', '/v1/zones/static.example/records/www/A', { body: { values: ['192.0.2.9'] } });
    assert.equal(put.status, 409);
    assert.equal(put.json.code, 'zone_read_only');
    assert.equal((await app.api('DELETE', '/v1/zones/static.example')).json.code, 'zone_read_only');
  });

  test('roles: reading needs read, changing needs admin', async () => {
    assert.equal((await app.api('GET', '/v1/zones', { role: null })).status, 401);
    assert.equal((await app.api('POST', '/v1/zones', { role: 'register', body: { name: 'x.example' } })).status, 403);
    assert.equal((await app.api('GET', '/v1/zones/nope.example', { role: 'read' })).json.code, 'zone_not_found');
  });

  test('an acknowledged zone change survives kill -9', async () => {
    await app.api('POST', '/v1/zones', { body: { name: 'durable.example' } });
    const put = await app.api('PUT', '/v1/zones/durable.example/records/www/AAAA', { body: { values: ['2001:db8::1'] } });
    assert.equal(put.status, 200);
    await app.kill9();
    app = await startAppliance({ dataDir: app.dataDir, dnsToml: `zone_files = ["${join(dir, 'static.example.zone')}"]\n` });
    const l = app.listeners['dns-udp']!;
    dns = { host: '127.0.0.1', port: Number(l.slice(l.lastIndexOf(':') + 1)) };
    const r = await query('dig', 'udp', dns, 'www.durable.example', 'AAAA');
    assert.deepEqual(r.answer, ['www.durable.example. 3600 IN AAAA 2001:db8::1']);
    assert.equal((await app.api('DELETE', '/v1/zones/durable.example')).status, 204);
    assert.equal((await query('dig', 'udp', dns, 'www.durable.example', 'AAAA')).rcode, 'REFUSED');
  });

  test('a zone file with an error stops the start, naming the file and line', async () => {
    const bad = join(dir, 'bad.zone');
    writeFileSync(bad, '$ORIGIN bad.example.\n@ 300 IN SOA ns hm 1 2 3 4 5\nwww 300 IN A not-an-address\n');
    const conf = join(dir, 'bad.toml');
    writeFileSync(conf, `[node]\ndata_dir = "${join(dir, 'data-bad')}"\n[http]\nlisten = "127.0.0.1:0"\n[dns]\nlisten = "127.0.0.1:0"\nzone_files = ["${bad}"]\n`);
    const r = await runMain(['--config', conf]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`zone file ${bad}:3: `));
  });
});
