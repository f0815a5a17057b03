import type { ShutdownEvent, ShutdownProgress } from '../lib/appliance';

/**
 * ShutdownMonitor records the steps of a graceful shutdown for the operators who
 * watch it (the web manager's shutdown page streams them). `drained` and
 * `web-stopping` are final: a watcher that has seen one ends its stream, which
 * is what lets the drain finish (the HTTP fronts count watchers' requests apart
 * and the drain records `drained` once only those are left).
 */
export class ShutdownMonitor {
  private readonly events: ShutdownEvent[] = [];
  private wake = new Set<() => void>();
  private finalSeen = false;

  /** record appends one step and wakes the watchers. */
  record(phase: ShutdownEvent['phase'], text: string): void {
    this.events.push({ seq: this.events.length + 1, at: Date.now(), phase, text });
    if (phase === 'drained' || phase === 'web-stopping') this.finalSeen = true;
    const wake = this.wake;
    this.wake = new Set();
    for (const w of wake) w();
  }

  /** progress returns the steps after `after` (a count of steps seen), waiting at most waitMs (≤ 10 s) for one when there is none yet. */
  async progress(after: number, waitMs: number): Promise<ShutdownProgress> {
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
    }
    return { events: this.events.slice(Math.max(0, after)), final: this.finalSeen };
  }
}
