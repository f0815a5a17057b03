/** What each peer state means, for the badge's title and screen readers. */
const MEANING: Record<string, string> = {
  ok: 'in step: the last pull succeeded',
  syncing: 'taking its first snapshot',
  unreachable: 'the last pull failed; retrying',
  stale: 'silent for longer than stale_after: its data here may be out of date',
  left: 'left the cluster gracefully',
  dropped: 'silent for longer than drop_after: its instances were dropped',
};

/** StateBadge shows a peer's state as a coloured word whose meaning is in its title. */
export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge badge-${state}`} title={MEANING[state] ?? state} data-testid="peer-state">
      {state}
    </span>
  );
}
