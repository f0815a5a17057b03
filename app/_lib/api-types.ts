import type { InstanceJson } from '@/lib/registry/instance';

/**
 * Shapes shared by the web manager's server code and its client components. They
 * mirror the HTTP API's answers (README "API"): the web manager reads the same
 * JSON a client with a token reads.
 */

/** An API error as the API sends it (application/problem+json). */
export interface Problem {
  readonly code: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: readonly { readonly path: string; readonly message: string }[];
}

/** What a server action returns: done, or the API's problem to show. */
export type ActionResult<T = undefined> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: Problem };

/** An instance as the API sends it (the registry's own JSON form). */
export type InstanceView = InstanceJson;

export interface ServicesAnswer {
  index: number;
  services: { type: string; name: string; instances: InstanceView[] }[];
}

export interface NodeAnswer {
  node: string;
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  ready: boolean;
  listeners: { name: string; address: string }[];
  counts: { serviceTypes: number; services: number; instances: number; zones: number; rrsets: number; kvKeys: number };
  cluster: { name: string; observer: boolean; peers: number; states: Record<string, number> };
}

export interface PeerView {
  name: string;
  url: string;
  state: 'syncing' | 'ok' | 'unreachable' | 'stale' | 'left' | 'dropped';
  reachable: boolean;
  lastSuccess: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  errors: number;
  lag: { seq: number; ms: number };
  position: { epoch: string | null; seq: number; head: number };
  applied: number;
  bytes: number;
  snapshots: number;
  owned: number;
}

export interface PeersAnswer {
  node: string;
  cluster: string;
  observer: boolean;
  epoch: string;
  head: number;
  owned: number;
  peers: PeerView[];
}

/** problemText is one line for an operator: the detail when there is one, else the title, with the code. */
export function problemText(p: Problem): string {
  return `${p.detail ?? p.title} (${p.code})`;
}

/** The start of signIn()'s error when the login limit holds a client back; the seconds to wait follow. */
export const LOGIN_LIMITED = 'limited:';

/** One step of a shutdown as the shutdown page's stream sends it (lib/appliance.ts ShutdownEvent). */
export interface ShutdownEventView {
  seq: number;
  at: number;
  phase: string;
  text: string;
}
