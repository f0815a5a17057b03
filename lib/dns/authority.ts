import { RCODE, TYPE } from './constants';
import { asciiLower } from './message';
import { withOwner, type RRset } from './rrset';
import type { Response } from './wire';
import { inZone, parentName, type ZoneSource, type ZoneView } from './zone';

/** Longest CNAME chain followed inside local data before the answer is returned as it stands. */
export const MAX_CNAME_CHAIN = 8;

/** The outcome of looking one name up in one zone (RFC 1034 §4.3.2 step 3). */
type Lookup =
  | { kind: 'answer'; sets: RRset[] }
  | { kind: 'cname'; set: RRset }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'referral'; ns: RRset };

/**
 * answerFromZone answers `name`/`type` from `zone`, the deepest local zone that
 * contains the name, per RFC 1034 §4.3.2: a delegation below the apex gives a
 * referral (NS in authority, glue in additional, aa clear); a CNAME is followed
 * through every local zone (`local`) up to MAX_CNAME_CHAIN links; a wildcard
 * at the closest encloser synthesizes records (RFC 4592); a missing name is
 * NXDOMAIN and a missing type NODATA, both with the zone's SOA in authority at
 * the negative TTL min(SOA TTL, SOA minimum) (RFC 2308 §3). ANY gets one RRset
 * (RFC 8482 §4.1). The rcode is that of the last name in the chain (RFC 6604).
 * A positive answer carries the zone's NS RRset in authority and the addresses
 * of NS, MX and SRV targets in additional, as NSD does by default.
 */
export function answerFromZone(local: ZoneSource, zone: ZoneView, name: string, type: number): Response {
  const answer: RRset[] = [];
  const authority: RRset[] = [];
  let rcode: number = RCODE.NOERROR;
  let aa = true;
  let z = zone;
  let current = name;
  let positive = false;
  const visited = new Set<string>([name]);
  for (;;) {
    const r = lookup(z, current, type);
    if (r.kind === 'answer') {
      answer.push(...r.sets);
      positive = true;
      break;
    }
    if (r.kind === 'cname') {
      answer.push(r.set);
      const target = lowerName(r.set.data[0] as string);
      const next = local.zoneFor(target);
      positive = true;
      if (next === undefined || visited.has(target) || visited.size > MAX_CNAME_CHAIN) break;
      visited.add(target);
      z = next;
      current = target;
      continue;
    }
    if (r.kind === 'referral') {
      positive = false;
      if (answer.length === 0) aa = false;
      authority.push(r.ns);
      break;
    }
    if (r.kind === 'nxdomain') rcode = RCODE.NXDOMAIN;
    positive = false;
    authority.push(negativeSoa(z));
    break;
  }
  if (positive && type !== TYPE.DS && type !== TYPE.DNSKEY) {
    // Like NSD's default (minimal-responses: no): the zone's NS RRset in authority, their addresses in additional.
    const ns = z.node(z.origin)?.get(TYPE.NS);
    if (ns !== undefined && !answer.some((s) => s.name === ns.name && s.type === TYPE.NS)) authority.push(ns);
  }
  return { rcode, aa, answer, authority, additional: additionalFor(local, answer, authority) };
}

function lookup(zone: ZoneView, name: string, type: number): Lookup {
  const cut = findCut(zone, name, type);
  if (cut !== undefined) return { kind: 'referral', ns: cut };
  const node = zone.node(name);
  if (node !== undefined) return fromNode(node, type, undefined);
  if (zone.exists(name)) return { kind: 'nodata' };
  let encloser = parentName(name);
  while (encloser !== zone.origin && !zone.exists(encloser)) encloser = parentName(encloser);
  const wild = zone.node(encloser === '' ? '*' : `*.${encloser}`);
  if (wild !== undefined) return fromNode(wild, type, name);
  return { kind: 'nxdomain' };
}

/** fromNode answers from the RRsets of one name; `owner` renames them (wildcard synthesis). */
function fromNode(node: ReadonlyMap<number, RRset>, type: number, owner: string | undefined): Lookup {
  const rename = (s: RRset): RRset => (owner === undefined ? s : { ...withOwner(s, owner), expandedFrom: s.name });
  if (type === TYPE.ANY) {
    const first = [...node.values()].sort((a, b) => a.type - b.type)[0];
    return first === undefined ? { kind: 'nodata' } : { kind: 'answer', sets: [rename(first)] };
  }
  const set = node.get(type);
  if (set !== undefined) return { kind: 'answer', sets: [rename(set)] };
  const cname = node.get(TYPE.CNAME);
  if (cname !== undefined) return { kind: 'cname', set: rename(cname) };
  return { kind: 'nodata' };
}

/**
 * findCut returns the NS RRset of the highest delegation point between the apex
 * (exclusive) and `name` (inclusive). A DS query at the cut itself is answered by
 * the parent side (RFC 4035 §3.1.4.1), so it does not count as a cut.
 */
function findCut(zone: ZoneView, name: string, type: number): RRset | undefined {
  if (name === zone.origin) return undefined;
  const chain: string[] = [];
  for (let n = name; n !== zone.origin && n !== ''; n = parentName(n)) chain.push(n);
  for (let i = chain.length - 1; i >= 0; i--) {
    const n = chain[i]!;
    if (!zone.exists(n)) return undefined;
    const ns = zone.node(n)?.get(TYPE.NS);
    if (ns !== undefined && !(n === name && type === TYPE.DS)) return ns;
  }
  return undefined;
}

/** negativeSoa is the zone's SOA with the negative-caching TTL of RFC 2308 §3. */
export function negativeSoa(zone: ZoneView): RRset {
  const soa = zone.soa();
  const minimum = (soa.data[0] as { minimum: number }).minimum;
  return withOwner(soa, soa.name, Math.min(soa.ttl, minimum));
}

/**
 * additionalFor collects A and AAAA RRsets from local data for the names that
 * answer and authority records point at (NS, MX, SRV targets; RFC 1035 §3.3,
 * RFC 2782), leaving out what the answer already holds.
 */
function additionalFor(local: ZoneSource, answer: readonly RRset[], authority: readonly RRset[]): RRset[] {
  const targets: string[] = [];
  for (const set of [...answer, ...authority]) {
    for (const d of set.data) {
      if (set.type === TYPE.NS) targets.push(d as string);
      else if (set.type === TYPE.MX) targets.push((d as { exchange: string }).exchange);
      else if (set.type === TYPE.SRV) targets.push((d as { target: string }).target);
    }
  }
  if (targets.length === 0) return [];
  const seen = new Set(answer.map((s) => `${s.name}/${s.type}`));
  const out: RRset[] = [];
  // Every A first, then every AAAA (NSD's order).
  for (const t of [TYPE.A, TYPE.AAAA]) {
    for (const raw of targets) {
      const target = lowerName(raw);
      const set = local.zoneFor(target)?.node(target)?.get(t);
      const key = `${target}/${t}`;
      if (set === undefined || seen.has(key)) continue;
      seen.add(key);
      out.push(set);
    }
  }
  return out;
}

/** lowerName puts a name from RDATA into the internal form used for lookups. */
export function lowerName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return asciiLower(n);
}

/** deepestZone picks, among several sources, the zone with the longest origin containing `name`. */
export function deepestZone(sources: readonly ZoneSource[], name: string): ZoneView | undefined {
  let best: ZoneView | undefined;
  for (const s of sources) {
    const z = s.zoneFor(name);
    if (z !== undefined && inZone(name, z.origin) && (best === undefined || z.origin.length > best.origin.length)) best = z;
  }
  return best;
}
