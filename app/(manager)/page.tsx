import { type NodeAnswer, type PeersAnswer, problemText } from '@/app/_lib/api-types';
import { callApi, requireOperator } from '@/app/_lib/operator';
import { AutoRefresh } from '@/components/AutoRefresh';
import { formatElapsed } from '@/components/format';
import { StateBadge } from '@/components/StateBadge';

export const dynamic = 'force-dynamic';

/** The overview: this node, its listeners, what it holds, and its peers at a glance (GET /v1/node and /v1/peers). */
export default async function OverviewPage() {
  const operator = await requireOperator();
  const [node, peers] = await Promise.all([callApi<NodeAnswer>(operator, 'GET', '/v1/node'), callApi<PeersAnswer>(operator, 'GET', '/v1/peers')]);
  if (!node.ok || !peers.ok) return <p className="error">The node did not answer: {problemText((node.problem ?? peers.problem)!)}</p>;
  const n = node.data;
  const counts = [
    ['Service types', n.counts.serviceTypes, 'count-types'],
    ['Services', n.counts.services, 'count-services'],
    ['Live instances', n.counts.instances, 'count-instances'],
    ['Zones', n.counts.zones, 'count-zones'],
    ['RRsets', n.counts.rrsets, 'count-rrsets'],
    ['KV keys', n.counts.kvKeys, 'count-kv'],
  ] as const;
  return (
    <>
      <AutoRefresh everyMs={5000} />
      <h1>Overview</h1>
      <section aria-labelledby="node-title">
        <h2 id="node-title">This node</h2>
        <dl className="facts" data-testid="node-facts">
          <dt>Node</dt>
          <dd data-testid="node-name">{n.node}</dd>
          <dt>Version</dt>
          <dd>{n.version}</dd>
          <dt>Uptime</dt>
          <dd data-testid="node-uptime">{formatElapsed(n.uptimeSeconds * 1000)}</dd>
          <dt>Ready</dt>
          <dd>{n.ready ? 'yes' : 'no'}</dd>
          <dt>Cluster</dt>
          <dd>
            {n.cluster.name}
            {n.cluster.observer ? ' (observer)' : ''}
          </dd>
          {n.listeners.map((l) => (
            <div key={l.name} className="contents">
              <dt>{l.name.toUpperCase()}</dt>
              <dd>{l.address}</dd>
            </div>
          ))}
        </dl>
      </section>
      <section aria-labelledby="counts-title">
        <h2 id="counts-title">What it holds</h2>
        <ul className="tiles" data-testid="counts">
          {counts.map(([label, value, id]) => (
            <li key={id}>
              <span className="tile-value" data-testid={id}>
                {value}
              </span>
              <span className="muted">{label}</span>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="peers-title">
        <h2 id="peers-title">Peers</h2>
        {peers.data.peers.length === 0 ? (
          <p className="muted">No peers are configured: this node runs alone.</p>
        ) : (
          <ul className="peer-glance" data-testid="peer-glance">
            {peers.data.peers.map((p) => (
              <li key={p.name}>
                {p.name} <StateBadge state={p.state} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
