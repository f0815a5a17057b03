'use server';

import { revalidatePath } from 'next/cache';
import type { ActionResult } from '@/app/_lib/api-types';
import { callApi, notSignedIn, operatorOrNull, type ApiResult } from '@/app/_lib/operator';
import { zoneApi } from '@/components/dns/zoneApi';

/*
 * The DNS pages' writes. Each one checks the session, then makes exactly one API
 * call as the operator, so that what the operator sees on failure is the API's
 * own problem (code, detail and field errors), not a second set of rules.
 */

/** A zone as GET /v1/zones lists it. */
export interface ZoneView {
  name: string;
  source: 'api' | 'file';
  file?: string;
  serial: number;
  rrsets: number;
}

/** An RRset as the zone record routes send it: absolute owner, type mnemonic, TTL, values in presentation format. */
export interface RRsetView {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

/** What the create-zone form sends: the name, name servers separated by white space or commas, and a TTL (blank for the defaults). */
export interface CreateZoneInput {
  name: string;
  nameservers: string;
  ttl: string;
}

/** What the RRset form sends: the owner ("@", relative or absolute), the type, a TTL (blank for the API's default) and the values. */
export interface RRsetInput {
  owner: string;
  type: string;
  ttl: string;
  values: readonly string[];
}

function failed<T>(answer: ApiResult<unknown>): ActionResult<T> {
  return { ok: false, problem: answer.problem! };
}

/** A TTL field: absent when blank, a number when it reads as one, else the text as typed (the API names the problem). */
function ttlField(text: string): { ttl?: unknown } {
  const t = text.trim();
  if (t === '') return {};
  const n = Number(t);
  return { ttl: /^-?\d+$/.test(t) && Number.isSafeInteger(n) ? n : t };
}

/** Server actions are endpoints anyone can call with any values: these must be strings before anything else looks at them. */
const badInput: ActionResult<never> = { ok: false, problem: { code: 'validation_failed', title: 'request failed validation', status: 400, detail: 'the form sent values of the wrong type' } };
const allStrings = (...values: unknown[]) => values.every((v) => typeof v === 'string');

function afterWrite(): void {
  revalidatePath('/dns', 'layout');
}

/** createZone creates a zone (POST /v1/zones) and returns its name as the API writes it. */
export async function createZone(input: CreateZoneInput): Promise<ActionResult<{ name: string }>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (typeof input !== 'object' || input === null || !allStrings(input.name, input.nameservers, input.ttl)) return badInput;
  const nameservers = input.nameservers
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const body = { name: input.name.trim(), ...(nameservers.length > 0 ? { nameservers } : {}), ...ttlField(input.ttl) };
  const answer = await callApi<ZoneView>(operator, 'POST', '/v1/zones', { json: body });
  if (!answer.ok) return failed(answer);
  afterWrite();
  return { ok: true, value: { name: answer.data.name } };
}

/** deleteZone deletes a zone and all its records (DELETE /v1/zones/:zone). */
export async function deleteZone(zone: string): Promise<ActionResult> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (!allStrings(zone)) return badInput;
  const answer = await callApi(operator, 'DELETE', zoneApi(zone));
  if (!answer.ok) return failed(answer);
  afterWrite();
  return { ok: true, value: undefined };
}

/** putRRset replaces the RRset of one owner and type (PUT /v1/zones/:zone/records/:name/:type) and returns it as stored. */
export async function putRRset(zone: string, input: RRsetInput): Promise<ActionResult<RRsetView>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (typeof input !== 'object' || input === null || !allStrings(zone, input.owner, input.type, input.ttl) || !Array.isArray(input.values) || !allStrings(...input.values)) {
    return badInput;
  }
  const owner = input.owner.trim() === '' ? '@' : input.owner.trim();
  const url = zoneApi(zone, 'records', owner, input.type.trim());
  const answer = await callApi<RRsetView>(operator, 'PUT', url, { json: { ...ttlField(input.ttl), values: input.values } });
  if (!answer.ok) return failed(answer);
  afterWrite();
  return { ok: true, value: answer.data };
}

/** deleteRRset removes the RRset of one owner and type (DELETE /v1/zones/:zone/records/:name/:type). */
export async function deleteRRset(zone: string, owner: string, type: string): Promise<ActionResult> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (!allStrings(zone, owner, type)) return badInput;
  const answer = await callApi(operator, 'DELETE', zoneApi(zone, 'records', owner, type));
  if (!answer.ok) return failed(answer);
  afterWrite();
  return { ok: true, value: undefined };
}

/** importZone replaces the whole zone with a zone file (POST /v1/zones/:zone/import) and returns the zone's new summary. */
export async function importZone(zone: string, text: string): Promise<ActionResult<ZoneView>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (!allStrings(zone, text)) return badInput;
  const answer = await callApi<ZoneView>(operator, 'POST', zoneApi(zone, 'import'), {
    body: { data: text, contentType: 'text/dns; charset=utf-8' },
  });
  if (!answer.ok) return failed(answer);
  afterWrite();
  return { ok: true, value: answer.data };
}

/** A zone's DNSSEC keys as GET /v1/dnssec/:zone gives them (public parts only). */
export interface DnssecKeyView {
  keyTag: number;
  role: 'ksk' | 'zsk';
  algorithm: number;
  state: 'published' | 'active' | 'retired' | 'removed';
  dnskey: string;
  ds?: string;
  createdAt: string;
  publishAt: string;
  activateAt: string;
  inactiveAt: string | null;
  removeAt: string | null;
}

export interface DnssecZoneView {
  zone: string;
  keys: DnssecKeyView[];
  ds: string[];
}

/** rollZsk starts a ZSK rollover of the zone (the new key signs once the DNSKEY TTL and propagation delay have passed). */
export async function rollZsk(zone: string): Promise<ActionResult<DnssecZoneView>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (!allStrings(zone)) return badInput;
  const answer = await callApi<DnssecZoneView>(operator, 'POST', `/v1/dnssec/${encodeURIComponent(zone)}/rollover`);
  if (!answer.ok) return failed(answer);
  revalidatePath(`/dns/${encodeURIComponent(zone)}`);
  return { ok: true, value: answer.data };
}
