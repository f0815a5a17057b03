import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { RCODE, TYPE } from '../constants';
import { decodeMessage, encodeQuery, groupRRsets, nameToWire, type Message } from '../message';
import type { RRset } from '../rrset';
import { inZone, parentName } from '../zone';
import { RANK, type Rank, type RecordCache } from './cache';
import { ExchangeError, type Exchanger } from './exchange';
import { ServerBook, type ServerStatus } from './servers';
import { Validator, type Security } from './validator';
import type { TrustAnchor } from '../dnssec/anchors';

/** Where forward mode sends queries: "udp://addr:port", "tcp://addr:port" or a DoH URL. */
export interface Upstream {
  readonly transport: 'udp' | 'tcp' | 'https';
  /** udp and tcp: the address and port. */
  readonly address?: string;
  readonly port?: number;
  /** https: the DoH URL. */
  readonly url?: string;
  /** As written in the config, for logs, metrics and the API. */
  readonly label: string;
}

export interface RootHint {
  readonly name: string;
  readonly address: string;
}

/** Bounds on the work one client query may cause (the defaults are Unbound's and BIND's orders of magnitude). */
export interface ResolverLimits {
  /** Nested resolutions of name-server names (a delegation without glue inside one without glue …). */
  readonly maxDepth: number;
  /** Referrals followed for one name. */
  readonly maxReferrals: number;
  /** Queries sent upstream for one client query, nested resolutions included. */
  readonly maxQueries: number;
  /** CNAME and DNAME links followed. */
  readonly maxChain: number;
  /** Minimised queries before the full name is sent (RFC 9156 §2.3 MAX_MINIMISE_COUNT). */
  readonly maxMinimise: number;
  /** Resolutions under way at once; a client query beyond this is SERVFAIL at once (a flood of new names cannot take every socket). */
  readonly maxInflight: number;
}

export const DEFAULT_LIMITS: ResolverLimits = { maxDepth: 5, maxReferrals: 30, maxQueries: 100, maxChain: 12, maxMinimise: 10, maxInflight: 1000 };

export interface ResolverOptions {
  readonly mode: 'forward' | 'iterative';
  readonly upstreams: readonly Upstream[];
  readonly rootHints: readonly RootHint[];
  /** The whole budget of one client query, in ms; SERVFAIL when it is spent. */
  readonly timeoutMs: number;
  readonly qnameMinimisation: boolean;
  /** Serve-stale (RFC 8767): answer from expired cache data when resolving fails. */
  readonly serveStale: boolean;
  /** TTL given to stale answers (RFC 8767 §4 suggests 30 s). */
  readonly staleAnswerTtl: number;
  /** EDNS payload size we advertise upstream. */
  readonly ednsPayload: number;
  readonly limits?: Partial<ResolverLimits>;
  /** DNSSEC trust anchors; with any, queries go out with DO and CD and answers are validated. */
  readonly trustAnchors?: readonly TrustAnchor[];
  readonly now?: () => number;
}

/** A resolved answer for a client: the rcode, the answer section (CNAME/DNAME chain first) and the authority (SOA of a negative answer). */
export interface Resolution {
  readonly rcode: number;
  readonly answer: readonly RRset[];
  readonly authority: readonly RRset[];
  /** Served from expired data (RFC 8767): not to be cached or prebuilt. */
  readonly stale?: boolean;
  /** Extended DNS Error (RFC 8914): 3 stale answer, 22 no reachable authority. */
  readonly ede?: number;
  /** Why a SERVFAIL (or a bogus verdict), for logs and tests. */
  readonly reason?: string;
  /** The DNSSEC verdict when validating (undefined: not validated). */
  readonly security?: Security;
}

/** One step of following a name: data, a link to another name, a denial, or a failure. */
type Step =
  | { readonly kind: 'answer'; readonly sets: readonly RRset[] }
  | { readonly kind: 'alias'; readonly sets: readonly RRset[]; readonly target: string }
  | { readonly kind: 'nxdomain' | 'nodata'; readonly sets: readonly RRset[]; readonly soa: RRset | undefined }
  /** A DNAME would make the name longer than 255 bytes (RFC 6672 §2.2). */
  | { readonly kind: 'yxdomain'; readonly sets: readonly RRset[] }
  | { readonly kind: 'fail'; readonly reason: string; readonly unreachable?: boolean };

/** What a response to one of our queries told us, read against the zone of the server that sent it. */
type Reading = Step | { readonly kind: 'referral'; readonly child: string } | { readonly kind: 'lame'; readonly reason: string };

interface Budget {
  readonly deadline: number;
  queries: number;
  referrals: number;
  /** Tries per server so far: each further try of the same server waits twice as long. */
  readonly tries: Map<string, number>;
  readonly signal?: AbortSignal;
}

interface Target {
  readonly key: string;
  readonly address: string;
  readonly port: number;
}

/** A failure is remembered this long, so that a broken name does not cost a full resolution per query (RFC 2308 §7.1 allows up to 5 min). */
const FAILURE_CACHE_MS = 5_000;
const MAX_FAILURES_HELD = 10_000;

/**
 * Resolver answers names outside the local zones, by forwarding to upstreams or
 * by iterating from the root hints, through one RecordCache shared by every
 * transport. `resolve` follows CNAME and DNAME chains (across zones and servers),
 * serves from the cache what it holds, asks upstream for the rest, and returns
 * SERVFAIL when the budget of one query (time, queries, referrals, depth) is
 * spent. Concurrent client queries for the same question share one resolution.
 *
 * Iteration keeps only records within the bailiwick of the server that sent
 * them: answer and authority records at or below the zone the server was asked
 * about, glue only for the names of the delegation and only below that zone.
 * Queries leave from a fresh random port with a random ID (the Exchanger), and a
 * response must match the query's ID and question.
 */
export class Resolver {
  readonly servers: ServerBook;
  /** The DNSSEC validator; undefined when there are no trust anchors. */
  readonly validator: Validator | undefined;
  private readonly limits: ResolverLimits;
  private readonly now: () => number;
  private readonly inflight = new Map<string, Promise<Resolution>>();
  private readonly failures = new Map<string, { until: number; resolution: Resolution }>();
  readonly stats = { resolutions: 0, shared: 0, upstreamQueries: 0, upstreamFailures: 0, truncatedRetries: 0, badResponses: 0, outOfBailiwick: 0, staleAnswers: 0, failures: 0, overloaded: 0 };

  constructor(
    private readonly opts: ResolverOptions,
    readonly cache: RecordCache,
    private readonly exchanger: Exchanger,
  ) {
    this.now = opts.now ?? Date.now;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.servers = new ServerBook(this.now);
    if (opts.mode === 'forward' && opts.upstreams.length === 0) throw new Error('forward mode needs at least one upstream');
    if (opts.mode === 'iterative' && opts.rootHints.length === 0) throw new Error('iterative mode needs root hints');
    this.validator =
      opts.trustAnchors !== undefined && opts.trustAnchors.length > 0 ? new Validator(opts.trustAnchors, (name, type) => this.resolveRaw(name, type), this.now) : undefined;
  }

  /** resolveRaw resolves without validation (the validator's own DS and DNSKEY lookups), sharing the cache. */
  private resolveRaw(name: string, type: number): Promise<Resolution> {
    const budget: Budget = { deadline: this.now() + this.opts.timeoutMs, queries: 0, referrals: 0, tries: new Map() };
    return this.follow(name, type, budget, 0).catch((err: unknown): Resolution => ({ rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: `internal error: ${(err as Error).message}` }));
  }

  get mode(): 'forward' | 'iterative' {
    return this.opts.mode;
  }

  /** upstreamStatus reports each upstream's health (forward mode). */
  upstreamStatus(): (ServerStatus & { upstream: string })[] {
    return this.opts.upstreams.map((u) => ({ ...this.servers.status(u.label), upstream: u.label }));
  }

  /**
   * fromCache answers (name, type) from the cache alone, following cached CNAME
   * and DNAME links; undefined when some link is missing. The resolver stage asks
   * it first (a cached answer needs no promise), and alone for queries without RD.
   */
  fromCache(name: string, type: number): Resolution | undefined {
    const r = this.chainFromCache(name, type, false);
    if (r === undefined || this.validator === undefined) return r;
    // Cached data is served only with a verdict; without one it is validated first (resolve).
    const verdict = this.validator.verdictFor(name, type, r);
    return verdict === undefined ? undefined : { ...r, security: verdict.security, reason: verdict.reason };
  }

  /**
   * chainFromCache follows (name, type) through the cache; with `allowStale`,
   * expired links within the stale window count too, and the resolution is
   * marked stale (EDE 3) when any link was.
   */
  private chainFromCache(name: string, type: number, allowStale: boolean): Resolution | undefined {
    const chain: RRset[] = [];
    let current = name;
    let stale = false;
    for (let i = 0; i <= this.limits.maxChain; i++) {
      const step = this.cached(current, type, allowStale);
      if (step === undefined) return undefined;
      stale ||= step.stale;
      chain.push(...step.sets);
      if (step.kind !== 'alias') return stale ? { ...finish(step, chain), stale: true, ede: 3 } : finish(step, chain);
      current = step.target;
    }
    return undefined;
  }

  /** resolve answers (name, type) for a client; it never rejects. */
  resolve(name: string, type: number): Promise<Resolution> {
    const key = `${type}/${name}`;
    const failed = this.failures.get(key);
    if (failed !== undefined) {
      if (failed.until > this.now()) return Promise.resolve(this.staleOr(name, type, failed.resolution));
      this.failures.delete(key);
    }
    const running = this.inflight.get(key);
    if (running !== undefined) {
      this.stats.shared++;
      return running;
    }
    if (this.inflight.size >= this.limits.maxInflight) {
      this.stats.overloaded++;
      return Promise.resolve(this.staleOr(name, type, { rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: `${this.limits.maxInflight} resolutions under way already` }));
    }
    this.stats.resolutions++;
    // No client's signal: the resolution may be shared by other clients, and what it learns is cached for all.
    const budget: Budget = { deadline: this.now() + this.opts.timeoutMs, queries: 0, referrals: 0, tries: new Map() };
    const p = this.follow(name, type, budget, 0)
      .then(async (r) => {
        if (this.validator === undefined || r.rcode === RCODE.SERVFAIL) return r;
        // Validation has the query's time budget too: a key lookup that never ends must not hold the slot.
        const left = Math.max(1, budget.deadline - this.now());
        const stop = new AbortController();
        const timedOut = delay(left, undefined, { signal: stop.signal }).catch(() => undefined);
        const v = await Promise.race([this.validator.validate(name, type, r), timedOut]).finally(() => stop.abort());
        if (v === undefined) return { rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: `validation took longer than ${this.opts.timeoutMs} ms` };
        return { ...r, security: v.security, reason: v.reason };
      })
      .catch((err: unknown): Resolution => ({ rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: `internal error: ${(err as Error).message}` }))
      .then((r) => {
        if (r.rcode !== RCODE.SERVFAIL) return r;
        this.stats.failures++;
        if (this.failures.size >= MAX_FAILURES_HELD) this.failures.delete(this.failures.keys().next().value as string);
        this.failures.set(key, { until: this.now() + FAILURE_CACHE_MS, resolution: r });
        return this.staleOr(name, type, r);
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** flush forgets cached records (see RecordCache.flush) and remembered failures; a full flush also forgets server state. */
  flush(name?: string, subtree = false): number {
    this.validator?.flush();
    if (name === undefined) {
      this.failures.clear();
      this.servers.forget();
    } else {
      for (const key of this.failures.keys()) {
        const owner = key.slice(key.indexOf('/') + 1);
        if (owner === name || (subtree && inZone(owner, name))) this.failures.delete(key);
      }
    }
    return this.cache.flush(name, subtree);
  }

  /** staleOr returns a stale answer from the cache (RFC 8767) when serve-stale is on and one is held, else `failure`. */
  private staleOr(name: string, type: number, failure: Resolution): Resolution {
    let cached = this.opts.serveStale ? this.chainFromCache(name, type, true) : undefined;
    if (cached !== undefined && this.validator !== undefined) {
      // Stale data is served only with the verdict it had: never unvalidated.
      const verdict = this.validator.verdictFor(name, type, cached, true);
      cached = verdict === undefined ? undefined : { ...cached, security: verdict.security, reason: verdict.reason };
    }
    if (cached === undefined) return failure;
    if (cached.stale === true) this.stats.staleAnswers++;
    return cached;
  }

  /** follow resolves (name, type) step by step through CNAME and DNAME links, from the cache where it can. */
  private async follow(name: string, type: number, budget: Budget, depth: number): Promise<Resolution> {
    const chain: RRset[] = [];
    const seen = new Set<string>([name]);
    let current = name;
    for (let i = 0; i <= this.limits.maxChain; i++) {
      const step = this.cached(current, type) ?? (await this.fetch(current, type, budget, depth));
      if (step.kind === 'fail') return { rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: step.reason, ede: step.unreachable === true ? 22 : undefined };
      chain.push(...step.sets);
      if (step.kind !== 'alias') return finish(step, chain);
      if (seen.has(step.target)) return { rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: `alias loop at ${step.target}` };
      seen.add(step.target);
      current = step.target;
    }
    return { rcode: RCODE.SERVFAIL, answer: [], authority: [], reason: `alias chain longer than ${this.limits.maxChain}` };
  }

  /**
   * cached is one step from the cache: answer data, a CNAME or DNAME link, or a
   * negative answer; undefined when it holds none. With `allowStale`, expired
   * data within the stale window too, given the stale-answer TTL and `stale` set.
   */
  private cached(name: string, type: number, allowStale = false): (Exclude<Step, { kind: 'fail' }> & { stale: boolean }) | undefined {
    if (type === TYPE.ANY) return undefined;
    let stale = false;
    const fresh = (set: RRset): RRset => {
      if (set.ttl > 0) return set;
      stale = true;
      return { ...set, ttl: this.opts.staleAnswerTtl };
    };
    const hit = this.cache.get(name, type, allowStale);
    if (hit !== undefined) {
      if (hit.kind !== 'rrset') return { kind: hit.kind, sets: [], soa: fresh(hit.soa), stale };
      if (hit.rank >= RANK.ANSWER) return { kind: 'answer', sets: [fresh(hit.set)], stale };
    }
    if (type !== TYPE.CNAME) {
      const cname = this.cache.rrset(name, TYPE.CNAME, RANK.ANSWER, allowStale);
      if (cname !== undefined) return { kind: 'alias', sets: [fresh(cname)], target: cname.data[0] as string, stale };
    }
    if (type !== TYPE.DNAME) {
      for (let n = parentName(name); n !== ''; n = parentName(n)) {
        const found = this.cache.rrset(n, TYPE.DNAME, RANK.ANSWER, allowStale);
        if (found === undefined) continue;
        const dname = fresh(found);
        const cname = synthesize(name, dname);
        if (cname === undefined) return { kind: 'yxdomain', sets: [dname], stale };
        // A CNAME question stops at the synthesized CNAME (RFC 6672 §3.2).
        if (type === TYPE.CNAME) return { kind: 'answer', sets: [dname, cname], stale };
        return { kind: 'alias', sets: [dname, cname], target: cname.data[0] as string, stale };
      }
    }
    return undefined;
  }

  private fetch(name: string, type: number, budget: Budget, depth: number): Promise<Step> {
    return this.opts.mode === 'forward' ? this.forward(name, type, budget) : this.iterate(name, type, budget, depth);
  }

  // -------------------------------------------------------------------------
  // Forwarding

  /**
   * forward asks the upstreams in health order (answering and fastest first,
   * held-back ones last) until one gives a usable answer or the budget is spent;
   * a truncated UDP answer is asked again over TCP. An upstream that answers
   * SERVFAIL, REFUSED, a referral or something unreadable counts a failure and is
   * not asked again for this query: when every upstream has said so, the answer
   * is SERVFAIL at once (their verdict, not a lost packet). Silence is retried,
   * round after round, until the budget is spent.
   */
  private async forward(name: string, type: number, budget: Budget): Promise<Step> {
    const targets = this.opts.upstreams.map((u) => ({ key: u.label, address: u.address ?? '', port: u.port ?? 0, upstream: u }));
    const refusing = new Set<string>();
    let lastReason = 'no upstream answered';
    for (;;) {
      const round = this.servers.order('', targets).filter((t) => !refusing.has(t.key));
      if (round.length === 0) return { kind: 'fail', reason: lastReason };
      for (const t of round) {
        if (this.spent(budget)) return { kind: 'fail', reason: `${lastReason} within ${this.opts.timeoutMs} ms`, unreachable: true };
        const msg = await this.send(t, t.upstream.transport, name, type, true, budget);
        if (msg === undefined) {
          lastReason = `no answer from ${t.key}`;
          continue;
        }
        const reading = msg.rcode !== RCODE.NOERROR && msg.rcode !== RCODE.NXDOMAIN ? undefined : this.read(msg, '', name, type, true);
        if (reading === undefined || reading.kind === 'lame' || reading.kind === 'referral') {
          this.servers.failed(t.key);
          refusing.add(t.key);
          lastReason = `upstream ${t.key} ${reading === undefined ? `answered rcode ${msg.rcode}` : reading.kind === 'lame' ? `gave ${reading.reason}` : 'gave a referral'}`;
          continue;
        }
        this.servers.succeeded(t.key);
        return reading;
      }
    }
  }

  // -------------------------------------------------------------------------
  // Iteration

  /**
   * iterate walks down from the closest delegation the cache knows (the root
   * hints at first) to the zone that holds the name. With QNAME minimisation each
   * server is asked only about one label more than the zone it serves (QTYPE A,
   * RFC 9156 §3) until the full name is reached; an NXDOMAIN for a shortened
   * name makes us ask the full name once (servers that get empty non-terminals
   * wrong exist; RFC 9156 §2.3 leaves this to the implementation).
   */
  private async iterate(name: string, type: number, budget: Budget, depth: number): Promise<Step> {
    let zone = this.closestZone(type === TYPE.DS && name !== '' ? parentName(name) : name);
    let minimise = this.opts.qnameMinimisation;
    let labels = labelCount(zone) + 1;
    let minimised = 0;
    const total = labelCount(name);
    // Zones whose cached delegation led to no address: asked of their parent again, once.
    const reReferred = new Set<string>();
    for (;;) {
      if (this.spent(budget)) return { kind: 'fail', reason: this.spentReason(), unreachable: true };
      const servers = await this.serversFor(zone, budget, depth);
      if (servers.length === 0) {
        // E.g. in-zone NS names whose glue was replaced by an answer that has since expired: the parent has fresh glue.
        if (zone === '' || reReferred.has(zone)) return { kind: 'fail', reason: `no address for any name server of "${zone || '.'}"`, unreachable: true };
        reReferred.add(zone);
        zone = this.closestZone(parentName(zone));
        labels = labelCount(zone) + 1;
        continue;
      }
      const shortened = minimise && labels < total && (type !== TYPE.DS || labels < total - 1);
      const qname = shortened ? lastLabels(name, labels) : name;
      const qtype = shortened ? TYPE.A : type;
      if (shortened) {
        // Already known to exist inside this zone (an answer or NODATA for it is cached): no need to ask again.
        const known = this.cache.get(qname, TYPE.A);
        if (known !== undefined && known.kind !== 'nxdomain' && ++minimised < this.limits.maxMinimise) {
          labels++;
          continue;
        }
      }
      // A server that errs on a shortened name is not called lame for it: the full name is asked instead.
      const reading = await this.askZone(zone, servers, qname, qtype, budget, !shortened);
      if (reading.kind === 'referral') {
        if (++budget.referrals > this.limits.maxReferrals) return { kind: 'fail', reason: `more than ${this.limits.maxReferrals} referrals` };
        zone = reading.child;
        labels = labelCount(zone) + 1;
        continue;
      }
      if (shortened && reading.kind === 'lame') {
        minimise = false;
        continue;
      }
      if (reading.kind === 'lame') return { kind: 'fail', reason: reading.reason, unreachable: true };
      if (!shortened || reading.kind === 'fail') return reading;
      if (reading.kind === 'nxdomain' || ++minimised >= this.limits.maxMinimise) minimise = false;
      else labels++;
    }
  }

  /** closestZone is the deepest ancestor of `name` (itself included) whose NS set the cache holds; the root otherwise. */
  private closestZone(name: string): string {
    for (let n = name; n !== ''; n = parentName(n)) {
      if (this.cache.rrset(n, TYPE.NS, RANK.REFERRAL) !== undefined) return n;
    }
    return '';
  }

  /**
   * serversFor lists the addresses of `zone`'s name servers: the root hints for
   * the root, otherwise the cached addresses (glue or answers) of its NS names;
   * when none has an address, the NS names are resolved one by one (a nested
   * resolution, `depth` + 1) until one gives addresses. NS names inside the zone
   * itself need glue and are skipped (resolving them would ask the zone itself).
   */
  private async serversFor(zone: string, budget: Budget, depth: number): Promise<Target[]> {
    if (zone === '') return this.opts.rootHints.map((h) => ({ key: h.address, address: h.address, port: 53 }));
    const ns = this.cache.rrset(zone, TYPE.NS, RANK.REFERRAL);
    if (ns === undefined) return [];
    const names = ns.data as string[];
    const out: Target[] = [];
    for (const n of names) out.push(...this.addressesOf(n, RANK.GLUE));
    if (out.length > 0) return out;
    if (depth >= this.limits.maxDepth) return [];
    for (const n of names) {
      if (inZone(n, zone) || this.spent(budget)) continue;
      const r = await this.follow(n, TYPE.A, budget, depth + 1);
      const found = this.addressesOf(n, RANK.ANSWER);
      if (found.length === 0 && r.rcode === RCODE.NOERROR) {
        for (const set of r.answer) if (set.type === TYPE.A) for (const a of set.data as string[]) found.push({ key: a, address: a, port: 53 });
      }
      if (found.length > 0) return found;
    }
    return [];
  }

  private addressesOf(name: string, minRank: Rank): Target[] {
    const out: Target[] = [];
    for (const type of [TYPE.A, TYPE.AAAA]) {
      const set = this.cache.rrset(name, type, minRank);
      if (set !== undefined) for (const a of set.data) if (typeof a === 'string') out.push({ key: a, address: a, port: 53 });
    }
    return out;
  }

  /**
   * askZone puts one question to the servers of `zone`, best first, and returns
   * the first usable reading. A server that times out or cannot be reached is
   * skipped (and remembered as slow); one that answers lame (REFUSED, SERVFAIL,
   * a referral upwards or sideways, nothing usable) is marked lame for the zone.
   * Servers are tried at most twice each.
   */
  private async askZone(zone: string, servers: readonly Target[], qname: string, qtype: number, budget: Budget, markLame: boolean): Promise<Reading> {
    let last: Reading = { kind: 'fail', reason: `no name server of "${zone || '.'}" answered`, unreachable: true };
    const lame = new Set<string>();
    for (let round = 0; round < 2; round++) {
      for (const s of this.servers.order(zone, servers)) {
        if (lame.has(s.key)) continue;
        if (this.spent(budget)) return { kind: 'fail', reason: this.spentReason(), unreachable: true };
        const msg = await this.send(s, 'udp', qname, qtype, false, budget);
        if (msg === undefined) continue;
        const reading = this.read(msg, zone, qname, qtype, false);
        if (reading.kind === 'lame') {
          if (markLame) this.servers.markLame(zone, s.key);
          lame.add(s.key);
          last = { kind: 'lame', reason: `every name server of "${zone || '.'}" is lame (last: ${s.key}: ${reading.reason})` };
          continue;
        }
        this.servers.succeeded(s.key);
        return reading;
      }
      if (lame.size === servers.length) break;
    }
    return last;
  }

  private spentReason(): string {
    return `resolution took longer than ${this.opts.timeoutMs} ms or ${this.limits.maxQueries} queries`;
  }

  /** spent says whether the budget of time or queries is used up (or the client went away). */
  private spent(budget: Budget): boolean {
    return this.now() >= budget.deadline || budget.queries >= this.limits.maxQueries || budget.signal?.aborted === true;
  }

  /**
   * send puts one query to one server (a random ID; RD only when forwarding) and
   * returns the decoded response, or undefined when it timed out, could not be
   * reached or sent something unreadable; a truncated UDP answer is asked again
   * over TCP.
   */
  private async send(t: Target & { upstream?: Upstream }, transport: 'udp' | 'tcp' | 'https', qname: string, qtype: number, rd: boolean, budget: Budget): Promise<Message | undefined> {
    budget.queries++;
    this.stats.upstreamQueries++;
    const validating = this.validator !== undefined;
    const query = encodeQuery(qname, qtype, { id: randomInt(65536), rd, payload: this.opts.ednsPayload, do: validating, cd: validating });
    const attempt = budget.tries.get(t.key) ?? 0;
    budget.tries.set(t.key, attempt + 1);
    const timeout = Math.max(1, Math.min(this.servers.tryTimeout(t.key, attempt), budget.deadline - this.now()));
    const started = this.now();
    try {
      let bytes: Buffer;
      if (transport === 'https') bytes = await this.exchanger.doh(t.upstream!.url!, query, timeout, budget.signal);
      else if (transport === 'tcp') bytes = await this.exchanger.tcp(t, query, timeout, budget.signal);
      else bytes = await this.exchanger.udp(t, query, timeout, budget.signal);
      let msg = decodeMessage(bytes);
      if (msg.tc && transport === 'udp') {
        this.stats.truncatedRetries++;
        const left = Math.max(1, budget.deadline - this.now());
        msg = decodeMessage(await this.exchanger.tcp(t, query, Math.min(left, 2 * timeout + 200), budget.signal));
      }
      this.servers.measured(t.key, this.now() - started);
      return msg;
    } catch (err) {
      if (err instanceof ExchangeError) {
        if (err.reason !== 'aborted') {
          this.stats.upstreamFailures++;
          this.servers.failed(t.key);
        }
      } else {
        this.stats.badResponses++;
        this.servers.failed(t.key);
      }
      return undefined;
    }
  }

  /**
   * read interprets a response from a server asked about `zone` (the root "" for
   * an upstream we forward to, which is trusted for every name), keeps what lies
   * within that bailiwick in the cache, and says what it means for (qname, qtype).
   */
  private read(msg: Message, zone: string, qname: string, qtype: number, forwarding: boolean): Reading {
    if (msg.rcode !== RCODE.NOERROR && msg.rcode !== RCODE.NXDOMAIN) return { kind: 'lame', reason: `rcode ${msg.rcode}` };
    if (msg.question === undefined || msg.question.name !== qname || msg.question.type !== qtype) return { kind: 'lame', reason: 'response to another question' };
    const keep = (sets: RRset[]) =>
      sets.filter((s) => {
        if (inZone(s.name, zone)) return true;
        this.stats.outOfBailiwick++;
        return false;
      });
    const answer = withSigs(keep(groupRRsets(msg.answer)));
    const authority = withSigs(keep(groupRRsets(msg.authority)));
    // NSEC/NSEC3 proofs go with the negative answer's SOA, or with a (wildcard) answer.
    const denial = authority.filter((s) => s.type === TYPE.NSEC || s.type === TYPE.NSEC3);
    const proven = (set: RRset): RRset => (denial.length === 0 ? set : { ...set, denial });
    const rank = msg.aa ? RANK.AUTHORITATIVE : RANK.ANSWER;
    // What the client is given is what the cache keeps: TTLs cut to max_ttl, negative TTLs per RFC 2308.
    const keepSet = (set: RRset) => {
      this.cache.put(set, rank);
      return this.cache.capped(set);
    };
    const negative = (soa: RRset | undefined) => (soa === undefined ? undefined : { ...soa, ttl: this.cache.negativeTtl(soa) });

    // Follow the answer from qname: data, or CNAME/DNAME links within this response.
    const sets: RRset[] = [];
    let name = qname;
    for (let hop = 0; hop <= this.limits.maxChain; hop++) {
      const data = answer.filter((s) => s.name === name && (s.type === qtype || (qtype === TYPE.ANY && s.type !== TYPE.RRSIG)));
      if (data.length > 0) return { kind: 'answer', sets: [...sets, ...data.map((d) => keepSet(proven(d)))] };
      // A DNAME above the name comes first: the CNAME beside it is synthesized from it, whatever the
      // server sent (RFC 6672 §3.4), and only the DNAME is cached, so that its TTL rules every name below.
      const dname = qtype === TYPE.DNAME ? undefined : answer.find((s) => s.type === TYPE.DNAME && s.name !== name && inZone(name, s.name));
      if (dname !== undefined) {
        const kept = keepSet(dname);
        const cnameSet = synthesize(name, kept);
        if (cnameSet === undefined) return { kind: 'yxdomain', sets: [...sets, kept] };
        sets.push(kept, cnameSet);
        // A CNAME question stops at the synthesized CNAME (RFC 6672 §3.2).
        if (qtype === TYPE.CNAME) return { kind: 'answer', sets };
        name = cnameSet.data[0] as string;
        continue;
      }
      const cname = qtype === TYPE.CNAME ? undefined : answer.find((s) => s.name === name && s.type === TYPE.CNAME);
      if (cname !== undefined) {
        sets.push(keepSet(cname));
        name = cname.data[0] as string;
        continue;
      }
      break;
    }

    const soaFound = authority.find((s) => s.type === TYPE.SOA && inZone(name, s.name));
    const soa = soaFound === undefined ? undefined : proven(soaFound);
    if (msg.rcode === RCODE.NXDOMAIN) {
      if (name !== qname && !inZone(name, zone)) return { kind: 'alias', sets, target: name };
      if (soa !== undefined) this.cache.putNegative(name, undefined, soa);
      return { kind: 'nxdomain', sets, soa: negative(soa) };
    }
    if (sets.length > 0) {
      if (soa !== undefined && inZone(name, zone)) {
        this.cache.putNegative(name, qtype, soa);
        return { kind: 'nodata', sets, soa: negative(soa) };
      }
      return { kind: 'alias', sets, target: name };
    }

    // No answer: a referral downwards, a NODATA, or nothing we can use.
    const ns = authority.find((s) => s.type === TYPE.NS);
    if (soa === undefined && ns !== undefined && ns.name !== zone && inZone(qname, ns.name)) {
      this.cache.put(ns, RANK.REFERRAL);
      const targets = new Set(ns.data as string[]);
      for (const glue of groupRRsets(msg.additional)) {
        if ((glue.type !== TYPE.A && glue.type !== TYPE.AAAA) || !targets.has(glue.name)) continue;
        if (!inZone(glue.name, zone)) {
          this.stats.outOfBailiwick++;
          continue;
        }
        this.cache.put(glue, RANK.GLUE);
      }
      return { kind: 'referral', child: ns.name };
    }
    // NODATA; from an upstream we forward to, also without an SOA (dnsmasq answers so for hosts-file names): not cached then.
    if (soa !== undefined || msg.aa || (forwarding && ns === undefined)) {
      if (soa !== undefined) this.cache.putNegative(qname, qtype, soa);
      return { kind: 'nodata', sets: [], soa: negative(soa) };
    }
    return { kind: 'lame', reason: ns === undefined ? 'neither an answer nor a referral' : `a referral to "${ns.name || '.'}", which is not below "${zone || '.'}"` };
  }
}

/**
 * synthesize makes the CNAME a DNAME implies for `name` below its owner (RFC 6672
 * §2.2), with the DNAME's TTL; undefined when the new name would be too long
 * (the YXDOMAIN case).
 */
function synthesize(name: string, dname: RRset): RRset | undefined {
  const target = dname.data[0] as string;
  const prefix = name.slice(0, name.length - dname.name.length - (dname.name === '' ? 0 : 1));
  const synthesized = target === '' ? prefix : `${prefix}.${target}`;
  if (synthesized.length > 253) return undefined;
  return { name, type: TYPE.CNAME, ttl: dname.ttl, data: [synthesized], rdata: [nameToWire(synthesized)] };
}

/** withSigs moves the RRSIG records of a section onto the RRsets they cover (`sigs`) and drops them as sets of their own. */
function withSigs(sets: RRset[]): RRset[] {
  const sigSets = sets.filter((s) => s.type === TYPE.RRSIG);
  if (sigSets.length === 0) return sets;
  const out: RRset[] = [];
  for (const s of sets) {
    if (s.type === TYPE.RRSIG) continue;
    const sigs: Buffer[] = [];
    for (const g of sigSets) if (g.name === s.name) for (const rd of g.rdata) if (rd.length >= 2 && rd.readUInt16BE(0) === s.type) sigs.push(rd);
    out.push(sigs.length === 0 ? s : { ...s, sigs });
  }
  return out;
}

/** finish turns the last step of a chain into the client's resolution. */
function finish(step: Exclude<Step, { kind: 'alias' | 'fail' }>, chain: RRset[]): Resolution {
  if (step.kind === 'answer') return { rcode: RCODE.NOERROR, answer: chain, authority: [] };
  if (step.kind === 'yxdomain') return { rcode: RCODE.YXDOMAIN, answer: chain, authority: [] };
  return { rcode: step.kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR, answer: chain, authority: step.soa === undefined ? [] : [step.soa] };
}

function labelCount(name: string): number {
  if (name === '') return 0;
  let n = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 0x2e) n++;
  return n;
}

/** lastLabels keeps the last `n` labels of a name: lastLabels("a.b.c", 2) = "b.c". */
function lastLabels(name: string, n: number): string {
  const labels = name.split('.');
  return labels.slice(labels.length - n).join('.');
}
