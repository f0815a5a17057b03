import type { KvStore } from '../../../lib/kv/kv';
import { blockingParams, heldWait } from '../blocking';
import type { Gate } from '../../../lib/limits';
import { bootstrapConfig } from './kv';
import { ApiError } from '../../../lib/errors';
import { canonicalAddress, checkKey, CORE_TYPES, instanceJson, registerBodySchema, type Instance, type InstanceKey } from '../../../lib/registry/instance';
import { isDnsLabel, LABEL_RULE } from '../../../lib/labels';
import type { ServiceRegistry, ServiceView } from '../../../lib/registry/registry';
import { validateBody, type Reply, type Route, type RouteContext } from '../router';


export interface ServiceRouteDeps {
  readonly registry: ServiceRegistry;
  /** The KV store and the prefix whose entries make the bundle's `config`. */
  readonly kv: KvStore;
  readonly bootstrapPrefix: string;
  readonly defaultTtl: number;
  readonly nodeName: string;
  readonly version: string;
  /** [limits] blocking_queries. */
  readonly waiters?: Gate;
}

/** serviceRoutes returns the registry endpoints of DESIGN.md's HTTP API. */
export function serviceRoutes(deps: ServiceRouteDeps): Route[] {
  const { registry } = deps;
  const body = registerBodySchema(deps.defaultTtl);
  const base = '/v1/services/:type/:name/instances/:id';
  const json = (i: Instance) => instanceJson(i, deps.nodeName);
  const serviceJson = (s: ServiceView) => ({ type: s.type, name: s.name, instances: s.instances.map(json) });

  return [
    {
      method: 'PUT',
      takesBody: true,
      path: base,
      permission: 'register',
      async handler(ctx) {
        const key = instanceKey(ctx);
        const data = validateBody(body, await ctx.readJson());
        const spec = { ...data, address: canonicalAddress(data.address) };
        const { instance, created } = await registry.register(key, spec);
        return { status: 200, body: { ...json(instance), created } };
      },
    },
    {
      method: 'PUT',
      path: `${base}/heartbeat`,
      permission: 'register',
      async handler(ctx) {
        const key = instanceKey(ctx);
        // An instance a peer owns is adopted: the client moved to this node, and its lease now runs here.
        const inst = registry.heartbeat(key) ?? (await registry.adopt(key));
        if (inst === undefined) throw new ApiError('instance_not_found', `${key.type}/${key.name}/${key.id} is not registered or its lease ended`);
        return { status: 200, body: { ttl: inst.ttl, renewedAt: new Date(inst.renewedAt).toISOString(), expiresAt: new Date(inst.expiresAt).toISOString() } };
      },
    },
    {
      method: 'DELETE',
      path: base,
      permission: 'register',
      async handler(ctx) {
        const key = instanceKey(ctx);
        if (!(await registry.deregister(key))) throw new ApiError('instance_not_found', `${key.type}/${key.name}/${key.id} is not registered`);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: base,
      permission: 'read',
      handler(ctx) {
        const key = instanceKey(ctx);
        const inst = registry.instance(key);
        if (inst === undefined) throw new ApiError('instance_not_found', `${key.type}/${key.name}/${key.id} is not registered`);
        return { status: 200, body: json(inst) };
      },
    },
    {
      method: 'GET',
      path: '/v1/services',
      permission: 'read',
      async handler(ctx) {
        const typeParam = ctx.query.get('type') ?? undefined;
        if (typeParam !== undefined && !isDnsLabel(typeParam)) throw new ApiError('invalid_query', `type must be a DNS label: ${LABEL_RULE}`);
        const view = typeParam === undefined ? {} : { type: typeParam };
        const index = await blockIfAsked(ctx, registry, view, deps.waiters);
        return indexed(index, { index, services: registry.services(typeParam).map(serviceJson) });
      },
    },
    {
      method: 'GET',
      path: '/v1/services/:type/:name',
      permission: 'read',
      async handler(ctx) {
        const { type, name } = ctx.params as { type: string; name: string };
        for (const [part, v] of [['type', type], ['name', name]] as const) {
          if (!isDnsLabel(v)) throw new ApiError('invalid_path', `${part} must be a DNS label: ${LABEL_RULE}`);
        }
        const index = await blockIfAsked(ctx, registry, { type, name }, deps.waiters);
        return indexed(index, { index, type, name, instances: registry.service(type, name).map(json) });
      },
    },
    {
      method: 'GET',
      path: '/v1/bootstrap',
      permission: 'read',
      async handler(ctx) {
        const index = await blockOnBundle(ctx, registry, deps.kv, deps.bootstrapPrefix, deps.waiters);
        const services: Record<string, { name: string; instances: ReturnType<typeof instanceJson>[] }[]> = {};
        for (const t of CORE_TYPES) services[t] = [];
        for (const s of registry.services()) {
          (services[s.type] ??= []).push({ name: s.name, instances: s.instances.map(json) });
        }
        return indexed(index, {
          node: { name: deps.nodeName, version: deps.version },
          index,
          services,
          ...bootstrapConfig(deps.kv, deps.bootstrapPrefix),
        });
      },
    },
  ];
}

function instanceKey(ctx: RouteContext): InstanceKey {
  const key = ctx.params as unknown as InstanceKey;
  const bad = checkKey(key);
  if (bad !== undefined) throw new ApiError('invalid_path', bad);
  return key;
}

function indexed(index: number, body: unknown): Reply {
  return { status: 200, body, headers: { 'x-nekoq-index': String(index) } };
}

/**
 * blockIfAsked implements `?index=<n>&wait=<duration>`: with an index it waits until
 * the view's index passes n or the wait (default 5m, at most 10m) runs out, then
 * returns the view's current index.
 */
async function blockIfAsked(ctx: RouteContext, registry: ServiceRegistry, view: { type?: string; name?: string }, waiters: Gate | undefined): Promise<number> {
  const block = blockingParams(ctx);
  if (block !== undefined) await heldWait(waiters, () => registry.waitForChange(view, block.after, block.waitMs, ctx.signal));
  return registry.indexOf(view);
}

/**
 * blockOnBundle is blockIfAsked for the start-up bundle, whose index is the
 * registry index plus the KV index (both only grow, so the sum does too): it
 * waits until either the registry or a key under the bootstrap prefix changes.
 */
async function blockOnBundle(ctx: RouteContext, registry: ServiceRegistry, kv: KvStore, prefix: string, waiters: Gate | undefined): Promise<number> {
  const block = blockingParams(ctx);
  if (block !== undefined && registry.index + kv.index <= block.after) await heldWait(waiters, () => waitForBundle(ctx, registry, kv, prefix, block.waitMs));
  return registry.index + kv.index;
}

async function waitForBundle(ctx: RouteContext, registry: ServiceRegistry, kv: KvStore, prefix: string, waitMs: number): Promise<void> {
  const stop = new AbortController();
  const abort = () => stop.abort();
  ctx.signal.addEventListener('abort', abort, { once: true });
  await Promise.race([registry.waitForChange({}, registry.index, waitMs, stop.signal), kv.waitForChange({ prefix }, kv.index, waitMs, stop.signal)]);
  stop.abort();
  ctx.signal.removeEventListener('abort', abort);
}
