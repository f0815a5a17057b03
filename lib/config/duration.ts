/**
 * Durations in the config file are strings such as "500ms", "10s", "5m", "1h30m".
 * parseDuration returns milliseconds, or undefined when the text is not a duration.
 */
const PART = /(\d+)(ms|s|m|h)/y;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | undefined {
  if (text.length === 0 || text.length > 32) return undefined;
  PART.lastIndex = 0;
  let total = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (m === null) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2] as string]!;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** formatDuration renders milliseconds in the shortest exact form parseDuration accepts. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
