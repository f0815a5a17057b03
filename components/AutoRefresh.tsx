'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';

/**
 * AutoRefresh re-renders the current server page every `everyMs` while the tab
 * is visible, with a button that pauses and resumes it (WCAG 2.2.2: content
 * that updates by itself can be paused).
 */
export function AutoRefresh({ everyMs }: { everyMs: number }) {
  const router = useRouter();
  const [paused, setPaused] = useState(false);
  useEffect(() => {
    if (paused) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') router.refresh();
    }, everyMs);
    return () => clearInterval(timer);
  }, [router, everyMs, paused]);
  return (
    <p className="refresh">
      <button type="button" className="secondary small" aria-pressed={paused} onClick={() => setPaused((p) => !p)} data-testid="auto-refresh">
        {paused ? 'Resume updates' : 'Pause updates'}
      </button>{' '}
      <span className="muted">{paused ? 'updates paused' : `updates every ${everyMs / 1000} s`}</span>
    </p>
  );
}
