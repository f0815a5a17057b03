'use client';

import { useId, useState, type ChangeEvent } from 'react';
import {
  base64ToBytes,
  bytesToBase64,
  checkFlags,
  MAX_VALUE_BYTES,
  utf8Bytes,
  utf8Text,
  type ValueMode,
} from '@/app/(manager)/kv/kv-shared';
import { formatBytes } from '@/components/format';

/** What the value fields hold: the value in its mode, and the flags as typed. */
export interface ValueDraft {
  readonly mode: ValueMode;
  readonly value: string;
  readonly flags: string;
}

/** draftProblem returns why a draft cannot be stored (bad base64, too large, bad flags), or undefined. */
export function draftProblem(d: ValueDraft): string | undefined {
  const size = draftSize(d);
  if (size === undefined) return 'The value is not valid base64: use A–Z, a–z, 0–9, "+" and "/", padded with "=" to a multiple of 4 characters.';
  if (size > MAX_VALUE_BYTES) return `The value is ${formatBytes(size)}; a value may be at most ${formatBytes(MAX_VALUE_BYTES)}.`;
  return checkFlags(d.flags);
}

/** draftSize is the number of bytes a draft stores, or undefined when its base64 is not valid. */
function draftSize(d: ValueDraft): number | undefined {
  if (d.mode === 'text') return utf8Bytes(d.value).length;
  return base64ToBytes(d.value)?.length;
}

/**
 * ValueFields edits a KV value and its flags: the value as UTF-8 text or as base64
 * (any bytes), switching between the two without changing the bytes, or loaded
 * from a file; it says how many bytes the value is and why a switch is refused.
 */
export function ValueFields(props: { draft: ValueDraft; onChange: (d: ValueDraft) => void; disabled?: boolean; testId: string }) {
  const { draft, onChange } = props;
  const id = useId();
  const [note, setNote] = useState('');
  const size = draftSize(draft);

  const switchTo = (mode: ValueMode) => {
    if (mode === draft.mode) return;
    if (mode === 'base64') {
      onChange({ ...draft, mode, value: bytesToBase64(utf8Bytes(draft.value)) });
      setNote('');
      return;
    }
    const bytes = base64ToBytes(draft.value);
    if (bytes === undefined) {
      setNote('Still base64: the box does not hold valid base64, so it cannot be shown as text. Fix or clear it first.');
      return;
    }
    const text = utf8Text(bytes);
    if (text === undefined) {
      setNote('Still base64: these bytes are not valid UTF-8 text, so they can only be edited as base64.');
      return;
    }
    const hasCR = text.includes('\r');
    onChange({ ...draft, mode, value: hasCR ? text.replace(/\r\n?/g, '\n') : text });
    setNote(hasCR ? 'Shown as text: its carriage returns (CR) became line feeds (LF), as a text box keeps no CR. Saving stores it that way.' : '');
  };

  const loadFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    if (file === undefined) return;
    if (file.size > MAX_VALUE_BYTES) {
      setNote(`Not loaded: ${file.name} is ${formatBytes(file.size)}; a value may be at most ${formatBytes(MAX_VALUE_BYTES)}.`);
      input.value = '';
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    onChange({ ...draft, mode: 'base64', value: bytesToBase64(bytes) });
    setNote(`Loaded ${file.name} (${formatBytes(bytes.length)}) as base64.`);
    input.value = '';
  };

  return (
    <>
      <fieldset style={{ border: '1px solid var(--line)', borderRadius: 6, margin: 0, padding: '0.3rem 0.75rem 0.5rem' }}>
        <legend>Edit the value as</legend>
        <label className="inline" style={{ marginRight: '1.25rem' }}>
          <input type="radio" name={`${id}-mode`} checked={draft.mode === 'text'} onChange={() => switchTo('text')} disabled={props.disabled} data-testid={`${props.testId}-mode-text`} />
          Text (UTF-8)
        </label>
        <label className="inline">
          <input type="radio" name={`${id}-mode`} checked={draft.mode === 'base64'} onChange={() => switchTo('base64')} disabled={props.disabled} data-testid={`${props.testId}-mode-base64`} />
          Base64 (any bytes)
        </label>
      </fieldset>
      <p className="warn" aria-live="polite" data-testid={`${props.testId}-note`} style={{ margin: 0 }}>
        {note}
      </p>
      <label>
        {draft.mode === 'text' ? 'Value (text)' : 'Value (base64)'}
        <textarea
          className="mono"
          rows={Math.min(18, Math.max(5, draft.value.split('\n').length + 1))}
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          value={draft.value}
          onChange={(e) => onChange({ ...draft, value: e.currentTarget.value })}
          disabled={props.disabled}
          aria-describedby={`${id}-size`}
          data-testid={`${props.testId}-value`}
          style={draft.mode === 'base64' ? { wordBreak: 'break-all' } : undefined}
        />
      </label>
      <p id={`${id}-size`} className={size === undefined ? 'error' : 'muted'} style={{ margin: 0 }} data-testid={`${props.testId}-size`}>
        {size === undefined ? 'Not valid base64.' : `${size} ${size === 1 ? 'byte' : 'bytes'}${size > MAX_VALUE_BYTES ? ` — more than the ${formatBytes(MAX_VALUE_BYTES)} a value may hold` : ''}`}
      </p>
      <label>
        Load the value from a file
        <input type="file" onChange={(e) => void loadFile(e)} disabled={props.disabled} data-testid={`${props.testId}-file`} />
      </label>
      <label>
        Flags
        <input
          inputMode="numeric"
          pattern="[0-9]*"
          value={draft.flags}
          onChange={(e) => onChange({ ...draft, flags: e.currentTarget.value.trim() })}
          disabled={props.disabled}
          aria-describedby={`${id}-flags`}
          data-testid={`${props.testId}-flags`}
          style={{ maxWidth: '14rem' }}
        />
      </label>
      <p id={`${id}-flags`} className="muted" style={{ margin: 0 }}>
        A whole number (0 to 2<sup>53</sup>−1) kept with the value for the applications that read it.
      </p>
    </>
  );
}
