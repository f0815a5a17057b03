import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { removeTemp, startAppliance, tempDir, type ApplianceProcess } from './testing/appliance-process';

const run = promisify(execFile);
const port = (l: string) => Number(l.slice(l.lastIndexOf(':') + 1));

/** metric reads one sample of /metrics (0 when absent). */
async function metric(app: ApplianceProcess, name: string, labels = ''): Promise<number> {
  const text = (await app.api('GET', '/metrics', { role: null })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}} `}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const hits = (app: ApplianceProcess, limit: string) => metric(app, 'nekoq_limit_hits_total', `limit="${limit}"`);

/**
 * rawHttp sends bytes on a new connection and resolves with all the server wrote
 * before it closed (or `waitMs` passed). `open` makes another kind of connection
 * (TLS) and calls its argument once connected.
 */
function rawHttp(
  httpPort: number,
  parts: readonly (Buffer | string)[],
  opts: { gapMs?: number; waitMs?: number; open?: (onConnect: () => void) => Socket } = {},
): Promise<{ text: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const send = async () => {
      for (const p of parts) {
        if (sock.destroyed) return;
        sock.write(p);
        if (opts.gapMs !== undefined) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    };
    const sock = opts.open?.(() => void send()) ?? connect(httpPort, '127.0.0.1', () => void send());
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve({ text, closed, ms: performance.now() - started });
    };
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    setTimeout(() => finish(false), opts.waitMs ?? 5000);
  });
}

function udpQuery(sock: UdpSocket, dnsPort: number, msg: Buffer, waitMs = 3000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const id = msg.readUInt16BE(0);
    const timer = setTimeout(() => {
      sock.off('message', onMessage);
      resolve(undefined);
    }, waitMs);
    const onMessage = (m: Buffer) => {
      if (m.length >= 2 && m.readUInt16BE(0) === id) {
        clearTimeout(timer);
        sock.off('message', onMessage);
        resolve(m);
      }
    };
    sock.on('message', onMessage);
    sock.send(msg, dnsPort, '127.0.0.1');
  });
}

function bindUdp(address: string): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => resolve(s));
  });
}

const query = (name: string, id: number, rd = false) =>
  dnsPacket.encode({ type: 'query', id, flags: rd ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ name, type: 'A', class: 'IN' }] });

describe('limits', () => {
  let app: ApplianceProcess;
  let httpPort: number;
  let dnsPort: number;
  let silent: UdpSocket;

  before(async () => {
    // An upstream that never answers: resolutions through it stay running until the timeout.
    silent = await bindUdp('127.0.0.1');
    app = await startAppliance({
      toml: [
        '[recursion]',
        'mode = "forward"',
        `upstreams = ["udp://127.0.0.1:${silent.address().port}"]`,
        'timeout = "2s"',
        '[dnssec]',
        'trust_anchors = []',
        '[limits]',
        'http_body_bytes = 2048',
        'http_header_timeout = "1s"',
        'http_request_timeout = "1500ms"',
        'blocking_queries = 2',
        'dns_message_bytes = 600',
        'dns_tcp_connections_per_client = 3',
        'dns_tcp_read_timeout = "500ms"',
        'resolutions_per_client = 2',
        'records_per_rrset = 3',
        'instances_per_service = 3',
        'kv_value_bytes = 2048',
      ].join('\n'),
    });
    httpPort = port(app.listeners.http!);
    dnsPort = port(app.listeners['dns-udp']!);
  });

  after(async () => {
    await app?.stop();
    silent?.close();
  });

  test('every limit is exported at 0 from the start', async () => {
    const text = (await app.api('GET', '/metrics', { role: null })).text;
    for (const name of ['http_body_bytes', 'blocking_queries', 'dns_tcp_connections_per_client', 'records_per_rrset', 'kv_value_bytes', 'resolutions_per_client']) {
      assert.match(text, new RegExp(`nekoq_limit_hits_total\\{limit="${name}"\\} \\d+`));
    }
  });

  test('http_body_bytes: a larger JSON body is 413 and changes nothing; counted', async () => {
    const before = await hits(app, 'http_body_bytes');
    const r = await app.api('POST', '/v1/zones', { body: { name: 'big.test.', nameservers: ['ns.' + 'x'.repeat(3000) + '.test.'] } });
    assert.equal(r.status, 413);
    assert.equal(r.json.code, 'body_too_large');
    assert.equal((await app.api('GET', '/v1/zones/big.test.')).status, 404);
    assert.equal(await hits(app, 'http_body_bytes'), before + 1);
  });

  test('invalid UTF-8 in a JSON body is 400 bad_json, not a string with U+FFFD in it', async () => {
    const body = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('.test."}')]);
    const r = await rawHttp(httpPort, [
      `POST /v1/zones HTTP/1.1\r\nhost: x\r\nauthorization: Bearer test-admin-token-0000000000\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
      body,
    ]);
    assert.match(r.text, /^HTTP\/1.1 400/);
    assert.match(r.text, /"code":"bad_json"/);
    assert.match(r.text, /UTF-8/);
  });

  test('http_request_timeout: a body that never finishes is cut with 408 while other requests are answered; counted', async () => {
    const before = await hits(app, 'http_request_timeout');
    const stuck = rawHttp(httpPort, [`PUT /v1/kv/stuck HTTP/1.1\r\nhost: x\r\nauthorization: Bearer test-kv-token-000000000000000\r\ncontent-length: 100\r\n\r\n`, 'only ten b']);
    // A slow body (one byte per 300 ms) is cut the same way.
    const slow = rawHttp(
      httpPort,
      [`PUT /v1/kv/slow HTTP/1.1\r\nhost: x\r\nauthorization: Bearer test-kv-token-000000000000000\r\ncontent-length: 20\r\n\r\n`, ...'abcdefghijklmnopqrst'],
      { gapMs: 300 },
    );
    const health = await app.api('GET', '/healthz', { role: null });
    assert.equal(health.status, 200);
    const [s, w] = await Promise.all([stuck, slow]);
    for (const r of [s, w]) {
      assert.equal(r.closed, true);
      assert.match(r.text, /^HTTP\/1.1 408/);
      assert.ok(r.ms < 4000, `cut after ${Math.round(r.ms)} ms`);
    }
    assert.equal((await app.api('GET', '/v1/kv/stuck')).status, 404);
    assert.equal((await app.api('GET', '/v1/kv/slow')).status, 404);
    assert.equal(await hits(app, 'http_request_timeout'), before + 2);
  });

  test('http_header_timeout: headers that never end are cut with 408; counted', async () => {
    const before = await hits(app, 'http_header_timeout');
    const r = await rawHttp(httpPort, ['GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: '], { waitMs: 5000 });
    assert.equal(r.closed, true);
    assert.match(r.text, /^HTTP\/1.1 408/);
    assert.match(r.text, /content-type: application\/problem\+json/);
    assert.match(r.text, /"code":"request_timeout"/);
    assert.equal(await hits(app, 'http_header_timeout'), before + 1);
  });

  test("what node's parser refuses is a problem document too: 431 headers_too_large, 400 bad_request", async () => {
    const big = await rawHttp(httpPort, [`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'v'.repeat(20_000)}\r\n\r\n`]);
    assert.match(big.text, /^HTTP\/1.1 431 Request Header Fields Too Large/);
    assert.match(big.text, /"code":"headers_too_large"/);
    assert.equal(big.closed, true);
    const bad = await rawHttp(httpPort, ['GET /healthz HTTP/1.1\r\nhost: x\r\nbad header: v\r\n\r\n']);
    assert.match(bad.text, /^HTTP\/1.1 400 Bad Request/);
    assert.match(bad.text, /"code":"bad_request"/);
    assert.equal(bad.closed, true);
  });

  test('blocking_queries: past the limit a blocking read is 503 too_many_waiters with retry-after; counted', async () => {
    await app.api('PUT', '/v1/kv/watched', { raw: 'v1' });
    const index = Number((await app.api('GET', '/v1/kv/watched')).headers.get('x-nekoq-index'));
    const ac = new AbortController();
    const waiting = [0, 1].map(() =>
      fetch(`${app.url}/v1/kv/watched?index=${index}&wait=20s`, { headers: { authorization: 'Bearer test-read-token-000000000000' }, signal: ac.signal }).catch(() => undefined),
    );
    for (let i = 0; i < 50 && (await metric(app, 'nekoq_blocking_queries')) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await metric(app, 'nekoq_blocking_queries'), 2);
    const before = await hits(app, 'blocking_queries');
    const third = await app.api('GET', `/v1/services?index=1&wait=20s`, { role: 'read' });
    assert.equal(third.status, 503);
    assert.equal(third.json.code, 'too_many_waiters');
    assert.equal(third.headers.get('retry-after'), '1');
    assert.equal(await hits(app, 'blocking_queries'), before + 1);
    // A write wakes the two; their places are free again.
    await app.api('PUT', '/v1/kv/watched', { raw: 'v2' });
    await Promise.all(waiting);
    ac.abort();
    assert.equal(await metric(app, 'nekoq_blocking_queries'), 0);
    // http_request_timeout bounds receiving a request, not answering it: a blocking read waits its full 3 s.
    const now = Number((await app.api('GET', '/v1/kv/watched')).headers.get('x-nekoq-index'));
    const t = performance.now();
    const long = await app.api('GET', `/v1/kv/watched?index=${now}&wait=3s`, { role: 'read' });
    assert.equal(long.status, 200);
    assert.ok(performance.now() - t >= 2900, `answered after ${Math.round(performance.now() - t)} ms`);
  });

  test('kv_value_bytes: a larger value is 413 (PUT and in a transaction) and nothing is written; counted', async () => {
    const before = await hits(app, 'kv_value_bytes');
    assert.equal((await app.api('PUT', '/v1/kv/big', { raw: 'x'.repeat(2049) })).status, 413);
    assert.equal((await app.api('PUT', '/v1/kv/big', { raw: 'x'.repeat(2048) })).status, 200);
    const txn = await app.api('POST', '/v1/txn', { body: [{ verb: 'set', key: 'big2', value: Buffer.alloc(4000).toString('base64') }] });
    assert.equal(txn.status, 400);
    assert.equal((await app.api('GET', '/v1/kv/big2')).status, 404);
    assert.equal(await hits(app, 'kv_value_bytes'), before + 2);
  });

  test('instances_per_service: a new instance past the limit is 409 limit_reached; renewals and other services are not; counted', async () => {
    const reg = (name: string, id: string) => app.api('PUT', `/v1/services/discovery/${name}/instances/${id}`, { body: { address: '10.0.0.1', port: 80 }, role: 'register' });
    // Four at once: they may share a commit batch, and still only three get in.
    const first = await Promise.all(['a', 'b', 'c', 'd'].map((id) => reg('full', id)));
    assert.deepEqual(first.map((r) => r.status).sort(), [200, 200, 200, 409]);
    const refused = first.find((r) => r.status === 409)!;
    assert.equal(refused.json.code, 'limit_reached');
    assert.match(refused.json.detail, /instances_per_service/);
    assert.equal((await app.api('GET', '/v1/services/discovery/full')).json.instances.length, 3);
    const kept = first.filter((r) => r.status === 200).map((r) => r.json.id as string);
    assert.equal((await reg('full', kept[0]!)).status, 200, 'registering a held id again is a renewal');
    assert.equal((await reg('other', 'a')).status, 200);
    assert.equal(await hits(app, 'instances_per_service'), 1);
    // Once one leaves, a new one fits.
    assert.equal((await app.api('DELETE', `/v1/services/discovery/full/instances/${kept[1]}`, { role: 'register' })).status, 204);
    assert.equal((await reg('full', 'e')).status, 200);
  });

  test('records_per_rrset: a larger RRset through PUT or an import is 409 limit_reached and the zone is unchanged; counted', async () => {
    assert.equal((await app.api('POST', '/v1/zones', { body: { name: 'lim.test.' } })).status, 201);
    const serial = (await app.api('GET', '/v1/zones/lim.test.')).json.serial;
    const put = await app.api('PUT', '/v1/zones/lim.test./records/www/A', { body: { ttl: 60, values: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'] } });
    assert.equal(put.status, 409);
    assert.equal(put.json.code, 'limit_reached');
    assert.equal((await app.api('PUT', '/v1/zones/lim.test./records/www/A', { body: { ttl: 60, values: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] } })).status, 200);
    const file = `$ORIGIN lim.test.\n@ 60 SOA ns h 9 1 1 1 1\n@ 60 NS ns.nekoq.internal.\n${[1, 2, 3, 4].map((i) => `many 60 A 192.0.2.${i}`).join('\n')}\n`;
    const imp = await app.api('POST', '/v1/zones/lim.test./import', { raw: file, headers: { 'content-type': 'text/dns' } });
    assert.equal(imp.status, 409);
    assert.equal((await app.api('GET', '/v1/zones/lim.test.')).json.serial, serial + 1);
    assert.equal(await hits(app, 'records_per_rrset'), 2);
  });

  test('dns_message_bytes: a longer query is answered FORMERR, header only; counted', async () => {
    const sock = await bindUdp('127.0.0.1');
    try {
      const long = dnsPacket.encode({
        type: 'query',
        id: 77,
        questions: [{ name: 'ns.nekoq.internal', type: 'A', class: 'IN' }],
        additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [{ code: 12, data: Buffer.alloc(600) }] } as dnsPacket.Answer],
      });
      const r = await udpQuery(sock, dnsPort, long);
      assert.ok(r !== undefined);
      assert.equal(r.length, 12);
      assert.equal(r[3]! & 0x0f, 1, 'FORMERR');
      assert.equal(r.readUInt16BE(0), 77);
      const ok = await udpQuery(sock, dnsPort, query('ns.nekoq.internal', 78));
      assert.equal(ok![3]! & 0x0f, 0);
      assert.equal(await hits(app, 'dns_message_bytes'), 1);
    } finally {
      sock.close();
    }
  });

  test('dns_tcp_connections_per_client and dns_tcp_read_timeout; counted', async () => {
    const dnsTcp = port(app.listeners['dns-tcp']!);
    const open = () =>
      new Promise<Socket>((resolve, reject) => {
        const s = connect(dnsTcp, '127.0.0.1', () => resolve(s));
        s.once('error', reject);
      });
    const held = [await open(), await open(), await open()];
    const fourth = connect(dnsTcp, '127.0.0.1');
    const closed = await new Promise<boolean>((resolve) => {
      fourth.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 1000);
    });
    assert.equal(closed, true, 'the fourth connection of one client is closed at once');
    assert.equal(await hits(app, 'dns_tcp_connections_per_client'), 1);
    // One of the held ones starts a message and stops: closed after the 500 ms read timeout.
    const started = performance.now();
    const cut = new Promise<number>((resolve) => held[0]!.once('close', () => resolve(performance.now() - started)));
    held[0]!.write(Buffer.from([0, 40, 1, 2]));
    const ms = await cut;
    assert.ok(ms >= 400 && ms < 3000, `cut after ${Math.round(ms)} ms`);
    assert.equal(await hits(app, 'dns_tcp_read_timeout'), 1);
    for (const s of held) s.destroy();
  });

  test('resolutions_per_client: a third lookup at once from one client is SERVFAIL at once; others are not held back; counted', async () => {
    const sock = await bindUdp('127.0.0.1');
    const other = await bindUdp('127.0.0.2');
    try {
      const order: number[] = [];
      const asks = [1, 2, 3].map((i) => udpQuery(sock, dnsPort, query(`n${i}.example.org`, 200 + i, true), 5000).then((r) => (order.push(i), r)));
      const fromOther = udpQuery(other, dnsPort, query('n9.example.org', 300, true), 5000);
      const replies = await Promise.all(asks);
      assert.equal(order[0], 3, 'the third is answered first, without waiting for the upstream');
      for (const r of replies) assert.equal(r![3]! & 0x0f, 2, 'SERVFAIL');
      assert.equal(await hits(app, 'resolutions_per_client'), 1);
      assert.equal((await fromOther)![3]! & 0x0f, 2, 'another client took its own slot (and timed out upstream like the first two)');
    } finally {
      sock.close();
      other.close();
    }
  });
});

describe('http_max_connections', () => {
  test('connections past the limit are closed before a byte is read; counted', async () => {
    const app = await startAppliance({ toml: '[limits]\nhttp_max_connections = 4\n' });
    try {
      const httpPort = port(app.listeners.http!);
      const socks: Socket[] = [];
      for (let i = 0; i < 4; i++) {
        socks.push(
          await new Promise<Socket>((resolve) => {
            const s = connect(httpPort, '127.0.0.1', () => resolve(s));
          }),
        );
      }
      const fifth = await rawHttp(httpPort, ['GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n'], { waitMs: 2000 });
      assert.equal(fifth.closed, true);
      assert.equal(fifth.text, '');
      for (const s of socks) s.destroy();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await hits(app, 'http_max_connections'), 1);
    } finally {
      await app.stop();
    }
  });
});

describe('timeouts on the HTTPS listener (HTTP/2 and HTTP/1.1 over TLS)', () => {
  let app: ApplianceProcess;
  let host: string;
  let tlsPort: number;
  let ca: Buffer;
  let certDir: string;
  const admin = 'Bearer test-admin-token-0000000000';

  before(async () => {
    const dir = (certDir = tempDir());
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'));
    app = await startAppliance({
      toml: `[https]\nlisten = "127.0.0.1:0"\ncert = "${dir}/cert.pem"\nkey = "${dir}/key.pem"\n[limits]\nhttp_header_timeout = "1s"\nhttp_request_timeout = "1500ms"\nhttp_keepalive_timeout = "2s"\n`,
    });
    [host, tlsPort] = [app.listeners.https!.split(':')[0]!, port(app.listeners.https!)];
  });

  after(async () => {
    await app?.stop();
    removeTemp(certDir);
  });

  const session = () => http2Connect(`https://${host}:${tlsPort}`, { ca, checkServerIdentity: () => undefined });
  /** request sends one HTTP/2 request and resolves with its status, or the reset code when the stream was reset without one. */
  const h2request = (s: ClientHttp2Session, headers: Record<string, string>, body?: string, end = true) =>
    new Promise<{ status: number; rst: number; ms: number }>((resolve) => {
      const t = performance.now();
      const st = s.request(headers, { endStream: body === undefined && end });
      let status = 0;
      st.on('response', (h) => (status = Number(h[':status'])));
      st.on('error', () => undefined);
      st.resume();
      st.on('close', () => resolve({ status, rst: st.rstCode ?? 0, ms: performance.now() - t }));
      if (body !== undefined) {
        st.write(body);
        if (end) st.end();
      }
    });
  const tlsRaw = (text: string, waitMs: number) =>
    rawHttp(tlsPort, [text], {
      waitMs,
      open: (onConnect) => tlsConnect({ host, port: tlsPort, ca, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'] }, onConnect),
    });

  test('HTTP/2: a request body that never finishes is answered 408 and reset after http_request_timeout; nothing written; counted', async () => {
    const before = await hits(app, 'http_request_timeout');
    const s = session();
    const r = await h2request(s, { ':method': 'PUT', ':path': '/v1/kv/h2stuck', authorization: admin, 'content-length': '100' }, 'only ten b', false);
    assert.equal(r.status, 408);
    assert.ok(r.ms >= 1400 && r.ms < 4000, `cut after ${Math.round(r.ms)} ms`);
    // The session is still good for other requests, and the write never happened.
    const put = await h2request(s, { ':method': 'PUT', ':path': '/v1/kv/h2ok', authorization: admin }, 'fine');
    assert.equal(put.status, 200);
    assert.equal((await app.api('GET', '/v1/kv/h2stuck')).status, 404);
    assert.equal(await hits(app, 'http_request_timeout'), before + 1);
    s.close();
  });

  test('HTTP/1.1 over TLS: a body that never finishes is 408 like on the plain listener', async () => {
    const r = await tlsRaw(`PUT /v1/kv/h1stuck HTTP/1.1\r\nhost: x\r\nauthorization: ${admin}\r\ncontent-length: 100\r\n\r\nabc`, 5000);
    assert.equal(r.closed, true);
    assert.match(r.text, /^HTTP\/1.1 408/);
    assert.equal((await app.api('GET', '/v1/kv/h1stuck')).status, 404);
  });

  test('blocking queries outlive the keep-alive timeout on both protocols; idle connections do not', async () => {
    const index = Number((await app.api('GET', '/v1/kv/none')).headers.get('x-nekoq-index')) + 1000;
    const s = session();
    let sessionClosedAt = 0;
    const t0 = performance.now();
    s.on('close', () => (sessionClosedAt = performance.now() - t0));
    const [h2, h1] = await Promise.all([
      h2request(s, { ':path': `/v1/kv/watch/?keys&index=${index}&wait=4s`, authorization: admin }),
      tlsRaw(`GET /v1/kv/watch/?keys&index=${index}&wait=4s HTTP/1.1\r\nhost: x\r\nauthorization: ${admin}\r\n\r\n`, 5500),
    ]);
    assert.equal(h2.status, 404, 'the HTTP/2 wait ran its 4 s and was answered');
    assert.ok(h2.ms >= 3900, `answered after ${Math.round(h2.ms)} ms`);
    assert.match(h1.text, /^HTTP\/1.1 404/, 'the HTTP/1.1 wait was answered too');
    // Now idle: the session is closed after the keep-alive timeout (2 s).
    for (let i = 0; i < 40 && sessionClosedAt === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(sessionClosedAt > 0, 'the idle session was closed');
  });
});

describe('response rate limiting', () => {
  let app: ApplianceProcess;
  let dnsPort: number;

  before(async () => {
    app = await startAppliance({ toml: '[rrl]\nresponses_per_second = 100\nslip = 2\nexempt = []\n' });
    dnsPort = port(app.listeners['dns-udp']!);
  });

  after(async () => {
    await app?.stop();
  });

  test('a flood from one /24 is held to the rate (every second limited answer slipped) while a client elsewhere is answered in full; dig gets its answer over TCP', async () => {
    // 127.0.0.2-9 are one /24 (127.0.0.0/24); 127.0.1.1 is another.
    const flooders = await Promise.all([2, 3, 4, 5, 6, 7, 8, 9].map((i) => bindUdp(`127.0.0.${i}`)));
    const bystander = await bindUdp('127.0.1.1');
    const counts = { flood: { sent: 0, full: 0, slipped: 0 }, other: { sent: 0, full: 0, slipped: 0 } };
    const tally = (c: typeof counts.flood) => (m: Buffer) => {
      if ((m[2]! & 0x02) !== 0) c.slipped++;
      else if (m.readUInt16BE(6) > 0) c.full++;
    };
    for (const s of flooders) s.on('message', tally(counts.flood));
    bystander.on('message', tally(counts.other));
    const q = query('ns.nekoq.internal', 1);
    const started = performance.now();
    // The flood at 1600 queries/s, the bystander at 50/s, for 2 s and for as long as dig
    // (a real client in the flooded /24) takes to get its answer.
    let dig: { stdout: string; stderr: string } | undefined;
    let digging: Promise<void> | undefined;
    for (let tick = 0; (tick < 100 || dig === undefined) && tick < 1500; tick++) {
      for (let i = 0; i < 32; i++) {
        flooders[i % flooders.length]!.send(q, dnsPort, '127.0.0.1');
        counts.flood.sent++;
      }
      if (tick % 2 === 0) {
        bystander.send(q, dnsPort, '127.0.0.1');
        counts.other.sent++;
      }
      if (tick === 10) {
        digging = run('dig', ['-b', '127.0.0.3', '-p', String(dnsPort), '@127.0.0.1', 'ns.nekoq.internal', 'A', '+tries=30', '+timeout=1']).then((r) => void (dig = r));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    await digging;
    await new Promise((r) => setTimeout(r, 300));
    // A slipped answer tells the client to ask over TCP, which is not limited.
    const overTcp = await run('dig', ['-b', '127.0.0.4', '-p', String(dnsPort), '@127.0.0.1', 'ns.nekoq.internal', 'A', '+tcp']);
    for (const s of [...flooders, bystander]) s.close();

    const limited = counts.flood.sent - counts.flood.full;
    process.stderr.write(
      `  rrl: flood ${counts.flood.sent} queries in ${seconds.toFixed(2)} s from one /24 -> ${counts.flood.full} answered (${(counts.flood.full / seconds).toFixed(0)}/s), ` +
        `${counts.flood.slipped} slipped, ${limited - counts.flood.slipped} dropped; bystander ${counts.other.full}/${counts.other.sent} answered in full\n`,
    );
    // The rate: 100/s plus one second of burst, and (datagrams lost aside) not much less.
    assert.ok(counts.flood.full <= 100 * (seconds + 1) + 5, `flood answered ${counts.flood.full} times in ${seconds.toFixed(2)} s`);
    assert.ok(counts.flood.full >= 100 * seconds * 0.8, `flood answered only ${counts.flood.full} times in ${seconds.toFixed(2)} s`);
    // Slip 2: half of the limited answers go out truncated (give or take datagrams lost on the way).
    assert.ok(Math.abs(counts.flood.slipped - limited / 2) <= limited * 0.1 + 5, `${counts.flood.slipped} slipped of ${limited} limited`);
    assert.equal(counts.other.full, counts.other.sent, 'the other /24 is answered in full');
    // dig's query met the flood: dropped (it tries again), slipped (it retries over TCP) or,
    // now and then, one of the answers the rate lets through; in every case it gets the answer.
    assert.match(dig!.stdout, /status: NOERROR/);
    assert.match(dig!.stdout, /ns\.nekoq\.internal\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1/);
    assert.match(overTcp.stdout, /ns\.nekoq\.internal\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1/);
    process.stderr.write(`  rrl: dig from the flooded /24: ${/Truncated/.test(dig!.stdout + dig!.stderr) ? 'truncated, answered over TCP' : 'answered over UDP'}\n`);
    const slipped = await metric(app, 'nekoq_dns_rrl_limited_total', 'action="slipped"');
    const dropped = await metric(app, 'nekoq_dns_rrl_limited_total', 'action="dropped"');
    assert.ok(slipped >= counts.flood.slipped, `metrics: ${slipped} slipped`);
    assert.ok(slipped + dropped >= limited, `metrics: ${slipped + dropped} limited`);
  });
});
