import { asciiLower, nameToWire } from '../message';

/** typeBitmap encodes a set of types as NSEC/NSEC3 window blocks (RFC 4034 §4.1.2): only windows with a type, each as short as its highest type needs. */
export function typeBitmap(types: Iterable<number>): Buffer {
  const windows = new Map<number, Uint8Array>();
  for (const t of types) {
    const w = t >> 8;
    let bits = windows.get(w);
    if (bits === undefined) windows.set(w, (bits = new Uint8Array(32)));
    bits[(t & 0xff) >> 3]! |= 0x80 >> (t & 7);
  }
  const parts: Buffer[] = [];
  for (const w of [...windows.keys()].sort((a, b) => a - b)) {
    const bits = windows.get(w)!;
    let len = 32;
    while (len > 0 && bits[len - 1] === 0) len--;
    parts.push(Buffer.from([w, len]), Buffer.from(bits.subarray(0, len)));
  }
  return Buffer.concat(parts);
}

/** nsecRdata is an NSEC RDATA: the next owner name (lower case, uncompressed) and the types at this owner (RFC 4034 §4.1). */
export function nsecRdata(next: string, types: Iterable<number>): Buffer {
  return Buffer.concat([nameToWire(asciiLower(next)), typeBitmap(types)]);
}

/**
 * compareNames orders names canonically (RFC 4034 §6.1): label by label from the
 * right, each label as lower-cased bytes, a shorter name (a parent) first.
 */
export function compareNames(a: string, b: string): number {
  const la = a === '' ? [] : asciiLower(a).split('.').reverse();
  const lb = b === '' ? [] : asciiLower(b).split('.').reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    const c = Buffer.compare(Buffer.from(la[i]!.replaceAll('\u2024', '.'), 'latin1'), Buffer.from(lb[i]!.replaceAll('\u2024', '.'), 'latin1'));
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}
