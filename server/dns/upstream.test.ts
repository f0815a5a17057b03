import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { TYPE } from '../../lib/dns/constants';
import { encodeQuery } from '../../lib/dns/message';
import { ExchangeError } from '../../lib/dns/resolver/exchange';
import { SocketExchanger } from './upstream';

/*
 * SocketExchanger against small hostile servers on 127.0.0.1:0: answers from
 * the wrong ID or port, answers in pieces, silence, refusal, HTTP errors. Every
 * case is bounded well under a second.
 */

type Reason = ExchangeError['reason'];

const query = (id: number) => encodeQuery('www.Example.com', TYPE.A, { id, rd: true, payload: 1232 });

/** answerTo copies the query into a response: QR set, `rcode`, and another ID when `id` is given. */
function answerTo(q: Buffer, opts: { id?: number; rcode?: number } = {}): Buffer {
  const r = Buffer.from(q);
  r[2] = r[2]! | 0x80;
  r[3] = (r[3]! & 0xf0) | (opts.rcode ?? 0);
  if (opts.id !== undefined) r.writeUInt16BE(opts.id, 0);
  return r;
}

const rcodeOf = (r: Buffer) => r[3]! & 0x0f;

async function rejects(p: Promise<unknown>, reason: Reason): Promise<ExchangeError> {
  const err = await p.then(
    () => assert.fail(`resolved, expected ${reason}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ExchangeError, `not an ExchangeError: ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  assert.match(err.message, /^querying (udp|tcp|doh) /);
  return err;
}

interface Running {
  readonly port: number;
  close(): Promise<void>;
}

async function udpServer(onQuery: (msg: Buffer, rinfo: RemoteInfo, reply: (b: Buffer) => void) => void): Promise<Running> {
  const s = createSocket('udp4');
  s.on('message', (msg, rinfo) => onQuery(msg, rinfo, (b) => s.send(b, rinfo.port, rinfo.address)));
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return { port: s.address().port, close: () => new Promise((resolve) => s.close(() => resolve())) };
}

async function tcpServer(onConnection: (socket: Socket) => void): Promise<Running> {
  const sockets = new Set<Socket>();
  const s = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return {
    port: (s.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => s.close(() => resolve()));
    },
  };
}

async function httpServer(handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void): Promise<Running> {
  const s = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return {
    port: (s.address() as AddressInfo).port,
    close: () => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(() => resolve()));
    },
  };
}

/** freePort gives a port on 127.0.0.1 that nothing listens on (it was just released). */
async function freePort(kind: 'udp' | 'tcp'): Promise<number> {
  const s = kind === 'udp' ? await udpServer(() => undefined) : await tcpServer(() => undefined);
  await s.close();
  return s.port;
}

/** withServer runs `fn` with a server and always closes it. */
async function withServer<T>(server: Promise<Running>, fn: (port: number) => Promise<T>): Promise<T> {
  const s = await server;
  try {
    return await fn(s.port);
  } finally {
    await s.close();
  }
}

/**
 * handles counts the live UDP sockets and timers, to see that an exchange leaves
 * none behind. A closed socket leaves the list a little later, so it first waits.
 */
async function handles(): Promise<{ udp: number; timers: number }> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const all = process.getActiveResourcesInfo();
  return { udp: all.filter((r) => r === 'UDPWrap').length, timers: all.filter((r) => r === 'Timeout').length };
}
const local = (port: number) => ({ address: '127.0.0.1', port });

describe('udp', () => {
  test('ignores a spoof from another port and a wrong ID, takes the answer', async () => {
    const spoofer = createSocket('udp4');
    spoofer.bind(0, '127.0.0.1');
    await once(spoofer, 'listening');
    try {
      await withServer(
        udpServer((msg, rinfo, reply) => {
          // From another port, right ID: the connected socket never hears it.
          spoofer.send(answerTo(msg, { rcode: 3 }), rinfo.port, rinfo.address);
          reply(answerTo(msg, { id: msg.readUInt16BE(0) ^ 0xffff, rcode: 2 }));
          setTimeout(() => reply(answerTo(msg)), 20);
        }),
        async (port) => {
          const ex = new SocketExchanger();
          const before = await handles();
          const r = await ex.udp(local(port), query(0x1234), 1000);
          assert.equal(r.readUInt16BE(0), 0x1234);
          assert.equal(rcodeOf(r), 0);
          assert.equal(ex.stats.mismatched, 1);
          assert.deepEqual({ sent: ex.stats.sent, received: ex.stats.received }, { sent: 1, received: 1 });
          assert.deepEqual(await handles(), before, 'the exchange left a socket or timer behind');
        },
      );
    } finally {
      spoofer.close();
    }
  });

  test('takes a fresh source port for each query', async () => {
    const ports: number[] = [];
    await withServer(
      udpServer((msg, rinfo, reply) => {
        ports.push(rinfo.port);
        reply(answerTo(msg));
      }),
      async (port) => {
        const ex = new SocketExchanger();
        for (let i = 0; i < 5; i++) await ex.udp(local(port), query(i + 1), 1000);
        assert.equal(ports.length, 5);
        assert.ok(new Set(ports).size >= 2, `source ports ${ports.join(', ')}`);
      },
    );
  });

  test('works over IPv6', async (t) => {
    const s = createSocket('udp6');
    s.on('message', (msg, rinfo) => s.send(answerTo(msg), rinfo.port, rinfo.address));
    try {
      s.bind(0, '::1');
      await once(s, 'listening');
    } catch {
      s.close();
      t.skip('no ::1 here');
      return;
    }
    try {
      const r = await new SocketExchanger().udp({ address: '0:0::1', port: s.address().port }, query(7), 1000);
      assert.equal(r.readUInt16BE(0), 7);
    } finally {
      s.close();
    }
  });

  test('fails fast when nothing listens (ICMP port unreachable)', async () => {
    const ex = new SocketExchanger();
    const started = performance.now();
    const err = await rejects(ex.udp(local(await freePort('udp')), query(1), 1000), 'unreachable');
    assert.ok(performance.now() - started < 300, `took ${Math.round(performance.now() - started)} ms`);
    assert.match(err.message, /^querying udp 127\.0\.0\.1:\d+: connection refused$/);
    assert.equal(ex.stats.unreachable, 1);
  });
});

describe('tcp', () => {
  test('reads an answer that comes in pieces after another message', async () => {
    await withServer(
      tcpServer((socket) => {
        socket.once('data', (data: Buffer) => {
          const msg = data.subarray(2, 2 + data.readUInt16BE(0));
          const wrong = answerTo(msg, { id: 0xbeef });
          const right = answerTo(msg);
          const framed = Buffer.concat([u16(wrong.length), wrong, u16(right.length), right]);
          // The wrong message and one byte of the length of the right one, then the rest.
          socket.write(framed.subarray(0, wrong.length + 3));
          setTimeout(() => socket.write(framed.subarray(wrong.length + 3, wrong.length + 10)), 20);
          setTimeout(() => socket.write(framed.subarray(wrong.length + 10)), 40);
        });
      }),
      async (port) => {
        const ex = new SocketExchanger();
        const before = await handles();
        const r = await ex.tcp(local(port), query(0x4242), 1000);
        assert.deepEqual(r, answerTo(query(0x4242)));
        assert.equal(ex.stats.mismatched, 1);
        assert.equal((await handles()).timers, before.timers, 'the exchange left a timer behind');
      },
    );
  });

  test('a flood of messages that answer nothing runs into the deadline', async () => {
    await withServer(
      tcpServer((socket) => {
        // Zero-length messages, 32768 to a write, as fast as the client reads them.
        const flood = () => {
          while (!socket.destroyed && socket.write(Buffer.alloc(65536)));
        };
        socket.on('drain', flood);
        flood();
      }),
      async (port) => {
        const ex = new SocketExchanger();
        await rejects(ex.tcp(local(port), query(1), 150), 'timeout');
        assert.ok(ex.stats.mismatched > 1000, `mismatched ${ex.stats.mismatched}`);
      },
    );
  });

  test('a connection closed before the answer is unreachable', async () => {
    await withServer(
      tcpServer((socket) => socket.once('data', () => socket.end())),
      async (port) => {
        const err = await rejects(new SocketExchanger().tcp(local(port), query(1), 1000), 'unreachable');
        assert.match(err.message, /closed before an answer/);
      },
    );
  });

  test('a closed port is unreachable', async () => {
    const err = await rejects(new SocketExchanger().tcp(local(await freePort('tcp')), query(1), 1000), 'unreachable');
    assert.match(err.message, /^querying tcp 127\.0\.0\.1:\d+: connection refused$/);
  });
});

describe('doh', () => {
  test('POSTs application/dns-message and takes the answer', async () => {
    let seen: { method?: string; type?: string; accept?: string; body?: Buffer } = {};
    await withServer(
      httpServer((req, body, res) => {
        seen = { method: req.method, type: req.headers['content-type'], accept: req.headers.accept, body };
        const answer = answerTo(body);
        res.writeHead(200, { 'content-type': 'application/dns-message', 'content-length': answer.length });
        res.end(answer);
      }),
      async (port) => {
        const ex = new SocketExchanger();
        const r = await ex.doh(`http://127.0.0.1:${port}/dns-query`, query(0), 1000);
        assert.deepEqual(r, answerTo(query(0)));
        assert.deepEqual(seen, { method: 'POST', type: 'application/dns-message', accept: 'application/dns-message', body: query(0) });
        assert.deepEqual({ sent: ex.stats.sent, received: ex.stats.received }, { sent: 1, received: 1 });
      },
    );
  });

  // What a DoH server may answer that is not a usable DNS answer: each is 'unreachable'.
  const refused: [name: string, respond: (body: Buffer, res: ServerResponse) => void, message: RegExp][] = [
    ['status 500', (_b, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end('boom'), /http status 500$/],
    ['a redirect', (_b, res) => res.writeHead(307, { location: '/elsewhere' }).end(), /http status 307$/],
    ['another media type', (b, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(answerTo(b)), /content-type text\/html/],
    ['no media type', (b, res) => res.writeHead(200).end(answerTo(b)), /content-type missing/],
    ['another ID', (b, res) => res.writeHead(200, { 'content-type': 'application/dns-message' }).end(answerTo(b, { id: 99 })), /does not answer/],
    ['a body over 65535 bytes', (_b, res) => res.writeHead(200, { 'content-type': 'application/dns-message' }).end(Buffer.alloc(70000)), /longer than 65535/],
    [
      'a body over 65535 bytes, chunked',
      (b, res) => {
        res.writeHead(200, { 'content-type': 'application/dns-message' });
        res.write(answerTo(b));
        res.end(Buffer.alloc(70000));
      },
      /longer than 65535/,
    ],
  ];
  for (const [name, respond, message] of refused) {
    test(`refuses ${name}`, async () => {
      await withServer(
        httpServer((_req, body, res) => respond(body, res)),
        async (port) => {
          const ex = new SocketExchanger();
          const err = await rejects(ex.doh(`http://127.0.0.1:${port}/dns-query`, query(5), 1000), 'unreachable');
          assert.match(err.message, message);
          assert.equal(ex.stats.unreachable, 1);
        },
      );
    });
  }

  test('a closed port is unreachable', async () => {
    const err = await rejects(new SocketExchanger().doh(`http://127.0.0.1:${await freePort('tcp')}/dns-query`, query(1), 1000), 'unreachable');
    assert.match(err.message, /connection refused$/);
  });
});

// The same silent servers behind every transport: the deadline and the caller's signal end each the same way.
describe('timeout and abort, every transport', () => {
  const silent: [transport: 'udp' | 'tcp' | 'doh', server: () => Promise<Running>][] = [
    ['udp', () => udpServer(() => undefined)],
    ['tcp', () => tcpServer(() => undefined)],
    ['doh', () => httpServer(() => undefined)],
  ];
  const ask = (ex: SocketExchanger, transport: 'udp' | 'tcp' | 'doh', port: number, timeoutMs: number, signal?: AbortSignal) =>
    transport === 'doh' ? ex.doh(`http://127.0.0.1:${port}/dns-query`, query(3), timeoutMs, signal) : ex[transport](local(port), query(3), timeoutMs, signal);

  for (const [transport, server] of silent) {
    test(`${transport}: no answer is a timeout`, async () => {
      await withServer(server(), async (port) => {
        const ex = new SocketExchanger();
        const started = performance.now();
        const err = await rejects(ask(ex, transport, port, 150), 'timeout');
        assert.ok(performance.now() - started >= 140);
        assert.match(err.message, /no answer within 150 ms$/);
        assert.equal(ex.stats.timeouts, 1);
      });
    });

    test(`${transport}: the caller's signal aborts`, async () => {
      await withServer(server(), async (port) => {
        const ex = new SocketExchanger();
        const before = await handles();
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 50);
        const started = performance.now();
        await rejects(ask(ex, transport, port, 1000, ac.signal), 'aborted');
        assert.ok(performance.now() - started < 500);
        assert.deepEqual({ timeouts: ex.stats.timeouts, unreachable: ex.stats.unreachable }, { timeouts: 0, unreachable: 0 });
        if (transport === 'udp') assert.deepEqual(await handles(), before, 'the exchange left a socket or timer behind');
      });
    });

    test(`${transport}: an abort while connecting releases everything`, async () => {
      await withServer(server(), async (port) => {
        const ex = new SocketExchanger();
        const before = await handles();
        const ac = new AbortController();
        const p = ask(ex, transport, port, 1000, ac.signal);
        ac.abort();
        await rejects(p, 'aborted');
        if (transport === 'udp') assert.deepEqual(await handles(), before, 'the exchange left a socket or timer behind');
      });
    });

    test(`${transport}: an aborted signal stops it before it starts`, async () => {
      const ex = new SocketExchanger();
      await rejects(ask(ex, transport, 9, 1000, AbortSignal.abort()), 'aborted');
      assert.equal(ex.stats.sent, 0);
    });
  }
});

describe('refused before sending', () => {
  const cases: [name: string, run: (ex: SocketExchanger) => Promise<Buffer>, message: RegExp][] = [
    ['a host name', (ex) => ex.udp({ address: 'localhost', port: 53 }, query(1), 1000), /"localhost" is not an IP address/],
    ['port 0', (ex) => ex.tcp({ address: '127.0.0.1', port: 0 }, query(1), 1000), /port 0 is out of range/],
    ['a query over 65535 bytes', (ex) => ex.tcp(local(53), Buffer.alloc(70000), 1000), /longer than 65535/],
    ['a bad URL', (ex) => ex.doh('not a url', query(1), 1000), /^querying doh not a url: not an http or https URL$/],
    ['a URL of another scheme', (ex) => ex.doh('ftp://127.0.0.1/dns-query', query(1), 1000), /not an http or https URL$/],
  ];
  for (const [name, run, message] of cases) {
    test(name, async () => {
      const ex = new SocketExchanger();
      const err = await rejects(run(ex), 'unreachable');
      assert.match(err.message, message);
      assert.equal(ex.stats.sent, 0);
    });
  }
});

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}
