'use client';

import { useId, useRef, useState, type ReactNode } from 'react';

/**
 * ConfirmButton asks before a destructive step: a modal <dialog> (focus moves in,
 * Escape cancels) whose confirm button runs `onConfirm`. A returned string is an
 * error, shown in the dialog; nothing closes it but success or Cancel.
 */
export function ConfirmButton(props: {
  label: ReactNode;
  /** Accessible name of the opening button when its label is not enough (e.g. "Deregister web-1"). */
  ariaLabel?: string;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<string | undefined>;
  testId?: string;
  className?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const titleId = useId();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const failed = await props.onConfirm();
      if (failed === undefined) dialog.current?.close();
      else setError(failed);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className={props.className ?? 'danger'}
        aria-label={props.ariaLabel}
        data-testid={props.testId}
        onClick={() => {
          setError(undefined);
          dialog.current?.showModal();
        }}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} className="confirm" data-testid={props.testId === undefined ? undefined : `${props.testId}-dialog`}>
        <h2 id={titleId}>{props.title}</h2>
        <div>{props.message}</div>
        <p className="error" role="alert">
          {error ?? ''}
        </p>
        <div className="actions">
          <button type="button" className="secondary" onClick={() => dialog.current?.close()} autoFocus>
            Cancel
          </button>
          <button type="button" className="danger" disabled={busy} onClick={() => void confirm()} data-testid={props.testId === undefined ? undefined : `${props.testId}-confirm`}>
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
