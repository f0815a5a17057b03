'use client';

import { useId, useState, type ChangeEvent } from 'react';
import { importZone } from '@/app/(manager)/dns/actions';
import type { Problem } from '@/app/_lib/api-types';
import { ConfirmButton } from '@/components/ConfirmButton';
import { ProblemMessage, thrownProblem } from './ProblemMessage';

/** The most a zone file sent through the manager may weigh: Next's limit on a server action's body (the API itself takes 8 MiB). */
const MAX_IMPORT_BYTES = 1024 * 1024 - 16 * 1024;

/**
 * ImportZoneForm replaces a zone with a zone file pasted, chosen from disk or
 * started from the current export; after the operator confirms, it shows the
 * API's answer: the new serial and RRset count, or the line of the first error.
 */
export function ImportZoneForm({ zone }: { zone: string }) {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<Problem | undefined>();
  const [status, setStatus] = useState('');
  const textId = useId();
  const hintId = useId();

  const note = (message: string) => {
    setProblem(undefined);
    setStatus(message);
  };

  async function onFile(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    if (file === undefined) return;
    if (file.size > MAX_IMPORT_BYTES) {
      note('');
      setProblem({ code: 'body_too_large', title: `${file.name} is ${file.size} bytes; the manager imports files up to 1 MiB — send larger ones to POST /v1/zones/{zone}/import`, status: 413 });
      return;
    }
    setText(await file.text());
    note(`Loaded ${file.name} (${file.size} bytes); review it, then import.`);
  }

  async function loadCurrent() {
    note('Loading the current zone file…');
    try {
      const res = await fetch(`/dns/${encodeURIComponent(zone)}/export`, { cache: 'no-store' });
      const body = await res.text();
      if (!res.ok) throw new Error(body || `HTTP ${res.status}`);
      setText(body);
      note('Loaded the current zone file; edit it, then import.');
    } catch (err) {
      note('');
      setProblem(thrownProblem(err));
    }
  }

  async function run(): Promise<string | undefined> {
    if (text.trim() === '') return 'Paste a zone file or choose one first.';
    if (new TextEncoder().encode(text).length > MAX_IMPORT_BYTES) return 'The zone file is over 1 MiB: send it to the API (POST /v1/zones/{zone}/import) instead.';
    note('Importing…');
    try {
      const r = await importZone(zone, text);
      if (r.ok) note(`Imported: ${r.value.name} now holds ${r.value.rrsets} RRsets at serial ${r.value.serial}.`);
      else {
        note('');
        setProblem(r.problem);
      }
    } catch (err) {
      note('');
      setProblem(thrownProblem(err));
    }
    return undefined;
  }

  const lines = text.split('\n').filter((l) => l.trim() !== '').length;
  return (
    <section aria-labelledby="import-title" data-testid="zone-import">
      <h2 id="import-title">Import a zone file</h2>
      <p className="muted" id={hintId}>
        Import replaces the whole zone: RRsets not in the file are removed. The file must hold the zone&apos;s SOA; names without a final dot are relative to{' '}
        <code>{zone}</code> unless it sets <code>$ORIGIN</code>. <code>$INCLUDE</code> and <code>$GENERATE</code> are refused.
      </p>
      <div style={{ display: 'grid', gap: '0.6rem', maxWidth: '48rem' }}>
        <div className="row">
          <label>
            Zone file from disk
            <input type="file" accept=".zone,.txt,.db,text/plain,text/dns" onChange={(e) => void onFile(e)} data-testid="zone-import-file" />
          </label>
          <button type="button" className="secondary" onClick={() => void loadCurrent()} data-testid="zone-import-load">
            Start from the current zone
          </button>
        </div>
        <label htmlFor={textId}>Zone file text</label>
        <textarea
          id={textId}
          rows={10}
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
          className="mono"
          aria-describedby={hintId}
          placeholder={`$ORIGIN ${zone}\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 3600 600 1209600 300\n@ IN NS ns1\nwww IN A 192.0.2.10`}
          data-testid="zone-import-text"
        />
        <div className="row">
          <ConfirmButton
            label="Import…"
            className=""
            title={`Replace ${zone}?`}
            message={
              <p>
                Every RRset of <code>{zone}</code> is replaced by what this file holds ({lines} non-blank lines), here and on the peers. Nothing changes if the file has an
                error.
              </p>
            }
            confirmLabel="Replace the zone"
            onConfirm={run}
            testId="zone-import-submit"
          />
        </div>
        <div aria-live="polite" data-testid="zone-import-status">
          {problem !== undefined ? <ProblemMessage problem={problem} testId="zone-import-error" /> : status !== '' && <p className="ok" style={{ margin: 0 }}>{status}</p>}
        </div>
      </div>
    </section>
  );
}
