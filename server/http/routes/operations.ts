import type { Registry } from 'prom-client';
import type { Route } from '../router';

export interface OperationRouteDeps {
  /** ready reports readiness and, when not ready, why (store closed, a listener not bound, shutting down). */
  readonly ready: () => { ok: boolean; reasons: string[] };
  readonly metrics: Registry;
  /** shutdown starts a graceful shutdown; it returns at once. */
  readonly shutdown: (reason: string) => void;
}

/** operationRoutes returns /healthz, /readyz, /metrics and POST /v1/admin/shutdown. */
export function operationRoutes(deps: OperationRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      permission: 'none',
      handler: () => ({ status: 200, body: { status: 'alive' } }),
    },
    {
      method: 'GET',
      path: '/readyz',
      permission: 'none',
      handler() {
        const r = deps.ready();
        return { status: r.ok ? 200 : 503, body: r.ok ? { status: 'ready' } : { status: 'not ready', reasons: r.reasons } };
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      permission: 'none',
      async handler() {
        return { status: 200, text: { contentType: deps.metrics.contentType, data: await deps.metrics.metrics() } };
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/shutdown',
      permission: 'admin',
      handler(ctx) {
        deps.shutdown(`requested by ${ctx.principal?.name ?? '?'}`);
        return { status: 202, body: { status: 'shutting down' } };
      },
    },
  ];
}
