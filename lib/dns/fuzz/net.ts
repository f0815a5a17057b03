import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { decodeMessage, encodeQuery, rdataData } from '../message';

/*
 * The network half of the fuzzer: cases sent to a running appliance over UDP
 * (fire and forget, a bounded number in flight), TCP (length-prefixed on a few
 * connections, some frames cut off or lying about their length) and DoH POST;
 * then the check table, asked over UDP, must be answered right.
 */

export interface Endpoint {
  readonly host: string;
  readonly dnsPort: number;
  readonly httpUrl: string;
}

/**
 * badAnswer says what is wrong with an answer to fuzz cases (undefined: nothing):
 * it must be a DNS message our decoder reads, with QR set and the ID of a case
 * sent (`ids`; any ID when undefined).
 */
export function badAnswer(m: Buffer, ids?: ReadonlySet<number>): string | undefined {
  if (m.length < 12) return `answer of ${m.length} bytes`;
  if ((m[2]! & 0x80) === 0) return 'answer without QR';
  if (ids !== undefined && !ids.has(m.readUInt16BE(0))) return `answer with ID ${m.readUInt16BE(0)}, not one sent`;
  try {
    decodeMessage(m);
  } catch (err) {
    return `answer not decodable: ${(err as Error).message}`;
  }
  return undefined;
}

const idOf = (c: Buffer) => (c.length >= 2 ? c.readUInt16BE(0) : -1);

/** sendUdp sends every case from one socket, at most `window` unanswered at a time (a lost answer is waited for 50 ms); every answer is checked. */
export async function sendUdp(ep: Endpoint, cases: Iterable<Buffer>): Promise<{ sent: number; answered: number; bad: string[] }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  let answered = 0;
  let sent = 0;
  const bad: string[] = [];
  socket.on('message', (m) => {
    answered++;
    const why = badAnswer(m);
    if (why !== undefined && bad.length < 20) bad.push(`udp: ${why}`);
  });
  for (const c of cases) {
    socket.send(c, ep.dnsPort, ep.host);
    sent++;
    if (sent % 200 === 0) {
      // Let the answers come back before the socket buffer overflows.
      const target = sent - 200;
      const until = Date.now() + 50;
      while (answered < target && Date.now() < until) await new Promise((r) => setImmediate(r));
    }
  }
  await new Promise((r) => setTimeout(r, 200));
  await new Promise<void>((r) => socket.close(() => r()));
  return { sent, answered, bad };
}

/**
 * sendTcp writes cases length-prefixed, `perConnection` to a connection and 20
 * connections at a time; the last frame of each lies about its length (the
 * connection then waits for bytes that never come, until we drop it).
 */
export async function sendTcp(ep: Endpoint, cases: Buffer[], perConnection = 50): Promise<{ sent: number; connections: number; answered: number; bad: string[] }> {
  let sent = 0;
  let connections = 0;
  let answered = 0;
  const bad: string[] = [];
  const batches: Buffer[][] = [];
  for (let i = 0; i < cases.length; i += perConnection) batches.push(cases.slice(i, i + perConnection));
  const one = (batch: Buffer[]) =>
    new Promise<void>((resolve) => {
      connections++;
      const sock = connect(ep.dnsPort, ep.host);
      const ids = new Set(batch.map(idOf));
      let buf = Buffer.alloc(0);
      sock.on('error', () => resolve());
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          answered++;
          const why = badAnswer(buf.subarray(2, 2 + buf.readUInt16BE(0)), ids);
          if (why !== undefined && bad.length < 20) bad.push(`tcp: ${why}`);
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
      });
      sock.on('close', () => resolve());
      sock.on('connect', () => {
        batch.forEach((c, j) => {
          const len = Buffer.alloc(2);
          const lie = j === batch.length - 1;
          len.writeUInt16BE(lie ? Math.min(65535, c.length + 1 + (j % 7) * 100) : c.length);
          sock.write(Buffer.concat([len, c]));
          sent++;
        });
        setTimeout(() => sock.destroy(), 300);
      });
    });
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await one(batches[next++]!);
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  return { sent, connections, answered, bad };
}

/** sendDoh POSTs cases to /dns-query, `parallel` at a time; returns the status counts and what was wrong (a 200 must carry a good answer, anything else a 4xx). */
export async function sendDoh(ep: Endpoint, cases: Buffer[], parallel = 16): Promise<{ statuses: Record<string, number>; bad: string[] }> {
  const statuses: Record<string, number> = {};
  const bad: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      try {
        const res = await fetch(`${ep.httpUrl}/dns-query`, { method: 'POST', headers: { 'content-type': 'application/dns-message', accept: 'application/dns-message' }, body: new Uint8Array(c) });
        const body = Buffer.from(await res.arrayBuffer());
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const why = res.status === 200 ? badAnswer(body, new Set([idOf(c)])) : res.status >= 400 && res.status < 500 ? undefined : `status ${res.status}`;
        if (why !== undefined && bad.length < 20) bad.push(`doh: ${why}`);
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { statuses, bad };
}

/** The questions asked after the flood, and what their answers must hold. */
export const CHECK_TABLE: readonly { name: string; type: number; rcode: number; has?: RegExp }[] = [
  { name: 'www.example.com', type: 1, rcode: 0, has: /192\.0\.2\.80/ },
  { name: 'x.wild.example.com', type: 16, rcode: 0, has: /wild/ },
  { name: 'nope.example.com', type: 1, rcode: 3 },
  { name: 'api.discovery.nekoq.internal', type: 33, rcode: 0, has: /i1.{1,6}api.{1,6}discovery/ },
  { name: 'elsewhere.org', type: 1, rcode: 5 },
];

/** checkTable asks every question of the check table over UDP and returns what is wrong (empty: all right). */
export async function checkTable(ep: Endpoint): Promise<string[]> {
  const problems: string[] = [];
  for (const q of CHECK_TABLE) {
    const socket = createSocket('udp4');
    try {
      const answer = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer in 2 s')), 2000);
        socket.once('message', (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        socket.send(encodeQuery(q.name, q.type, { id: 4242, rd: false, payload: 1232, do: true }), ep.dnsPort, ep.host);
      });
      const msg = decodeMessage(answer);
      if (msg.rcode !== q.rcode) problems.push(`${q.name}/${q.type}: rcode ${msg.rcode}, expected ${q.rcode}`);
      const text = JSON.stringify(msg.answer.filter((r) => r.type === q.type).map((r) => rdataData(r.type, r.rdata)), (_k, v: unknown) =>
        v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v,
      );
      if (q.has !== undefined && !q.has.test(text)) problems.push(`${q.name}/${q.type}: answer ${text} lacks ${q.has}`);
    } catch (err) {
      problems.push(`${q.name}/${q.type}: ${(err as Error).message}`);
    } finally {
      socket.close();
    }
  }
  return problems;
}
