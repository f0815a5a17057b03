import type Database from 'better-sqlite3';
import type { StoredRRset, ZoneJournal } from '../../lib/dns/zone-store';

/** SqliteZoneJournal keeps the operator zones in the `zones` and `rrsets` tables (migration 2). */
export class SqliteZoneJournal implements ZoneJournal {
  private readonly putStmt;
  private readonly deleteStmt;
  private readonly clearStmt;
  private readonly createStmt;
  private readonly dropStmt;

  constructor(private readonly db: Database.Database) {
    this.putStmt = db.prepare(
      `INSERT INTO rrsets (zone, name, type, ttl, rdata) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (zone, name, type) DO UPDATE SET ttl = excluded.ttl, rdata = excluded.rdata`,
    );
    this.deleteStmt = db.prepare('DELETE FROM rrsets WHERE zone = ? AND name = ? AND type = ?');
    this.clearStmt = db.prepare('DELETE FROM rrsets WHERE zone = ?');
    this.createStmt = db.prepare('INSERT INTO zones (name, created_at) VALUES (?, ?)');
    this.dropStmt = db.prepare('DELETE FROM zones WHERE name = ?');
  }

  load(): { zone: string; rrsets: StoredRRset[] }[] {
    const zones = this.db.prepare('SELECT name FROM zones ORDER BY name').all() as { name: string }[];
    const rows = this.db.prepare('SELECT zone, name, type, ttl, rdata FROM rrsets').all() as {
      zone: string;
      name: string;
      type: string;
      ttl: number;
      rdata: string;
    }[];
    const byZone = new Map<string, StoredRRset[]>(zones.map((z) => [z.name, []]));
    for (const r of rows) byZone.get(r.zone)?.push({ name: r.name, type: r.type, ttl: r.ttl, values: JSON.parse(r.rdata) as string[] });
    return [...byZone.entries()].map(([zone, rrsets]) => ({ zone, rrsets }));
  }

  createZone(zone: string, rrsets: readonly StoredRRset[]): void {
    this.createStmt.run(zone, Date.now());
    for (const r of rrsets) this.putRRset(zone, r);
  }

  replaceZone(zone: string, rrsets: readonly StoredRRset[]): void {
    this.clearStmt.run(zone);
    for (const r of rrsets) this.putRRset(zone, r);
  }

  putRRset(zone: string, r: StoredRRset): void {
    this.putStmt.run(zone, r.name, r.type, r.ttl, JSON.stringify(r.values));
  }

  deleteRRset(zone: string, name: string, type: string): void {
    this.deleteStmt.run(zone, name, type);
  }

  deleteZone(zone: string): void {
    this.dropStmt.run(zone);
  }
}
