// The DNS benchmark's data: one zone (bench.example., 1000 names h0000..h0999) rendered
// as an RFC 1035 zone file, as Unbound local-data, as a dnsperf query file and as DNS
// wire queries for DoH. Addresses are from 198.18.0.0/15 (RFC 2544, benchmarking) and
// 2001:db8::/32 (documentation): data only, nothing is ever sent to them.
// Not under .test/.invalid: Unbound treats those names specially.

export const ORIGIN = 'bench.example.';
export const NAMES = 1000;
export const TTL = 300;

const TYPE_CODES = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };

const host = (i) => `h${String(i).padStart(4, '0')}`;
const v4 = (i) => `198.18.${(i >> 8) & 255}.${i & 255}`;
const v6 = (i) => `2001:db8::${i.toString(16)}`;

/** records lists every record of the zone as { name (absolute), type, rdata (zone-file text) }. */
export function records() {
  const abs = (n) => `${n}.${ORIGIN}`;
  const out = [
    { name: ORIGIN, type: 'SOA', rdata: `ns1.${ORIGIN} hostmaster.${ORIGIN} 1 3600 600 86400 300` },
    { name: ORIGIN, type: 'NS', rdata: `ns1.${ORIGIN}` },
    { name: abs('ns1'), type: 'A', rdata: '198.19.0.1' },
    { name: abs('mail'), type: 'A', rdata: '198.19.0.2' },
  ];
  for (let i = 0; i < NAMES; i++) {
    const n = abs(host(i));
    out.push({ name: n, type: 'A', rdata: v4(i) });
    if (i % 5 === 0) out.push({ name: n, type: 'AAAA', rdata: v6(i) });
    if (i % 50 === 0) out.push({ name: n, type: 'TXT', rdata: `"bench ${host(i)}"` });
    if (i % 100 === 0) out.push({ name: n, type: 'MX', rdata: `10 mail.${ORIGIN}` });
  }
  return out;
}

/** zoneFile renders the zone as an RFC 1035 master file starting with $ORIGIN. */
export function zoneFile() {
  const lines = [`$ORIGIN ${ORIGIN}`, `$TTL ${TTL}`];
  for (const r of records()) lines.push(`${r.name} ${TTL} IN ${r.type} ${r.rdata}`);
  return lines.join('\n') + '\n';
}

/** unboundLocalData renders the zone as Unbound local-zone/local-data lines (server: clause). */
export function unboundLocalData() {
  const lines = [`    local-zone: "${ORIGIN}" static`];
  for (const r of records()) lines.push(`    local-data: '${r.name} ${TTL} IN ${r.type} ${r.rdata}'`);
  return lines.join('\n') + '\n';
}

/**
 * queries is the query mix, every one answered with data (no NXDOMAIN, no NODATA): one A
 * per name, AAAA for every 5th name, TXT every 50th, MX every 100th (1230 queries),
 * shuffled with a fixed seed so every run and every server sees the same order.
 */
export function queries() {
  const q = [];
  for (let i = 0; i < NAMES; i++) {
    const n = `${host(i)}.${ORIGIN}`;
    q.push({ name: n, type: 'A', expect: v4(i) });
    if (i % 5 === 0) q.push({ name: n, type: 'AAAA', expect: v6(i) });
    if (i % 50 === 0) q.push({ name: n, type: 'TXT' });
    if (i % 100 === 0) q.push({ name: n, type: 'MX' });
  }
  shuffle(q, 0x9e3779b9);
  return q;
}

/** dnsperfFile renders queries() as a dnsperf data file ("name TYPE" per line). */
export const dnsperfFile = () => queries().map((q) => `${q.name} ${q.type}`).join('\n') + '\n';

/** wireQuery encodes a standard query (RD set, as stub resolvers send; ID 0 as RFC 8484 recommends for DoH). */
export function wireQuery(name, type, id = 0) {
  const labels = name.replace(/\.$/, '').split('.');
  const buf = Buffer.alloc(12 + labels.reduce((n, l) => n + 1 + l.length, 1) + 4);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x0100, 2);
  buf.writeUInt16BE(1, 4);
  let o = 12;
  for (const l of labels) {
    buf[o++] = l.length;
    o += buf.write(l, o, 'ascii');
  }
  buf[o++] = 0;
  buf.writeUInt16BE(TYPE_CODES[type], o);
  buf.writeUInt16BE(1, o + 2);
  return buf;
}

const addrBytes = (a) =>
  a.includes(':')
    ? (() => {
        const [head, tail] = a.split('::');
        const h = head ? head.split(':') : [];
        const t = tail ? tail.split(':') : [];
        const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
        return Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255]));
      })()
    : Buffer.from(a.split('.').map(Number));

/**
 * checkAnswer returns undefined when resp answers query q (a queries() entry) with
 * NOERROR, at least one answer and, for A/AAAA, the expected address;
 * otherwise a description of what is wrong.
 */
export function checkAnswer(resp, q, id = 0) {
  if (resp.length < 12) return `short response (${resp.length} bytes)`;
  if (resp.readUInt16BE(0) !== id) return `ID ${resp.readUInt16BE(0)}, expected ${id}`;
  const flags = resp.readUInt16BE(2);
  if (!(flags & 0x8000)) return 'QR bit not set';
  const rcode = flags & 0xf;
  if (rcode !== 0) return `rcode ${rcode} (${['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][rcode] ?? '?'})`;
  if (resp.readUInt16BE(6) === 0) return 'no answer records';
  if (q.expect && resp.indexOf(addrBytes(q.expect), 12) < 0) return `answer lacks ${q.expect}`;
  return undefined;
}

/** shuffle puts `items` in a fixed pseudo-random order (mulberry32 from `seed`), the same on every run. */
export function shuffle(items, seed) {
  let state = seed;
  const rand = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
