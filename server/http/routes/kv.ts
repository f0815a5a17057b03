import { z } from 'zod';
import { ApiError } from '../../../lib/errors';
import { checkKey, checkPrefix, KV_LIMITS, TxnError, type KvEntry, type KvStore, type KvView, type TxnOp } from '../../../lib/kv/kv';
import { blockingParams, heldWait } from '../blocking';
import type { Gate } from '../../../lib/limits';
import { integerQuery, validateBody, type Reply, type Route, type RouteContext } from '../router';

/** Largest POST /v1/txn body: 64 operations with base64 values. */
export const MAX_TXN_BODY_BYTES = 4 * 1024 * 1024;

const MAX_FLAGS = Number.MAX_SAFE_INTEGER;
// ignoreBOM: a value that starts with a byte-order mark keeps it (the default decoder drops those 3 bytes).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * entryJson is the API form of an entry: the value as UTF-8 text, or as base64
 * with `encoding: "base64"` when it is not valid UTF-8 or the client asked for
 * base64 (`?encoding=base64`), so that no value is ever mangled.
 */
export function entryJson(e: KvEntry, base64 = false) {
  const base = { key: e.key, flags: e.flags, createIndex: e.createIndex, modifyIndex: e.modifyIndex };
  const text = base64 ? undefined : asText(e.value);
  return text === undefined ? { ...base, value: e.value.toString('base64'), encoding: 'base64' as const } : { ...base, value: text };
}

/** asText returns a value as a string when it is valid UTF-8, else undefined. */
function asText(value: Buffer): string | undefined {
  try {
    return utf8.decode(value);
  } catch {
    return undefined;
  }
}

/** keyFromPath takes the key (or prefix) after /v1/kv/ from the raw URL and percent-decodes it; throws invalid_path. */
function keyFromPath(ctx: RouteContext): string {
  const url = ctx.url;
  const q = url.indexOf('?');
  const raw = (q === -1 ? url : url.slice(0, q)).slice('/v1/kv/'.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError('invalid_path', 'the key is not valid percent-encoded UTF-8');
  }
}

function validKey(key: string): string {
  const bad = checkKey(key);
  if (bad !== undefined) throw new ApiError('invalid_path', bad);
  return key;
}

function validPrefix(prefix: string): string {
  const bad = checkPrefix(prefix);
  if (bad !== undefined) throw new ApiError('invalid_path', bad);
  return prefix;
}

function integerParam(ctx: RouteContext, name: string): number | undefined {
  return integerQuery(ctx.query, name, MAX_FLAGS);
}

const has = (ctx: RouteContext, name: string) => ctx.query.has(name);

function indexed(index: number, reply: Omit<Reply, 'headers'>): Reply {
  return { ...reply, headers: { 'x-nekoq-index': String(index) } };
}

const txnOp = z.discriminatedUnion('verb', [
  z.strictObject({ verb: z.literal('set'), key: z.string(), value: z.base64(), flags: z.number().int().min(0).max(MAX_FLAGS).optional() }),
  z.strictObject({
    verb: z.literal('cas'),
    key: z.string(),
    value: z.base64(),
    flags: z.number().int().min(0).max(MAX_FLAGS).optional(),
    index: z.number().int().min(0),
  }),
  z.strictObject({ verb: z.literal('delete'), key: z.string() }),
  z.strictObject({ verb: z.literal('delete-tree'), key: z.string() }),
  z.strictObject({ verb: z.literal('check-index'), key: z.string(), index: z.number().int().min(0) }),
  z.strictObject({ verb: z.literal('get'), key: z.string() }),
]);
const txnBody = z.array(txnOp).min(1).max(KV_LIMITS.txnOps);

/**
 * kvRoutes returns the KV endpoints (Consul's semantics where they cost nothing):
 * GET (read), PUT and DELETE (kv or admin) on /v1/kv/{key}, and POST /v1/txn.
 * Every response carries the store-wide index in X-Nekoq-Index; reads block with
 * `?index=&wait=` until the key or prefix changes.
 */
export interface KvRouteOptions {
  /** [limits] kv_value_bytes. */
  readonly valueBytes?: number;
  /** [limits] blocking_queries, shared with the registry's blocking reads. */
  readonly waiters?: Gate;
}

export function kvRoutes(kv: KvStore, opts: KvRouteOptions = {}): Route[] {
  const valueBytes = opts.valueBytes ?? KV_LIMITS.valueBytes;
  // A transaction may carry one value of the largest size in base64, or many small ones.
  const txnBodyBytes = Math.max(MAX_TXN_BODY_BYTES, Math.ceil((valueBytes * 4) / 3) + 64 * 1024);
  return [
    {
      method: 'GET',
      path: '/v1/kv/*',
      permission: 'read',
      async handler(ctx) {
        const path = keyFromPath(ctx);
        const recurse = has(ctx, 'recurse');
        const keysOnly = has(ctx, 'keys');
        const base64 = ctx.query.get('encoding') === 'base64';
        if (ctx.query.has('encoding') && !base64) throw new ApiError('invalid_query', 'encoding may only be "base64"');
        const view: KvView = recurse || keysOnly ? { prefix: validPrefix(path) } : { key: validKey(path) };
        const block = blockingParams(ctx);
        if (block !== undefined) await heldWait(opts.waiters, () => kv.waitForChange(view, block.after, block.waitMs, ctx.signal));
        const index = kv.index;
        if (keysOnly) {
          const separator = ctx.query.get('separator') ?? undefined;
          const keys = kv.keys(path, separator);
          if (keys.length === 0) throw notFound(index, `no keys under "${path}"`);
          return indexed(index, { status: 200, body: keys });
        }
        if (recurse) {
          const entries = kv.list(path);
          if (entries.length === 0) throw notFound(index, `no keys under "${path}"`);
          return indexed(index, { status: 200, body: entries.map((e) => entryJson(e, base64)) });
        }
        const entry = kv.get(path);
        if (entry === undefined) throw notFound(index, `no key "${path}"`);
        if (has(ctx, 'raw')) return indexed(index, { status: 200, binary: { contentType: 'application/octet-stream', data: entry.value } });
        return indexed(index, { status: 200, body: entryJson(entry, base64) });
      },
    },
    {
      method: 'PUT',
      takesBody: true,
      path: '/v1/kv/*',
      permission: 'kv',
      async handler(ctx) {
        const key = validKey(keyFromPath(ctx));
        const cas = integerParam(ctx, 'cas');
        const flags = integerParam(ctx, 'flags');
        const value = await ctx.readRaw(valueBytes, 'kv_value_bytes');
        const r = await kv.put(key, value, { ...(cas === undefined ? {} : { cas }), ...(flags === undefined ? {} : { flags }) });
        return indexed(r.index, { status: 200, body: r.ok });
      },
    },
    {
      method: 'DELETE',
      path: '/v1/kv/*',
      permission: 'kv',
      async handler(ctx) {
        const path = keyFromPath(ctx);
        const cas = integerParam(ctx, 'cas');
        if (has(ctx, 'recurse')) {
          if (cas !== undefined) throw new ApiError('invalid_query', 'cas and recurse cannot be combined');
          const r = await kv.deleteTree(validPrefix(path));
          return indexed(r.index, { status: 200, body: r.ok });
        }
        const r = await kv.delete(validKey(path), cas === undefined ? {} : { cas });
        return indexed(r.index, { status: 200, body: r.ok });
      },
    },
    {
      method: 'POST',
      takesBody: true,
      path: '/v1/txn',
      permission: 'kv',
      async handler(ctx) {
        const raw = await ctx.readRaw(txnBodyBytes);
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch (err) {
          throw new ApiError('bad_json', (err as Error).message.slice(0, 200));
        }
        const parsed = validateBody(txnBody, json);
        const ops: TxnOp[] = parsed.map((op, i) => {
          const bad = op.verb === 'delete-tree' ? checkPrefix(op.key) : checkKey(op.key);
          if (bad !== undefined) throw new ApiError('validation_failed', `ops[${i}].key: ${bad}`, { errors: [{ path: `${i}.key`, message: bad }] });
          if ('value' in op) {
            const value = Buffer.from(op.value, 'base64');
            if (value.length > valueBytes) {
              throw new ApiError('validation_failed', `ops[${i}].value: at most ${valueBytes} bytes`, { errors: [{ path: `${i}.value`, message: 'too large' }], limit: 'kv_value_bytes' });
            }
            return { ...op, value } as TxnOp;
          }
          return op as TxnOp;
        });
        try {
          const r = await kv.txn(ops);
          return indexed(r.index, {
            status: 200,
            body: { index: r.index, results: r.results.map((e) => (e === null ? null : entryJson(e))) },
          });
        } catch (err) {
          if (err instanceof TxnError) {
            const op = ops[err.op];
            throw new ApiError('txn_failed', `ops[${err.op}] (${op?.verb ?? '?'} ${op?.key ?? ''}): ${err.reason}`, {
              errors: [{ path: String(err.op), message: err.reason }],
            });
          }
          throw err;
        }
      },
    },
  ];
}

function notFound(index: number, detail: string): ApiError {
  return new ApiError('key_not_found', detail, { headers: { 'x-nekoq-index': String(index) } });
}

/** bootstrapConfig is the `config` object of the start-up bundle: entries under the prefix by relative key, text values; others listed as base64. */
export function bootstrapConfig(kv: KvStore, prefix: string): { config: Record<string, string>; configBase64: string[] } {
  const pairs: [string, string][] = [];
  const configBase64: string[] = [];
  for (const e of kv.list(prefix)) {
    const name = e.key.slice(prefix.length);
    const text = asText(e.value);
    if (text === undefined) configBase64.push(name);
    pairs.push([name, text ?? e.value.toString('base64')]);
  }
  // fromEntries defines own properties, so a key named "__proto__" stays a key.
  return { config: Object.fromEntries(pairs), configBase64 };
}
