/**
 * DurableLog is how domain code makes a change durable before it becomes visible.
 * `commit(write, apply)` runs `write` inside a storage transaction that is synced to
 * disk, then runs `apply` (the in-memory change), and resolves with apply's result.
 * Writes queued in the same event-loop turn share one transaction (group commit);
 * writes and applies run in the order they were queued. If the write fails, apply
 * is not run and the promise rejects.
 */
export interface DurableLog {
  commit<T>(write: () => void, apply: () => T): Promise<T>;
}
