import { TYPE } from '../../../lib/dns/constants';
import { RolloverError, type KeyInfo } from '../../../lib/dns/dnssec/keyring';
import type { ZoneSigner } from '../../../lib/dns/dnssec/signer';
import { formatName } from '../../../lib/dns/presentation';
import { parseZoneName } from '../../../lib/dns/zone-store';
import type { DnssecConfig } from '../../../lib/config/config';
import { ApiError } from '../../../lib/errors';
import type { Route } from '../router';

export interface DnssecRouteDeps {
  readonly config: DnssecConfig;
  /** undefined when [dnssec] enabled is false. */
  readonly signer: ZoneSigner | undefined;
  /** The zones signed (internal form): the service zone and the operator zones. */
  readonly zones: () => string[];
  /** Whether the resolver validates (recursion on and trust anchors given). */
  readonly validating: boolean;
}

/**
 * dnssecRoutes returns the signing keys' public side: GET /v1/dnssec (every
 * signed zone), GET /v1/dnssec/:zone (one zone: its DNSKEY records, and the DS
 * records to give the parent), and POST /v1/dnssec/:zone/rollover (start a ZSK
 * rollover; admin). Private keys are never part of any response.
 */
export function dnssecRoutes(deps: DnssecRouteDeps): Route[] {
  const zoneBody = (zone: string, keys: KeyInfo[]) => ({ zone: formatName(zone), keys, ds: keys.flatMap((k) => (k.ds !== undefined && k.state !== 'removed' ? [k.ds] : [])) });
  const signer = (): ZoneSigner => {
    if (deps.signer === undefined) throw new ApiError('dnssec_off');
    return deps.signer;
  };
  const zoneOf = (text: string): string => {
    const zone = parseZoneName(text);
    if (!deps.zones().includes(zone)) throw new ApiError('zone_not_found', `there is no zone ${formatName(zone)}`);
    return zone;
  };
  return [
    {
      method: 'GET',
      path: '/v1/dnssec',
      permission: 'read',
      handler() {
        const s = deps.signer;
        const c = deps.config;
        const settings = {
          enabled: c.enabled,
          algorithm: c.algorithm,
          signatureValidityMs: c.signatureValidityMs,
          signatureRefreshMs: c.signatureRefreshMs,
          dnskeyTtl: c.dnskeyTtl,
          validating: deps.validating,
          trustAnchors: c.trustAnchors.map((a) => ({ owner: formatName(a.owner), type: a.type === TYPE.DS ? 'DS' : 'DNSKEY', keyTag: a.keyTag, algorithm: a.algorithm })),
        };
        if (s === undefined) return { status: 200, body: { ...settings, zones: [] } };
        return { status: 200, body: { ...settings, signatures: { cached: s.cachedSignatures, ...s.stats }, zones: deps.zones().map((z) => zoneBody(z, s.keyring.info(z))) } };
      },
    },
    {
      method: 'GET',
      path: '/v1/dnssec/:zone',
      permission: 'read',
      handler(ctx) {
        const s = signer();
        const zone = zoneOf(ctx.params.zone!);
        return { status: 200, body: zoneBody(zone, s.keyring.info(zone)) };
      },
    },
    {
      method: 'POST',
      path: '/v1/dnssec/:zone/rollover',
      permission: 'admin',
      handler(ctx) {
        const s = signer();
        const zone = zoneOf(ctx.params.zone!);
        try {
          s.keyring.rollZsk(zone);
        } catch (err) {
          if (err instanceof RolloverError) throw new ApiError('rollover_in_progress', err.message);
          throw err;
        }
        return { status: 202, body: zoneBody(zone, s.keyring.info(zone)) };
      },
    },
  ];
}
