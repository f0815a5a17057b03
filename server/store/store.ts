import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { GroupCommit } from './group-commit';
import { MIGRATIONS } from './migrations';

/** StoreError says why the data directory could not be opened; `locked` means another process has it. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly locked = false,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * Store is the appliance's SQLite database in data_dir: WAL mode, synchronous=FULL
 * (a committed transaction survives kill -9 and power loss), and an exclusive lock
 * held for the life of the process, so a second process on the same data_dir fails
 * at once. The OS drops the lock when the process dies, even by kill -9.
 */
export class Store {
  readonly db: Database.Database;
  readonly durable: GroupCommit;
  readonly path: string;
  private open = true;

  private constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
    this.durable = new GroupCommit(db);
  }

  /** open creates data_dir (mode 0700) if needed, takes the lock and runs pending migrations. */
  static open(dataDir: string): Store {
    try {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError(`creating data directory ${dataDir}: ${(err as Error).message}`);
    }
    const path = join(dataDir, 'nekoq.db');
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
      chmodSync(path, 0o600);
    } catch (err) {
      throw new StoreError(`opening ${path}: ${(err as Error).message}`);
    }
    try {
      // EXCLUSIVE before WAL: no shared-memory index, and the lock taken below is never released.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.exec('BEGIN EXCLUSIVE; COMMIT;');
    } catch (err) {
      db.close();
      const code = (err as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new StoreError(`data directory ${dataDir} is in use by another process`, true);
      }
      throw new StoreError(`opening ${path}: ${(err as Error).message}`);
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const store = new Store(db, path);
    store.migrate();
    return store;
  }

  /** schemaVersion is the number of migrations applied. */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** secret returns a stored secret (a generated password hash, a session key), or undefined. */
  secret(name: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM secrets WHERE name = ?').get(name) as { value: string } | undefined;
    return row?.value;
  }

  /** setSecret stores a secret durably (synchronously: used at start only). */
  setSecret(name: string, value: string): void {
    this.db.prepare('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(name, value);
  }

  /** close flushes queued writes and closes the database; later commits reject. */
  close(): void {
    if (!this.open) return;
    this.durable.close();
    this.open = false;
    this.db.close();
  }

  private migrate(): void {
    const from = this.schemaVersion;
    if (from > MIGRATIONS.length) {
      throw new StoreError(`${this.path} has schema version ${from}, newer than this build knows (${MIGRATIONS.length})`);
    }
    for (let v = from; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }
}
