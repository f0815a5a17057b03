import { problemText } from '@/app/_lib/api-types';
import type { Metadata } from 'next';
import Form from 'next/form';
import Link from 'next/link';
import { callApi, firstParam, requireOperator, seg } from '@/app/_lib/operator';
import { DeleteZoneButton } from '@/components/dns/DeleteZoneButton';
import { DnssecKeys } from '@/components/dns/DnssecKeys';
import { ImportZoneForm } from '@/components/dns/ImportZoneForm';
import { ZoneRecords } from '@/components/dns/ZoneRecords';
import { zoneApi } from '@/components/dns/zoneApi';
import { SUPPORTED_TYPES } from '@/lib/dns/presentation';
import type { DnssecZoneView, RRsetView, ZoneView } from '../actions';

export const dynamic = 'force-dynamic';

/** The most RRsets one page shows; a larger zone is narrowed with the filter. */
const MAX_SHOWN = 1000;

/** Types an RRset can be written with: what the API parses, less DNAME, which it refuses until the engine substitutes it. */
const WRITABLE_TYPES = SUPPORTED_TYPES.filter((t) => t !== 'DNAME');

type Params = Promise<{ zone: string }>;
type Search = Promise<{ q?: string | string[]; type?: string | string[] }>;

/** The zone named in the path: Next hands a page the segment still percent-encoded (a zone name may hold a "%"; e2e/dns.spec.ts checks one). */
async function zoneOf(params: Params): Promise<string> {
  const raw = (await params).zone;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const first = (v: string | string[] | undefined) => firstParam(v) ?? '';

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: `${await zoneOf(params)} · DNS · nekoq-bootstrap` };
}

/** One zone: its facts, its RRsets (filterable), the RRset editor, export and import, and deleting the zone. */
export default async function ZonePage({ params, searchParams }: { params: Params; searchParams: Search }) {
  const operator = await requireOperator();
  const zone = await zoneOf(params);
  const search = await searchParams;
  const [summary, records, dnssec] = await Promise.all([
    callApi<ZoneView>(operator, 'GET', zoneApi(zone)),
    callApi<{ zone: string; serial: number; rrsets: RRsetView[] }>(operator, 'GET', zoneApi(zone, 'records')),
    callApi<DnssecZoneView>(operator, 'GET', `/v1/dnssec/${encodeURIComponent(zone)}`),
  ]);
  if (!summary.ok || !records.ok) {
    const p = summary.problem ?? records.problem;
    return (
      <>
        <h1>
          <span className="mono" style={{ fontSize: '1em' }}>
            {zone}
          </span>
        </h1>
        <p className="error" data-testid="zone-missing">
          {p?.code === 'zone_not_found' ? `There is no zone named ${zone}.` : `The node did not answer: ${p === undefined ? 'no answer' : problemText(p)}`}
        </p>
        <p>
          <Link href="/dns">Back to the zones</Link>
        </p>
      </>
    );
  }
  const z = summary.data;
  const q = first(search.q).trim().toLowerCase();
  const type = first(search.type).trim().toUpperCase();
  const matching = records.data.rrsets.filter((r) => (q === '' || r.name.includes(q)) && (type === '' || r.type === type));
  const shown = matching.slice(0, MAX_SHOWN);
  const readOnly = z.source === 'file';
  const types = [...new Set(records.data.rrsets.map((r) => r.type))].sort();

  return (
    <>
      <p style={{ margin: 0 }}>
        <Link href="/dns">DNS</Link> <span aria-hidden="true">›</span>
      </p>
      <h1>
        <span className="sr-only">Zone </span>
        <span className="mono" style={{ fontSize: '1em', overflowWrap: 'anywhere' }} data-testid="zone-title">
          {z.name}
        </span>
      </h1>
      <dl className="facts" data-testid="zone-facts">
        <dt>Source</dt>
        <dd>{z.source === 'file' ? `zone file ${z.file ?? ''}` : 'API (stored on this node and replicated)'}</dd>
        <dt>Serial</dt>
        <dd data-testid="zone-serial">{records.data.serial}</dd>
        <dt>RRsets</dt>
        <dd data-testid="zone-rrset-count">{records.data.rrsets.length}</dd>
      </dl>
      <p className="row" style={{ marginTop: '0.75rem' }}>
        <a href={`/dns/${seg(z.name)}/export`} download data-testid="zone-export">
          Export zone file
        </a>
        <Link href={`/dns/query?name=${seg(z.name)}&type=SOA`}>Query this zone</Link>
      </p>
      {readOnly && (
        <p className="notice" data-testid="zone-read-only">
          This zone is read from a zone file named in <code>dns.zone_files</code>: it is served and exported, but changed only by editing the file.
        </p>
      )}

      <section aria-labelledby="rrsets-title">
        <h2 id="rrsets-title">RRsets</h2>
        <Form action={`/dns/${seg(z.name)}`} className="row" role="search" aria-label="Filter RRsets" style={{ marginBottom: '0.5rem' }}>
          <label>
            Owner contains
            <input type="search" name="q" defaultValue={first(search.q)} autoComplete="off" spellCheck={false} data-testid="rrset-filter" />
          </label>
          <label>
            Type
            <select name="type" defaultValue={type} data-testid="rrset-filter-type">
              <option value="">All types</option>
              {types.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="secondary">
            Filter
          </button>
          {(q !== '' || type !== '') && <Link href={`/dns/${seg(z.name)}`}>Show all</Link>}
        </Form>
        <p className="muted" aria-live="polite" data-testid="rrset-shown">
          {matching.length === records.data.rrsets.length
            ? `${matching.length} RRsets`
            : `${matching.length} of ${records.data.rrsets.length} RRsets match the filter`}
          {matching.length > shown.length ? `; the first ${shown.length} are shown — narrow the filter to see the rest.` : '.'}
        </p>
        <ZoneRecords zone={z.name} rrsets={shown} types={WRITABLE_TYPES} readOnly={readOnly} />
      </section>

      <section aria-labelledby="dnssec-title">
        <h2 id="dnssec-title">DNSSEC</h2>
        {dnssec.ok ? (
          <DnssecKeys view={dnssec.data} />
        ) : (
          <p className="muted" data-testid="dnssec-off">
            {dnssec.problem?.code === 'dnssec_off'
              ? 'Signing is off on this node ([dnssec] enabled = false): answers from this zone are not signed.'
              : `The keys could not be read: ${dnssec.problem === undefined ? 'no answer' : problemText(dnssec.problem)}`}
          </p>
        )}
      </section>

      {!readOnly && (
        <>
          <ImportZoneForm zone={z.name} />
          <section aria-labelledby="delete-zone-title">
            <h2 id="delete-zone-title">Delete the zone</h2>
            <p className="muted">Deleting removes the zone and every record in it; the node stops answering for it at once.</p>
            <DeleteZoneButton zone={z.name} rrsets={records.data.rrsets.length} />
          </section>
        </>
      )}
    </>
  );
}
