import type Database from 'better-sqlite3';
import { specOf, type Instance, type InstanceKey, type InstanceSpec } from '../../lib/registry/instance';
import type { InstanceJournal } from '../../lib/registry/registry';
import type { LeaseMarkState } from './lease-mark';

interface Row {
  type: string;
  name: string;
  id: string;
  spec: string;
  registered_at: number;
  renewed_at: number;
  create_index: number;
  modify_index: number;
  origin: string;
}

/**
 * SqliteInstanceJournal keeps the live instances in the `instances` table and the
 * registry index in `meta`, so that a restart restores every instance whose lease
 * has not ended (at its last acknowledged renewal) and the index never goes back.
 */
export class SqliteInstanceJournal implements InstanceJournal {
  private readonly upsertStmt;
  private readonly renewStmt;
  private readonly removeStmt;
  private readonly indexStmt;

  constructor(private readonly db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT INTO instances (type, name, id, spec, registered_at, renewed_at, create_index, modify_index, origin)
       VALUES (@type, @name, @id, @spec, @registered_at, @renewed_at, @create_index, @modify_index, @origin)
       ON CONFLICT (type, name, id) DO UPDATE SET spec = excluded.spec, registered_at = excluded.registered_at,
         renewed_at = excluded.renewed_at, create_index = excluded.create_index, modify_index = excluded.modify_index,
         origin = excluded.origin`,
    );
    this.renewStmt = db.prepare('UPDATE instances SET renewed_at = max(renewed_at, ?) WHERE type = ? AND name = ? AND id = ?');
    this.removeStmt = db.prepare('DELETE FROM instances WHERE type = ? AND name = ? AND id = ?');
    this.indexStmt = db.prepare(
      `INSERT INTO meta (key, value) VALUES ('registry_index', ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER)`,
    );
  }

  upsert(i: Instance, index: number): void {
    this.upsertStmt.run({
      type: i.type,
      name: i.name,
      id: i.id,
      spec: JSON.stringify(specOf(i)),
      registered_at: i.registeredAt,
      renewed_at: i.renewedAt,
      create_index: i.createIndex,
      modify_index: i.modifyIndex,
      origin: i.owner ?? '',
    });
    this.indexStmt.run(String(index));
  }

  renew(key: InstanceKey, renewedAt: number): void {
    this.renewStmt.run(renewedAt, key.type, key.name, key.id);
  }

  remove(key: InstanceKey, index: number): void {
    this.removeStmt.run(key.type, key.name, key.id);
    this.indexStmt.run(String(index));
  }

  /**
   * load returns the journalled instances whose leases are still running at `now`
   * and the stored index, and deletes the rows of leases that ended while the
   * process was down (returned as `expired`, for the peers to hear of). `self` is
   * this node's name: rows owned by another node (replicated) have no lease here
   * and are restored as they are.
   *
   * Renewals are journalled in batches after they are answered, so after kill -9
   * the journal can lack the last ones. `mark` (see LeaseMark) says when that can
   * be: a lease that was running after `mark.durable` may have been renewed up to
   * the moment the process died, at most allowanceMs after `mark.alive`, and is
   * restored to end at mark.alive + ttl + allowanceMs. Its row is moved to that
   * renewal too, so that a second crash before its next heartbeat is journalled
   * does not shorten it again. Any other lease is restored as its journalled
   * renewal + ttl + allowanceMs. Either way no lease ends before the end that was
   * acknowledged; the cost is that an instance that died together with the node
   * lingers up to one ttl.
   */
  load(now: number, allowanceMs: number, self = '', mark?: LeaseMarkState): { instances: Instance[]; index: number; expired: InstanceKey[] } {
    const rows = this.db.prepare('SELECT * FROM instances').all() as Row[];
    const unjournalledSince = mark === undefined || mark.clean ? Infinity : mark.durable;
    const live: Instance[] = [];
    const dead: Row[] = [];
    const moved: Row[] = [];
    for (const r of rows) {
      const spec = JSON.parse(r.spec) as InstanceSpec;
      const own = r.origin === '' || r.origin === self;
      let expiresAt = own ? r.renewed_at + spec.ttl * 1000 + allowanceMs : Infinity;
      const stretched = own && mark !== undefined && expiresAt > unjournalledSince && mark.alive > r.renewed_at;
      if (stretched) expiresAt = mark.alive + spec.ttl * 1000 + allowanceMs;
      if (expiresAt <= now) {
        dead.push(r);
        continue;
      }
      if (stretched) moved.push(r);
      live.push({
        type: r.type,
        name: r.name,
        id: r.id,
        ...spec,
        registeredAt: r.registered_at,
        renewedAt: r.renewed_at,
        expiresAt,
        createIndex: r.create_index,
        modifyIndex: r.modify_index,
        ...(own ? {} : { owner: r.origin }),
      });
    }
    const stored = this.db.prepare("SELECT value FROM meta WHERE key = 'registry_index'").get() as { value: string } | undefined;
    let index = Number(stored?.value ?? 0);
    if (moved.length > 0 || dead.length > 0) {
      this.db.transaction(() => {
        for (const r of moved) this.renewStmt.run(mark!.alive, r.type, r.name, r.id);
        if (dead.length === 0) return;
        for (const r of dead) this.removeStmt.run(r.type, r.name, r.id);
        index += 1;
        this.indexStmt.run(String(index));
      })();
    }
    return { instances: live, index, expired: dead.map((r) => ({ type: r.type, name: r.name, id: r.id })) };
  }
}
