import { DnsName } from './DnsName';

/** One record of a DNS answer, in presentation form (the class shows only in the text form: the tester asks class IN). */
export interface RecordRow {
  name: string;
  ttl: number;
  class: string;
  type: string;
  data: string;
}

/** A DNS response as the query tester shows it: header, EDNS and the three record sections. */
export interface AnswerView {
  id: number;
  rcode: string;
  flags: string[];
  question: string;
  answer: RecordRow[];
  authority: RecordRow[];
  additional: RecordRow[];
  edns: { version: number; udp: number; flags: string[]; options: string[] } | undefined;
  bytes: number;
  maxAge: string | undefined;
}

const SECTIONS = [
  ['answer', 'Answer'],
  ['authority', 'Authority'],
  ['additional', 'Additional'],
] as const;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** summaryLine is the one line a screen reader hears when an answer arrives: rcode, flags and section sizes. */
export function summaryLine(a: AnswerView): string {
  return `${a.rcode}, flags ${a.flags.join(' ') || 'none'}${a.edns?.flags.includes('do') ? ', DO' : ''}: ${plural(a.answer.length, 'answer')}, ${plural(a.authority.length, 'authority record')}, ${plural(a.additional.length, 'additional record')}.`;
}

function RecordTable({ rows, label, id }: { rows: readonly RecordRow[]; label: string; id: string }) {
  if (rows.length === 0)
    return (
      <p className="muted" data-testid={`query-section-${id}`}>
        Empty.
      </p>
    );
  return (
    <div className="table-wrap">
      <table data-testid={`query-section-${id}`}>
        <caption className="sr-only">{label} section</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col" className="num">
              TTL
            </th>
            <th scope="col">Type</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td className="mono" style={{ overflowWrap: 'break-word' }}>
                <DnsName name={r.name} />
              </td>
              <td className="num">{r.ttl}</td>
              <td className="mono">{r.type}</td>
              <td className="mono" style={{ overflowWrap: 'anywhere', minWidth: '8rem' }}>
                {r.data}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** asText writes the answer much as dig prints it, for copying. */
function asText(a: AnswerView): string {
  const line = (r: RecordRow) => `${r.name}\t${r.ttl}\t${r.class}\t${r.type}\t${r.data}`;
  const out = [`;; ->>HEADER<<- status: ${a.rcode}, id: ${a.id}`, `;; flags: ${a.flags.join(' ')}`];
  if (a.edns !== undefined) out.push(`;; EDNS: version: ${a.edns.version}; flags: ${a.edns.flags.join(' ')}; udp: ${a.edns.udp}`, ...a.edns.options.map((o) => `;; ${o}`));
  out.push('', ';; QUESTION SECTION:', `;${a.question}`);
  for (const [key, title] of SECTIONS) {
    if (a[key].length > 0) out.push('', `;; ${title.toUpperCase()} SECTION:`, ...a[key].map(line));
  }
  return out.join('\n');
}

/** QueryAnswer shows one DNS response: status, header flags, EDNS, then the answer, authority and additional sections. */
export function QueryAnswer({ answer: a }: { answer: AnswerView }) {
  return (
    <section aria-labelledby="query-answer-title" data-testid="query-answer">
      <h2 id="query-answer-title">The answer</h2>
      <dl className="facts">
        <dt>Question</dt>
        <dd className="mono" data-testid="query-question">
          {a.question}
        </dd>
        <dt>Status</dt>
        <dd>
          <strong className={a.rcode === 'NOERROR' ? 'ok' : 'error'} data-testid="query-rcode">
            {a.rcode}
          </strong>
        </dd>
        <dt>Flags</dt>
        <dd data-testid="query-flags">
          {a.flags.map((f) => (
            <span key={f} className="tag mono">
              {f}
            </span>
          ))}
        </dd>
        <dt>EDNS</dt>
        <dd data-testid="query-edns">
          {a.edns === undefined ? (
            <span className="muted">none in the answer</span>
          ) : (
            <>
              version {a.edns.version}, UDP payload {a.edns.udp} bytes
              {a.edns.flags.length > 0 && (
                <>
                  , flags{' '}
                  {a.edns.flags.map((f) => (
                    <span key={f} className="tag mono" data-testid={`query-edns-flag-${f}`}>
                      {f}
                    </span>
                  ))}
                </>
              )}
              {a.edns.options.map((o) => (
                <div key={o} className="mono">
                  {o}
                </div>
              ))}
            </>
          )}
        </dd>
        <dt>Size</dt>
        <dd>{a.bytes} bytes</dd>
        {a.maxAge !== undefined && (
          <>
            <dt>DoH cache</dt>
            <dd className="mono">max-age={a.maxAge}</dd>
          </>
        )}
      </dl>
      {SECTIONS.map(([key, title]) => (
        <div key={key}>
          <h3>
            {title} <span className="muted">({a[key].length})</span>
          </h3>
          <RecordTable rows={a[key]} label={title} id={key} />
        </div>
      ))}
      <details style={{ marginTop: '1rem' }}>
        <summary>As text</summary>
        <pre className="mono" style={{ overflowX: 'auto', whiteSpace: 'pre' }} data-testid="query-text">
          {asText(a)}
        </pre>
      </details>
    </section>
  );
}
