import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from './roles';

/** tokenDigest is the sha256 of an API token as lower-case hex: the only form in which tokens are kept. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface TokenEntry {
  readonly name: string;
  readonly sha256: string;
  readonly role: Role;
}

/**
 * TokenTable finds the entry for a presented bearer token. It hashes the token and
 * compares the digest with every known digest in constant time, so neither the
 * outcome nor the position of a match shows in the timing.
 */
export class TokenTable {
  private readonly entries: readonly { entry: TokenEntry; digest: Buffer }[];

  constructor(entries: readonly TokenEntry[]) {
    this.entries = entries.map((entry) => ({ entry, digest: Buffer.from(entry.sha256, 'hex') }));
  }

  /** lookup returns the entry whose token is `token`, or undefined. */
  lookup(token: string): TokenEntry | undefined {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: TokenEntry | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(digest, e.digest) && found === undefined) found = e.entry;
    }
    return found;
  }

  get size(): number {
    return this.entries.length;
  }
}
