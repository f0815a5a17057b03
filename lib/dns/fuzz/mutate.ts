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

/** fuzzCase makes one case: mostly a seed with 1–3 mutations, sometimes random bytes (with a plausible header, or none). */
export function fuzzCase(rng: () => number, seeds: readonly Buffer[]): Buffer {
  const roll = rng();
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
