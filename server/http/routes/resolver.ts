import { ApiError } from '../../../lib/errors';
import { parseName, PresentationError } from '../../../lib/dns/presentation';
import type { Resolver } from '../../../lib/dns/resolver/resolver';
import type { RecursionConfig } from '../../../lib/config/config';
import type { Route } from '../router';

export interface ResolverRouteDeps {
  readonly config: RecursionConfig;
  /** The resolver; undefined when [recursion] mode is off. */
  readonly resolver: Resolver | undefined;
  /** flush drops cached records and the prebuilt copies of resolved answers; returns the entries dropped. */
  readonly flush: (name: string | undefined, subtree: boolean) => number;
}

/**
 * resolverRoutes returns GET /v1/admin/resolver (mode, allow-list, cache and
 * upstream health, counters) and DELETE /v1/admin/resolver/cache (flush all, or
 * `?name=` one name, with `&subtree` everything at or below it).
 */
export function resolverRoutes(deps: ResolverRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/admin/resolver',
      permission: 'admin',
      handler() {
        const r = deps.resolver;
        const c = deps.config;
        if (r === undefined) return { status: 200, body: { mode: 'off' } };
        const cache = r.cache;
        return {
          status: 200,
          body: {
            mode: r.mode,
            allow: c.allow,
            qnameMinimisation: c.qnameMinimisation,
            serveStale: c.serveStale,
            timeoutMs: c.timeoutMs,
            cache: { entries: cache.size, maxEntries: c.cacheSize, bytes: cache.bytes, ...cache.stats },
            upstreams: r.mode === 'forward' ? r.upstreamStatus() : undefined,
            rootHints: r.mode === 'iterative' ? c.rootHints.map((h) => `${h.name}.=${h.address}`) : undefined,
            counters: { ...r.stats },
          },
        };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/admin/resolver/cache',
      permission: 'admin',
      handler(ctx) {
        const r = deps.resolver;
        if (r === undefined) throw new ApiError('recursion_off');
        const text = ctx.query.get('name');
        const subtree = ctx.query.has('subtree');
        if (subtree && text === null) throw new ApiError('invalid_query', 'subtree needs a name');
        let name: string | undefined;
        if (text !== null) {
          try {
            name = parseName(text, '').toLowerCase();
          } catch (err) {
            if (err instanceof PresentationError) throw new ApiError('invalid_query', `name: ${err.message}`);
            throw err;
          }
        }
        const flushed = deps.flush(name, subtree);
        return { status: 200, body: { flushed, name: name === undefined ? undefined : `${name}.`, subtree } };
      },
    },
  ];
}
