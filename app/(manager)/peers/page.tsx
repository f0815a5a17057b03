import { type PeersAnswer, type PeerView, problemText } from '@/app/_lib/api-types';
import { callApi, requireOperator } from '@/app/_lib/operator';
import { AutoRefresh } from '@/components/AutoRefresh';
import { formatAgo, formatBytes, formatElapsed } from '@/components/format';
import { StateBadge } from '@/components/StateBadge';

export const dynamic = 'force-dynamic';

/** States in which what this node holds from a peer may be out of date. */
const DOUBTFUL = new Set<PeerView['state']>(['unreachable', 'stale', 'syncing']);

/** Peers: each listed peer's pull state, lag, last sync, errors, and how much of its data this node holds (GET /v1/peers). */
export default async function PeersPage() {
  const operator = await requireOperator();
  const r = await callApi<PeersAnswer>(operator, 'GET', '/v1/peers');
  if (!r.ok) return <p className="error">The node did not answer: {problemText(r.problem!)}</p>;
  const s = r.data;
  const now = Date.now();
  const doubtful = s.peers.filter((p) => DOUBTFUL.has(p.state) && p.owned > 0);
  return (
    <>
      <AutoRefresh everyMs={2000} />
      <h1>Peers</h1>
      <dl className="facts" data-testid="cluster-facts">
        <dt>Cluster</dt>
        <dd>{s.cluster}</dd>
        <dt>This node</dt>
        <dd>
          {s.node}
          {s.observer ? ' (observer: serves what it pulls, accepts no writes)' : ''}
        </dd>
        <dt>Own keys</dt>
        <dd>
          {s.owned} (feed head {s.head}, epoch <span className="mono">{s.epoch}</span>)
        </dd>
      </dl>
      {doubtful.length > 0 && (
        <div className="notice" role="status" data-testid="stale-data">
          {doubtful.map((p) => (
            <p key={p.name}>
              {p.owned} key{p.owned === 1 ? '' : 's'} from <strong>{p.name}</strong> may be out of date: last sync {formatAgo(p.lastSuccess, now)}.
            </p>
          ))}
        </div>
      )}
      {s.peers.length === 0 ? (
        <p className="muted">No peers are configured: this node runs alone. Add [[cluster.peers]] to the config to form a cluster.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="peers">
            <thead>
              <tr>
                <th scope="col">Peer</th>
                <th scope="col">State</th>
                <th scope="col">Last sync</th>
                <th scope="col" className="num">
                  Lag
                </th>
                <th scope="col">Errors</th>
                <th scope="col" className="num">
                  Keys held
                </th>
                <th scope="col" className="num">
                  Pulled
                </th>
              </tr>
            </thead>
            <tbody>
              {s.peers.map((p) => (
                <tr key={p.name} data-testid={`peer-${p.name}`}>
                  <th scope="row">
                    {p.name}
                    <div className="muted mono">{p.url}</div>
                  </th>
                  <td>
                    <StateBadge state={p.state} />
                    <div className="muted">{p.reachable ? 'reachable' : 'not reachable'}</div>
                  </td>
                  <td>{formatAgo(p.lastSuccess, now)}</td>
                  <td className="num">
                    {p.reachable ? `${p.lag.seq} change${p.lag.seq === 1 ? '' : 's'}` : 'unknown'}
                    <div className="muted">
                      {!p.reachable
                        ? `${p.lag.seq} behind when last heard`
                        : p.lag.ms > 0
                          ? `behind for ${formatElapsed(p.lag.ms)}`
                          : 'in step'}
                    </div>
                  </td>
                  <td>
                    {p.errors}
                    {p.lastError !== null && (
                      <div className="muted" data-testid="peer-error">
                        {p.lastError} ({formatAgo(p.lastErrorAt, now)})
                      </div>
                    )}
                  </td>
                  <td className="num">{p.owned}</td>
                  <td className="num">
                    {p.applied} applied
                    <div className="muted">
                      {formatBytes(p.bytes)}, {p.snapshots} snapshot{p.snapshots === 1 ? '' : 's'}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
