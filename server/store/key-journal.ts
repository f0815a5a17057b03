import type Database from 'better-sqlite3';
import type { Algorithm } from '../../lib/dns/dnssec/keys';
import type { KeyJournal, KeyRole, StoredKey } from '../../lib/dns/dnssec/keyring';

interface Row {
  zone: string;
  key_tag: number;
  created_at: number;
  role: KeyRole;
  algorithm: number;
  private_key: Buffer;
  publish_at: number;
  activate_at: number;
  inactive_at: number | null;
  remove_at: number | null;
}

/**
 * SqliteKeyJournal keeps the DNSSEC keys in the `dnssec_keys` table (migration 5).
 * Each call is its own synchronous transaction: a key is on disk before it signs anything.
 */
export class SqliteKeyJournal implements KeyJournal {
  private readonly insertStmt;
  private readonly scheduleStmt;
  private readonly removeStmt;

  constructor(private readonly db: Database.Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO dnssec_keys (zone, key_tag, created_at, role, algorithm, private_key, publish_at, activate_at, inactive_at, remove_at)
       VALUES (@zone, @key_tag, @created_at, @role, @algorithm, @private_key, @publish_at, @activate_at, @inactive_at, @remove_at)`,
    );
    this.scheduleStmt = db.prepare('UPDATE dnssec_keys SET inactive_at = ?, remove_at = ? WHERE zone = ? AND key_tag = ? AND created_at = ?');
    this.removeStmt = db.prepare('DELETE FROM dnssec_keys WHERE zone = ? AND key_tag = ? AND created_at = ?');
  }

  load(): StoredKey[] {
    const rows = this.db.prepare('SELECT * FROM dnssec_keys ORDER BY zone, created_at').all() as Row[];
    return rows.map((r) => ({
      zone: r.zone,
      keyTag: r.key_tag,
      role: r.role,
      algorithm: r.algorithm as Algorithm,
      privateKey: r.private_key,
      createdAt: r.created_at,
      publishAt: r.publish_at,
      activateAt: r.activate_at,
      inactiveAt: r.inactive_at,
      removeAt: r.remove_at,
    }));
  }

  insert(k: StoredKey): void {
    this.insertStmt.run({
      zone: k.zone,
      key_tag: k.keyTag,
      created_at: k.createdAt,
      role: k.role,
      algorithm: k.algorithm,
      private_key: k.privateKey,
      publish_at: k.publishAt,
      activate_at: k.activateAt,
      inactive_at: k.inactiveAt,
      remove_at: k.removeAt,
    });
  }

  schedule(zone: string, keyTag: number, createdAt: number, inactiveAt: number | null, removeAt: number | null): void {
    this.scheduleStmt.run(inactiveAt, removeAt, zone, keyTag, createdAt);
  }

  remove(zone: string, keyTag: number, createdAt: number): void {
    this.removeStmt.run(zone, keyTag, createdAt);
  }
}
