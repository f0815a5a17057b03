import Link from 'next/link';
import { problemText } from '@/app/_lib/api-types';
import { firstParam, requireOperator } from '@/app/_lib/operator';
import { formatBytes } from '@/components/format';
import { Flash } from '@/components/kv/Flash';
import { FolderTrail } from '@/components/kv/FolderTrail';
import { KeyEditor } from '@/components/kv/KeyEditor';
import { readKey } from '../kv-api';
import { browseHref, downloadHref, folderOf, hexDump, keyHref, newKeyHref } from '../kv-shared';

export const dynamic = 'force-dynamic';

/** How much of a value the hex dump shows. */
const DUMP_BYTES = 4096;

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/**
 * One key (`/kv/edit?key=config/db/url`): its facts, an editor for its value (text
 * or base64) and flags that saves only if nobody changed the key since it was
 * opened, its bytes in hex, a download, and delete.
 */
export default async function KvKeyPage({ searchParams }: { searchParams: SearchParams }) {
  const operator = await requireOperator();
  const sp = await searchParams;
  const key = firstParam(sp.key) ?? '';
  if (key === '') {
    return (
      <>
        <h1>KV key</h1>
        <p className="error">
          No key was named. <Link href="/kv">Browse the keys</Link>.
        </p>
      </>
    );
  }
  const folder = folderOf(key);
  const heading = (
    <>
      <FolderTrail folder={folder} />
      <h1 style={{ overflowWrap: 'anywhere' }}>
        Key <span className="mono" data-testid="kv-key-name">{key}</span>
      </h1>
    </>
  );
  const r = await readKey(operator, key);
  if (!r.ok) {
    return (
      <>
        {heading}
        <p className="error" data-testid="kv-error">
          Cannot read this key: {problemText(r.problem)}
        </p>
      </>
    );
  }
  const k = r.key;
  if (k === null) {
    return (
      <>
        {heading}
        <p className="notice" data-testid="kv-missing">
          There is no such key: it was never created, or someone deleted it. <Link href={newKeyHref(key)}>Create it</Link> or go back to{' '}
          <Link href={browseHref(folder)}>{folder === '' ? 'all keys' : folder}</Link>.
        </p>
      </>
    );
  }
  return (
    <>
      {heading}
      {firstParam(sp.created) !== undefined && <Flash text="Created." cleanHref={keyHref(key)} testId="kv-flash" />}
      <dl className="facts" data-testid="kv-facts" style={{ marginBottom: '1rem' }}>
        <dt>Content</dt>
        <dd data-testid="kv-content">{!k.utf8 ? 'binary (not UTF-8 text)' : k.hasCR ? 'UTF-8 text with carriage returns' : 'UTF-8 text'}</dd>
        <dt>Size</dt>
        <dd>
          {k.size} {k.size === 1 ? 'byte' : 'bytes'}
          {k.size >= 1024 ? ` (${formatBytes(k.size)})` : ''}
        </dd>
        <dt>Flags</dt>
        <dd data-testid="kv-fact-flags">{k.flags}</dd>
        <dt>Created at index</dt>
        <dd>{k.createIndex}</dd>
        <dt>Last changed at index</dt>
        <dd data-testid="kv-fact-index">{k.modifyIndex}</dd>
      </dl>
      {k.mode === 'base64' && (
        <p className="notice" data-testid="kv-base64-note">
          {k.utf8
            ? 'This text holds carriage returns (CR), which a text box would turn into line feeds; it is shown as base64 so that saving keeps every byte. Choose Text to edit it as text.'
            : 'This value is not UTF-8 text, so it is shown and edited as base64. The bytes are in hex below.'}
        </p>
      )}
      <KeyEditor key={key} initial={k} />
      <section aria-labelledby="kv-bytes-title">
        <h2 id="kv-bytes-title">Bytes</h2>
        <details open={!k.utf8}>
          <summary>
            Hex dump{k.size > DUMP_BYTES ? ` (the first ${formatBytes(DUMP_BYTES)} of ${formatBytes(k.size)})` : ''}
          </summary>
          <pre className="mono" style={{ overflowX: 'auto', background: 'var(--panel)', padding: '0.5rem', borderRadius: 6 }} data-testid="kv-hex">
            {k.size === 0 ? '(empty)' : hexDump(r.bytes, DUMP_BYTES)}
          </pre>
        </details>
        <p>
          <a href={downloadHref(key)} download data-testid="kv-download">
            Download the value as a file
          </a>
        </p>
      </section>
    </>
  );
}
