import type Database from 'better-sqlite3';
import { DurabilityError, type DurableLog } from '../../lib/durability';

interface Pending {
  write: () => void;
  apply: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * GroupCommit implements DurableLog over one SQLite connection: every write queued
 * during one event-loop turn runs in a single transaction (one fsync), then the
 * applies run in queue order and the promises resolve. Under load this turns many
 * small synchronous commits into few large ones, which is what lets every
 * acknowledged heartbeat be durable. If a batch fails, its writes are retried one
 * by one so that a single bad write fails alone.
 */
export class GroupCommit implements DurableLog {
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  /** Committed transactions and the writes in them, since open. */
  readonly stats = { batches: 0, ops: 0 };
  /** Called after each committed batch with its number of writes (for /metrics). */
  onBatch: ((ops: number) => void) | undefined;

  constructor(private readonly db: Database.Database) {}

  commit<T>(write: () => void, apply: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new DurabilityError('store is closed', true));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, apply, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** flush commits everything queued now; it is called by the scheduler and by close. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.db.transaction(() => {
        for (const op of batch) op.write();
      })();
    } catch {
      for (const op of batch) {
        try {
          this.db.transaction(op.write)();
        } catch (err) {
          op.reject(new DurabilityError(`committing a write: ${(err as Error).message}`, false, { cause: err }));
          continue;
        }
        settle(op);
      }
      return;
    }
    this.stats.batches++;
    this.stats.ops += batch.length;
    this.onBatch?.(batch.length);
    for (const op of batch) settle(op);
  }

  /** close commits what is queued and refuses later commits. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

function settle(op: Pending): void {
  try {
    op.resolve(op.apply());
  } catch (err) {
    op.reject(err);
  }
}
