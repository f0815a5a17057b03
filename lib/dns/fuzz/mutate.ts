import { encodeQuery } from '../message';

/*
 * Fuzz cases for the DNS front (issue #9): valid queries mutated in the ways
 * that break parsers (bit flips, cut and grown messages, counts and lengths
 * that lie, compression pointers into anywhere, OPT records bent out of shape)
 * and plain random bytes. Deterministic from a seed, so any case can be made
 * again from (seed, index).
 */

/** A small fast seeded PRNG (mulberry32): the same seed gives the same cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: () => number, n: number) => Math.floor(rng() * n);

/** seedQueries are the valid messages mutations start from: names in and out of the zones, many types, with and without EDNS, DO and CD. */
export function seedQueries(names: readonly string[]): Buffer[] {
  const types = [1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 46, 47, 48, 50, 255, 252, 41, 65535];
  const out: Buffer[] = [];
  let id = 1;
  for (const name of names) {
    for (const type of types) {
      out.push(encodeQuery(name, type, { id: id++ & 0xffff, rd: (id & 1) === 0 }));
      out.push(encodeQuery(name, type, { id: id++ & 0xffff, rd: true, payload: 1232, do: (id & 2) === 0, cd: (id & 4) === 0 }));
    }
  }
  return out;
}

type Mutator = (b: Buffer, rng: () => number) => Buffer;

const MUTATORS: readonly Mutator[] = [
  // Flip bits.
  (b, rng) => {
    const o = Buffer.from(b);
    for (let i = 1 + int(rng, 4); i > 0; i--) o[int(rng, o.length)]! ^= 1 << int(rng, 8);
    return o;
  },
  // Set a byte to an edge value.
  (b, rng) => {
    const o = Buffer.from(b);
    o[int(rng, o.length)] = [0, 1, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff][int(rng, 8)]!;
    return o;
  },
  // Cut the message short.
  (b, rng) => b.subarray(0, int(rng, b.length)),
  // Append garbage.
  (b, rng) => Buffer.concat([b, randomBytes(rng, 1 + int(rng, 64))]),
  // Lie in a header count.
  (b, rng) => {
    const o = Buffer.from(b);
    if (o.length >= 12) o.writeUInt16BE([0, 1, 2, 0xff, 0xffff][int(rng, 5)]!, 4 + 2 * int(rng, 4));
    return o;
  },
  // A compression pointer somewhere (forwards, backwards, into itself).
  (b, rng) => {
    const o = Buffer.from(b);
    if (o.length < 14) return o;
    const at = 12 + int(rng, o.length - 13);
    o.writeUInt16BE(0xc000 | int(rng, Math.min(0x3fff, o.length + 8)), at);
    return o;
  },
  // Lie in a label length.
  (b, rng) => {
    const o = Buffer.from(b);
    if (o.length > 12) o[12 + int(rng, Math.min(8, o.length - 12))] = int(rng, 256);
    return o;
  },
  // Opcode, flags and rcode bits at random.
  (b, rng) => {
    const o = Buffer.from(b);
    if (o.length >= 4) {
      o[2] = int(rng, 256);
      o[3] = int(rng, 256);
    }
    return o;
  },
  // Bend the OPT record: version, flags, payload, option lengths.
  (b, rng) => {
    const o = Buffer.from(b);
    if (o.length < 23 || o.readUInt16BE(10) === 0) return o;
    const opt = o.length - 11;
    const field = int(rng, 4);
    if (field === 0) o[opt + 6] = int(rng, 256); // version
    else if (field === 1) o.writeUInt16BE(int(rng, 65536), opt + 3); // payload
    else if (field === 2) o.writeUInt16BE(int(rng, 65536), opt + 7); // flags
    else return Buffer.concat([o.subarray(0, opt + 9), Buffer.from([0, 8]), Buffer.from([0, 15, 0, int(rng, 256), 1, 2, 3, 4])]); // an option whose length lies
    return o;
  },
  // Several records after the question, of random types and lengths.
  (b, rng) => {
    const o = Buffer.from(b);
    if (o.length < 12) return o;
    const n = 1 + int(rng, 3);
    o.writeUInt16BE(n, 6 + 2 * int(rng, 3));
    const recs: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const rd = randomBytes(rng, int(rng, 40));
      const head = Buffer.alloc(11);
      head[0] = 0;
      head.writeUInt16BE(int(rng, 65536), 1);
      head.writeUInt16BE(int(rng, 3) === 0 ? 1 : int(rng, 65536), 3);
      head.writeUInt32BE(int(rng, 2 ** 32), 5);
      head.writeUInt16BE(int(rng, 4) === 0 ? int(rng, 65536) : rd.length, 9);
      recs.push(head, rd);
    }
    return Buffer.concat([o, ...recs]);
  },
  // Splice two halves of different lengths of the same message.
  (b, rng) => {
    const cut = int(rng, b.length);
    return Buffer.concat([b.subarray(0, cut), b.subarray(int(rng, b.length))]);
  },
];

function randomBytes(rng: () => number, n: number): Buffer {
  const o = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) o[i] = int(rng, 256);
  return o;
}

/**
 * wellFormed builds a query that parses: a name made from the seeds' names with
 * labels added, dropped, upper-cased or of odd bytes (dots, zero bytes, 0xff,
 * 63-byte labels, names near 255 bytes), any type and class, random RD/CD/AD,
 * and an OPT of any payload size (0 to 65535), version (BADVERS), DO bit and
 * options (cookies, padding, client subnet, EDE, unknown, empty). These reach
 * the engine and the signer where the byte mutations mostly end in FORMERR.
 */
export function wellFormed(rng: () => number, names: readonly string[]): Buffer {
  const labels: Buffer[] = names[int(rng, names.length)]!.split('.').filter((l) => l !== '').map((l) => Buffer.from(l, 'latin1'));
  for (let i = int(rng, 4); i > 0; i--) {
    const roll = rng();
    if (roll < 0.3) labels.unshift(Buffer.from(['*', 'www', '_tcp', '_api', 'a'.repeat(63), 'xn--zz'][int(rng, 6)]!, 'latin1'));
    else if (roll < 0.5) labels.unshift(randomBytes(rng, 1 + int(rng, 63)));
    else if (roll < 0.6 && labels.length > 0) labels.shift();
    else if (roll < 0.8) {
      const j = int(rng, Math.max(1, labels.length));
      if (labels[j] !== undefined) labels[j] = Buffer.from(labels[j].toString('latin1').toUpperCase(), 'latin1');
    } else labels.unshift(Buffer.from([[0], [0x2e], [0xff], [0x5c], [0x20]][int(rng, 5)]!));
  }
  while (labels.reduce((n, l) => n + l.length + 1, 1) > 255) labels.shift();
  const types = [0, 1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 39, 41, 43, 46, 47, 48, 50, 51, 52, 64, 65, 99, 249, 250, 251, 252, 253, 254, 255, 256, 257, 32768, 65280, 65535];
  const type = rng() < 0.8 ? types[int(rng, types.length)]! : int(rng, 65536);
  const klass = [1, 1, 1, 3, 4, 254, 255, 0, int(rng, 65536)][int(rng, 9)]!;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(int(rng, 65536), 0);
  let flags = 0;
  if (rng() < 0.7) flags |= 0x0100; // RD
  if (rng() < 0.2) flags |= 0x0010; // CD
  if (rng() < 0.2) flags |= 0x0020; // AD
  if (rng() < 0.05) flags |= int(rng, 16) << 11; // opcode
  if (rng() < 0.03) flags |= 0x0400 | 0x0080; // AA, RA in a query
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  const qname = Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(type, 0);
  question.writeUInt16BE(klass, 2);
  const parts = [header, qname, question];
  if (rng() < 0.7) {
    header.writeUInt16BE(1, 10);
    const options: Buffer[] = [];
    for (let i = int(rng, 4); i > 0; i--) {
      const code = [10, 12, 8, 15, 11, 9, 14, 65001, 0, int(rng, 65536)][int(rng, 10)]!;
      const len = code === 10 ? [8, 16, 24, 40, 7, 41][int(rng, 6)]! : int(rng, 48);
      const head = Buffer.alloc(4);
      head.writeUInt16BE(code, 0);
      head.writeUInt16BE(len, 2);
      options.push(head, randomBytes(rng, len));
    }
    const rdata = Buffer.concat(options);
    const opt = Buffer.alloc(11);
    opt[0] = 0; // root
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE([0, 1, 511, 512, 1232, 1400, 4096, 65535][int(rng, 8)]!, 3);
    opt[5] = rng() < 0.05 ? int(rng, 256) : 0; // extended rcode
    opt[6] = rng() < 0.05 ? 1 + int(rng, 255) : 0; // version
    opt.writeUInt16BE((rng() < 0.5 ? 0x8000 : 0) | (rng() < 0.05 ? int(rng, 0x8000) : 0), 7);
    opt.writeUInt16BE(rdata.length, 9);
    parts.push(opt, rdata);
  }
  return Buffer.concat(parts);
}

/** fuzzCase makes one case: a seed with 1–3 mutations, a well-formed odd query (a quarter), or random bytes (with a plausible header, or none). */
export function fuzzCase(rng: () => number, seeds: readonly Buffer[], names?: readonly string[]): Buffer {
  const roll = rng();
  if (names !== undefined && roll >= 0.75) return rng() < 0.2 ? MUTATORS[int(rng, MUTATORS.length)]!(wellFormed(rng, names), rng) : wellFormed(rng, names);
  if (roll < 0.05) return randomBytes(rng, int(rng, 600));
  if (roll < 0.1) {
    const o = randomBytes(rng, 12 + int(rng, 300));
    o[2] = o[2]! & 0x79; // a query, opcode 0 or 1…
    o.writeUInt16BE(1, 4);
    return o;
  }
  let b = seeds[int(rng, seeds.length)]!;
  for (let i = 1 + int(rng, 3); i > 0; i--) b = MUTATORS[int(rng, MUTATORS.length)]!(b, rng);
  return b;
}
