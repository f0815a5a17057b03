'use client';

import Link from 'next/link';
import { useId, useRef, useState, useTransition, type FormEvent } from 'react';
import { deleteRRset, putRRset, type RRsetView } from '@/app/(manager)/dns/actions';
import { problemText, type Problem } from '@/app/_lib/api-types';
import { ConfirmButton } from '@/components/ConfirmButton';
import { DnsName } from './DnsName';
import { ProblemMessage, thrownProblem } from './ProblemMessage';

/** An example value per type, shown as the values box's placeholder. */
const EXAMPLES: Readonly<Record<string, string>> = {
  A: '192.0.2.10',
  AAAA: '2001:db8::10',
  CAA: '0 issue "letsencrypt.org"',
  CNAME: 'target.example.net.',
  DS: '12345 13 2 <hex digest>',
  HINFO: '"x86_64" "Linux"',
  MX: '10 mail',
  NAPTR: '100 10 "S" "SIP+D2U" "" _sip._udp',
  NS: 'ns1.example.net.',
  PTR: 'host.example.net.',
  SOA: 'ns1 hostmaster 1 3600 600 1209600 300',
  SRV: '0 5 5060 sip',
  SSHFP: '4 2 <hex fingerprint>',
  TLSA: '3 1 1 <hex digest>',
  TXT: '"v=spf1 -all"',
};

/** The owner as typed in the form: "@" for the apex, relative inside the zone, absolute otherwise. */
function relativeOwner(name: string, zone: string): string {
  if (name === zone) return '@';
  return name.endsWith(`.${zone}`) ? name.slice(0, -zone.length - 1) : name;
}

interface Draft {
  owner: string;
  type: string;
  ttl: string;
  values: string;
}

const EMPTY: Draft = { owner: '', type: 'A', ttl: '', values: '' };

/**
 * ZoneRecords lists a zone's RRsets and edits them: the form adds an RRset or,
 * after Edit, replaces one (owner and type then stay fixed); Delete asks first.
 * Every refusal shows the API's own problem; a read-only zone gets no controls.
 */
export function ZoneRecords(props: { zone: string; rrsets: readonly RRsetView[]; types: readonly string[]; readOnly: boolean }) {
  const { zone, rrsets, readOnly } = props;
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [editing, setEditing] = useState<{ owner: string; type: string } | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  const [status, setStatus] = useState('');
  const [pending, startTransition] = useTransition();
  const formRef = useRef<HTMLFormElement>(null);
  const valuesRef = useRef<HTMLTextAreaElement>(null);
  const statusRef = useRef<HTMLDivElement>(null);
  const valuesHint = useId();

  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  function startEdit(r: RRsetView) {
    const owner = relativeOwner(r.name, zone);
    setDraft({ owner, type: r.type, ttl: String(r.ttl), values: r.values.join('\n') });
    setEditing({ owner, type: r.type });
    setProblem(undefined);
    setStatus(`Editing ${r.name} ${r.type}: change the TTL or the values, then save.`);
    formRef.current?.scrollIntoView({ block: 'start' });
    valuesRef.current?.focus({ preventScroll: true });
  }

  function reset(message: string) {
    setDraft(EMPTY);
    setEditing(undefined);
    setProblem(undefined);
    setStatus(message);
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const values = draft.values
      .split('\n')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    const input = { owner: draft.owner, type: draft.type, ttl: draft.ttl, values };
    setProblem(undefined);
    setStatus('Saving…');
    startTransition(async () => {
      let r: Awaited<ReturnType<typeof putRRset>>;
      try {
        r = await putRRset(zone, input);
      } catch (err) {
        r = { ok: false, problem: thrownProblem(err) };
      }
      if (r.ok) {
        const n = r.value.values.length;
        reset(`Saved ${r.value.name} ${r.value.type}: TTL ${r.value.ttl}, ${n} ${n === 1 ? 'value' : 'values'}.`);
      } else {
        setStatus('');
        setProblem(r.problem);
      }
    });
  }

  async function remove(r: RRsetView): Promise<string | undefined> {
    const answer = await deleteRRset(zone, r.name, r.type);
    if (!answer.ok) return problemText(answer.problem);
    if (editing !== undefined && editing.owner === relativeOwner(r.name, zone) && editing.type === r.type) reset('');
    setStatus(`Deleted ${r.name} ${r.type}.`);
    // The row and its button are gone: keep keyboard focus in the page, on the message that says what happened.
    setTimeout(() => statusRef.current?.focus(), 0);
    return undefined;
  }

  return (
    <>
      {!readOnly && (
        <form ref={formRef} className="stack" onSubmit={onSubmit} aria-labelledby="rrset-form-title" data-testid="rrset-form" style={{ marginBottom: '1rem' }}>
          <h3 id="rrset-form-title" data-testid="rrset-form-title">
            {editing === undefined ? 'Add an RRset' : `Edit ${editing.owner} ${editing.type}`}
          </h3>
          <div className="row">
            <label>
              Owner name
              <input
                value={draft.owner}
                onChange={(e) => set({ owner: e.target.value })}
                readOnly={editing !== undefined}
                placeholder="@ or www"
                autoComplete="off"
                spellCheck={false}
                className="mono"
                data-testid="rrset-owner"
              />
            </label>
            <label>
              Type
              {editing === undefined ? (
                <select value={draft.type} onChange={(e) => set({ type: e.target.value })} data-testid="rrset-type">
                  {props.types.map((t) => (
                    <option key={t} value={t}>
                      {t}
                    </option>
                  ))}
                </select>
              ) : (
                <input value={draft.type} readOnly size={6} className="mono" data-testid="rrset-type" />
              )}
            </label>
            <label>
              TTL in seconds
              <input
                type="number"
                min={0}
                max={2147483647}
                step={1}
                inputMode="numeric"
                value={draft.ttl}
                onChange={(e) => set({ ttl: e.target.value })}
                placeholder="3600"
                style={{ width: '9rem' }}
                data-testid="rrset-ttl"
              />
            </label>
          </div>
          <label>
            Values, one record per line
            <textarea
              ref={valuesRef}
              rows={Math.min(12, Math.max(3, draft.values.split('\n').length + 1))}
              value={draft.values}
              onChange={(e) => set({ values: e.target.value })}
              placeholder={EXAMPLES[draft.type] ?? ''}
              required
              spellCheck={false}
              className="mono"
              aria-describedby={valuesHint}
              data-testid="rrset-values"
            />
          </label>
          <p id={valuesHint} className="muted" style={{ margin: 0 }}>
            Zone-file presentation format. Saving replaces every record of this owner and type. Names without a final dot are relative to <code>{zone}</code>
          </p>
          <div className="row">
            <button type="submit" disabled={pending} data-testid="rrset-save">
              {pending ? 'Saving…' : editing === undefined ? 'Add RRset' : 'Save RRset'}
            </button>
            {editing !== undefined && (
              <button type="button" className="secondary" onClick={() => reset('Edit cancelled.')} data-testid="rrset-cancel">
                Cancel edit
              </button>
            )}
          </div>
          <div ref={statusRef} tabIndex={-1} aria-live="polite" data-testid="rrset-status">
            {problem !== undefined ? <ProblemMessage problem={problem} testId="rrset-error" /> : status !== '' && <p className="ok" style={{ margin: 0 }}>{status}</p>}
          </div>
        </form>
      )}

      {rrsets.length > 0 && (
        <div className="table-wrap">
          <table data-testid="rrset-table">
            <caption className="sr-only">RRsets of {zone}</caption>
            <thead>
              <tr>
                <th scope="col">Owner</th>
                <th scope="col">Type</th>
                <th scope="col" className="num">
                  TTL
                </th>
                <th scope="col">Values</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rrsets.map((r) => {
                const owner = relativeOwner(r.name, zone);
                const label = `${owner} ${r.type}`;
                return (
                  <tr key={`${r.name} ${r.type}`} data-testid={`rrset-${owner}-${r.type}`}>
                    <th scope="row" className="mono" style={{ fontWeight: 'normal', whiteSpace: 'normal', overflowWrap: 'break-word' }} title={r.name}>
                      <DnsName name={owner} />
                    </th>
                    <td className="mono">{r.type}</td>
                    <td className="num">{r.ttl}</td>
                    <td className="mono" style={{ overflowWrap: 'anywhere', minWidth: '8rem' }} data-testid={`rrset-values-${owner}-${r.type}`}>
                      {r.values.map((v, i) => (
                        <div key={i}>{v}</div>
                      ))}
                    </td>
                    <td>
                      <div className="row" style={{ gap: '0.25rem 0.5rem', alignItems: 'center' }}>
                        <Link href={`/dns/query?name=${encodeURIComponent(r.name)}&type=${encodeURIComponent(r.type)}`} aria-label={`Query ${label}`}>
                          Query
                        </Link>
                        {!readOnly && (
                          <>
                            <button type="button" className="secondary small" onClick={() => startEdit(r)} aria-label={`Edit ${label}`} data-testid={`rrset-edit-${owner}-${r.type}`}>
                              Edit
                            </button>
                            {r.type !== 'SOA' && (
                              <ConfirmButton
                                label="Delete"
                                ariaLabel={`Delete ${label}`}
                                className="danger small"
                                title={`Delete ${r.name} ${r.type}?`}
                                message={
                                  <p>
                                    The {r.values.length === 1 ? 'record' : `${r.values.length} records`} of <code>{r.name}</code> {r.type} will be removed and the node stops answering with{' '}
                                    {r.values.length === 1 ? 'it' : 'them'} at once.
                                  </p>
                                }
                                confirmLabel="Delete RRset"
                                onConfirm={() => remove(r)}
                                testId={`rrset-delete-${owner}-${r.type}`}
                              />
                            )}
                          </>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
