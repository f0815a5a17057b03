import { RCODE } from '../constants';
import type { Outcome, Stage } from '../engine';
import type { Resolver, Resolution } from './resolver';
import type { ClientAcl } from './settings';

/** REFUSED for a client outside [recursion] allow: EDE 18, Prohibited (RFC 8914 §4.19). */
const PROHIBITED: Outcome = { rcode: RCODE.REFUSED, aa: false, answer: [], authority: [], additional: [], ede: 18 };
/** REFUSED for a query without RD whose answer is not cached: EDE 20, Not Authoritative (RFC 8914 §4.21). */
const NOT_CACHED: Outcome = { rcode: RCODE.REFUSED, aa: false, answer: [], authority: [], additional: [], ede: 20 };

/**
 * resolverStage claims every question that reached it (the names outside the
 * local zones): REFUSED for a client outside the allow-list; an answer from the
 * cache when it holds one (at once, no promise); for a query without RD, REFUSED
 * when not cached (we do not recurse for it); a resolution otherwise.
 */
export function resolverStage(resolver: Resolver, acl: ClientAcl, now: () => number = Date.now): Stage {
  return {
    name: 'resolver',
    answer(query, client) {
      if (!acl.allows(client.address)) return PROHIBITED;
      const cached = resolver.fromCache(query.name, query.type);
      if (cached !== undefined) return toOutcome(cached, now());
      if (!query.rd) return NOT_CACHED;
      return resolver.resolve(query.name, query.type).then((r) => toOutcome(r, now()));
    },
  };
}

/**
 * toOutcome makes a resolution the engine's Outcome: ra set, and — for a fresh
 * answer — `cacheUntil` at the expiry of its shortest TTL with `resolved` set, so
 * that the responder may serve prebuilt copies whose TTLs count down, to clients
 * that may recurse. Stale answers and failures are never prebuilt.
 */
export function toOutcome(r: Resolution, now: number): Outcome {
  const base = { rcode: r.rcode, aa: false, ra: true, answer: r.answer, authority: r.authority, additional: [], ede: r.ede, resolved: true };
  if (r.stale === true || r.rcode === RCODE.SERVFAIL) return base;
  let min = Infinity;
  for (const set of r.answer) if (set.ttl < min) min = set.ttl;
  for (const set of r.authority) if (set.ttl < min) min = set.ttl;
  if (min === Infinity || min <= 0) return base;
  return { ...base, cacheUntil: now + min * 1000 };
}
