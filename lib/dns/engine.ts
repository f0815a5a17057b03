import { answerFromZone, deepestZone } from './authority';
import { CLASS, RCODE, TYPE } from './constants';
import type { ZoneSigner } from './dnssec/signer';
import type { Query, Response } from './wire';
import { parentName, type ZoneSource } from './zone';

/**
 * # The query engine contract
 *
 * `QueryEngine.answer(query, client)` takes one parsed, well-formed query (one
 * question, opcode QUERY, EDNS version 0 or none: the wire layer answers
 * everything else itself) and returns an `Outcome`: the rcode, the aa and ra
 * bits and the three sections as RRsets, plus `cacheUntil` when the same answer
 * may be served from prebuilt wire bytes until that time (ms since the epoch;
 * Infinity = until the next data change). It never throws for anything a client
 * sends; a throw is a bug and the transport answers SERVFAIL.
 *
 * Rcodes mean:
 *   NOERROR   an answer, a referral (aa clear) or NODATA (SOA in authority);
 *   NXDOMAIN  the name does not exist in the local zone that holds it, or (resolved)
 *             anywhere (SOA in authority);
 *   SERVFAIL  (resolved) the resolver ran out of servers, time or tries;
 *   REFUSED   the name is outside every local zone and no resolver will take it:
 *             recursion is off (EDE 20), the client is not in [recursion] allow
 *             (EDE 18), or the query has no RD and its answer is not cached (EDE 20);
 *             a zone transfer (EDE 18), or a class other than IN;
 *   NOTIMP    a query type we do not implement (MAILA, MAILB);
 *   FORMERR   OPT asked for as a question type.
 *
 * The stages run in this order, the first that claims the question answers it:
 *   1. local data   — the service zone and the operator zones; the deepest zone
 *                     containing the name wins (answerFromZone);
 *   2. resolver     — names outside every local zone, for clients in [recursion] allow
 *                     (resolver/stage.ts); present only when [recursion] mode is not off;
 *   3. refuse       — what nobody claimed: REFUSED.
 *
 * An Outcome with `resolved` set comes from the resolver: its prebuilt copies
 * count their TTLs down as they age and are served only to clients that may
 * recurse (the responder checks both).
 */
export interface Outcome extends Response {
  readonly cacheUntil?: number;
  readonly resolved?: boolean;
}

/** Who asked: the resolver stage decides by it whether recursion is allowed. */
export interface Client {
  readonly address: string;
  readonly transport: 'udp' | 'tcp' | 'doh';
}

/** A stage answers the questions it claims and returns undefined for the others. */
export interface Stage {
  readonly name: string;
  answer(query: Query, client: Client): Outcome | Promise<Outcome> | undefined;
}

/**
 * localDataStage answers from the deepest local zone among `sources` (authoritative
 * data). With a `signer` the zones are signed: their apex has a DNSKEY RRset, and
 * a query with DO gets the RRSIGs and NSEC records too (dnssec/signer.ts). A
 * prebuilt answer lives until its first signature needs renewing or the zone's
 * keys change.
 */
export function localDataStage(sources: readonly ZoneSource[], signer?: ZoneSigner): Stage {
  const plain: ZoneSource = { zoneFor: (n) => deepestZone(sources, n) };
  const local: ZoneSource =
    signer === undefined
      ? plain
      : {
          zoneFor: (n) => {
            const z = plain.zoneFor(n);
            return z === undefined ? undefined : signer.view(z);
          },
        };
  return {
    name: 'local data',
    answer(query) {
      let zone = local.zoneFor(query.name);
      if (zone === undefined) return undefined;
      // DS lives on the parent's side of a cut (RFC 4035 §3.1.4.1): at a zone's apex it is the parent's to answer, when the parent is local too.
      if (query.type === TYPE.DS && query.name === zone.origin && query.name !== '') zone = local.zoneFor(parentName(query.name)) ?? zone;
      let response = answerFromZone(local, zone, query.name, query.type);
      let until = Infinity;
      for (const section of [response.answer, response.authority, response.additional]) {
        for (const set of section) if (set.validUntil !== undefined && set.validUntil < until) until = set.validUntil;
      }
      if (signer !== undefined) {
        if (query.edns?.do === true) {
          const signed = signer.signResponse(local, zone, query.name, query.type, response);
          response = signed.response;
          until = Math.min(until, signed.until);
        } else {
          until = Math.min(until, signer.keyring.nextChange(zone.origin));
        }
      }
      return { ...response, cacheUntil: until };
    },
  };
}

/** refuseStage closes the list: what no stage claimed is REFUSED (RFC 1035 §4.1.1). */
export const refuseStage: Stage = {
  name: 'refuse',
  answer: () => REFUSED,
};

/** REFUSED for a name outside every local zone: EDE 20, Not Authoritative (RFC 8914 §4.21). */
const REFUSED: Outcome = { rcode: RCODE.REFUSED, aa: false, answer: [], authority: [], additional: [], ede: 20 };
/** REFUSED for a zone transfer: EDE 18, Prohibited (RFC 8914 §4.19). */
const TRANSFER_REFUSED: Outcome = { ...REFUSED, ede: 18 };
const reply = (rcode: number): Outcome => ({ rcode, aa: false, answer: [], authority: [], additional: [] });

/** QueryEngine runs a query through its stages; see the contract above. */
export class QueryEngine {
  constructor(readonly stages: readonly Stage[]) {
    if (stages.length === 0) throw new Error('the query engine needs at least one stage');
  }

  answer(query: Query, client: Client): Outcome | Promise<Outcome> {
    if (query.class !== CLASS.IN && query.class !== CLASS.ANY) return REFUSED;
    switch (query.type) {
      case TYPE.OPT:
        return reply(RCODE.FORMERR);
      case TYPE.AXFR:
      case TYPE.IXFR:
        return TRANSFER_REFUSED;
      case TYPE.MAILA:
      case TYPE.MAILB:
        return reply(RCODE.NOTIMP);
    }
    for (const stage of this.stages) {
      const out = stage.answer(query, client);
      if (out !== undefined) return out;
    }
    return REFUSED;
  }
}
