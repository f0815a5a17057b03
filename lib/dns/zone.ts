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
    private readonly names: ReadonlySet<string>,
  ) {}

  /** build makes a snapshot from RRsets already checked by validateZone. */
  static build(origin: string, sets: Iterable<RRset>): Zone {
    const nodes = new Map<string, Map<number, RRset>>();
    for (const set of sets) {
      let node = nodes.get(set.name);
      if (node === undefined) nodes.set(set.name, (node = new Map()));
      node.set(set.type, set);
    }
    const names = new Set<string>();
    for (const name of nodes.keys()) {
      for (let n = name; !names.has(n); n = parentName(n)) {
        names.add(n);
        if (n === origin || n === '') break;
      }
    }
    return new Zone(origin, nodes, names);
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

  /** rrsets lists every RRset: the apex first, then names in DNSSEC canonical order (RFC 4034 §6.1), types ascending. */
  rrsets(): RRset[] {
    const names = [...this.nodes.keys()].sort(canonicalCompare);
    const out: RRset[] = [];
    for (const n of names) {
      const node = this.nodes.get(n)!;
      for (const t of [...node.keys()].sort((a, b) => (a === TYPE.SOA ? -1 : b === TYPE.SOA ? 1 : a - b))) out.push(node.get(t)!);
    }
    return out;
  }

  /** size is the number of RRsets. */
  get size(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += node.size;
    return n;
  }

  /** withRRset returns a snapshot with `set` replacing the RRset of its name and type. */
  withRRset(set: RRset): Zone {
    return Zone.build(
      this.origin,
      this.rrsets().filter((s) => !(s.name === set.name && s.type === set.type)).concat(set),
    );
  }

  /** withoutRRset returns a snapshot without the RRset of `name` and `type`. */
  withoutRRset(name: string, type: number): Zone {
    return Zone.build(
      this.origin,
      this.rrsets().filter((s) => !(s.name === name && s.type === type)),
    );
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
 * validateZone checks a whole zone's RRsets and returns the first problem, or
 * undefined: every owner inside the zone; one SOA, at the apex, of one record;
 * no CNAME beside other data and no CNAME set of more than one record (RFC 1034
 * §3.6.2, RFC 2181 §10.1); no NS-less delegation problems are checked here.
 */
export function validateZone(origin: string, sets: readonly RRset[]): string | undefined {
  const display = (n: string) => (n === '' ? '.' : `${n}.`);
  const byName = new Map<string, Set<number>>();
  for (const s of sets) {
    if (!inZone(s.name, origin)) return `${display(s.name)} is outside the zone ${display(origin)}`;
    if (s.rdata.length === 0) return `${display(s.name)} ${typeName(s.type)} has no records`;
    if (s.type === TYPE.SOA && s.name !== origin) return `SOA records belong at the apex ${display(origin)}, not at ${display(s.name)}`;
    if ((s.type === TYPE.SOA || s.type === TYPE.CNAME) && s.rdata.length > 1) {
      return `${display(s.name)} may have only one ${typeName(s.type)} record`;
    }
    let types = byName.get(s.name);
    if (types === undefined) byName.set(s.name, (types = new Set()));
    if (types.has(s.type)) return `${display(s.name)} ${typeName(s.type)} is given twice`;
    types.add(s.type);
  }
  if (!byName.get(origin)?.has(TYPE.SOA)) return `the zone ${display(origin)} needs an SOA record at its apex`;
  for (const [name, types] of byName) {
    if (types.has(TYPE.CNAME) && [...types].some((t) => t !== TYPE.CNAME && t !== TYPE.RRSIG && t !== TYPE.NSEC)) {
      return `${display(name)} has a CNAME and other data; a CNAME must stand alone (RFC 1034 §3.6.2)`;
    }
  }
  return undefined;
}
