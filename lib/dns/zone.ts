import { TYPE, typeName } from './constants';
import type { RRset } from './rrset';

/**
 * ZoneView is what the answer engine needs from any authoritative zone, stored
 * or synthesized (the service zone): the RRsets at a name and whether a name
 * exists. Names are in the internal form (lower case, no trailing dot).
 */
export interface ZoneView {
  /** The apex name. */
  readonly origin: string;
  /** The RRsets owned by `name`, by type; undefined when `name` owns no data. */
  node(name: string): ReadonlyMap<number, RRset> | undefined;
  /** exists reports whether `name` owns data or is an empty non-terminal (RFC 4592 §2.2.2). */
  exists(name: string): boolean;
  /** The apex SOA RRset. */
  soa(): RRset;
}

/** ZoneSource gives the deepest zone it holds that contains a name. */
export interface ZoneSource {
  zoneFor(name: string): ZoneView | undefined;
}

/** parentName drops the first label: "a.b.c" → "b.c", "c" → "" (the root). */
export function parentName(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? '' : name.slice(dot + 1);
}

/** inZone reports whether `name` is `origin` or below it (both in internal form). */
export function inZone(name: string, origin: string): boolean {
  if (origin === '') return true;
  return name === origin || (name.length > origin.length && name.endsWith(origin) && name[name.length - origin.length - 1] === '.');
}

/**
 * Zone is an immutable snapshot of a stored zone's RRsets. Changes make a new
 * snapshot (withRRset, withoutRRset), so a reader never sees half a change.
 */
export class Zone implements ZoneView {
  private constructor(
    readonly origin: string,
    private readonly nodes: ReadonlyMap<string, ReadonlyMap<number, RRset>>,
    /** Every name that owns data or has a descendant that does, with the number of such names at or below it. */
    private readonly names: ReadonlyMap<string, number>,
    readonly size: number,
  ) {}

  /** build makes a snapshot from RRsets already checked by validateZone. */
  static build(origin: string, sets: Iterable<RRset>): Zone {
    const nodes = new Map<string, Map<number, RRset>>();
    let size = 0;
    for (const set of sets) {
      let node = nodes.get(set.name);
      if (node === undefined) nodes.set(set.name, (node = new Map()));
      if (!node.has(set.type)) size++;
      node.set(set.type, set);
    }
    const names = new Map<string, number>();
    for (const name of nodes.keys()) countUp(names, name, origin, 1);
    return new Zone(origin, nodes, names, size);
  }

  node(name: string): ReadonlyMap<number, RRset> | undefined {
    return this.nodes.get(name);
  }

  exists(name: string): boolean {
    return this.names.has(name);
  }

  soa(): RRset {
    const soa = this.nodes.get(this.origin)?.get(TYPE.SOA);
    if (soa === undefined) throw new Error(`zone ${this.origin} has no SOA`);
    return soa;
  }

  /** rrsets lists every RRset: the apex first, then names in DNSSEC canonical order (RFC 4034 §6.1), types ascending (SOA first). */
  rrsets(): RRset[] {
    const names = [...this.nodes.keys()].sort(canonicalCompare);
    const out: RRset[] = [];
    for (const n of names) {
      const node = this.nodes.get(n)!;
      for (const t of [...node.keys()].sort((a, b) => (a === TYPE.SOA ? -1 : b === TYPE.SOA ? 1 : a - b))) out.push(node.get(t)!);
    }
    return out;
  }

  /** withRRset returns a snapshot with `set` replacing the RRset of its name and type (copy-on-write: O(names), no re-sort). */
  withRRset(set: RRset): Zone {
    const nodes = new Map(this.nodes);
    const before = this.nodes.get(set.name);
    const node = new Map(before ?? []);
    node.set(set.type, set);
    nodes.set(set.name, node);
    let names = this.names;
    if (before === undefined) {
      const copy = new Map(names);
      countUp(copy, set.name, this.origin, 1);
      names = copy;
    }
    return new Zone(this.origin, nodes, names, this.size + (before?.has(set.type) ? 0 : 1));
  }

  /** withoutRRset returns a snapshot without the RRset of `name` and `type`. */
  withoutRRset(name: string, type: number): Zone {
    const before = this.nodes.get(name);
    if (before === undefined || !before.has(type)) return this;
    const nodes = new Map(this.nodes);
    const node = new Map(before);
    node.delete(type);
    let names = this.names;
    if (node.size === 0) {
      nodes.delete(name);
      const copy = new Map(names);
      countUp(copy, name, this.origin, -1);
      names = copy;
    } else {
      nodes.set(name, node);
    }
    return new Zone(this.origin, nodes, names, this.size - 1);
  }
}

/** countUp adds `by` to the count of `name` and of each ancestor up to the origin, dropping names that reach 0. */
function countUp(names: Map<string, number>, name: string, origin: string, by: number): void {
  for (let n = name; ; n = parentName(n)) {
    const c = (names.get(n) ?? 0) + by;
    if (c <= 0) names.delete(n);
    else names.set(n, c);
    if (n === origin || n === '') break;
  }
}

/** canonicalCompare orders names as RFC 4034 §6.1 does: label by label from the right. */
export function canonicalCompare(a: string, b: string): number {
  if (a === b) return 0;
  const la = a === '' ? [] : a.split('.').reverse();
  const lb = b === '' ? [] : b.split('.').reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    const x = la[i]!;
    const y = lb[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return la.length - lb.length;
}

/**
 * validateNode checks the RRsets of one name: inside the zone; an SOA only at
 * the apex and of one record; no CNAME beside other data and no CNAME set of more
 * than one record (RFC 1034 §3.6.2, RFC 2181 §10.1). Returns the problem or undefined.
 */
export function validateNode(origin: string, name: string, node: ReadonlyMap<number, RRset> | undefined): string | undefined {
  const display = (n: string) => (n === '' ? '.' : `${n}.`);
  if (!inZone(name, origin)) return `${display(name)} is outside the zone ${display(origin)}`;
  if (node === undefined) return name === origin ? `the zone ${display(origin)} needs an SOA record at its apex` : undefined;
  for (const s of node.values()) {
    if (s.rdata.length === 0) return `${display(name)} ${typeName(s.type)} has no records`;
    if (s.type === TYPE.SOA && name !== origin) return `SOA records belong at the apex ${display(origin)}, not at ${display(name)}`;
    if ((s.type === TYPE.SOA || s.type === TYPE.CNAME) && s.rdata.length > 1) return `${display(name)} may have only one ${typeName(s.type)} record`;
  }
  if (name === origin && !node.has(TYPE.SOA)) return `the zone ${display(origin)} needs an SOA record at its apex`;
  if (node.has(TYPE.CNAME) && [...node.keys()].some((t) => t !== TYPE.CNAME && t !== TYPE.RRSIG && t !== TYPE.NSEC)) {
    return `${display(name)} has a CNAME and other data; a CNAME must stand alone (RFC 1034 §3.6.2)`;
  }
  return undefined;
}

/** validateZone checks a whole zone's RRsets (an import, a zone file): validateNode for every name, each RRset given once. */
export function validateZone(origin: string, sets: readonly RRset[]): string | undefined {
  const display = (n: string) => (n === '' ? '.' : `${n}.`);
  const byName = new Map<string, Map<number, RRset>>();
  for (const s of sets) {
    if (!inZone(s.name, origin)) return `${display(s.name)} is outside the zone ${display(origin)}`;
    let node = byName.get(s.name);
    if (node === undefined) byName.set(s.name, (node = new Map()));
    if (node.has(s.type)) return `${display(s.name)} ${typeName(s.type)} is given twice`;
    node.set(s.type, s);
  }
  if (!byName.has(origin)) return `the zone ${display(origin)} needs an SOA record at its apex`;
  for (const [name, node] of byName) {
    const problem = validateNode(origin, name, node);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
