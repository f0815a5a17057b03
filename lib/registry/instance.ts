import { isIP } from 'node:net';
import { z } from 'zod';
import { isDnsLabel, LABEL_RULE } from '../labels';

/** The types every start-up bundle lists first, in this order. */
export const CORE_TYPES = ['discovery', 'security', 'consistency'] as const;

/** Limits on one registration (issue #2); the README's API section states the same numbers. */
export const INSTANCE_LIMITS = {
  tags: 32,
  tagBytes: 64,
  metaKeys: 64,
  metaKeyLength: 128,
  metaValueBytes: 512,
  minTtl: 1,
  maxTtl: 3600,
} as const;

export interface InstanceKey {
  readonly type: string;
  readonly name: string;
  readonly id: string;
}

/** What a client declares about an instance when it registers it. */
export interface InstanceSpec {
  readonly address: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
  readonly weight: number;
  readonly priority: number;
  /** Lease length in seconds. */
  readonly ttl: number;
}

/** A registered instance: its key, its spec and the registry's bookkeeping (times in ms since the epoch). */
export interface Instance extends InstanceKey, InstanceSpec {
  readonly registeredAt: number;
  renewedAt: number;
  expiresAt: number;
  readonly createIndex: number;
  readonly modifyIndex: number;
  /**
   * The node that owns the instance (runs its lease); undefined means this node.
   * A peer's instance has expiresAt Infinity here: it leaves when its owner says so.
   */
  readonly owner?: string;
}

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const META_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** canonicalAddress returns the canonical text of an IP literal (IPv6 compressed, lower case). */
export function canonicalAddress(address: string): string {
  return isIP(address) === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** The JSON body of PUT /v1/services/{type}/{name}/instances/{id}; unknown fields are refused. */
export function registerBodySchema(defaultTtl: number) {
  return z.strictObject({
    address: z
      .string()
      .max(64)
      .refine((a) => isIP(a) !== 0, { message: 'must be an IPv4 or IPv6 literal' }),
    port: z.number().int().min(1).max(65535),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    tags: z
      .array(
        z
          .string()
          .min(1)
          .refine((t) => utf8Bytes(t) <= INSTANCE_LIMITS.tagBytes, { message: `must be at most ${INSTANCE_LIMITS.tagBytes} bytes` }),
      )
      .max(INSTANCE_LIMITS.tags)
      .default([]),
    meta: z
      .preprocess((m, ctx) => {
        // zod drops a "__proto__" key silently; a key we would lose must be refused instead.
        if (m !== null && typeof m === 'object' && Object.hasOwn(m, '__proto__')) {
          ctx.issues.push({ code: 'custom', message: 'meta key "__proto__" is not allowed', input: m });
        }
        return m ?? {};
      }, z.record(
        z
          .string()
          .max(INSTANCE_LIMITS.metaKeyLength)
          .regex(META_KEY, 'meta keys are letters, digits, "_", "." and "-", starting with a letter or digit'),
        z.string().refine((v) => utf8Bytes(v) <= INSTANCE_LIMITS.metaValueBytes, {
          message: `must be at most ${INSTANCE_LIMITS.metaValueBytes} bytes`,
        }),
      ).refine((m) => Object.keys(m).length <= INSTANCE_LIMITS.metaKeys, { message: `at most ${INSTANCE_LIMITS.metaKeys} keys` }),
    ),
    weight: z.number().int().min(0).max(65535).default(1),
    priority: z.number().int().min(0).max(65535).default(0),
    ttl: z.number().int().min(INSTANCE_LIMITS.minTtl).max(INSTANCE_LIMITS.maxTtl).default(defaultTtl),
  });
}

/** checkKey returns the name of the first key part that is not a DNS label, with the rule, or undefined. */
export function checkKey(key: InstanceKey): string | undefined {
  for (const part of ['type', 'name', 'id'] as const) {
    if (!isDnsLabel(key[part])) return `${part} "${key[part].slice(0, 80)}" must be a DNS label: ${LABEL_RULE}`;
  }
  return undefined;
}

/** specOf returns the declared part of an instance (what its registration said). */
export function specOf(i: InstanceSpec): InstanceSpec {
  return {
    address: i.address,
    port: i.port,
    protocol: i.protocol,
    tags: i.tags,
    meta: i.meta,
    weight: i.weight,
    priority: i.priority,
    ttl: i.ttl,
  };
}

/** sameSpec reports whether two specs would be seen identically by any reader. */
export function sameSpec(a: InstanceSpec, b: InstanceSpec): boolean {
  return (
    a.address === b.address &&
    a.port === b.port &&
    a.protocol === b.protocol &&
    a.weight === b.weight &&
    a.priority === b.priority &&
    a.ttl === b.ttl &&
    a.tags.length === b.tags.length &&
    a.tags.every((t, i) => t === b.tags[i]) &&
    JSON.stringify(a.meta) === JSON.stringify(b.meta)
  );
}

/** The API form of an instance. */
export interface InstanceJson {
  type: string;
  name: string;
  id: string;
  address: string;
  port: number;
  protocol: 'tcp' | 'udp';
  tags: readonly string[];
  meta: Readonly<Record<string, string>>;
  weight: number;
  priority: number;
  ttl: number;
  registeredAt: string;
  renewedAt: string;
  /** null for an instance a peer owns: its lease runs there. */
  expiresAt: string | null;
  createIndex: number;
  modifyIndex: number;
  /** The node that owns the instance. */
  node: string;
}

/** instanceJson converts an Instance to its API form (times as ISO 8601); `self` names this node. */
export function instanceJson(i: Instance, self = ''): InstanceJson {
  return {
    type: i.type,
    name: i.name,
    id: i.id,
    ...specOf(i),
    registeredAt: new Date(i.registeredAt).toISOString(),
    renewedAt: new Date(i.renewedAt).toISOString(),
    expiresAt: Number.isFinite(i.expiresAt) ? new Date(i.expiresAt).toISOString() : null,
    createIndex: i.createIndex,
    modifyIndex: i.modifyIndex,
    node: i.owner ?? self,
  };
}
