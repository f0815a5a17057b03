'use client';

import { useEffect, useMemo, useState } from 'react';
import { deregisterInstance } from '@/app/(manager)/services/actions';
import { problemText, type InstanceView, type ServicesAnswer } from '@/app/_lib/api-types';
import { ConfirmButton } from '@/components/ConfirmButton';
import { formatElapsed } from '@/components/format';

type Live = 'live' | 'reconnecting';

/**
 * ServiceBrowser lists the live instances by type and service and keeps the list
 * current without a reload: it holds a blocking query open (/ui/services?index=N)
 * and re-renders on each answer. Leases count down each second.
 */
export function ServiceBrowser({ initial }: { initial: ServicesAnswer }) {
  const [data, setData] = useState(initial);
  const [live, setLive] = useState<Live>('live');
  const [type, setType] = useState('');
  const [filter, setFilter] = useState('');
  const now = useNow(1000);

  useEffect(() => {
    const stop = new AbortController();
    let index = initial.index;
    let delay = 500;
    void (async () => {
      while (!stop.signal.aborted) {
        const asked = Date.now();
        try {
          const res = await fetch(`/ui/services?index=${index}`, { signal: stop.signal, cache: 'no-store' });
          if (res.status === 401) {
            window.location.assign('/login');
            return;
          }
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          const next = (await res.json()) as ServicesAnswer;
          if (stop.signal.aborted) return;
          // An unchanged answer that came at once (a node shutting down answers every wait at once): slow down.
          const unchanged = next.index === index;
          // A smaller index means the node restarted with other data: take it whole.
          index = next.index;
          setData(next);
          setLive('live');
          if (unchanged && Date.now() - asked < 1000) {
            await new Promise((r) => setTimeout(r, delay));
            delay = Math.min(delay * 2, 5000);
          } else {
            delay = 500;
          }
        } catch {
          if (stop.signal.aborted) return;
          setLive('reconnecting');
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 5000);
        }
      }
    })();
    return () => stop.abort();
  }, [initial.index]);

  const types = useMemo(() => [...new Set(data.services.map((s) => s.type))].sort(), [data]);
  const needle = filter.trim().toLowerCase();
  const shown = data.services
    .filter((s) => type === '' || s.type === type)
    .map((s) => ({ ...s, instances: s.instances.filter((i) => needle === '' || matches(i, needle)) }))
    .filter((s) => s.instances.length > 0);
  const total = shown.reduce((n, s) => n + s.instances.length, 0);
  const byType = new Map<string, typeof shown>();
  for (const s of shown) byType.set(s.type, [...(byType.get(s.type) ?? []), s]);

  return (
    <>
      <form className="row" role="search" aria-label="Filter instances" onSubmit={(e) => e.preventDefault()}>
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.target.value)} data-testid="services-type">
            <option value="">All types</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Filter
          <input
            type="search"
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            placeholder="name, id, address, tag, meta"
            data-testid="services-filter"
          />
        </label>
      </form>
      <p className="muted" data-testid="services-summary">
        <span role="status" aria-live="polite">
          {total} live instance{total === 1 ? '' : 's'}
          {shown.length !== data.services.length || needle !== '' ? ' match' : ''} ·{' '}
          {live === 'live' ? <span className="ok">live</span> : <span className="warn">reconnecting…</span>}
        </span>{' '}
        · index {data.index}
      </p>
      {byType.size === 0 ? (
        <p className="muted" data-testid="services-empty">
          {data.services.length === 0 ? 'No instances are registered.' : 'No instance matches the filter.'}
        </p>
      ) : (
        [...byType].map(([t, services]) => (
          <section key={t} aria-labelledby={`type-${t}`} data-testid={`type-${t}`}>
            <h2 id={`type-${t}`}>{t}</h2>
            {services.map((s) => (
              <div key={s.name} className="table-wrap" role="region" aria-label={`${s.name}.${t}`} tabIndex={0}>
                <table data-testid={`service-${t}-${s.name}`}>
                  <caption className="muted" style={{ textAlign: 'left' }}>
                    {s.name}.{t} · {s.instances.length} instance{s.instances.length === 1 ? '' : 's'}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Instance</th>
                      <th scope="col">Address</th>
                      <th scope="col">Tags</th>
                      <th scope="col">Meta</th>
                      <th scope="col">Lease</th>
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.instances.map((i) => (
                      <InstanceRow key={i.id} instance={i} now={now} />
                    ))}
                  </tbody>
                </table>
              </div>
            ))}
          </section>
        ))
      )}
    </>
  );
}

function InstanceRow({ instance: i, now }: { instance: InstanceView; now: number | null }) {
  const left = i.expiresAt === null ? undefined : Date.parse(i.expiresAt) - (now ?? Date.parse(i.renewedAt));
  return (
    <tr data-testid={`instance-${i.id}`}>
      <th scope="row" className="mono">
        {i.id}
      </th>
      <td className="mono">
        {i.address.includes(':') ? `[${i.address}]` : i.address}:{i.port}/{i.protocol}
        <div className="muted">
          weight {i.weight} · priority {i.priority}
        </div>
      </td>
      <td>
        {i.tags.length === 0 ? <span className="muted">none</span> : i.tags.map((t) => <span key={t} className="tag">{t}</span>)}
      </td>
      <td className="mono">
        {Object.keys(i.meta).length === 0 ? (
          <span className="muted">none</span>
        ) : (
          Object.entries(i.meta).map(([k, v]) => (
            <div key={k}>
              {k}={v}
            </div>
          ))
        )}
      </td>
      <td data-testid="lease">
        {left === undefined ? (
          <span className="muted" title="The node that owns this instance holds its lease">
            held by {i.node}
          </span>
        ) : (
          <span className={left < 5000 ? 'warn' : undefined} title={`TTL ${i.ttl}s, renewed ${i.renewedAt}`}>
            {left > 0 ? `${formatElapsed(left)} left` : 'expiring'}
          </span>
        )}
      </td>
      <td>
        <ConfirmButton
          label="Deregister"
          ariaLabel={`Deregister ${i.id} of ${i.name}.${i.type}`}
          className="danger small"
          title={`Deregister ${i.id}?`}
          message={
            <p>
              {i.id} ({i.address}:{i.port}) leaves {i.name}.{i.type} at once: DNS stops answering with it and watchers are told. A running
              instance that still sends heartbeats will register again.
            </p>
          }
          confirmLabel="Deregister"
          testId={`deregister-${i.id}`}
          onConfirm={async () => {
            const r = await deregisterInstance(i.type, i.name, i.id);
            return r.ok ? undefined : problemText(r.problem);
          }}
        />
      </td>
    </tr>
  );
}

function matches(i: InstanceView, needle: string): boolean {
  const hay = [i.name, i.id, i.address, String(i.port), i.node, ...i.tags, ...Object.entries(i.meta).map(([k, v]) => `${k}=${v}`)];
  return hay.some((h) => h.toLowerCase().includes(needle));
}

/** useNow returns the time, refreshed every `everyMs`; null in the server's render (so that hydration matches). */
function useNow(everyMs: number): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
