'use client';

import { useRouter } from 'next/navigation';
import { rollZsk, type DnssecZoneView } from '@/app/(manager)/dns/actions';
import { problemText } from '@/app/_lib/api-types';
import { ConfirmButton } from '@/components/ConfirmButton';

const ALGORITHMS: Record<number, string> = { 13: 'ECDSAP256SHA256', 15: 'ED25519' };
const when = (iso: string | null) => (iso === null ? '—' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

/**
 * DnssecKeys shows a signed zone's keys: the DS records for the parent (what the
 * operator copies to the registrar or the parent zone), each key's role, state
 * and timeline, its DNSKEY record, and a button that starts a ZSK rollover.
 */
export function DnssecKeys({ view }: { view: DnssecZoneView }) {
  const router = useRouter();
  const rolling = view.keys.some((k) => k.role === 'zsk' && (k.state === 'published' || k.state === 'retired'));
  return (
    <>
      <h3>DS records for the parent zone</h3>
      <pre className="mono" data-testid="dnssec-ds" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
        {view.ds.join('\n')}
      </pre>
      <div style={{ overflowX: 'auto' }}>
        <table data-testid="dnssec-keys">
          <thead>
            <tr>
              <th scope="col">Key tag</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Signs from</th>
              <th scope="col">Stops signing</th>
              <th scope="col">Removed</th>
            </tr>
          </thead>
          <tbody>
            {view.keys.map((k) => (
              <tr key={`${k.keyTag}-${k.createdAt}`} data-testid={`dnssec-key-${k.role}-${k.state}`}>
                <td className="mono">{k.keyTag}</td>
                <td>{k.role.toUpperCase()}</td>
                <td>{k.state}</td>
                <td>{ALGORITHMS[k.algorithm] ?? k.algorithm}</td>
                <td className="mono">{when(k.activateAt)}</td>
                <td className="mono">{when(k.inactiveAt)}</td>
                <td className="mono">{when(k.removeAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>DNSKEY records</summary>
        <pre className="mono" data-testid="dnssec-dnskeys" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
          {view.keys.filter((k) => k.state !== 'removed').map((k) => k.dnskey).join('\n')}
        </pre>
      </details>
      <p className="row" style={{ marginTop: '0.5rem' }}>
        <ConfirmButton
          label="Roll the ZSK"
          title={`Start a ZSK rollover of ${view.zone}?`}
          message={
            <p>
              A new zone-signing key is published now and starts signing once the DNSKEY TTL and the propagation delay have passed; the old one stays published until
              every signature it made has expired from caches. Validators see no gap. The DS records do not change.
            </p>
          }
          confirmLabel="Start the rollover"
          testId="dnssec-roll"
          className="secondary"
          onConfirm={async () => {
            const r = await rollZsk(view.zone);
            if (!r.ok) return problemText(r.problem);
            router.refresh();
            return undefined;
          }}
        />
        {rolling && <span className="muted" data-testid="dnssec-rolling">A ZSK rollover is under way.</span>}
      </p>
    </>
  );
}
