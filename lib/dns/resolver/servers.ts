/**
 * What the resolver remembers about the servers it talks to (the "infrastructure
 * cache" of Unbound and BIND): a smoothed round-trip time per address, recent
 * failures, and which server was lame for which zone. It orders the servers to
 * try and sets each try's timeout; it never holds records.
 */

interface ServerState {
  /** Smoothed RTT and its variation in ms (RFC 6298: alpha 1/8, beta 1/4); undefined until one answer came back. */
  srtt: number | undefined;
  rttvar: number;
  /** Failures (silence, unreachable, an error answer) since the last usable answer. */
  failures: number;
  /** No queries before this time (ms since the epoch) unless nothing else is left. */
  holdUntil: number;
}

export interface ServerStatus {
  readonly server: string;
  readonly srttMs: number | undefined;
  readonly failures: number;
  readonly up: boolean;
}

/** A try never waits less than this, nor more than MAX_TRY_MS, for one response. */
export const MIN_TRY_MS = 100;
export const MAX_TRY_MS = 1500;
/** First wait for a server that has never answered. */
const FIRST_TRY_MS = 400;
/** After this many failures in a row a server is held back, 1 s doubling up to HOLD_MAX_MS. */
const FAILURES_BEFORE_HOLD = 3;
const HOLD_MAX_MS = 60_000;
/** A server that was lame for a zone is not asked about that zone again for this long. */
const LAME_MS = 15 * 60_000;
/** Entries kept at most; beyond that the oldest go (a flood of referrals to new addresses cannot grow memory). */
const MAX_SERVERS = 10_000;

export class ServerBook {
  private readonly servers = new Map<string, ServerState>();
  private readonly lame = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * order returns the servers to try for `zone`: those not lame and not held
   * back first, the fastest first (a server never measured gets a small random
   * RTT, so new servers are tried and load spreads). Held-back and lame ones
   * are left out while any other is left, and come last when none is.
   */
  order<T extends { key: string }>(zone: string, servers: readonly T[]): T[] {
    const now = this.now();
    const scored = servers.map((s) => {
      const st = this.servers.get(s.key);
      const lame = (this.lame.get(`${zone}|${s.key}`) ?? 0) > now;
      const held = st !== undefined && st.holdUntil > now;
      const rtt = st?.srtt ?? this.random() * 50;
      return { s, score: (lame ? 2e9 : 0) + (held ? 1e9 : 0) + rtt };
    });
    scored.sort((a, b) => a.score - b.score);
    const usable = scored.filter((x) => x.score < 1e9);
    return (usable.length > 0 ? usable : scored).map((x) => x.s);
  }

  /**
   * tryTimeout is how long to wait for `server`'s response to the `attempt`-th
   * try of one query (0 = the first): SRTT + 4·RTTVAR (RFC 6298 §2) within
   * bounds, doubled for every try of the same query after the first (RFC 6298
   * §5.5, once: a server slower than we thought is heard on the retry, while
   * repeated losses cost short tries, not ever longer waits). The back-off
   * belongs to the query, not the server: other queries' losses do not slow this one.
   */
  tryTimeout(server: string, attempt = 0): number {
    const st = this.servers.get(server);
    const base = st?.srtt === undefined ? FIRST_TRY_MS : Math.max(MIN_TRY_MS, Math.round(st.srtt + 4 * st.rttvar + 50));
    return Math.min(MAX_TRY_MS, attempt === 0 ? base : base * 2);
  }

  /** measured records the RTT of a response (any response: it says how far the server is, not whether it is useful). */
  measured(server: string, rttMs: number): void {
    const st = this.state(server);
    if (st.srtt === undefined) {
      st.srtt = rttMs;
      st.rttvar = rttMs / 2;
    } else {
      st.rttvar += (Math.abs(st.srtt - rttMs) - st.rttvar) / 4;
      st.srtt += (rttMs - st.srtt) / 8;
    }
  }

  /** succeeded records a usable answer: the failure count starts over and a hold ends. */
  succeeded(server: string): void {
    const st = this.state(server);
    st.failures = 0;
    st.holdUntil = 0;
  }

  /** failed records a try that gave nothing usable (silence, unreachable, an error answer). */
  failed(server: string): void {
    const st = this.state(server);
    st.failures++;
    if (st.failures >= FAILURES_BEFORE_HOLD) {
      st.holdUntil = this.now() + Math.min(HOLD_MAX_MS, 1000 * 2 ** (st.failures - FAILURES_BEFORE_HOLD));
    }
  }

  markLame(zone: string, server: string): void {
    if (this.lame.size >= MAX_SERVERS) this.lame.delete(this.lame.keys().next().value as string);
    this.lame.set(`${zone}|${server}`, this.now() + LAME_MS);
  }

  status(server: string): ServerStatus {
    const st = this.servers.get(server);
    return { server, srttMs: st?.srtt === undefined ? undefined : Math.round(st.srtt * 10) / 10, failures: st?.failures ?? 0, up: st === undefined || st.holdUntil <= this.now() };
  }

  /** forget drops everything learnt (with a cache flush of everything). */
  forget(): void {
    this.servers.clear();
    this.lame.clear();
  }

  private state(server: string): ServerState {
    let st = this.servers.get(server);
    if (st === undefined) {
      if (this.servers.size >= MAX_SERVERS) this.servers.delete(this.servers.keys().next().value as string);
      st = { srtt: undefined, rttvar: 0, failures: 0, holdUntil: 0 };
      this.servers.set(server, st);
    }
    return st;
  }
}
