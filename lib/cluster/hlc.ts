/**
 * A hybrid logical clock (Kulkarni et al., 2014): wall-clock milliseconds plus a
 * counter that orders events within one millisecond and carries causality across
 * nodes whose clocks disagree. A stamp is 16 lower-case hex digits, 12 of
 * milliseconds and 4 of counter, so that stamps compare as strings in clock order
 * and fit a TEXT column and a JSON string without loss (a packed number would
 * need 57 bits, more than a double holds exactly).
 */
export class HybridClock {
  private wall = 0;
  private counter = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** tick returns a stamp newer than every stamp this clock issued or observed. */
  tick(): string {
    const t = Math.floor(this.now());
    if (t > this.wall) {
      this.wall = t;
      this.counter = 0;
    } else if (this.counter < 0xffff) {
      this.counter++;
    } else {
      // 65536 events in one millisecond: borrow the next millisecond.
      this.wall++;
      this.counter = 0;
    }
    return format(this.wall, this.counter);
  }

  /**
   * observe moves the clock past a stamp seen from elsewhere (a peer's change, or
   * our own stamps read back at start), so the next local stamp orders after it.
   * A malformed stamp is ignored.
   */
  observe(stamp: string): void {
    const p = parseStamp(stamp);
    if (p === undefined) return;
    if (p.wall > this.wall || (p.wall === this.wall && p.counter > this.counter)) {
      this.wall = p.wall;
      this.counter = p.counter;
    }
  }
}

const STAMP = /^[0-9a-f]{16}$/;

/** isStamp reports whether text is a well-formed stamp. */
export function isStamp(text: unknown): text is string {
  return typeof text === 'string' && STAMP.test(text);
}

/** parseStamp splits a stamp into its wall milliseconds and counter, or undefined. */
export function parseStamp(stamp: string): { wall: number; counter: number } | undefined {
  if (!STAMP.test(stamp)) return undefined;
  return { wall: parseInt(stamp.slice(0, 12), 16), counter: parseInt(stamp.slice(12), 16) };
}

/** stampTime is the wall-clock time (ms) a stamp carries. */
export function stampTime(stamp: string): number {
  return parseStamp(stamp)?.wall ?? 0;
}

function format(wall: number, counter: number): string {
  return wall.toString(16).padStart(12, '0') + counter.toString(16).padStart(4, '0');
}
