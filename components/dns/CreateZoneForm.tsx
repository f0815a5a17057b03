'use client';

import { useRouter } from 'next/navigation';
import { useId, useState, useTransition, type FormEvent } from 'react';
import { createZone } from '@/app/(manager)/dns/actions';
import type { Problem } from '@/app/_lib/api-types';
import { ProblemMessage, thrownProblem } from './ProblemMessage';

/**
 * CreateZoneForm creates an operator zone (name, optional name servers and TTL)
 * and opens the new zone's page; a refusal shows the API's problem in place.
 */
export function CreateZoneForm() {
  const router = useRouter();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [status, setStatus] = useState('');
  const [pending, startTransition] = useTransition();
  const hintId = useId();

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const input = { name: String(form.get('name') ?? ''), nameservers: String(form.get('nameservers') ?? ''), ttl: String(form.get('ttl') ?? '') };
    setProblem(undefined);
    setStatus('Creating…');
    startTransition(async () => {
      let r: Awaited<ReturnType<typeof createZone>>;
      try {
        r = await createZone(input);
      } catch (err) {
        r = { ok: false, problem: thrownProblem(err) };
      }
      if (r.ok) {
        setStatus(`Created ${r.value.name}; opening it.`);
        router.push(`/dns/${encodeURIComponent(r.value.name)}`);
      } else {
        setStatus('');
        setProblem(r.problem);
      }
    });
  }

  return (
    <form className="stack" onSubmit={onSubmit} aria-labelledby="create-zone-title" data-testid="zone-create-form">
      <h2 id="create-zone-title">Create a zone</h2>
      <p className="muted" id={hintId} style={{ margin: 0 }}>
        A new zone gets an SOA and NS records; leave the name servers blank for this node&apos;s default.
      </p>
      <div className="row">
        <label>
          Zone name
          <input name="name" required placeholder="example.com." autoComplete="off" spellCheck={false} aria-describedby={hintId} data-testid="zone-create-name" />
        </label>
        <label>
          Name servers (optional)
          <input name="nameservers" placeholder="ns1.example.com. ns2.example.net." autoComplete="off" spellCheck={false} data-testid="zone-create-ns" />
        </label>
        <label>
          TTL in seconds (optional)
          <input name="ttl" type="number" min={0} max={2147483647} step={1} inputMode="numeric" placeholder="3600" style={{ width: '9rem' }} data-testid="zone-create-ttl" />
        </label>
        <button type="submit" disabled={pending} data-testid="zone-create-submit">
          {pending ? 'Creating…' : 'Create zone'}
        </button>
      </div>
      <div aria-live="polite" data-testid="zone-create-status">
        {problem !== undefined ? <ProblemMessage problem={problem} testId="zone-create-error" /> : status !== '' && <p className="muted" style={{ margin: 0 }}>{status}</p>}
      </div>
    </form>
  );
}
