'use client';

import { useRouter } from 'next/navigation';
import { problemText } from '@/app/_lib/api-types';
import { deleteKey } from '@/app/(manager)/kv/actions';
import { ConfirmButton } from '@/components/ConfirmButton';

/**
 * DeleteKeyButton deletes one key after a confirmation, only if it is still at the
 * modifyIndex the page showed (`since` says when: "this list was loaded", "you
 * opened it"); then it goes to `doneHref`, which says so.
 */
export function DeleteKeyButton({
  keyName,
  modifyIndex,
  doneHref,
  testId,
  since = 'this list was loaded',
  label = 'Delete',
  className = 'danger small',
}: {
  keyName: string;
  modifyIndex: number;
  doneHref: string;
  testId: string;
  since?: string;
  label?: string;
  className?: string;
}) {
  const router = useRouter();
  const onConfirm = async (): Promise<string | undefined> => {
    const r = await deleteKey(keyName, modifyIndex);
    if (!r.ok) return `Not deleted: ${problemText(r.problem)}`;
    if (r.value.done) {
      router.push(doneHref);
      return undefined;
    }
    const now = r.value.current;
    if (now === null) {
      router.refresh();
      return 'Not deleted: someone else deleted this key already.';
    }
    return `Not deleted: someone changed this key since ${since} (now at index ${now.modifyIndex}). Cancel, check its value, then delete again if you still mean to.`;
  };
  return (
    <ConfirmButton
      label={label}
      ariaLabel={`Delete key ${keyName}`}
      title="Delete this key?"
      message={
        <p>
          <span className="mono" style={{ overflowWrap: 'anywhere' }}>{keyName}</span> will be deleted, unless someone changed it since {since} (index {modifyIndex}). This cannot be undone.
        </p>
      }
      confirmLabel="Delete"
      onConfirm={onConfirm}
      className={className}
      testId={testId}
    />
  );
}
