import type { ShutdownEvent, ShutdownProgress } from '../lib/appliance';

/** A watcher not heard from for this long is no longer counted (its page went away). */
const WATCHER_GONE_MS = 3000;

/**
 * ShutdownMonitor records the steps of a graceful shutdown for the operators who
 * watch it (the web manager's shutdown page streams them). Watchers are counted,
 * because a watcher's own connection is one of those the drain waits for: once
 * only watchers' connections are left, the drain records `drained`, which is
 * final, and the watchers end their streams so that the drain can finish.
 */
export class ShutdownMonitor {
  private readonly events: ShutdownEvent[] = [];
  private readonly watchers = new Map<string, number>();
  private wake = new Set<() => void>();
  private finalSeen = false;

  /** stopping is true once the first step was recorded. */
  get stopping(): boolean {
    return this.events.length > 0;
  }

  /** watching counts the watchers heard from lately that have not yet been given the final step. */
  get watching(): number {
    const now = Date.now();
    for (const [id, seen] of this.watchers) if (now - seen > WATCHER_GONE_MS) this.watchers.delete(id);
    return this.finalSeen ? 0 : this.watchers.size;
  }

  /** record appends one step and wakes the watchers. */
  record(phase: ShutdownEvent['phase'], text: string): void {
    this.events.push({ seq: this.events.length + 1, at: Date.now(), phase, text });
    if (phase === 'drained' || phase === 'web-stopping') this.finalSeen = true;
    const wake = this.wake;
    this.wake = new Set();
    for (const w of wake) w();
  }

  /** progress returns the steps after `after`, waiting at most waitMs for one when there is none yet. */
  async progress(watcher: string, after: number, waitMs: number): Promise<ShutdownProgress> {
    if (!this.finalSeen) this.watchers.set(watcher, Date.now());
    if (this.events.length <= after && !this.finalSeen && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wake.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(waitMs, 10_000));
        this.wake.add(done);
      });
      if (!this.finalSeen) this.watchers.set(watcher, Date.now());
    }
    const events = this.events.slice(Math.max(0, after));
    return { stopping: this.stopping, events, final: this.finalSeen };
  }
}
