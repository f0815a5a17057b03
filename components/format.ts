/** formatElapsed writes a span of ms for people, "3d 4h 5m 6s" (largest units first, seconds always shown); lib/config/duration formatDuration writes the config form. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return parts
    .slice(first === -1 ? 3 : first)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

/** formatBytes writes a byte count with a binary unit. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** formatAgo writes how long ago an ISO time was ("12s ago"), or "never" for null. */
export function formatAgo(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  return `${formatElapsed(now - Date.parse(iso))} ago`;
}
