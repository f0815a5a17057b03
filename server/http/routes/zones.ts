import { z } from 'zod';
import { formatName } from '../../../lib/dns/presentation';
import { ZONE_DEFAULTS, ZONE_LIMITS, type StoredRRset, type ZoneStore } from '../../../lib/dns/zone-store';
import { ApiError } from '../../../lib/errors';
import { validateBody, type Route } from '../router';

/** Largest zone file POST .../import reads. */
export const MAX_ZONE_FILE_BYTES = 8 * 1024 * 1024;

const createBody = z.strictObject({
  name: z.string().min(1).max(254),
  nameservers: z.array(z.string().min(1).max(254)).min(1).max(13).optional(),
  ttl: z.number().int().min(0).max(0x7fffffff).optional(),
});

const rrsetBody = z.strictObject({
  ttl: z.number().int().min(0).max(0x7fffffff).default(ZONE_DEFAULTS.ttl),
  values: z.array(z.string().max(65535)).min(1).max(ZONE_LIMITS.maxRecordsPerSet),
});

/** The API form of an RRset: an absolute owner name, the type mnemonic, ttl and values in presentation format. */
function rrsetJson(r: StoredRRset) {
  return { name: formatName(r.name), type: r.type, ttl: r.ttl, values: r.values };
}

/**
 * zoneRoutes returns the authoritative-zone endpoints of DESIGN.md: reads need
 * the read permission, changes admin. Record names in paths are "@" (the apex),
 * relative to the zone ("www") or absolute ("www.example.com.").
 */
export function zoneRoutes(deps: { zones: ZoneStore; defaultNameservers: readonly string[] }): Route[] {
  const { zones } = deps;
  return [
    { method: 'GET', path: '/v1/zones', permission: 'read', handler: () => ({ status: 200, body: { zones: zones.list() } }) },
    {
      method: 'POST',
      takesBody: true,
      path: '/v1/zones',
      permission: 'admin',
      async handler(ctx) {
        const body = validateBody(createBody, await ctx.readJson());
        const created = await zones.create(body.name, {
          nameservers: body.nameservers ?? deps.defaultNameservers,
          ...(body.ttl === undefined ? {} : { ttl: body.ttl }),
        });
        return { status: 201, body: created, headers: { location: `/v1/zones/${created.name}` } };
      },
    },
    { method: 'GET', path: '/v1/zones/:zone', permission: 'read', handler: (ctx) => ({ status: 200, body: zones.summary(ctx.params.zone!) }) },
    {
      method: 'DELETE',
      path: '/v1/zones/:zone',
      permission: 'admin',
      async handler(ctx) {
        await zones.deleteZone(ctx.params.zone!);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/zones/:zone/records',
      permission: 'read',
      handler(ctx) {
        const summary = zones.summary(ctx.params.zone!);
        return { status: 200, body: { zone: summary.name, serial: summary.serial, rrsets: zones.rrsets(ctx.params.zone!).map(rrsetJson) } };
      },
    },
    {
      method: 'PUT',
      takesBody: true,
      path: '/v1/zones/:zone/records/:name/:type',
      permission: 'admin',
      async handler(ctx) {
        const body = validateBody(rrsetBody, await ctx.readJson());
        const set = await zones.putRRset(ctx.params.zone!, ctx.params.name!, ctx.params.type!, body.ttl, body.values);
        return { status: 200, body: rrsetJson(set) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/zones/:zone/records/:name/:type',
      permission: 'admin',
      async handler(ctx) {
        await zones.deleteRRset(ctx.params.zone!, ctx.params.name!, ctx.params.type!);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/zones/:zone/export',
      permission: 'read',
      handler: (ctx) => ({ status: 200, text: { contentType: 'text/dns; charset=utf-8', data: zones.exportZone(ctx.params.zone!) } }),
    },
    {
      method: 'POST',
      takesBody: true,
      path: '/v1/zones/:zone/import',
      permission: 'admin',
      async handler(ctx) {
        const type = ctx.headers['content-type'];
        if (type !== undefined && !/^(text\/dns|text\/plain|application\/octet-stream)\s*(;.*)?$/i.test(type)) {
          throw new ApiError('unsupported_media_type', `send the zone file as text/dns or text/plain, not ${type.slice(0, 100)}`);
        }
        const raw = await ctx.readRaw(MAX_ZONE_FILE_BYTES);
        const text = new TextDecoder('utf-8', { fatal: false }).decode(raw);
        const summary = await zones.importZone(ctx.params.zone!, text);
        return { status: 200, body: summary };
      },
    },
  ];
}
