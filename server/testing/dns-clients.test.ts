// Proves the DNS test harness: dig and kdig, over UDP, TCP and DoH, must give
// identical DnsResults for the same NSD answer, and NSD must answer as an
// authoritative server does. The table also documents NSD 4.6 behaviour that
// the appliance's DNS server is compared against.
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeTemp, tempDir } from './appliance-process';
import { curlDohResolve, normalizeRecord, query, type Client, type DnsResult, type QueryOptions, type Transport } from './dns-clients';
import { startNsd, type NsdServer } from './nsd';
import { createTestCertificate, type TestCertificate } from './test-cert';

const ZONE = `$ORIGIN example.test.
$TTL 3600
@        IN SOA   ns1.example.test. hostmaster.example.test. ( 2024010101 7200 3600 1209600 300 )
@        IN NS    ns1.example.test.
@        IN NS    ns2.example.test.
@        IN MX    10 mail.example.test.
ns1      IN A     192.0.2.1
ns2      IN A     192.0.2.2
mail     IN A     192.0.2.20
www      IN A     192.0.2.10
www      IN AAAA  2001:db8::10
web      IN A     127.0.0.1
txt      IN TXT   "hello world" "semi;colon" "quote\\"d" "back\\\\slash" "caf\\195\\169" "tab\\009x"
caa      IN CAA   0 issue "letsencrypt.org"
caa      IN CAA   128 iodef "mailto:sec@example.test"
_http._tcp IN SRV 10 5 80 www.example.test.
alias    IN CNAME www.example.test.
*.wild   IN A     192.0.2.99
hinfo    IN HINFO "Generic PC" "Linux"
unk      IN TYPE65280 \\# 4 0a000001
sub      IN NS    ns.sub.example.test.
ns.sub   IN A     192.0.2.53
${Array.from({ length: 40 }, (_, i) => `big IN TXT "record-${i + 1}-${'x'.repeat(50)}"`).join('\n')}
`;

const APEX_NS = ['example.test. 3600 IN NS ns1.example.test.', 'example.test. 3600 IN NS ns2.example.test.'];
const NS_GLUE = ['ns1.example.test. 3600 IN A 192.0.2.1', 'ns2.example.test. 3600 IN A 192.0.2.2'];
const NEG_SOA = ['example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300'];
const EDNS = { version: 0, udp: 1232, do: false };

let dir: string;
let nsd: NsdServer;
let cert: TestCertificate;
let doh: Http2SecureServer;
let dohPort: number;
let web: Server;
let webPort: number;

/** exchangeTcp sends one DNS message to NSD over TCP (RFC 1035 §4.2.2) and returns the answer. */
function exchangeTcp(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        sock.destroy();
      }
    });
    sock.on('error', reject);
  });
}

before(async () => {
  dir = tempDir('nekoq-dns-harness-');
  const zoneFile = join(dir, 'example.test.zone');
  writeFileSync(zoneFile, ZONE);
  [nsd, cert] = await Promise.all([startNsd([{ name: 'example.test', file: zoneFile }]), createTestCertificate(dir)]);

  // A minimal DoH front (RFC 8484 POST and GET) that relays to NSD over TCP, so
  // that the clients' https transport can be checked against the same answers.
  // Content-Length is required by dig's DoH client.
  doh = createSecureServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'https://doh');
      const msg = req.method === 'GET' ? Buffer.from(url.searchParams.get('dns') ?? '', 'base64url') : Buffer.concat(chunks);
      exchangeTcp(nsd.port, msg).then(
        (answer) => {
          res.writeHead(200, { 'content-type': 'application/dns-message', 'content-length': answer.length });
          res.end(answer);
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((r) => doh.listen(0, '127.0.0.1', r));
  dohPort = (doh.address() as { port: number }).port;

  web = createHttpServer((req, res) => res.end(`hello ${req.headers.host} ${req.url}`));
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  webPort = (web.address() as { port: number }).port;
});

after(async () => {
  await nsd?.stop();
  await new Promise((r) => (doh ? doh.close(r) : r(undefined)));
  await new Promise((r) => (web ? web.close(r) : r(undefined)));
  if (dir) removeTemp(dir);
});

function serverFor(t: Transport) {
  return { host: '127.0.0.1', port: t === 'https' ? dohPort : nsd.port };
}

const CLIENTS: Client[] = ['dig', 'kdig'];
const TRANSPORTS: Transport[] = ['udp', 'tcp', 'https'];

/** askAll puts one question through every client × transport and returns the results keyed 'client/transport'. */
async function askAll(name: string, type: string, opts?: QueryOptions): Promise<Record<string, DnsResult>> {
  const keys = CLIENTS.flatMap((c) => TRANSPORTS.map((t) => [c, t] as const));
  const results = await Promise.all(keys.map(([c, t]) => query(c, t, serverFor(t), name, type, opts)));
  return Object.fromEntries(keys.map(([c, t], i) => [`${c}/${t}`, results[i]!]));
}

interface Case {
  name: string;
  type: string;
  opts?: QueryOptions;
  /** Expected response over UDP (and over the stream transports, unless `stream` says otherwise). */
  want: Partial<DnsResult>;
  /** Expected response over TCP and DoH when it differs from UDP (truncation). */
  stream?: Partial<DnsResult>;
}

// What NSD 4.6.1 answers, with default settings (minimal-responses: no).
const CASES: Case[] = [
  {
    name: 'example.test', type: 'SOA',
    want: {
      rcode: 'NOERROR', flags: ['aa', 'qr'], question: 'example.test. IN SOA',
      answer: ['example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300'],
      authority: APEX_NS, additional: NS_GLUE, edns: EDNS,
    },
  },
  {
    // Positive answers carry the apex NS RRset in authority and its addresses in additional.
    name: 'www.example.test', type: 'A',
    want: { rcode: 'NOERROR', flags: ['aa', 'qr'], answer: ['www.example.test. 3600 IN A 192.0.2.10'], authority: APEX_NS, additional: NS_GLUE },
  },
  {
    name: 'www.example.test', type: 'AAAA',
    want: { answer: ['www.example.test. 3600 IN AAAA 2001:db8::10'], authority: APEX_NS, additional: NS_GLUE },
  },
  {
    // MX targets' addresses come first in additional, then the NS glue.
    name: 'example.test', type: 'MX',
    want: { answer: ['example.test. 3600 IN MX 10 mail.example.test.'], authority: APEX_NS, additional: ['mail.example.test. 3600 IN A 192.0.2.20', ...NS_GLUE] },
  },
  {
    name: 'example.test', type: 'NS',
    want: { flags: ['aa', 'qr'], answer: APEX_NS, authority: [], additional: NS_GLUE },
  },
  {
    name: 'txt.example.test', type: 'TXT',
    want: { answer: ['txt.example.test. 3600 IN TXT "hello world" "semi;colon" "quote\\"d" "back\\\\slash" "caf\\195\\169" "tab\\009x"'] },
  },
  {
    name: 'caa.example.test', type: 'CAA',
    want: { answer: ['caa.example.test. 3600 IN CAA 0 issue "letsencrypt.org"', 'caa.example.test. 3600 IN CAA 128 iodef "mailto:sec@example.test"'] },
  },
  {
    // SRV targets get additional A and AAAA: all A records first, then AAAA.
    name: '_http._tcp.example.test', type: 'SRV',
    want: {
      answer: ['_http._tcp.example.test. 3600 IN SRV 10 5 80 www.example.test.'],
      authority: APEX_NS,
      additional: ['www.example.test. 3600 IN A 192.0.2.10', ...NS_GLUE, 'www.example.test. 3600 IN AAAA 2001:db8::10'],
    },
  },
  {
    // The CNAME is chased inside the zone; the target's answer brings the apex NS and glue.
    name: 'alias.example.test', type: 'A',
    want: { rcode: 'NOERROR', flags: ['aa', 'qr'], answer: ['alias.example.test. 3600 IN CNAME www.example.test.', 'www.example.test. 3600 IN A 192.0.2.10'], authority: APEX_NS },
  },
  {
    name: 'foo.wild.example.test', type: 'A',
    want: { flags: ['aa', 'qr'], answer: ['foo.wild.example.test. 3600 IN A 192.0.2.99'], authority: APEX_NS },
  },
  {
    name: 'hinfo.example.test', type: 'HINFO',
    want: { answer: ['hinfo.example.test. 3600 IN HINFO "Generic PC" "Linux"'] },
  },
  {
    name: 'unk.example.test', type: 'TYPE65280',
    want: { question: 'unk.example.test. IN TYPE65280', answer: ['unk.example.test. 3600 IN TYPE65280 \\# 4 0A000001'] },
  },
  {
    // NXDOMAIN: SOA in authority with TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3), no additional.
    name: 'nope.example.test', type: 'A',
    want: { rcode: 'NXDOMAIN', flags: ['aa', 'qr'], answer: [], authority: NEG_SOA, additional: [], edns: EDNS },
  },
  {
    // NODATA.
    name: 'www.example.test', type: 'MX',
    want: { rcode: 'NOERROR', flags: ['aa', 'qr'], answer: [], authority: NEG_SOA, additional: [] },
  },
  {
    // The wildcard's parent is an empty non-terminal: NODATA, not NXDOMAIN.
    name: 'wild.example.test', type: 'A',
    want: { rcode: 'NOERROR', flags: ['aa', 'qr'], answer: [], authority: NEG_SOA },
  },
  {
    // Referral: no AA, the child NS in authority, glue in additional.
    name: 'host.sub.example.test', type: 'A',
    want: { rcode: 'NOERROR', flags: ['qr'], answer: [], authority: ['sub.example.test. 3600 IN NS ns.sub.example.test.'], additional: ['ns.sub.example.test. 3600 IN A 192.0.2.53'] },
  },
  {
    name: 'sub.example.test', type: 'NS',
    want: { flags: ['qr'], answer: [], authority: ['sub.example.test. 3600 IN NS ns.sub.example.test.'] },
  },
  {
    // Outside every zone: REFUSED, no AA, no records (NSD adds EDE 20 "Not Authoritative").
    name: 'www.other.test', type: 'A',
    want: { rcode: 'REFUSED', flags: ['qr'], question: 'www.other.test. IN A', answer: [], authority: [], additional: [], edns: EDNS },
  },
  {
    // ANY: one RRset only (RFC 8482 style), nothing in authority or additional.
    name: 'www.example.test', type: 'ANY',
    want: { rcode: 'NOERROR', flags: ['aa', 'qr'], answer: ['www.example.test. 3600 IN A 192.0.2.10'], authority: [], additional: [] },
  },
  {
    // Too big for 1232 bytes: TC with every section empty (the OPT stays); complete over TCP and DoH.
    name: 'big.example.test', type: 'TXT',
    want: { rcode: 'NOERROR', flags: ['aa', 'qr', 'tc'], answer: [], authority: [], additional: [], edns: EDNS },
    stream: { rcode: 'NOERROR', flags: ['aa', 'qr'], authority: APEX_NS },
  },
  {
    name: 'www.example.test', type: 'A', opts: { edns: false },
    want: { rcode: 'NOERROR', answer: ['www.example.test. 3600 IN A 192.0.2.10'], edns: undefined },
  },
  {
    // The server's OPT always advertises its own size (1232), whatever the client asked for.
    name: 'www.example.test', type: 'A', opts: { bufsize: 4096, dnssec: true },
    want: { rcode: 'NOERROR', edns: { version: 0, udp: 1232, do: true } },
  },
  {
    // RD is copied, RA never set.
    name: 'www.example.test', type: 'A', opts: { rd: true },
    want: { flags: ['aa', 'qr', 'rd'] },
  },
  {
    name: 'version.bind', type: 'TXT', opts: { qclass: 'CH' },
    want: { rcode: 'NOERROR', flags: ['qr'], question: 'version.bind. CH TXT', answer: ['version.bind. 0 CH TXT "NSD 4.6.1"'] },
  },
];

function pick(r: DnsResult, want: Partial<DnsResult>): Partial<DnsResult> {
  return Object.fromEntries(Object.keys(want).map((k) => [k, r[k as keyof DnsResult]]));
}

describe('dig and kdig against NSD', () => {
  for (const c of CASES) {
    const label = `${c.name} ${c.opts?.qclass ?? 'IN'} ${c.type}${c.opts ? ' ' + JSON.stringify(c.opts) : ''}`;
    it(label, async () => {
      const r = await askAll(c.name, c.type, c.opts);
      const udp = r['dig/udp']!;
      const stream = r['dig/tcp']!;
      assert.deepEqual(r['kdig/udp'], udp, 'kdig/udp = dig/udp');
      for (const k of ['kdig/tcp', 'dig/https', 'kdig/https']) assert.deepEqual(r[k], stream, `${k} = dig/tcp`);
      if (c.stream === undefined) assert.deepEqual(stream, udp, 'tcp = udp');
      assert.deepEqual(pick(udp, c.want), c.want);
      if (c.stream !== undefined) assert.deepEqual(pick(stream, c.stream), c.stream);
    });
  }

  it('echoes the case of a mixed-case query name (dig; kdig lower-cases names before sending)', async () => {
    const r = await askAll('WwW.ExAmPlE.tEsT', 'A');
    for (const t of TRANSPORTS) {
      assert.equal(r[`dig/${t}`]!.question, 'WwW.ExAmPlE.tEsT. IN A', `dig/${t}`);
      assert.equal(r[`kdig/${t}`]!.question, 'www.example.test. IN A', `kdig/${t}`);
    }
    const lower = await query('dig', 'udp', serverFor('udp'), 'www.example.test', 'A');
    for (const [k, res] of Object.entries(r)) assert.deepEqual({ ...res, question: lower.question }, lower, k);
  });

  it('retries over TCP after TC when ignoreTc is false', async () => {
    for (const c of CLIENTS) {
      const r = await query(c, 'udp', serverFor('udp'), 'big.example.test', 'TXT', { ignoreTc: false });
      assert.deepEqual(r.flags, ['aa', 'qr'], c);
      assert.equal(r.answer.length, 40, c);
    }
  });

  it('verifies the DoH certificate when tlsCa is given', async () => {
    for (const c of CLIENTS) {
      const r = await query(c, 'https', serverFor('https'), 'www.example.test', 'A', { tlsCa: cert.certFile, dohGet: true });
      assert.deepEqual(r.answer, ['www.example.test. 3600 IN A 192.0.2.10'], c);
    }
  });

  it('rejects with the client output when nothing answers', async () => {
    const closed = { host: '127.0.0.1', port: 9 };
    for (const c of CLIENTS) {
      for (const t of ['udp', 'tcp'] as const) {
        await assert.rejects(query(c, t, closed, 'www.example.test', 'A', { timeoutSec: 1 }), (e: Error) => {
          assert.match(e.message, new RegExp(`^${c} ${t} www.example.test A @127.0.0.1:9: exit \\d+: .*(refused|timeout|reached|connect)`, 's'));
          return true;
        });
      }
    }
  });
});

describe('curlDohResolve', () => {
  it('resolves a name through DoH and fetches the URL', async () => {
    const r = await curlDohResolve(`https://127.0.0.1:${dohPort}/dns-query`, 'web.example.test', webPort, '/x?y=1');
    assert.deepEqual(r, { status: 200, body: `hello web.example.test:${webPort} /x?y=1` });
    const verified = await curlDohResolve(`https://127.0.0.1:${dohPort}/dns-query`, 'web.example.test', webPort, '/', { cacert: cert.certFile });
    assert.equal(verified.status, 200);
  });

  it('rejects when DoH has no address for the name', async () => {
    await assert.rejects(curlDohResolve(`https://127.0.0.1:${dohPort}/dns-query`, 'nope.example.test', webPort, '/'), /exit 6: .*resolve host/);
  });

  it('refuses a plain-http DoH URL (curl would ignore it)', async () => {
    await assert.rejects(curlDohResolve(`http://127.0.0.1:${dohPort}/dns-query`, 'web.example.test', webPort, '/'), /needs an https:\/\/ DoH URL/);
  });
});

describe('startNsd options', () => {
  it('minimalResponses drops the NS RRset and additional data from positive answers, keeps referral glue', async () => {
    const file = join(dir, 'min.zone');
    writeFileSync(file, ZONE);
    const min = await startNsd([{ name: 'example.test', file }], { minimalResponses: true });
    try {
      const s = { host: '127.0.0.1', port: min.port };
      const www = await query('dig', 'udp', s, 'www.example.test', 'A');
      assert.deepEqual(pick(www, { answer: [], authority: [], additional: [] }), { answer: ['www.example.test. 3600 IN A 192.0.2.10'], authority: [], additional: [] });
      const mx = await query('dig', 'udp', s, 'example.test', 'MX');
      assert.deepEqual(mx.additional, []);
      const ns = await query('dig', 'udp', s, 'example.test', 'NS');
      assert.deepEqual(ns.additional, NS_GLUE, 'NS answers keep their glue');
      const ref = await query('dig', 'udp', s, 'host.sub.example.test', 'A');
      assert.deepEqual(ref.additional, ['ns.sub.example.test. 3600 IN A 192.0.2.53']);
    } finally {
      await min.stop();
    }
  });

  it('refuseAny answers UDP ANY with TC and no question, and TCP ANY as usual', async () => {
    const file = join(dir, 'any.zone');
    writeFileSync(file, ZONE);
    const any = await startNsd([{ name: 'example.test', file }], { refuseAny: true });
    try {
      const s = { host: '127.0.0.1', port: any.port };
      for (const c of CLIENTS) {
        const udp = await query(c, 'udp', s, 'www.example.test', 'ANY');
        assert.deepEqual(udp, { rcode: 'NOERROR', flags: ['qr', 'tc'], question: '', answer: [], authority: [], additional: [], edns: EDNS }, c);
        const tcp = await query(c, 'tcp', s, 'www.example.test', 'ANY');
        assert.deepEqual(pick(tcp, { flags: [], answer: [] }), { flags: ['aa', 'qr'], answer: ['www.example.test. 3600 IN A 192.0.2.10'] }, c);
      }
    } finally {
      await any.stop();
    }
  });
});

describe('startNsd failures', () => {
  it('rejects with nsd-checkzone\'s message for a broken zone', async () => {
    const file = join(dir, 'broken.zone');
    writeFileSync(file, '$ORIGIN broken.test.\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 300.1.1.1\n');
    await assert.rejects(startNsd([{ name: 'broken.test', file }]), /nsd-checkzone broken.test .*300\.1\.1\.1|invalid/s);
  });

  it('stop removes the temporary directory and frees the port', async () => {
    const file = join(dir, 'stop.zone');
    writeFileSync(file, ZONE);
    const s = await startNsd([{ name: 'example.test', file }]);
    await s.stop();
    await assert.rejects(query('dig', 'tcp', { host: '127.0.0.1', port: s.port }, 'example.test', 'SOA', { timeoutSec: 1 }));
  });
});

describe('normalizeRecord', () => {
  // [dig line, kdig line, normalized]
  const same: [string, string, string][] = [
    ['caa.example.test.\t3600\tIN\tCAA\t0 issue "letsencrypt.org"', 'caa.example.test.   \t3600\tIN\tCAA\t0 issue "letsencrypt.org" ', 'caa.example.test. 3600 IN CAA 0 issue "letsencrypt.org"'],
    ['unk.example.test.\t3600\tIN\tTYPE65280 \\# 4 0A000001', 'unk.example.test.   \t3600\tIN\tTYPE65280\t\\# 4 0A000001', 'unk.example.test. 3600 IN TYPE65280 \\# 4 0A000001'],
    ['svc.example.test.\t3600\tIN\tHTTPS\t1 . alpn="h2,h3" port=8443', 'svc.example.test.   \t3600\tIN\tHTTPS\t1 . alpn=h2,h3 port=8443', 'svc.example.test. 3600 IN HTTPS 1 . alpn=h2,h3 port=8443'],
    ['loc.example.test.\t3600\tIN\tLOC\t52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m', 'loc.example.test.   \t3600\tIN\tLOC\t52 22 23 N  4 53 32 E  -2m  0m 10000m 10m', 'loc.example.test. 3600 IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m'],
    ['UPPER.Example.TEST.\t60\tIN\tMX\t5 MAIL.Example.TEST.', 'upper.example.test. \t60\tIN\tMX\t5 mail.example.test.', 'upper.example.test. 60 IN MX 5 mail.example.test.'],
    ['sp\\032ace.example.test.\t3600\tIN\tTXT\t"x"', 'sp\\032ace.example.test.\t3600\tIN\tTXT\t"x"', 'sp\\032ace.example.test. 3600 IN TXT "x"'],
  ];
  for (const [dig, kdig, want] of same) {
    it(want, () => {
      assert.equal(normalizeRecord(dig), want);
      assert.equal(normalizeRecord(kdig), want);
    });
  }

  const cases: [string, string][] = [
    ['a.test 60 IN TXT plain "x\\"y" "\\065b"', 'a.test. 60 IN TXT "plain" "x\\"y" "Ab"'],
    ['a.test. 60 IN TXT "caf\\195\\169" "\\t"', 'a.test. 60 IN TXT "caf\\195\\169" "t"'],
    ['a.test. 60 IN AAAA 2001:DB8:0:0:0:0:0:1', 'a.test. 60 IN AAAA 2001:db8::1'],
    ['a.test. 60 IN DS 1 13 2 ABCD ef01', 'a.test. 60 IN DS 1 13 2 ABCDEF01'],
    ['a.test. IN 60 SRV 0 0 443 Target.test.', 'a.test. 60 IN SRV 0 0 443 target.test.'],
    ['\\065.test. 60 IN PTR x.\\(y\\).test.', 'a.test. 60 IN PTR x.\\(y\\).test.'],
    ['a.test. 60 IN TYPE65281 \\# 0', 'a.test. 60 IN TYPE65281 \\# 0'],
  ];
  for (const [line, want] of cases) {
    it(`${line} → ${want}`, () => assert.equal(normalizeRecord(line), want));
  }

  it('refuses a line that is no record', () => {
    assert.throws(() => normalizeRecord('garbage'), /not a resource record/);
  });
});
