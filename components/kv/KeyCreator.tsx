'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { problemText } from '@/app/_lib/api-types';
import { createKey } from '@/app/(manager)/kv/actions';
import { browseHref, folderOf, keyHref, withNotice, type KeyView } from '@/app/(manager)/kv/kv-shared';
import { draftProblem, ValueFields, type ValueDraft } from './ValueFields';

/**
 * KeyCreator creates a key that does not exist yet (PUT with cas=0): when the key
 * already exists nothing is written and the operator is pointed to it.
 */
export function KeyCreator({ start }: { start: string }) {
  const router = useRouter();
  const [key, setKey] = useState(start);
  const [draft, setDraft] = useState<ValueDraft>({ mode: 'text', value: '', flags: '0' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [exists, setExists] = useState<KeyView | undefined>();

  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setExists(undefined);
    const bad = key === '' ? 'Give the key a name.' : draftProblem(draft);
    if (bad !== undefined) {
      setError(`Not created: ${bad}`);
      return;
    }
    setBusy(true);
    setError('');
    try {
      const r = await createKey({ key, value: draft.value, mode: draft.mode, flags: draft.flags });
      if (!r.ok) setError(`Not created: ${problemText(r.problem)}`);
      else if (r.value.done) {
        router.push(withNotice(keyHref(key), 'created', '1'));
        return;
      } else if (r.value.current === null) {
        // Refused, yet gone by the time we looked: it existed for a moment. Say so rather than retry silently.
        setError('Not created: the key existed a moment ago and has just been deleted. Create it again if you still mean to.');
      } else {
        setExists(r.value.current);
        setError(`Not created: the key “${key}” already exists (last changed at index ${r.value.current.modifyIndex}). Open it to edit it, or choose another name.`);
      }
    } catch (err) {
      setError(`Not created: ${(err as Error).message}`);
    }
    setBusy(false);
  };

  return (
    <form className="stack" onSubmit={(e) => void onSubmit(e)} noValidate aria-labelledby="kv-new-title" data-testid="kv-create">
      <label>
        Key
        <input
          className="mono"
          value={key}
          onChange={(e) => setKey(e.currentTarget.value)}
          required
          autoFocus
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          aria-describedby="kv-new-key-hint"
          disabled={busy}
          data-testid="kv-new-key"
        />
      </label>
      <p id="kv-new-key-hint" className="muted" style={{ margin: 0 }}>
        Segments are separated by “/”; a key may not start or end with “/” or hold “//”. At most 512 bytes.
      </p>
      <ValueFields draft={draft} onChange={setDraft} disabled={busy} testId="kv-new" />
      <div className="row">
        <button type="submit" disabled={busy} data-testid="kv-new-submit">
          {busy ? 'Creating…' : 'Create key'}
        </button>
        <Link href={browseHref(folderOf(start))}>Cancel</Link>
      </div>
      <p className="error" role="status" aria-live="polite" data-testid="kv-new-error" style={{ margin: 0 }}>
        {error}
      </p>
      {exists !== undefined && (
        <p style={{ margin: 0 }}>
          <Link href={keyHref(exists.key)} data-testid="kv-new-open-existing">
            Open {exists.key}
          </Link>
        </p>
      )}
    </form>
  );
}
