'use client';

import { useEffect, useRef } from 'react';

/**
 * Flash shows the outcome of the step that led to this page ("Deleted …") once:
 * it takes focus so a screen reader reads it, and drops the query parameter that
 * carried it so that a reload or a bookmark does not repeat it.
 */
export function Flash({ text, cleanHref, testId }: { text: string; cleanHref: string; testId: string }) {
  const ref = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    ref.current?.focus();
    window.history.replaceState(window.history.state, '', cleanHref);
  }, [cleanHref, text]);
  return (
    <p ref={ref} tabIndex={-1} className="ok" role="status" data-testid={testId}>
      {text}
    </p>
  );
}
