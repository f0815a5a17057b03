import { parseDuration } from '../../lib/config/duration';
import { ApiError } from '../../lib/errors';
import type { Gate } from '../../lib/limits';
import type { RouteContext } from './router';

/** Blocking queries: the default and the longest `wait` (Consul's numbers). */
export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

/**
 * blockingParams reads `?index=<n>&wait=<duration>`: undefined without an index
 * (answer at once), otherwise the index to wait past and the wait in ms (default
 * 5m, at most 10m). Throws invalid_query for a bad index or duration.
 */
export function blockingParams(ctx: RouteContext): { after: number; waitMs: number } | undefined {
  const indexText = ctx.query.get('index');
  const waitText = ctx.query.get('wait');
  let waitMs = DEFAULT_WAIT_MS;
  if (waitText !== null) {
    const ms = parseDuration(waitText);
    if (ms === undefined) throw new ApiError('invalid_query', 'wait must be a duration such as "500ms", "30s", "5m"');
    waitMs = Math.min(ms, MAX_WAIT_MS);
  }
  if (indexText === null) return undefined;
  if (!/^\d{1,15}$/.test(indexText)) throw new ApiError('invalid_query', 'index must be a non-negative integer');
  return { after: Number(indexText), waitMs };
}

/**
 * heldWait runs one blocking query's wait inside the gate of [limits]
 * blocking_queries: past it the query is refused with 503 too_many_waiters (and
 * a retry-after) instead of holding one more request open.
 */
export async function heldWait<T>(gate: Gate | undefined, wait: () => Promise<T>): Promise<T> {
  if (gate === undefined) return wait();
  if (!gate.enter()) throw new ApiError('too_many_waiters', undefined, { headers: { 'retry-after': '1' } });
  try {
    return await wait();
  } finally {
    gate.leave();
  }
}
