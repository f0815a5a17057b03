import { problemText } from '@/app/_lib/api-types';
import type { Metadata } from 'next';
import Link from 'next/link';
import { callApi, requireOperator, seg } from '@/app/_lib/operator';
import { AutoRefresh } from '@/components/AutoRefresh';
import { CreateZoneForm } from '@/components/dns/CreateZoneForm';
import type { DnssecZoneView, ZoneView } from './actions';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'DNS · nekoq-bootstrap' };

/** DNS: the operator zones (GET /v1/zones) with a link to each, a form to create one, and the way to the query tester. */
export default async function DnsPage() {
  const operator = await requireOperator();
  const [r, dnssec] = await Promise.all([
    callApi<{ zones: ZoneView[] }>(operator, 'GET', '/v1/zones'),
    callApi<{ enabled: boolean; validating: boolean; zones: DnssecZoneView[] }>(operator, 'GET', '/v1/dnssec'),
  ]);
  return (
    <>
      <AutoRefresh everyMs={10000} />
      <h1>DNS</h1>
      <p>
        <Link href="/dns/query" data-testid="dns-query-link">
          Ask the DNS engine a question
        </Link>{' '}
        <span className="muted">— the query tester shows every section of the answer.</span>
      </p>
      <section aria-labelledby="zones-title">
        <h2 id="zones-title">Zones</h2>
        {!r.ok ? (
          <p className="error">The node did not list its zones: {problemText(r.problem!)}</p>
        ) : r.data.zones.length === 0 ? (
          <p className="muted" data-testid="zones-empty">
            No operator zones yet. Create one below, or name zone files in <code>dns.zone_files</code>.
          </p>
        ) : (
          <div className="table-wrap">
            <table data-testid="zones-table">
              <caption className="sr-only">Operator zones</caption>
              <thead>
                <tr>
                  <th scope="col">Zone</th>
                  <th scope="col">Source</th>
                  <th scope="col" className="num">
                    Serial
                  </th>
                  <th scope="col" className="num">
                    RRsets
                  </th>
                </tr>
              </thead>
              <tbody>
                {r.data.zones.map((z) => (
                  <tr key={z.name} data-testid={`zone-row-${z.name}`}>
                    <th scope="row" style={{ fontWeight: 'normal' }}>
                      <Link href={`/dns/${seg(z.name)}`} className="mono" data-testid={`zone-link-${z.name}`}>
                        {z.name}
                      </Link>
                    </th>
                    <td>
                      {z.source === 'file' ? (
                        <>
                          <span className="tag">file</span> <span className="mono" style={{ overflowWrap: 'anywhere' }}>{z.file}</span>
                        </>
                      ) : (
                        <span className="tag">api</span>
                      )}
                    </td>
                    <td className="num">{z.serial}</td>
                    <td className="num">{z.rrsets}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <CreateZoneForm />
      {dnssec.ok && (
        <section aria-labelledby="dnssec-title">
          <h2 id="dnssec-title">DNSSEC</h2>
          <p className="muted" data-testid="dnssec-summary">
            Signing {dnssec.data.enabled ? 'on' : 'off'} ([dnssec] enabled); the resolver {dnssec.data.validating ? 'validates' : 'does not validate'} ([recursion] mode and [dnssec] trust_anchors).
            {dnssec.data.enabled && ' Give each zone’s parent its DS records; a zone’s page shows its keys and starts ZSK rollovers.'}
          </p>
          {dnssec.data.zones.length > 0 && (
            <pre className="mono" data-testid="dnssec-all-ds" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
              {dnssec.data.zones.flatMap((z) => z.ds).join('\n')}
            </pre>
          )}
        </section>
      )}
    </>
  );
}
