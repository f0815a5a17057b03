import type { Problem } from '@/app/_lib/api-types';
import { callApi, seg } from '@/app/_lib/operator';
import { keyView, type KeyView } from './kv-shared';

/**
 * The KV pages' reads, made through the appliance's API as the signed-in operator
 * (server side only: pages and the KV server actions).
 */

/** The API's JSON form of an entry. */
interface EntryJson {
  key: string;
  flags: number;
  createIndex: number;
  modifyIndex: number;
  value: string;
  encoding?: 'base64';
}

/** kvApiPath is the API path of a key or prefix: each segment percent-encoded, the "/" between them kept. */
export function kvApiPath(keyOrPrefix: string): string {
  return `/v1/kv/${keyOrPrefix.split('/').map(seg).join('/')}`;
}

const isNotFound = (p: Problem | undefined) => p?.code === 'key_not_found';

/** A key read: the key (null when it does not exist) and the store index of the answer, or the API's problem. */
export type KeyRead = { ok: true; key: KeyView | null; bytes: Uint8Array; index: number } | { ok: false; problem: Problem };

/**
 * readKey reads one key with its exact bytes. It always asks for base64 and
 * decides about text itself, so a value is never changed on its way to an editor.
 */
export async function readKey(operator: string, key: string): Promise<KeyRead> {
  const r = await callApi<EntryJson>(operator, 'GET', `${kvApiPath(key)}?encoding=base64`);
  if (!r.ok) return isNotFound(r.problem) ? { ok: true, key: null, bytes: new Uint8Array(), index: r.index ?? 0 } : { ok: false, problem: r.problem! };
  const bytes = Buffer.from(r.data.value, 'base64');
  return { ok: true, key: keyView(r.data, bytes), bytes, index: r.index ?? 0 };
}

/** One row of a folder listing: a sub-folder with how many keys it holds, or a key. */
export type LevelItem = { kind: 'folder'; prefix: string; name: string; keys: number } | { kind: 'key'; key: string; name: string };

/** A folder listing: the folders, then the keys, one level under a prefix (folders end at "/"). */
export type LevelRead = { ok: true; items: LevelItem[]; total: number; index: number } | { ok: false; problem: Problem };

/**
 * listLevel lists one level under `prefix` like a file browser: keys with a "/"
 * past the prefix are grouped into folders (with their key counts), the other
 * keys are listed by themselves. `total` is every key under the prefix.
 */
export async function listLevel(operator: string, prefix: string): Promise<LevelRead> {
  const r = await callApi<string[]>(operator, 'GET', `${kvApiPath(prefix)}?keys`);
  if (!r.ok) return isNotFound(r.problem) ? { ok: true, items: [], total: 0, index: r.index ?? 0 } : { ok: false, problem: r.problem! };
  // Names are shown relative to the folder the prefix is in ("config/d" lists "db/" under "config/").
  const base = prefix.slice(0, prefix.lastIndexOf('/') + 1).length;
  const folders = new Map<string, number>();
  const keys: LevelItem[] = [];
  for (const key of r.data) {
    const slash = key.indexOf('/', prefix.length);
    if (slash === -1) keys.push({ kind: 'key', key, name: key.slice(base) });
    else {
      const folder = key.slice(0, slash + 1);
      folders.set(folder, (folders.get(folder) ?? 0) + 1);
    }
  }
  const folderItems: LevelItem[] = [...folders].map(([p, n]) => ({ kind: 'folder', prefix: p, name: p.slice(base), keys: n }));
  return { ok: true, items: [...folderItems, ...keys], total: r.data.length, index: r.index ?? 0 };
}
