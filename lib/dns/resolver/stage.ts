import type { LimitHits } from '../../limits';
import { RCODE, TYPE } from '../constants';
import type { RRset } from '../rrset';
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
export function resolverStage(resolver: Resolver, acl: ClientAcl, now: () => number = Date.now, quota?: { perClient: number; hits?: LimitHits }): Stage {
  // Resolutions running per client address ([limits] resolutions_per_client): one client
  // asking for many uncached names at once cannot take every slot of the resolver's own bound.
  const running = new Map<string, number>();
  const perClient = quota?.perClient ?? Number.POSITIVE_INFINITY;
  return {
    name: 'resolver',
    answer(query, client) {
      if (!acl.allows(client.address)) return PROHIBITED;
      const dnssecOk = query.edns?.do === true;
      const cached = resolver.fromCache(query.name, query.type);
      if (cached !== undefined) return toOutcome(cached, now(), query.cd, dnssecOk);
      if (!query.rd) return NOT_CACHED;
      const held = running.get(client.address) ?? 0;
      if (held >= perClient) {
        quota?.hits?.hit('resolutions_per_client');
        return QUOTA;
      }
      running.set(client.address, held + 1);
      const done = () => {
        const n = (running.get(client.address) ?? 1) - 1;
        if (n <= 0) running.delete(client.address);
        else running.set(client.address, n);
      };
      return resolver
        .resolve(query.name, query.type)
        .finally(done)
        .then((r) => toOutcome(r, now(), query.cd, dnssecOk));
    },
  };
}

/** SERVFAIL for a client past its resolutions_per_client: a stub moves on to its next server or retries. */
const QUOTA: Outcome = { rcode: RCODE.SERVFAIL, aa: false, ra: true, answer: [], authority: [], additional: [] };

/**
 * toOutcome makes a resolution the engine's Outcome: ra set, and — for a fresh
 * answer — `cacheUntil` at the expiry of its shortest TTL with `resolved` set, so
 * that the responder may serve prebuilt copies whose TTLs count down, to clients
 * that may recurse. Stale answers and failures are never prebuilt.
 *
 * DNSSEC (when validating): a bogus answer is SERVFAIL with EDE 6 (RFC 4035
 * §5.5), unless the query has CD, which gets the data as it came (RFC 4035
 * §3.2.2); a secure one has AD (the responder clears it for clients that asked
 * with neither DO nor AD, RFC 6840 §5.8). A query with DO gets the RRSIGs and
 * the NSEC/NSEC3 proofs too, so that it can validate for itself.
 */
export function toOutcome(r: Resolution, now: number, cd = false, dnssecOk = false): Outcome {
  if (r.security === 'bogus' && !cd) return BOGUS;
  const answer = dnssecOk ? withSignatures(r.answer) : r.answer;
  const authority = dnssecOk ? withSignatures(r.authority, [...r.answer, ...r.authority]) : r.authority;
  const base = { rcode: r.rcode, aa: false, ra: true, ad: r.security === 'secure' && !cd, answer, authority, additional: [], ede: r.ede, resolved: true };
  if (r.stale === true || r.rcode === RCODE.SERVFAIL) return base;
  let min = Infinity;
  for (const set of r.answer) if (set.ttl < min) min = set.ttl;
  for (const set of r.authority) if (set.ttl < min) min = set.ttl;
  if (min === Infinity || min <= 0) return base;
  return { ...base, cacheUntil: now + min * 1000 };
}

/** SERVFAIL for an answer that failed validation: EDE 6, DNSSEC Bogus (RFC 8914 §4.7). */
const BOGUS: Outcome = { rcode: RCODE.SERVFAIL, aa: false, ra: true, answer: [], authority: [], additional: [], ede: 6 };

/** withSignatures puts each set's RRSIGs right after it; in the authority section (`proofs`) also the NSEC/NSEC3 records that came with the answer, with theirs. */
function withSignatures(sets: readonly RRset[], proofsOf?: readonly RRset[]): RRset[] {
  const out: RRset[] = [];
  const add = (set: RRset) => {
    out.push(set);
    if (set.sigs !== undefined && set.sigs.length > 0) out.push({ name: set.name, type: TYPE.RRSIG, ttl: set.ttl, data: set.sigs, rdata: set.sigs });
  };
  for (const set of sets) add(set);
  for (const owner of proofsOf ?? []) {
    for (const d of owner.denial ?? []) if (!out.some((o) => o.name === d.name && o.type === d.type)) add({ ...d, ttl: Math.min(d.ttl, owner.ttl) });
  }
  return out;
}
