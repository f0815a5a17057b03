import type Database from 'better-sqlite3';
import type { Kind, LedgerJournal, LedgerRow } from '../../lib/cluster/ledger';

/** SqliteLedgerJournal keeps the replication ledger in the `repl` table and `meta` (migration 4). */
export class SqliteLedgerJournal implements LedgerJournal {
  private readonly getStmt;
  private readonly putStmt;
  private readonly removeStmt;
  private readonly sinceStmt;
  private readonly underStmt;
  private readonly ofOriginStmt;
  private readonly tombstonesStmt;
  private readonly metaStmt;

  constructor(private readonly db: Database.Database) {
    this.getStmt = db.prepare('SELECT * FROM repl WHERE kind = ? AND key = ?');
    this.putStmt = db.prepare(
      `INSERT INTO repl (kind, key, origin, hlc, seq, value, at) VALUES (@kind, @key, @origin, @hlc, @seq, @value, @at)
       ON CONFLICT (kind, key) DO UPDATE SET origin = excluded.origin, hlc = excluded.hlc, seq = excluded.seq,
         value = excluded.value, at = excluded.at`,
    );
    this.removeStmt = db.prepare('DELETE FROM repl WHERE kind = ? AND key = ?');
    this.sinceStmt = db.prepare('SELECT * FROM repl WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?');
    // Keys under a prefix: a range scan on the primary key (prefix <= key < prefix + U+10FFFF).
    this.underStmt = db.prepare('SELECT * FROM repl WHERE kind = ? AND key >= ? AND key < ?');
    this.ofOriginStmt = db.prepare('SELECT * FROM repl WHERE origin = ?');
    this.tombstonesStmt = db.prepare('SELECT * FROM repl WHERE value IS NULL AND at < ? LIMIT ?');
    this.metaStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  state(): { epoch: string | undefined; head: number; floor: number; newest: string | undefined } {
    const meta = new Map(
      (this.db.prepare("SELECT key, value FROM meta WHERE key IN ('repl_epoch', 'repl_head', 'repl_floor')").all() as { key: string; value: string }[]).map((r) => [r.key, r.value]),
    );
    const newest = this.db.prepare('SELECT max(hlc) AS h FROM repl').get() as { h: string | null };
    return {
      epoch: meta.get('repl_epoch'),
      head: Number(meta.get('repl_head') ?? 0),
      floor: Number(meta.get('repl_floor') ?? 0),
      newest: newest.h ?? undefined,
    };
  }

  setEpoch(epoch: string): void {
    this.metaStmt.run('repl_epoch', epoch);
  }

  setHead(head: number): void {
    this.metaStmt.run('repl_head', String(head));
  }

  setFloor(floor: number): void {
    this.metaStmt.run('repl_floor', String(floor));
  }

  get(kind: Kind, key: string): LedgerRow | undefined {
    return this.getStmt.get(kind, key) as LedgerRow | undefined;
  }

  put(row: LedgerRow): void {
    this.putStmt.run(row);
  }

  remove(kind: Kind, key: string): void {
    this.removeStmt.run(kind, key);
  }

  since(origin: string, since: number, limit: number): LedgerRow[] {
    return this.sinceStmt.all(origin, since, limit) as LedgerRow[];
  }

  under(kind: Kind, prefix: string): LedgerRow[] {
    return this.underStmt.all(kind, prefix, `${prefix}\u{10ffff}`) as LedgerRow[];
  }

  ofOrigin(origin: string): LedgerRow[] {
    return this.ofOriginStmt.all(origin) as LedgerRow[];
  }

  tombstones(before: number, limit: number): LedgerRow[] {
    return this.tombstonesStmt.all(before, limit) as LedgerRow[];
  }

  origins(): Map<string, number> {
    const rows = this.db.prepare('SELECT origin, count(*) AS n FROM repl WHERE value IS NOT NULL GROUP BY origin').all() as { origin: string; n: number }[];
    return new Map(rows.map((r) => [r.origin, r.n]));
  }
}

/** A puller's position in one peer's feed: the peer's epoch and the last seq applied. */
export interface PeerCursor {
  readonly epoch: string;
  readonly seq: number;
}

/** SqlitePeerCursors keeps the pullers' positions in `peer_cursors` (migration 4). */
export class SqlitePeerCursors {
  private readonly getStmt;
  private readonly setStmt;
  private readonly clearStmt;

  constructor(db: Database.Database) {
    this.getStmt = db.prepare('SELECT epoch, seq FROM peer_cursors WHERE peer = ?');
    this.setStmt = db.prepare('INSERT INTO peer_cursors (peer, epoch, seq) VALUES (?, ?, ?) ON CONFLICT (peer) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq');
    this.clearStmt = db.prepare('DELETE FROM peer_cursors WHERE peer = ?');
  }

  get(peer: string): PeerCursor | undefined {
    return this.getStmt.get(peer) as PeerCursor | undefined;
  }

  /** set runs inside a DurableLog write. */
  set(peer: string, c: PeerCursor): void {
    this.setStmt.run(peer, c.epoch, c.seq);
  }

  /** clear runs inside a DurableLog write. */
  clear(peer: string): void {
    this.clearStmt.run(peer);
  }
}
