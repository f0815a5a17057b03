'use server';

import type { ActionResult } from '@/app/_lib/api-types';
import { callApi, notSignedIn, operatorOrNull, seg } from '@/app/_lib/operator';

/** deregisterInstance removes one instance (DELETE /v1/services/{type}/{name}/instances/{id}). */
export async function deregisterInstance(type: string, name: string, id: string): Promise<ActionResult> {
  const operator = await operatorOrNull();
  if (operator === null) return { ok: false, problem: notSignedIn };
  if (![type, name, id].every((v) => typeof v === 'string')) {
    return { ok: false, problem: { code: 'validation_failed', title: 'request failed validation', status: 400, detail: 'type, name and id must be strings' } };
  }
  const r = await callApi(operator, 'DELETE', `/v1/services/${seg(type)}/${seg(name)}/instances/${seg(id)}`);
  return r.ok ? { ok: true, value: undefined } : { ok: false, problem: r.problem! };
}
