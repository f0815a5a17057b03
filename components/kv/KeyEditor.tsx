'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useRef, useState, type FormEvent } from 'react';
import { problemText } from '@/app/_lib/api-types';
import { saveKey } from '@/app/(manager)/kv/actions';
import { browseHref, folderOf, valueBytes, withNotice, type KeyView } from '@/app/(manager)/kv/kv-shared';
import { DeleteKeyButton } from './DeleteKeyButton';
import { draftProblem, ValueFields, type ValueDraft } from './ValueFields';

/** The version of the key the operator is working from: the CAS checks are made against its modifyIndex. */
interface Opened {
  readonly modifyIndex: number;
  readonly draft: ValueDraft;
}

/** A refused write: the key as it is now (null: gone) and the store index then. */
interface Conflict {
  readonly current: KeyView | null;
  readonly index: number;
}

const draftOf = (k: KeyView): ValueDraft => ({ mode: k.mode, value: k.value, flags: String(k.flags) });

/** sameDraft tells whether two drafts store the same bytes and flags (whatever mode each is in). */
function sameDraft(a: ValueDraft, b: ValueDraft): boolean {
  if (a.flags !== b.flags) return false;
  if (a.mode === b.mode) return a.value === b.value;
  const x = valueBytes(a.value, a.mode);
  const y = valueBytes(b.value, b.mode);
  return x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * KeyEditor edits one key's value and flags and deletes it. Every write is
 * compare-and-set against the modifyIndex the operator opened: when someone else
 * changed the key meanwhile nothing is written, the operator's edit stays in the
 * box, and they may reload the other value or overwrite it knowingly.
 */
export function KeyEditor({ initial }: { initial: KeyView }) {
  const router = useRouter();
  const key = initial.key;
  const [opened, setOpened] = useState<Opened>({ modifyIndex: initial.modifyIndex, draft: draftOf(initial) });
  const [draft, setDraft] = useState<ValueDraft>(draftOf(initial));
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ ok: boolean; text: string }>({ ok: true, text: '' });
  const [conflict, setConflict] = useState<Conflict | undefined>();
  const statusRef = useRef<HTMLParagraphElement>(null);
  const dirty = !sameDraft(draft, opened.draft);

  const write = async (cas: number) => {
    const bad = draftProblem(draft);
    if (bad !== undefined) {
      setStatus({ ok: false, text: `Not saved: ${bad}` });
      return;
    }
    setBusy(true);
    setStatus({ ok: true, text: 'Saving…' });
    try {
      const r = await saveKey({ key, value: draft.value, mode: draft.mode, flags: draft.flags }, cas);
      if (!r.ok) {
        setStatus({ ok: false, text: `Not saved: ${problemText(r.problem)}` });
      } else if (r.value.done) {
        setOpened({ modifyIndex: r.value.modifyIndex, draft });
        setConflict(undefined);
        setStatus({ ok: true, text: `Saved (the key is now at index ${r.value.modifyIndex}).` });
        router.refresh();
      } else {
        setConflict({ current: r.value.current, index: r.value.index });
        setStatus({ ok: false, text: '' });
      }
    } catch (err) {
      setStatus({ ok: false, text: `Not saved: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  };

  /** edit takes the operator's change; an error about the previous attempt no longer applies. */
  const edit = (d: ValueDraft) => {
    setDraft(d);
    if (!status.ok) setStatus({ ok: true, text: '' });
  };

  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    void write(opened.modifyIndex);
  };

  /** reload takes the key as it is now, discarding the operator's edit. */
  const reload = (current: KeyView) => {
    setOpened({ modifyIndex: current.modifyIndex, draft: draftOf(current) });
    setDraft(draftOf(current));
    setConflict(undefined);
    setStatus({ ok: true, text: `Reloaded: showing the value at index ${current.modifyIndex}. Apply your change again and save.` });
    statusRef.current?.focus();
    router.refresh();
  };

  const current = conflict?.current;
  return (
    <form className="stack" onSubmit={onSubmit} noValidate aria-label={`Edit ${key}`} data-testid="kv-editor">
      <ValueFields draft={draft} onChange={edit} disabled={busy} testId="kv" />
      <p className="error" aria-live="assertive" data-testid="kv-conflict" style={{ margin: 0 }}>
        {conflict === undefined
          ? ''
          : current === null || current === undefined
            ? `Not saved: someone deleted this key since you opened it (the store is at index ${conflict.index}). Your edit is still in the box; “Save mine anyway” creates the key again.`
            : `Not saved: someone changed this key since you opened it (now at index ${current.modifyIndex}). Your edit is still in the box. Reload to see their value, then apply your change again.`}
      </p>
      {conflict !== undefined && (
        <div className="notice" data-testid="kv-conflict-panel">
          {current !== null && current !== undefined && (
            <details>
              <summary>Their value (index {current.modifyIndex}, flags {current.flags}, {current.size} bytes)</summary>
              <pre className="mono" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', maxHeight: '16rem', overflow: 'auto' }} data-testid="kv-their-value">
                {current.mode === 'base64' ? `base64: ${current.value}` : current.value}
              </pre>
            </details>
          )}
          <div className="row" style={{ marginTop: '0.5rem' }}>
            {current !== null && current !== undefined && (
              <button type="button" className="secondary" onClick={() => reload(current)} disabled={busy} data-testid="kv-reload">
                Reload their value (drops your edit)
              </button>
            )}
            <button type="button" className="danger" onClick={() => void write(current?.modifyIndex ?? 0)} disabled={busy} data-testid="kv-overwrite">
              {current === null || current === undefined ? 'Save mine anyway' : 'Overwrite theirs with mine'}
            </button>
          </div>
        </div>
      )}
      <div className="row">
        <button type="submit" disabled={busy} data-testid="kv-save">
          {busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="secondary" disabled={busy || !dirty} onClick={() => setDraft(opened.draft)} data-testid="kv-revert">
          Undo my changes
        </button>
        <DeleteKeyButton
          keyName={key}
          modifyIndex={opened.modifyIndex}
          doneHref={withNotice(browseHref(folderOf(key)), 'deleted', key)}
          since="you opened it"
          label="Delete key"
          className="danger"
          testId="kv-delete"
        />
        <Link href={browseHref(folderOf(key))}>Back to {folderOf(key) === '' ? 'all keys' : folderOf(key)}</Link>
      </div>
      <p ref={statusRef} tabIndex={-1} className={status.ok ? 'ok' : 'error'} role="status" aria-live="polite" data-testid="kv-status" style={{ margin: 0 }}>
        {status.text}
      </p>
      <p className="muted" style={{ margin: 0 }} data-testid="kv-opened">
        {dirty ? 'You have unsaved changes. ' : ''}Saving checks that the key is still at index {opened.modifyIndex}, the version you are editing.
      </p>
    </form>
  );
}
