/**
 * DurableLog is how domain code makes a change durable before it becomes visible.
 * `commit(write, apply)` runs `write` inside a storage transaction that is synced to
 * disk, then runs `apply` (the in-memory change), and resolves with apply's result.
 * Writes queued in the same event-loop turn share one transaction (group commit);
 * writes and applies run in the order they were queued. If the write fails, apply
 * is not run and the promise rejects with a DurabilityError.
 */
export interface DurableLog {
  commit<T>(write: () => void, apply: () => T): Promise<T>;
}

/**
 * DurabilityError is how a DurableLog refuses a write: `closed` when the store is
 * shutting down, otherwise the storage failed (disk full, I/O error). The HTTP layer
 * maps it to 503 shutting_down or storage_failed; nothing was applied.
 */
export class DurabilityError extends Error {
  constructor(
    message: string,
    readonly closed: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DurabilityError';
  }
}
