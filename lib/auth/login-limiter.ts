import { isIPv6 } from 'node:net';

/** The web manager's login limit: free tries, then a lock that doubles per further failure. */
export const LOGIN_LIMITS = {
  /** Failed attempts a client may make before it is locked out. */
  freeFailures: 5,
  /** The first lock; each further failure doubles it, up to maxLockMs. */
  firstLockMs: 30_000,
  maxLockMs: 15 * 60_000,
  /** A client with no failure for this long starts afresh. */
  forgetAfterMs: 15 * 60_000,
  /** Clients remembered at once; the oldest are forgotten first. */
  maxClients: 10_000,
} as const;

export type LoginCheck = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * LoginLimiter holds back password guessing per client: after LOGIN_LIMITS
 * .freeFailures failures a client (an IPv4 address, or the /64 of an IPv6 one,
 * which one holder has whole) is refused for 30 s, doubled per failure after
 * that up to 15 min. A success clears the client. The state is in memory: a
 * restart forgets it, which costs a guesser a restart of the appliance per
 * handful of tries.
 */
export class LoginLimiter {
  private readonly clients = new Map<string, { failures: number; lockedUntil: number; last: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** check says whether the client may try now, and if not, for how long it must wait. */
  check(client: string): LoginCheck {
    const c = this.entry(client);
    if (c === undefined) return { allowed: true };
    const wait = c.lockedUntil - this.now();
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  /** failed counts a refused attempt and locks the client once it is past its free tries. */
  failed(client: string): void {
    const key = clientKey(client);
    const now = this.now();
    const c = this.entry(client) ?? { failures: 0, lockedUntil: 0, last: now };
    this.clients.delete(key);
    c.failures += 1;
    c.last = now;
    const over = c.failures - LOGIN_LIMITS.freeFailures;
    if (over >= 0) c.lockedUntil = now + Math.min(LOGIN_LIMITS.maxLockMs, LOGIN_LIMITS.firstLockMs * 2 ** Math.min(over, 20));
    this.clients.set(key, c);
    while (this.clients.size > LOGIN_LIMITS.maxClients) this.clients.delete(this.clients.keys().next().value!);
  }

  /** succeeded clears the client's failures. */
  succeeded(client: string): void {
    this.clients.delete(clientKey(client));
  }

  private entry(client: string) {
    const key = clientKey(client);
    const c = this.clients.get(key);
    if (c !== undefined && this.now() - c.last > LOGIN_LIMITS.forgetAfterMs && this.now() >= c.lockedUntil) {
      this.clients.delete(key);
      return undefined;
    }
    return c;
  }
}

/** clientKey is the unit a limit applies to: the IPv4 address, or the first 64 bits of an IPv6 one. */
export function clientKey(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4 !== null) return v4[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
