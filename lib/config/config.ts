import type { RrlOptions } from '../dns/rrl';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { parsePasswordHash } from '../auth/password';
import { ROLES, type Role } from '../auth/roles';
import { tokenDigest } from '../auth/tokens';
import { checkClusterSecret } from '../cluster/peer-auth';
import { IANA_ROOT_ANCHORS, parseTrustAnchor, type TrustAnchor } from '../dns/dnssec/anchors';
import { IANA_ROOT_HINTS, parseCidr, parseRootHint, parseUpstream } from '../dns/resolver/settings';
import type { RootHint, Upstream } from '../dns/resolver/resolver';
import { checkPrefix } from '../kv/kv';
import { isDnsLabel, isDomainName, LABEL_RULE } from '../labels';
import { parseDuration } from './duration';
import { parseListen, type ListenAddress } from './listen';

/*
 * The configuration, in three shapes:
 *   FileConfig  — what bootstrap.toml holds (snake_case, strings for durations and addresses);
 *   Config      — the frozen runtime object every service receives (camelCase, ms, parsed addresses);
 * and the conversion `toConfig` between them. `loadConfig` is the only entry point.
 */

const duration = (min: number, max: number) =>
  z.string().superRefine((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration such as "500ms", "10s", "5m"` });
    else if (ms < min || ms > max) ctx.addIssue({ code: 'custom', message: `"${s}" is outside ${min}ms..${max}ms` });
  });

const listen = z.string().superRefine((s, ctx) => {
  const r = parseListen(s);
  if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: `"${s}": ${r}` });
});

/** A string that `parse` accepts (it returns a string saying what is wrong otherwise). */
const parsed = (parse: (s: string) => unknown) =>
  z.string().superRefine((s, ctx) => {
    const r = parse(s);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: `"${s}": ${r}` });
  });

const label = z.string().refine(isDnsLabel, { message: `must be a DNS label: ${LABEL_RULE}` });
const path = z.string().min(1, 'must not be empty');

const TokenSection = z
  .strictObject({
    name: z.string().min(1).max(64),
    token: z.string().min(16, 'must be at least 16 characters').max(512).optional(),
    token_sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256 of the token)')
      .optional(),
    role: z.enum(ROLES),
  })
  .refine((t) => (t.token === undefined) !== (t.token_sha256 === undefined), {
    message: 'give exactly one of "token" and "token_sha256"',
  });

const FileSchema = z.strictObject({
  node: z
    .strictObject({
      name: label.optional(),
      data_dir: path.default('./data'),
      shutdown_timeout: duration(0, 300_000).default('10s'),
    })
    .prefault({}),
  http: z
    .strictObject({
      listen: listen.default('127.0.0.1:8080'),
    })
    .prefault({}),
  https: z
    .strictObject({
      listen: listen,
      cert: path,
      key: path,
    })
    .optional(),
  dns: z
    .strictObject({
      listen: listen.default('127.0.0.1:8053'),
      service_zone: z
        .string()
        .transform((s) => s.toLowerCase())
        .refine(isDomainName, { message: 'must be an absolute domain name ending in "." such as "nekoq.internal."' })
        .default('nekoq.internal.'),
      ttl: z.number().int().min(0).max(86_400).default(30),
      zone_files: z.array(path).max(10_000).default([]),
      nameserver_addresses: z
        .array(z.string().refine((a) => isIP(a) !== 0, { message: 'must be an IPv4 or IPv6 literal' }))
        .max(16)
        .optional(),
      edns_udp_size: z.number().int().min(512).max(4096).default(1232),
    })
    .prefault({}),
  recursion: z
    .strictObject({
      mode: z.enum(['off', 'forward', 'iterative']).default('off'),
      upstreams: z.array(parsed(parseUpstream)).max(16).default([]),
      root_hints: z.array(parsed(parseRootHint)).min(1).max(64).default([...IANA_ROOT_HINTS]),
      allow: z.array(parsed(parseCidr)).max(1024).default(['127.0.0.0/8', '::1/128']),
      timeout: duration(100, 30_000).default('3s'),
      qname_minimisation: z.boolean().default(true),
      cache_size: z.number().int().min(100).max(10_000_000).default(100_000),
      cache_memory_mb: z.number().int().min(8).max(65_536).default(256),
      max_ttl: z.number().int().min(1).max(604_800).default(86_400),
      max_negative_ttl: z.number().int().min(0).max(86_400).default(3600),
      serve_stale: z.boolean().default(false),
      max_stale: duration(1000, 30 * 86_400_000).default('24h'),
      stale_answer_ttl: z.number().int().min(1).max(3600).default(30),
    })
    .prefault({})
    .superRefine((r, ctx) => {
      if (r.mode === 'forward' && r.upstreams.length === 0) ctx.addIssue({ code: 'custom', path: ['upstreams'], message: 'forward mode needs at least one upstream' });
    }),
  dnssec: z
    .strictObject({
      enabled: z.boolean().default(false),
      algorithm: z.enum(['ECDSAP256SHA256', 'ED25519']).default('ECDSAP256SHA256'),
      signature_validity: duration(3_600_000, 90 * 86_400_000).default('336h'),
      signature_refresh: duration(60_000, 45 * 86_400_000).default('72h'),
      dnskey_ttl: z.number().int().min(1).max(86_400).default(3600),
      propagation_delay: duration(0, 86_400_000).default('5m'),
      zsk_lifetime: duration(0, 3650 * 86_400_000).default('2160h'),
      trust_anchors: z.array(parsed(parseTrustAnchor)).max(64).default([...IANA_ROOT_ANCHORS]),
    })
    .prefault({})
    .superRefine((d, ctx) => {
      if ((parseDuration(d.signature_refresh) ?? 0) * 2 > (parseDuration(d.signature_validity) ?? 0)) {
        ctx.addIssue({ code: 'custom', path: ['signature_refresh'], message: 'must be at most half of signature_validity' });
      }
    }),
  limits: z
    .strictObject({
      http_body_bytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
      http_header_timeout: duration(100, 300_000).default('10s'),
      http_request_timeout: duration(100, 600_000).default('30s'),
      http_keepalive_timeout: duration(100, 600_000).default('65s'),
      http_max_connections: z.number().int().min(1).max(1_000_000).default(10_000),
      blocking_queries: z.number().int().min(1).max(1_000_000).default(4096),
      dns_message_bytes: z.number().int().min(512).max(65_535).default(4096),
      dns_tcp_connections: z.number().int().min(1).max(100_000).default(1000),
      dns_tcp_connections_per_client: z.number().int().min(1).max(100_000).default(64),
      dns_tcp_idle_timeout: duration(100, 300_000).default('10s'),
      dns_tcp_read_timeout: duration(100, 300_000).default('5s'),
      resolutions_per_client: z.number().int().min(1).max(100_000).default(100),
      records_per_rrset: z.number().int().min(1).max(65_535).default(100),
      instances_per_service: z.number().int().min(1).max(1_000_000).default(1000),
      kv_value_bytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(512 * 1024),
    })
    .prefault({}),
  rrl: z
    .strictObject({
      enabled: z.boolean().default(true),
      responses_per_second: z.number().int().min(1).max(1_000_000).default(200),
      all_per_second: z.number().int().min(0).max(1_000_000).default(0),
      slip: z.number().int().min(0).max(10).default(2),
      ipv4_prefix: z.number().int().min(8).max(32).default(24),
      ipv6_prefix: z.number().int().min(16).max(128).default(56),
      exempt: z.array(parsed(parseCidr)).max(1024).default(['127.0.0.0/8', '::1/128']),
    })
    .prefault({}),
  auth: z
    .strictObject({
      admin_user: z.string().min(1).max(64).default('admin'),
      admin_password_hash: z
        .string()
        .refine((s) => parsePasswordHash(s) !== undefined, {
          message: 'must be a hash made by "npm run hash-password" (scrypt$ln=..,r=..,p=..$salt$hash)',
        })
        .optional(),
      tokens: z.array(TokenSection).max(1000).default([]),
    })
    .prefault({}),
  registry: z
    .strictObject({
      default_ttl: z.number().int().min(1).max(3600).default(30),
    })
    .prefault({}),
  kv: z
    .strictObject({
      bootstrap_prefix: z
        .string()
        .max(512)
        .refine((p) => checkPrefix(p) === undefined, { message: 'must be a KV key prefix: UTF-8, no leading "/", no empty segment' })
        .default('bootstrap/'),
    })
    .prefault({}),
  cluster: z
    .strictObject({
      name: label.default('nekoq'),
      secret: z
        .string()
        .max(1024)
        .superRefine((s, ctx) => {
          const weak = checkClusterSecret(s);
          if (weak !== undefined) ctx.addIssue({ code: 'custom', message: weak });
        })
        .optional(),
      observer: z.boolean().default(false),
      stale_after: duration(1000, 86_400_000).default('30s'),
      drop_after: duration(1000, 30 * 86_400_000).default('5m'),
      tombstone_ttl: duration(60_000, 365 * 86_400_000).default('24h'),
      ca: path.optional(),
      peers: z
        .array(
          z.strictObject({
            name: label,
            url: z.string().refine(
              (u) => {
                try {
                  const url = new URL(u);
                  return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.search === '' && url.hash === '';
                } catch {
                  return false;
                }
              },
              { message: 'must be an http:// or https:// URL without credentials, query or fragment, such as "https://10.0.0.2:8443"' },
            ),
          }),
        )
        .max(64)
        .default([]),
    })
    .prefault({})
    .superRefine((c, ctx) => {
      if ((c.peers.length > 0 || c.observer) && c.secret === undefined) {
        ctx.addIssue({ code: 'custom', path: ['secret'], message: 'a cluster needs a secret shared by its nodes (at least 32 characters, e.g. from "openssl rand -hex 32")' });
      }
      if (c.observer && c.peers.length === 0) ctx.addIssue({ code: 'custom', path: ['peers'], message: 'an observer needs peers to pull from' });
      const seen = new Set<string>();
      c.peers.forEach((p, i) => {
        if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['peers', i, 'name'], message: `peer "${p.name}" is listed twice` });
        seen.add(p.name);
      });
      if ((parseDuration(c.drop_after) ?? 0) <= (parseDuration(c.stale_after) ?? 0)) {
        ctx.addIssue({ code: 'custom', path: ['drop_after'], message: 'must be longer than stale_after' });
      }
    }),
  log: z
    .strictObject({
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    })
    .prefault({}),
});

export type FileConfig = z.infer<typeof FileSchema>;

export type LogLevel = FileConfig['log']['level'];

export interface ApiTokenConfig {
  readonly name: string;
  /** sha256 of the token, lower-case hex: the plain token is not kept in the runtime config. */
  readonly sha256: string;
  readonly role: Role;
}

/** Config is the validated, frozen runtime configuration; every duration is in milliseconds. */
export interface Config {
  readonly source: string | undefined;
  readonly node: { readonly name: string; readonly dataDir: string; readonly shutdownTimeoutMs: number };
  readonly http: { readonly listen: ListenAddress };
  readonly https: { readonly listen: ListenAddress; readonly certFile: string; readonly keyFile: string } | undefined;
  readonly dns: {
    readonly listen: ListenAddress;
    readonly serviceZone: string;
    readonly ttl: number;
    readonly zoneFiles: readonly string[];
    /** Published at ns.<service zone>; from [dns] nameserver_addresses, else the listen address unless it is a wildcard. */
    readonly nameserverAddresses: readonly string[];
    readonly ednsUdpSize: number;
  };
  readonly limits: LimitsConfig;
  readonly rrl: RrlConfig;
  readonly recursion: RecursionConfig;
  readonly dnssec: DnssecConfig;
  readonly auth: {
    readonly adminUser: string;
    readonly adminPasswordHash: string | undefined;
    readonly tokens: readonly ApiTokenConfig[];
  };
  readonly registry: { readonly defaultTtlSeconds: number };
  readonly kv: { readonly bootstrapPrefix: string };
  readonly cluster: ClusterConfig;
  readonly log: { readonly level: LogLevel };
}

export interface RecursionConfig {
  readonly mode: 'off' | 'forward' | 'iterative';
  readonly upstreams: readonly Upstream[];
  readonly rootHints: readonly RootHint[];
  /** CIDR prefixes of the clients that may recurse. */
  readonly allow: readonly string[];
  readonly timeoutMs: number;
  readonly qnameMinimisation: boolean;
  readonly cacheSize: number;
  /** Bytes the cache may hold (cache_memory_mb). */
  readonly cacheMaxBytes: number;
  readonly maxTtl: number;
  readonly maxNegativeTtl: number;
  readonly serveStale: boolean;
  readonly maxStaleMs: number;
  readonly staleAnswerTtl: number;
}

/** LimitsConfig bounds what one client or request may take ([limits]); every hit is counted in nekoq_limit_hits_total. */
export interface LimitsConfig {
  readonly httpBodyBytes: number;
  readonly httpHeaderTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
  readonly httpKeepAliveTimeoutMs: number;
  readonly httpMaxConnections: number;
  readonly blockingQueries: number;
  readonly dnsMessageBytes: number;
  readonly dnsTcpConnections: number;
  readonly dnsTcpConnectionsPerClient: number;
  readonly dnsTcpIdleTimeoutMs: number;
  readonly dnsTcpReadTimeoutMs: number;
  readonly resolutionsPerClient: number;
  readonly recordsPerRrset: number;
  readonly instancesPerService: number;
  readonly kvValueBytes: number;
}

/** RrlConfig is response rate limiting for UDP ([rrl]): its options (lib/dns/rrl.ts) and whether it is on. */
export interface RrlConfig extends RrlOptions {
  readonly enabled: boolean;
}

export interface DnssecConfig {
  /** Sign the operator zones and the service zone. */
  readonly enabled: boolean;
  readonly algorithm: 'ECDSAP256SHA256' | 'ED25519';
  readonly signatureValidityMs: number;
  /** Signatures are made again when less than this is left of them. */
  readonly signatureRefreshMs: number;
  readonly dnskeyTtl: number;
  readonly propagationDelayMs: number;
  /** 0: ZSKs are rolled only on request. */
  readonly zskLifetimeMs: number;
  /** The validating resolver's anchors; empty = no validation. */
  readonly trustAnchors: readonly TrustAnchor[];
}

export interface ClusterConfig {
  readonly name: string;
  /** The shared secret; undefined when this node is not in a cluster (peer requests are then refused). */
  readonly secret: string | undefined;
  readonly observer: boolean;
  readonly staleAfterMs: number;
  readonly dropAfterMs: number;
  readonly tombstoneTtlMs: number;
  /** PEM file of the CAs that sign the peers' https certificates; the system's CAs when undefined. */
  readonly caFile: string | undefined;
  readonly peers: readonly { readonly name: string; readonly url: string }[];
}

/** ConfigError says which key is wrong and why; `where` is "file:line:col" or a key path. */
export class ConfigError extends Error {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Facts from the environment that defaults depend on; passed in so lib never reads the process. */
export interface ConfigContext {
  /** Directory that relative paths are resolved against (the config file's, or the working directory). */
  readonly baseDir: string;
  /** Default node name when [node] name is absent. */
  readonly hostname: string;
}

/**
 * loadConfig parses TOML text (undefined = no file: embedded defaults) into a frozen
 * Config, or throws ConfigError naming the first bad key path and the reason.
 */
export function loadConfig(text: string | undefined, source: string | undefined, ctx: ConfigContext): Config {
  let raw: unknown = {};
  if (text !== undefined) {
    try {
      raw = parseToml(text);
    } catch (err) {
      if (err instanceof TomlError) {
        const firstLine = err.message.split('\n')[0] ?? err.message;
        throw new ConfigError(`${source ?? 'config'}:${err.line}:${err.column}`, firstLine.replace(/^Invalid TOML document: /, ''));
      }
      throw err;
    }
  }
  const result = FileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    let keyPath = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') {
      keyPath = [...issue.path.map(String), issue.keys[0]].join('.');
      message = 'unknown key';
    }
    throw new ConfigError(`${source ?? 'config'}: ${keyPath || '(top level)'}`, message);
  }
  return deepFreeze(toConfig(result.data, source, ctx));
}

/** defaultNodeName turns a host name into a DNS label ("Web-01.example" → "web-01"). */
export function defaultNodeName(hostname: string): string {
  const first = (hostname.split('.')[0] ?? '').toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return isDnsLabel(first) ? first : 'node';
}

function toConfig(f: FileConfig, source: string | undefined, ctx: ConfigContext): Config {
  const nodeName = f.node.name ?? defaultNodeName(ctx.hostname);
  const selfIndex = f.cluster.peers.findIndex((p) => p.name === nodeName);
  if (selfIndex !== -1) throw new ConfigError(`${source ?? 'config'}: cluster.peers.${selfIndex}.name`, `"${nodeName}" is this node's own name ([node] name); list only the other nodes`);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(ctx.baseDir, p));
  const addr = (s: string) => parseListen(s) as ListenAddress;
  return {
    source,
    node: {
      name: nodeName,
      dataDir: abs(f.node.data_dir),
      shutdownTimeoutMs: parseDuration(f.node.shutdown_timeout)!,
    },
    http: { listen: addr(f.http.listen) },
    https: f.https && { listen: addr(f.https.listen), certFile: abs(f.https.cert), keyFile: abs(f.https.key) },
    dns: {
      listen: addr(f.dns.listen),
      serviceZone: f.dns.service_zone,
      ttl: f.dns.ttl,
      zoneFiles: f.dns.zone_files.map(abs),
      nameserverAddresses:
        f.dns.nameserver_addresses ?? (['0.0.0.0', '::'].includes(addr(f.dns.listen).host) ? [] : [addr(f.dns.listen).host]),
      ednsUdpSize: f.dns.edns_udp_size,
    },
    limits: {
      httpBodyBytes: f.limits.http_body_bytes,
      httpHeaderTimeoutMs: parseDuration(f.limits.http_header_timeout)!,
      httpRequestTimeoutMs: parseDuration(f.limits.http_request_timeout)!,
      httpKeepAliveTimeoutMs: parseDuration(f.limits.http_keepalive_timeout)!,
      httpMaxConnections: f.limits.http_max_connections,
      blockingQueries: f.limits.blocking_queries,
      dnsMessageBytes: f.limits.dns_message_bytes,
      dnsTcpConnections: f.limits.dns_tcp_connections,
      dnsTcpConnectionsPerClient: f.limits.dns_tcp_connections_per_client,
      dnsTcpIdleTimeoutMs: parseDuration(f.limits.dns_tcp_idle_timeout)!,
      dnsTcpReadTimeoutMs: parseDuration(f.limits.dns_tcp_read_timeout)!,
      resolutionsPerClient: f.limits.resolutions_per_client,
      recordsPerRrset: f.limits.records_per_rrset,
      instancesPerService: f.limits.instances_per_service,
      kvValueBytes: f.limits.kv_value_bytes,
    },
    rrl: {
      enabled: f.rrl.enabled,
      responsesPerSecond: f.rrl.responses_per_second,
      allPerSecond: f.rrl.all_per_second,
      slip: f.rrl.slip,
      ipv4Prefix: f.rrl.ipv4_prefix,
      ipv6Prefix: f.rrl.ipv6_prefix,
      exempt: f.rrl.exempt,
    },
    recursion: {
      mode: f.recursion.mode,
      upstreams: f.recursion.upstreams.map((u) => parseUpstream(u) as Upstream),
      rootHints: f.recursion.root_hints.map((h) => parseRootHint(h) as RootHint),
      allow: f.recursion.allow,
      timeoutMs: parseDuration(f.recursion.timeout)!,
      qnameMinimisation: f.recursion.qname_minimisation,
      cacheSize: f.recursion.cache_size,
      cacheMaxBytes: f.recursion.cache_memory_mb * 1024 * 1024,
      maxTtl: f.recursion.max_ttl,
      maxNegativeTtl: f.recursion.max_negative_ttl,
      serveStale: f.recursion.serve_stale,
      maxStaleMs: parseDuration(f.recursion.max_stale)!,
      staleAnswerTtl: f.recursion.stale_answer_ttl,
    },
    dnssec: {
      enabled: f.dnssec.enabled,
      algorithm: f.dnssec.algorithm,
      signatureValidityMs: parseDuration(f.dnssec.signature_validity)!,
      signatureRefreshMs: parseDuration(f.dnssec.signature_refresh)!,
      dnskeyTtl: f.dnssec.dnskey_ttl,
      propagationDelayMs: parseDuration(f.dnssec.propagation_delay)!,
      zskLifetimeMs: parseDuration(f.dnssec.zsk_lifetime)!,
      trustAnchors: f.dnssec.trust_anchors.map((a) => parseTrustAnchor(a) as TrustAnchor),
    },
    auth: {
      adminUser: f.auth.admin_user,
      adminPasswordHash: f.auth.admin_password_hash,
      tokens: f.auth.tokens.map((t) => ({
        name: t.name,
        sha256: t.token_sha256 ?? tokenDigest(t.token!),
        role: t.role,
      })),
    },
    registry: { defaultTtlSeconds: f.registry.default_ttl },
    kv: { bootstrapPrefix: f.kv.bootstrap_prefix },
    cluster: {
      name: f.cluster.name,
      secret: f.cluster.secret,
      observer: f.cluster.observer,
      staleAfterMs: parseDuration(f.cluster.stale_after)!,
      dropAfterMs: parseDuration(f.cluster.drop_after)!,
      tombstoneTtlMs: parseDuration(f.cluster.tombstone_ttl)!,
      caFile: f.cluster.ca === undefined ? undefined : abs(f.cluster.ca),
      peers: f.cluster.peers.map((p) => ({ name: p.name, url: p.url.replace(/\/+$/, '') })),
    },
    log: { level: f.log.level },
  };
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !ArrayBuffer.isView(o) && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
