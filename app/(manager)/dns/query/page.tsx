import { randomInt } from 'node:crypto';
import * as dnsPacket from 'dns-packet';
import type { Metadata } from 'next';
import Form from 'next/form';
import Link from 'next/link';
import { problemText } from '@/app/_lib/api-types';
import { callApi, firstParam, requireOperator } from '@/app/_lib/operator';
import { QueryAnswer, summaryLine, type AnswerView, type RecordRow } from '@/components/dns/QueryAnswer';
import { rcodeName, typeName, typeNumber } from '@/lib/dns/constants';
import { formatName, formatRdata, parseName } from '@/lib/dns/presentation';

export const dynamic = 'force-dynamic';

export const metadata: Metadata = { title: 'DNS query tester · nekoq-bootstrap' };

/** The types offered in the type box; any other mnemonic or TYPE<n> may be typed. */
const COMMON_TYPES = ['A', 'AAAA', 'ANY', 'CAA', 'CNAME', 'DNSKEY', 'DS', 'HINFO', 'HTTPS', 'MX', 'NAPTR', 'NS', 'PTR', 'SOA', 'SRV', 'SSHFP', 'SVCB', 'TLSA', 'TXT'];

/** The EDNS payload size the tester advertises (the same as dig's default and the engine's). */
const UDP_PAYLOAD = 1232;

/** Extended DNS Error codes (RFC 8914 §4) by number. */
const EDE_NAMES = [
  'Other',
  'Unsupported DNSKEY Algorithm',
  'Unsupported DS Digest Type',
  'Stale Answer',
  'Forged Answer',
  'DNSSEC Indeterminate',
  'DNSSEC Bogus',
  'Signature Expired',
  'Signature Not Yet Valid',
  'DNSKEY Missing',
  'RRSIGs Missing',
  'No Zone Key Bit Set',
  'NSEC Missing',
  'Cached Error',
  'Not Ready',
  'Blocked',
  'Censored',
  'Filtered',
  'Prohibited',
  'Stale NXDOMAIN Answer',
  'Not Authoritative',
  'Not Supported',
  'No Reachable Authority',
  'Network Error',
  'Invalid Data',
];

type Search = Promise<{ name?: string | string[]; type?: string | string[]; do?: string | string[] }>;


/** The question the form asked, checked: an absolute name in the internal form and a type number; or what is wrong with it. */
function readQuestion(nameText: string, typeText: string): { name: string; type: number } | { error: string } {
  const type = typeNumber(typeText.trim());
  if (type === undefined) return { error: `Type "${typeText.slice(0, 20)}" is not a record type: write a mnemonic such as A, MX or SOA, or TYPE<number>.` };
  const text = nameText.trim();
  try {
    return { name: parseName(text.endsWith('.') ? text : `${text}.`, undefined), type };
  } catch (err) {
    return { error: `Name: ${(err as Error).message}` };
  }
}

/** typeOf names a decoded record's type the way the engine does (dns-packet writes UNKNOWN_<n> for types it does not know). */
function typeOf(type: string): string {
  const m = /^UNKNOWN_(\d+)$/.exec(type);
  return m === null ? type : typeName(Number(m[1]));
}

function dataText(type: string, data: unknown): string {
  try {
    return formatRdata(type, data);
  } catch {
    if (Buffer.isBuffer(data)) return data.length === 0 ? '\\# 0' : `\\# ${data.length} ${data.toString('hex').toUpperCase()}`;
    return JSON.stringify(data, (_k, v: unknown) => (typeof v === 'object' && v !== null && (v as { type?: string }).type === 'Buffer' ? '(bytes)' : v));
  }
}

function rows(records: readonly dnsPacket.Answer[] | undefined): RecordRow[] {
  return (records ?? [])
    .filter((r) => r.type !== 'OPT')
    .map((r) => {
      const rr = r as dnsPacket.Answer & { ttl?: number; class?: string; data?: unknown };
      const type = typeOf(rr.type);
      return { name: formatName(rr.name), ttl: rr.ttl ?? 0, class: rr.class ?? 'IN', type, data: dataText(type, rr.data) };
    });
}

function optionText(o: { code: number; data?: Buffer }): string {
  if (o.code === 15 && o.data !== undefined && o.data.length >= 2) {
    const info = o.data.readUInt16BE(0);
    const extra = o.data.subarray(2).toString('utf8');
    return `EDE: ${info} (${EDE_NAMES[info] ?? 'unassigned'})${extra === '' ? '' : `: ${extra}`}`;
  }
  return `option ${o.code}: ${o.data === undefined ? '' : o.data.toString('hex')}`;
}

/** decodeAnswer turns the engine's wire answer into what the page shows. */
function decodeAnswer(wire: Buffer, maxAge: string | undefined): AnswerView {
  const p = dnsPacket.decode(wire);
  const flags = (
    [
      ['qr', p.flag_qr],
      ['aa', p.flag_aa],
      ['tc', p.flag_tc],
      ['rd', p.flag_rd],
      ['ra', p.flag_ra],
      ['ad', p.flag_ad],
      ['cd', p.flag_cd],
    ] as const
  )
    .filter(([, on]) => on)
    .map(([f]) => f);
  const opt = (p.additionals ?? []).find((r): r is dnsPacket.OptAnswer => r.type === 'OPT');
  const rcode = ((opt?.extendedRcode ?? 0) << 4) | ((p.flags ?? 0) & 0xf);
  const q = p.questions?.[0];
  return {
    id: p.id ?? 0,
    rcode: rcodeName(rcode),
    flags,
    question: q === undefined ? '(none)' : `${formatName(q.name)} ${q.class ?? 'IN'} ${typeOf(q.type)}`,
    answer: rows(p.answers),
    authority: rows(p.authorities),
    additional: rows(p.additionals),
    edns:
      opt === undefined
        ? undefined
        : {
            version: opt.ednsVersion,
            udp: opt.udpPayloadSize,
            flags: opt.flag_do ? ['do'] : [],
            options: (opt.options as unknown as { code: number; data?: Buffer }[]).map(optionText),
          },
    bytes: wire.length,
    maxAge,
  };
}

/** ask puts one question to the engine through the appliance's DoH route and decodes the answer; a string says why there is none. */
async function ask(operator: string, name: string, type: number, dnssec: boolean): Promise<AnswerView | string> {
  const query = dnsPacket.encode({
    type: 'query',
    id: randomInt(0, 0x10000),
    flags: 0,
    questions: [{ name, type: `UNKNOWN_${type}` as dnsPacket.RecordType, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UDP_PAYLOAD, flags: dnssec ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as dnsPacket.Answer],
  });
  const r = await callApi(operator, 'POST', '/dns-query', { body: { data: query, contentType: 'application/dns-message' } });
  if (!r.ok) return r.problem === undefined ? `HTTP ${r.status}` : problemText(r.problem);
  const maxAge = /max-age=(\d+)/.exec(r.headers['cache-control'] ?? '')?.[1];
  try {
    return decodeAnswer(Buffer.from(r.bytes), maxAge);
  } catch (err) {
    return `The answer could not be decoded: ${(err as Error).message}`;
  }
}

/**
 * The query tester: asks this node's DNS engine one question (name, type, DO bit)
 * as a DNS-over-HTTPS client would, and shows every section of the answer. The
 * question lives in the URL, so an answer can be linked to and asked again.
 */
export default async function QueryPage({ searchParams }: { searchParams: Search }) {
  const operator = await requireOperator();
  const search = await searchParams;
  const nameText = firstParam(search.name) ?? '';
  const typeText = (firstParam(search.type) ?? 'A').toUpperCase();
  const dnssec = firstParam(search.do) !== undefined;
  let result: AnswerView | string | undefined;
  if (nameText.trim() !== '') {
    const q = readQuestion(nameText, typeText);
    result = 'error' in q ? q.error : await ask(operator, q.name, q.type, dnssec);
  }

  return (
    <>
      <p style={{ margin: 0 }}>
        <Link href="/dns">DNS</Link> <span aria-hidden="true">›</span>
      </p>
      <h1>Query tester</h1>
      <p className="muted">
        Asks this node&apos;s DNS engine, the one behind UDP, TCP and DNS-over-HTTPS, with EDNS ({UDP_PAYLOAD}-byte payload) and recursion not desired. Names are
        taken as absolute.
      </p>
      <Form action="/dns/query" className="row" aria-label="Ask a question" data-testid="query-form">
        <label>
          Name
          <input name="name" defaultValue={nameText} required autoComplete="off" spellCheck={false} className="mono" placeholder="www.example.com." style={{ minWidth: '16rem' }} data-testid="query-name" />
        </label>
        <label>
          Type
          <input name="type" defaultValue={typeText} list="query-types" required autoComplete="off" spellCheck={false} className="mono" size={8} data-testid="query-type" />
          <datalist id="query-types">
            {COMMON_TYPES.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
        </label>
        <label className="inline">
          <input type="checkbox" name="do" value="1" defaultChecked={dnssec} data-testid="query-do" />
          DNSSEC OK (DO bit)
        </label>
        <button type="submit" data-testid="query-submit">
          Ask
        </button>
      </Form>
      <div aria-live="polite" data-testid="query-status" style={{ marginTop: '0.75rem' }}>
        {typeof result === 'string' ? (
          <p className="error" data-testid="query-error">
            {result}
          </p>
        ) : result !== undefined ? (
          <p data-testid="query-summary">{summaryLine(result)}</p>
        ) : null}
      </div>
      {typeof result === 'object' && <QueryAnswer answer={result} />}
    </>
  );
}
