import type Database from 'better-sqlite3';
import type { KvEntry, KvJournal } from '../../lib/kv/kv';

/** SqliteKvJournal keeps the KV store in the `kv` table (migration 3) and its index in `meta`. */
export class SqliteKvJournal implements KvJournal {
  private readonly putStmt;
  private readonly removeStmt;
  private readonly indexStmt;

  constructor(private readonly db: Database.Database) {
    this.putStmt = db.prepare(
      `INSERT INTO kv (key, value, flags, create_index, modify_index) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, flags = excluded.flags,
         create_index = excluded.create_index, modify_index = excluded.modify_index`,
    );
    this.removeStmt = db.prepare('DELETE FROM kv WHERE key = ?');
    this.indexStmt = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('kv_index', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER)`,
    );
  }

  load(): { entries: KvEntry[]; index: number } {
    const rows = this.db.prepare('SELECT key, value, flags, create_index, modify_index FROM kv').all() as {
      key: string;
      value: Buffer;
      flags: number;
      create_index: number;
      modify_index: number;
    }[];
    const stored = this.db.prepare("SELECT value FROM meta WHERE key = 'kv_index'").get() as { value: string } | undefined;
    return {
      entries: rows.map((r) => ({ key: r.key, value: r.value, flags: r.flags, createIndex: r.create_index, modifyIndex: r.modify_index })),
      index: Number(stored?.value ?? 0),
    };
  }

  put(e: KvEntry, index: number): void {
    this.putStmt.run(e.key, e.value, e.flags, e.createIndex, e.modifyIndex);
    this.indexStmt.run(String(index));
  }

  remove(key: string, index: number): void {
    this.removeStmt.run(key);
    this.indexStmt.run(String(index));
  }
}
