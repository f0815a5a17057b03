import type { ApplianceInfo } from '../../../lib/appliance';
import type { Route } from '../router';

/** What GET /v1/node counts. */
export interface NodeCounts {
  readonly serviceTypes: number;
  readonly services: number;
  readonly instances: number;
  readonly zones: number;
  readonly rrsets: number;
  readonly kvKeys: number;
}

export interface NodeRouteDeps {
  readonly info: () => ApplianceInfo;
  readonly counts: () => NodeCounts;
  /** The cluster at a glance: its name, whether this node is an observer, and each peer's state. */
  readonly cluster: () => { name: string; observer: boolean; peers: readonly { name: string; state: string }[] };
}

/**
 * nodeRoutes returns GET /v1/node: this node's name, version, uptime, listeners,
 * readiness, what it holds, and its peers' states. The web manager's overview is
 * this answer.
 */
export function nodeRoutes(deps: NodeRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/node',
      permission: 'read',
      handler() {
        const info = deps.info();
        const cluster = deps.cluster();
        const states: Record<string, number> = {};
        for (const p of cluster.peers) states[p.state] = (states[p.state] ?? 0) + 1;
        return {
          status: 200,
          body: {
            node: info.node,
            version: info.version,
            startedAt: new Date(info.startedAt).toISOString(),
            uptimeSeconds: Math.floor((Date.now() - info.startedAt) / 1000),
            ready: info.ready,
            listeners: info.listeners,
            counts: deps.counts(),
            cluster: { name: cluster.name, observer: cluster.observer, peers: cluster.peers.length, states },
          },
        };
      },
    },
  ];
}
