'use client';

import { useRef, useState } from 'react';
import { problemText, type Problem, type ShutdownEventView } from '@/app/_lib/api-types';
import { ConfirmButton } from '@/components/ConfirmButton';

type Stage = 'idle' | 'stopping' | 'waiting-exit' | 'stopped' | 'failed';

/**
 * ShutdownControl asks for confirmation, starts the shutdown (POST /ui/shutdown)
 * and shows each step of the drain as the node reports it; once the node stops
 * answering /healthz it says the node has stopped.
 */
export function ShutdownControl({ node }: { node: string }) {
  const [stage, setStage] = useState<Stage>('idle');
  const [events, setEvents] = useState<ShutdownEventView[]>([]);
  const [error, setError] = useState<string | undefined>();
  const status = useRef<HTMLParagraphElement>(null);

  async function follow(res: Response) {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (;;) {
      let chunk: ReadableStreamReadResult<string>;
      try {
        chunk = await reader.read();
      } catch {
        break; // the connection was cut at the end of the drain
      }
      if (chunk.done) break;
      buffered += chunk.value;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      const fresh = lines.filter((l) => l.length > 0).flatMap((l) => parseStep(l));
      if (fresh.length > 0) setEvents((old) => [...old, ...fresh]);
    }
    setStage('waiting-exit');
    // The listeners are closed now: a refused connection, or a proxy's error in front of us, means the node no longer answers.
    for (let i = 0; i < 120; i += 1) {
      try {
        const res = await fetch('/healthz', { cache: 'no-store' });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      } catch {
        setStage('stopped');
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    setError('The node still answers /healthz a minute after the drain: look at its log.');
    setStage('failed');
  }

  async function start(): Promise<string | undefined> {
    let res: Response;
    try {
      res = await fetch('/ui/shutdown', { method: 'POST', headers: { 'x-nekoq-ui': 'shutdown' } });
    } catch (err) {
      return `The node did not answer: ${(err as Error).message}`;
    }
    if (!res.ok) {
      const p = (await res.json().catch(() => undefined)) as Problem | undefined;
      return p === undefined ? `HTTP ${res.status}` : problemText(p);
    }
    setStage('stopping');
    // The button that opened the dialog goes away: keep the focus on the progress.
    setTimeout(() => status.current?.focus(), 0);
    void follow(res);
    return undefined;
  }

  return (
    <section aria-labelledby="shutdown-title">
      <h2 id="shutdown-title" className="sr-only">
        Shut down
      </h2>
      {stage === 'idle' ? (
        <ConfirmButton
          label={`Shut down ${node}`}
          title={`Shut down ${node}?`}
          message={<p>The node stops serving DNS, the API and this manager once the drain ends. Something outside must start it again.</p>}
          confirmLabel="Shut down"
          testId="shutdown"
          onConfirm={start}
        />
      ) : null}
      <ol className="log" aria-live="polite" aria-label="Shutdown steps" data-testid="shutdown-log">
        {events.map((e) => (
          <li key={e.seq} data-phase={e.phase}>
            <span className="muted">{new Date(e.at).toISOString().slice(11, 23)}</span> {e.text}
          </li>
        ))}
      </ol>
      <p ref={status} tabIndex={-1} role="status" aria-live="polite" data-testid="shutdown-status" className={stage === 'stopped' ? 'ok' : stage === 'failed' ? 'error' : undefined}>
        {stage === 'stopping' && 'Shutting down: draining…'}
        {stage === 'waiting-exit' && 'Drained. Waiting for the process to exit…'}
        {stage === 'stopped' && `${node} has stopped: it no longer answers.`}
        {stage === 'failed' && error}
      </p>
    </section>
  );
}

/** parseStep reads one line of the step stream; a line that is not a step is shown as text rather than lost. */
function parseStep(line: string): ShutdownEventView[] {
  try {
    return [JSON.parse(line) as ShutdownEventView];
  } catch {
    return [{ seq: -Date.now(), at: Date.now(), phase: 'unknown', text: line.slice(0, 500) }];
  }
}
