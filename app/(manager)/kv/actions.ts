'use server';

import type { ActionResult, Problem } from '@/app/_lib/api-types';
import { callApi, notSignedIn, operatorOrNull } from '@/app/_lib/operator';
import { kvApiPath, readKey } from './kv-api';
import { checkFlags, valueBytes, type KeyView, type ValueMode } from './kv-shared';

/**
 * What a compare-and-set write came to: done (with the key's new modifyIndex), or
 * refused because the key is not as the operator saw it; `current` is the key as
 * it is now (null: it does not exist) and `index` the store index then.
 */
export type CasOutcome = { readonly done: true; readonly modifyIndex: number } | { readonly done: false; readonly current: KeyView | null; readonly index: number };

/** What the editor sends to store a value. */
export interface ValueInput {
  readonly key: string;
  readonly value: string;
  readonly mode: ValueMode;
  /** Decimal, as typed. */
  readonly flags: string;
}

const invalid = (path: string, message: string): Problem => ({ code: 'validation_failed', title: message, detail: message, status: 400, errors: [{ path, message }] });

/** A lone UTF-16 surrogate: such a key cannot be written as UTF-8 (nor percent-encoded). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const badKey = (key: unknown) => typeof key !== 'string' || LONE_SURROGATE.test(key);
const keyProblem: Problem = { code: 'invalid_path', title: 'a key must be valid UTF-8', detail: 'a key must be valid UTF-8', status: 400 };

/** checkValue validates an editor's input (server actions can be called with anything) and returns the bytes to store. */
function checkValue(input: ValueInput): { bytes: Uint8Array } | { problem: Problem } {
  if (typeof input !== 'object' || input === null || typeof input.value !== 'string') return { problem: invalid('', 'The request is not valid.') };
  if (badKey(input.key)) return { problem: keyProblem };
  if (input.mode !== 'text' && input.mode !== 'base64') return { problem: invalid('mode', 'The value must be text or base64.') };
  const badFlags = typeof input.flags === 'string' ? checkFlags(input.flags) : 'Flags are missing.';
  if (badFlags !== undefined) return { problem: invalid('flags', badFlags) };
  const bytes = valueBytes(input.value, input.mode);
  if (bytes === undefined) return { problem: invalid('value', 'The value is not valid base64 (A–Z, a–z, 0–9, "+" and "/", padded with "=" to a multiple of 4).') };
  return { bytes };
}

const validCas = (cas: unknown): cas is number => typeof cas === 'number' && Number.isSafeInteger(cas) && cas >= 0;

/** put runs PUT /v1/kv/{key}?cas=&flags= and, when the check fails, reads the key as it is now. */
async function put(operator: string, input: ValueInput, cas: number): Promise<ActionResult<CasOutcome>> {
  const checked = checkValue(input);
  if ('problem' in checked) return { ok: false, problem: checked.problem };
  const r = await callApi<boolean>(operator, 'PUT', `${kvApiPath(input.key)}?cas=${cas}&flags=${input.flags}`, {
    body: { data: checked.bytes, contentType: 'application/octet-stream' },
  });
  if (!r.ok) return { ok: false, problem: r.problem! };
  if (r.data === true) return { ok: true, value: { done: true, modifyIndex: r.index ?? 0 } };
  return refused(operator, input.key);
}

/** refused reads the key after a failed check so the operator can be told what it is now. */
async function refused(operator: string, key: string): Promise<ActionResult<CasOutcome>> {
  const now = await readKey(operator, key);
  if (!now.ok) return { ok: false, problem: now.problem };
  return { ok: true, value: { done: false, current: now.key, index: now.index } };
}

/**
 * saveKey stores a value only if the key is still at modifyIndex `cas` (the index
 * the operator opened it at; 0: only if it does not exist), with the given flags.
 */
export async function saveKey(input: ValueInput, cas: number): Promise<ActionResult<CasOutcome>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (!validCas(cas)) return { ok: false, problem: invalid('cas', 'The index to check is not valid.') };
  return put(operator, input, cas);
}

/** createKey stores a new key; it is refused (done: false, with the existing key) when the key already exists. */
export async function createKey(input: ValueInput): Promise<ActionResult<CasOutcome>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  return put(operator, input, 0);
}

/** deleteKey deletes a key only if it is still at modifyIndex `cas` (refused, with the key as it is now, otherwise). */
export async function deleteKey(key: string, cas: number): Promise<ActionResult<CasOutcome>> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (badKey(key)) return { ok: false, problem: keyProblem };
  if (!validCas(cas) || cas === 0) return { ok: false, problem: invalid('cas', 'The index to check is not valid.') };
  const r = await callApi<boolean>(operator, 'DELETE', `${kvApiPath(key)}?cas=${cas}`);
  if (!r.ok) return { ok: false, problem: r.problem! };
  if (r.data === true) return { ok: true, value: { done: true, modifyIndex: r.index ?? 0 } };
  return refused(operator, key);
}
