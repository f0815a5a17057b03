import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as dnsPacket from 'dns-packet';
import { removeTemp, startAppliance, tempDir, type ApplianceProcess } from '../testing/appliance-process';
import { curlDohResolve, query, type Client, type DnsResult, type QueryOptions, type Transport } from '../testing/dns-clients';
import { startNsd, type NsdServer } from '../testing/nsd';
import { createTestCertificate } from '../testing/test-cert';

/*
 * One table of queries, asked with real clients over every transport: dig and
 * kdig over UDP and TCP, dig and kdig over DoH (HTTP/2 + TLS). Every way of
 * asking must give the same answer, and for the operator zone the same answer
 * as NSD serving the same zone file.
 */

const BIG_TXT = Array.from({ length: 100 }, (_, i) => `big IN TXT "record ${String(i).padStart(3, '0')} of the one hundred record RRset"`).join('\n');

const ZONE = `$ORIGIN example.com.
$TTL 300
@        IN SOA ns1 hostmaster 2024010101 3600 600 1209600 60
         IN NS   ns1
         IN NS   ns2.example.net.
         IN MX   10 mail
         IN MX   20 mail2.example.net.
         IN CAA  0 issue "letsencrypt.org"
         IN TXT  "v=spf1 -all"
ns1      IN A    192.0.2.1
mail     IN A    192.0.2.25
         IN AAAA 2001:db8::25
www      IN CNAME web
alias    IN CNAME www
web      IN A    192.0.2.80
         IN A    192.0.2.81
         IN AAAA 2001:db8::80
ptr      IN PTR  web.example.com.
_sip._tcp IN SRV 10 60 5060 mail
txt      IN TXT  "hello world" "semi;colon" "quote\\"d"
hinfo    IN HINFO "PC" "Linux"
*.wild   IN A    192.0.2.99
sub      IN NS   ns.sub
ns.sub   IN A    192.0.2.53
a.b.ent  IN A    192.0.2.7
${BIG_TXT}
`;

type Q = [name: string, type: string, opts?: QueryOptions];

/** The operator-zone table: every record type, NXDOMAIN, NODATA, CNAME chain, wildcard, delegation, EDNS and not, mixed case. */
const ZONE_QUERIES: Q[] = [
  ['example.com', 'SOA'],
  ['example.com', 'NS'],
  ['example.com', 'MX'],
  ['example.com', 'CAA'],
  ['example.com', 'TXT'],
  ['web.example.com', 'A'],
  ['web.example.com', 'AAAA'],
  ['www.example.com', 'CNAME'],
  ['www.example.com', 'A'],
  ['alias.example.com', 'AAAA'],
  ['ptr.example.com', 'PTR'],
  ['_sip._tcp.example.com', 'SRV'],
  ['txt.example.com', 'TXT'],
  ['hinfo.example.com', 'HINFO'],
  ['nope.example.com', 'A'],
  ['web.example.com', 'MX'],
  ['b.ent.example.com', 'A'],
  ['x.wild.example.com', 'A'],
  ['deep.x.wild.example.com', 'A'],
  ['x.wild.example.com', 'TXT'],
  ['host.sub.example.com', 'A'],
  ['sub.example.com', 'DS'],
  ['web.example.com', 'A', { edns: false }],
  ['nope.example.com', 'A', { edns: false }],
  ['example.com', 'MX', { edns: false }],
  ['web.example.com', 'A', { dnssec: true }],
  ['WeB.ExAmPlE.cOm', 'A'],
  ['wWw.Example.COM', 'A', { edns: false }],
  ['X.Wild.example.com', 'A'],
  ['big.example.com', 'TXT', { edns: false }],
];

const WAYS: [Client, Transport][] = [
  ['dig', 'udp'],
  ['dig', 'tcp'],
  ['kdig', 'udp'],
  ['kdig', 'tcp'],
  ['dig', 'https'],
  ['kdig', 'https'],
];

const lowerQuestion = (r: DnsResult): DnsResult => ({ ...r, question: r.question.toLowerCase() });

describe('DNS over UDP, TCP and DoH with real clients', () => {
  let dir: string;
  let app: ApplianceProcess;
  let nsd: NsdServer;
  let ours: Record<Transport, { host: string; port: number }>;
  let nsdServer: { host: string; port: number };
  let httpPort: number;

  before(async () => {
    dir = tempDir('nekoq-dns-');
    const zoneFile = join(dir, 'example.com.zone');
    writeFileSync(zoneFile, ZONE);
    const cert = await createTestCertificate(dir);
    app = await startAppliance({
      dnsToml: `zone_files = ["${zoneFile}"]\n`,
      toml: `[https]\nlisten = "127.0.0.1:0"\ncert = "${cert.certFile}"\nkey = "${cert.keyFile}"\n[limits]\ndns_tcp_idle_timeout = "1s"\ndns_tcp_read_timeout = "1s"\ndns_tcp_connections = 20\n`,
    });
    const port = (l: string) => Number(l.slice(l.lastIndexOf(':') + 1));
    httpPort = port(app.listeners.http!);
    ours = {
      udp: { host: '127.0.0.1', port: port(app.listeners['dns-udp']!) },
      tcp: { host: '127.0.0.1', port: port(app.listeners['dns-tcp']!) },
      https: { host: '127.0.0.1', port: port(app.listeners.https!) },
    };
    nsd = await startNsd([{ name: 'example.com', file: zoneFile }]);
    nsdServer = { host: '127.0.0.1', port: nsd.port };
    for (const [id, address, port, protocol] of [
      ['i1', '127.0.0.1', httpPort, 'tcp'],
      ['i2', '::1', 9000, 'udp'],
    ] as const) {
      const r = await app.api('PUT', `/v1/services/discovery/api/instances/${id}`, {
        role: 'register',
        body: { address, port, protocol, meta: { zone: 'a' }, weight: 5, priority: 1 },
      });
      assert.equal(r.status, 200, r.text);
    }
  });

  after(async () => {
    await app?.stop();
    await nsd?.stop();
    removeTemp(dir);
  });

  /** askEveryWay asks one question every way; it returns dig-over-UDP's answer after checking the others equal it. */
  async function askEveryWay(name: string, type: string, opts: QueryOptions = {}): Promise<DnsResult> {
    const mixedCase = name !== name.toLowerCase();
    const results = await Promise.all(
      WAYS.filter(([client]) => !(mixedCase && client === 'kdig')).map(async ([client, transport]) => ({
        way: `${client} ${transport}`,
        r: await query(client, transport, ours[transport], name, type, opts),
      })),
    );
    const reference = results[0]!.r;
    for (const { way, r } of results.slice(1)) {
      // A UDP answer may be truncated where TCP and DoH are complete: compared separately below.
      if (reference.flags.includes('tc') && !way.endsWith('udp')) continue;
      assert.deepEqual(client(way) === 'kdig' ? lowerQuestion(r) : r, client(way) === 'kdig' ? lowerQuestion(reference) : reference, `${way} differs from dig udp for ${name} ${type}`);
    }
    return reference;
  }
  const client = (way: string) => way.split(' ')[0];

  for (const [name, type, opts] of ZONE_QUERIES) {
    const label = `${name} ${type}${opts === undefined ? '' : ' ' + JSON.stringify(opts)}`;
    test(`operator zone: ${label} — same every way and same as NSD`, async () => {
      const mine = await askEveryWay(name, type, opts);
      const theirs = await query('dig', 'udp', nsdServer, name, type, opts);
      assert.deepEqual(mine, theirs);
      if (name !== name.toLowerCase()) assert.equal(mine.question.split(' ')[0], `${name}.`, 'question case echoed');
    });
  }

  test('ANY gets one RRset (RFC 8482), as NSD answers it', async () => {
    const mine = await askEveryWay('web.example.com', 'ANY');
    const theirs = await query('dig', 'udp', nsdServer, 'web.example.com', 'ANY');
    assert.equal(mine.rcode, 'NOERROR');
    assert.deepEqual(mine.flags, theirs.flags);
    assert.equal(new Set(mine.answer.map((r) => r.split(' ')[3])).size, 1);
    assert.equal(new Set(theirs.answer.map((r) => r.split(' ')[3])).size, 1);
  });

  test('a 100-record TXT RRset: TC over UDP without EDNS, complete over TCP and DoH', async () => {
    const udp = await query('dig', 'udp', ours.udp, 'big.example.com', 'TXT', { edns: false });
    assert.ok(udp.flags.includes('tc'));
    assert.equal(udp.answer.length, 0);
    for (const [c, t] of [['dig', 'tcp'], ['kdig', 'tcp'], ['kdig', 'https']] as const) {
      const r = await query(c, t, ours[t], 'big.example.com', 'TXT', { edns: false });
      assert.ok(!r.flags.includes('tc'), `${c} ${t}`);
      assert.equal(r.answer.length, 100, `${c} ${t}`);
    }
  });

  const SERVICE_QUERIES: [Q, (r: DnsResult) => void][] = [
    [['api.discovery.nekoq.internal', 'A'], (r) => assert.deepEqual(r.answer, ['api.discovery.nekoq.internal. 30 IN A 127.0.0.1'])],
    [['api.discovery.nekoq.internal', 'AAAA'], (r) => assert.deepEqual(r.answer, ['api.discovery.nekoq.internal. 30 IN AAAA ::1'])],
    [
      ['api.discovery.nekoq.internal', 'SRV'],
      (r) => {
        assert.deepEqual(r.answer, [
          `api.discovery.nekoq.internal. 30 IN SRV 1 5 ${httpPort} i1.api.discovery.nekoq.internal.`,
          'api.discovery.nekoq.internal. 30 IN SRV 1 5 9000 i2.api.discovery.nekoq.internal.',
        ]);
        assert.ok(r.additional.includes('i1.api.discovery.nekoq.internal. 30 IN A 127.0.0.1'));
        assert.ok(r.additional.includes('i2.api.discovery.nekoq.internal. 30 IN AAAA ::1'));
      },
    ],
    [
      ['_api._udp.discovery.nekoq.internal', 'SRV'],
      (r) => assert.deepEqual(r.answer, ['_api._udp.discovery.nekoq.internal. 30 IN SRV 1 5 9000 i2.api.discovery.nekoq.internal.']),
    ],
    [['i1.api.discovery.nekoq.internal', 'TXT'], (r) => assert.deepEqual(r.answer, ['i1.api.discovery.nekoq.internal. 30 IN TXT "zone=a"'])],
    [['Api.Discovery.Nekoq.Internal', 'A'], (r) => assert.equal(r.question, 'Api.Discovery.Nekoq.Internal. IN A')],
    [['nekoq.internal', 'SOA'], (r) => assert.match(r.answer[0]!, /^nekoq\.internal\. 30 IN SOA ns\.nekoq\.internal\. hostmaster\.nekoq\.internal\. \d+ /)],
    [['gone.discovery.nekoq.internal', 'A'], (r) => assert.equal(r.rcode, 'NXDOMAIN')],
    [['discovery.nekoq.internal', 'A'], (r) => assert.deepEqual([r.rcode, r.answer.length, r.authority.length], ['NOERROR', 0, 1])],
  ];
  for (const [[name, type, opts], check] of SERVICE_QUERIES) {
    test(`service zone: ${name} ${type} — same every way`, async () => {
      const r = await askEveryWay(name, type, opts);
      assert.ok(r.flags.includes('aa'));
      check(r);
    });
  }

  test('names outside every local zone are REFUSED while recursion is off; EDNS version 1 gets BADVERS', async () => {
    assert.equal((await query('dig', 'udp', ours.udp, 'www.example.org', 'A')).rcode, 'REFUSED');
    const ede = await new Promise<Buffer>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('message', (m) => (s.close(), resolve(m)));
      s.once('error', reject);
      s.send(
        dnsPacket.encode({
          id: 8,
          type: 'query',
          questions: [{ name: 'www.example.org', type: 'A', class: 'IN' }],
          additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as unknown as dnsPacket.Answer],
        }),
        ours.udp.port,
        '127.0.0.1',
      );
    });
    const opt = dnsPacket.decode(ede).additionals![0] as unknown as { options: { code: number; data: Buffer }[] };
    assert.deepEqual(opt.options.map((o) => [o.code, o.data.readUInt16BE(0)]), [[15, 20]], 'EDE 20, Not Authoritative (RFC 8914)');
    const badvers = await new Promise<Buffer>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('message', (m) => (s.close(), resolve(m)));
      s.once('error', reject);
      const q = dnsPacket.encode({
        id: 9,
        type: 'query',
        questions: [{ name: 'web.example.com', type: 'A', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, ednsVersion: 1, flags: 0 } as unknown as dnsPacket.Answer],
      });
      s.send(q, ours.udp.port, '127.0.0.1');
    });
    const d = dnsPacket.decode(badvers);
    assert.equal((d.additionals![0] as unknown as { extendedRcode: number }).extendedRcode, 1, 'BADVERS = extended rcode 1, header 0');
  });

  test('a registration and a deregistration change the answers at once', async () => {
    const ask = () => query('dig', 'udp', ours.udp, 'fresh.batch.nekoq.internal', 'A');
    assert.equal((await ask()).rcode, 'NXDOMAIN');
    assert.equal((await ask()).rcode, 'NXDOMAIN');
    await app.api('PUT', '/v1/services/batch/fresh/instances/f1', { role: 'register', body: { address: '192.0.2.200', port: 1 } });
    assert.deepEqual((await ask()).answer, ['fresh.batch.nekoq.internal. 30 IN A 192.0.2.200']);
    await app.api('DELETE', '/v1/services/batch/fresh/instances/f1', { role: 'register' });
    assert.equal((await ask()).rcode, 'NXDOMAIN');
  });

  test('curl --doh-url resolves a service name through our DoH and reaches the instance', async () => {
    const r = await curlDohResolve(`https://127.0.0.1:${ours.https.port}/dns-query`, 'api.discovery.nekoq.internal', httpPort, '/healthz');
    assert.equal(r.status, 200);
    assert.match(r.body, /alive/);
  });

  /** doh sends one request over HTTP/1.1 to the HTTP port (API router) or over HTTP/2 to the HTTPS port (raw stream handler). */
  async function doh(version: 1 | 2, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) {
    if (version === 1) {
      const r = await fetch(`${app.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: new Uint8Array(body) }) });
      return { status: r.status, headers: Object.fromEntries(r.headers), body: Buffer.from(await r.arrayBuffer()) };
    }
    const session = http2Connect(`https://127.0.0.1:${ours.https.port}`, { rejectUnauthorized: false });
    try {
      return await new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
        const stream = session.request({ ':method': method, ':path': path, ...headers });
        const chunks: Buffer[] = [];
        let head: Record<string, string> = {};
        stream.on('response', (h) => (head = h as Record<string, string>));
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
        stream.end(body);
      });
    } finally {
      session.close();
    }
  }

  for (const version of [1, 2] as const) {
    const where = version === 1 ? 'HTTP/1.1 on the HTTP port' : 'HTTP/2 on the HTTPS port';
    test(`DoH over ${where}: GET and POST answer with max-age = the smallest TTL; bad requests get 400/405/413/415`, async () => {
      const wire = dnsPacket.encode({ id: 0, type: 'query', questions: [{ name: 'example.com', type: 'MX', class: 'IN' }] });
      const get = await doh(version, 'GET', `/dns-query?dns=${wire.toString('base64url')}`);
      assert.equal(get.status, 200);
      assert.equal(get.headers['content-type'], 'application/dns-message');
      assert.equal(get.headers['cache-control'], 'max-age=300');
      assert.equal(dnsPacket.decode(get.body).answers!.length, 2);
      const post = await doh(version, 'POST', '/dns-query', { 'content-type': 'application/dns-message' }, wire);
      assert.equal(post.status, 200);
      assert.deepEqual(post.body.subarray(2), get.body.subarray(2));
      const negative = dnsPacket.encode({ id: 0, type: 'query', questions: [{ name: 'nope.example.com', type: 'A', class: 'IN' }] });
      const neg = await doh(version, 'GET', `/dns-query?dns=${negative.toString('base64url')}`);
      assert.equal(neg.headers['cache-control'], 'max-age=60', 'negative answers: the SOA negative TTL');
      const cases: [string, string, Record<string, string>, Buffer | undefined, number, string][] = [
        ['GET', '/dns-query', {}, undefined, 400, 'invalid_query'],
        ['GET', '/dns-query?dns=!!!', {}, undefined, 400, 'invalid_query'],
        ['GET', '/dns-query?dns=AAAA', {}, undefined, 400, 'invalid_query'],
        ['PUT', '/dns-query', {}, wire, 405, 'method_not_allowed'],
        ['POST', '/dns-query', { 'content-type': 'text/plain' }, wire, 415, 'unsupported_media_type'],
        ['POST', '/dns-query', { 'content-type': 'application/dns-message' }, Buffer.alloc(70_000), 413, 'body_too_large'],
        ['POST', '/dns-query', { 'content-type': 'application/dns-message' }, Buffer.alloc(0), 400, 'invalid_query'],
      ];
      for (const [method, path, headers, body, status, code] of cases) {
        const r = await doh(version, method, path, headers, body);
        const what = `${method} ${path} ${JSON.stringify(headers)}`;
        assert.equal(r.status, status, what);
        assert.equal(JSON.parse(r.body.toString()).code, code, what);
      }
    });
  }

  test('UDP: malformed messages get FORMERR, unknown opcodes NOTIMP, responses are ignored, and the server keeps answering', async () => {
    const s = createSocket('udp4');
    const replies: Buffer[] = [];
    s.on('message', (m) => replies.push(m));
    const send = (b: Buffer) => new Promise<void>((r) => s.send(b, ours.udp.port, '127.0.0.1', () => r()));
    await send(Buffer.from('abcd01000000000000000000', 'hex')); // qdcount 0 → FORMERR
    await send(Buffer.from('abce1000000100000000000003777777000001000100', 'hex')); // opcode STATUS → NOTIMP
    await send(Buffer.from('abcf8100000100000000000003777777000001000100', 'hex')); // a response: dropped
    await send(Buffer.from('abd0', 'hex')); // shorter than a header: dropped
    for (let i = 0; i < 300; i++) await send(Buffer.from(Array.from({ length: 12 + (i % 40) }, (_, j) => (i * 13 + j * 29) & 0xff)));
    await new Promise((r) => setTimeout(r, 300));
    s.close();
    const byId = new Map(replies.map((m) => [m.readUInt16BE(0), m[3]! & 0x0f]));
    assert.equal(byId.get(0xabcd), 1);
    assert.equal(byId.get(0xabce), 4);
    assert.equal(byId.has(0xabcf), false);
    assert.equal((await query('dig', 'udp', ours.udp, 'web.example.com', 'A')).rcode, 'NOERROR');
  });

  test('TCP: pipelined queries in one write all get answers; idle connections close; the connection limit holds', async () => {
    const frames = ['web.example.com', 'mail.example.com', 'nope.example.com'].map((name, i) => {
      const m = dnsPacket.encode({ id: 100 + i, type: 'query', questions: [{ name, type: 'A', class: 'IN' }] });
      const f = Buffer.alloc(2 + m.length);
      f.writeUInt16BE(m.length);
      m.copy(f, 2);
      return f;
    });
    const sock = connect(ours.tcp.port, '127.0.0.1');
    const got: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const closed = new Promise<number>((resolve) => sock.once('close', () => resolve(performance.now())));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
    });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const sentAt = performance.now();
    sock.write(Buffer.concat(frames));
    const closedAt = await closed;
    assert.deepEqual(
      got.map((m) => dnsPacket.decode(m)).map((d) => [d.id, rcodeOf(d)]),
      [
        [100, 'NOERROR'],
        [101, 'NOERROR'],
        [102, 'NXDOMAIN'],
      ],
    );
    assert.ok(closedAt - sentAt >= 900, `idle connection closed after the 1s timeout, not ${Math.round(closedAt - sentAt)} ms`);

    // A message trickled a byte every 400 ms never completes: the connection closes once the
    // message has taken longer than the read timeout (1 s), although it is never idle that long.
    const slow = await openSocket(ours.tcp.port);
    const slowClosed = new Promise<number>((resolve) => slow.once('close', () => resolve(performance.now())));
    const slowStart = performance.now();
    const slowFrame = frames[0]!;
    let sentBytes = 0;
    const trickle = setInterval(() => {
      if (sentBytes < slowFrame.length && !slow.destroyed) slow.write(slowFrame.subarray(sentBytes, ++sentBytes));
    }, 400);
    const slowAt = await slowClosed;
    clearInterval(trickle);
    assert.ok(sentBytes < slowFrame.length, 'closed before the message was complete');
    assert.ok(slowAt - slowStart < 3000, `closed after ${Math.round(slowAt - slowStart)} ms`);

    const held = await Promise.all(Array.from({ length: 20 }, () => openSocket(ours.tcp.port)));
    const extra = connect(ours.tcp.port, '127.0.0.1');
    const extraClosed = await new Promise<boolean>((resolve) => {
      extra.once('close', () => resolve(true));
      extra.once('error', () => resolve(true));
      setTimeout(() => resolve(false), 800);
    });
    assert.equal(extraClosed, true, 'the 21st connection is closed at once');
    for (const s of held) s.destroy();
  });
});

function openSocket(port: number): Promise<ReturnType<typeof connect>> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** rcodeOf reads the rcode dns-packet decodes (its types leave it out). */
function rcodeOf(d: dnsPacket.DecodedPacket): string | undefined {
  return (d as { rcode?: string }).rcode;
}
