/**
 * What the KV pages, their server actions and their client components share:
 * the shape of a key as the pages show it, links between the pages, and byte
 * conversions that run the same in the browser and on the server.
 */

/** How a value is held in an editor: UTF-8 text, or base64 for any bytes. */
export type ValueMode = 'text' | 'base64';

/** The API's largest value (README "KV store"). */
export const MAX_VALUE_BYTES = 512 * 1024;

/** The largest flags value the API takes (2^53 − 1). */
export const MAX_FLAGS = Number.MAX_SAFE_INTEGER;

/** One key as the pages show it: its facts and its value in the mode an editor opens it in. */
export interface KeyView {
  readonly key: string;
  readonly flags: number;
  readonly createIndex: number;
  readonly modifyIndex: number;
  /** The value's length in bytes. */
  readonly size: number;
  /** Whether the bytes are valid UTF-8. */
  readonly utf8: boolean;
  /** Whether the text holds a carriage return, which a text box would turn into a line feed. */
  readonly hasCR: boolean;
  /** base64 when the value is not UTF-8 text or holds a CR (so that saving it unchanged keeps every byte), else text. */
  readonly mode: ValueMode;
  /** The value in `mode`. */
  readonly value: string;
}

/** keyView describes a key from its facts and exact bytes. */
export function keyView(e: { key: string; flags: number; createIndex: number; modifyIndex: number }, bytes: Uint8Array): KeyView {
  const text = utf8Text(bytes);
  const hasCR = text !== undefined && text.includes('\r');
  const mode: ValueMode = text === undefined || hasCR ? 'base64' : 'text';
  return {
    key: e.key,
    flags: e.flags,
    createIndex: e.createIndex,
    modifyIndex: e.modifyIndex,
    size: bytes.length,
    utf8: text !== undefined,
    hasCR,
    mode,
    value: mode === 'text' ? (text ?? '') : bytesToBase64(bytes),
  };
}

// --- Links between the pages. A "/" needs no escaping in a query, and prefixes read better with it.

const q = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/');

/** browseHref links the browse page at a prefix (and page of the listing). */
export function browseHref(prefix: string, page = 1): string {
  const params = [prefix === '' ? '' : `prefix=${q(prefix)}`, page > 1 ? `page=${page}` : ''].filter((p) => p !== '');
  return params.length === 0 ? '/kv' : `/kv?${params.join('&')}`;
}

/** keyHref links a key's page. */
export function keyHref(key: string): string {
  return `/kv/edit?key=${q(key)}`;
}

/** newKeyHref links the create page with the key field filled in (a folder prefix, or a whole key). */
export function newKeyHref(start: string): string {
  return start === '' ? '/kv/new' : `/kv/new?key=${q(start)}`;
}

/** downloadHref links a key's value as a file. */
export function downloadHref(key: string): string {
  return `/kv/raw?key=${q(key)}`;
}

/** withNotice adds a one-time notice parameter (such as deleted=<key>) to a page link; the page shows it once. */
export function withNotice(href: string, name: 'deleted' | 'created', value: string): string {
  return `${href}${href.includes('?') ? '&' : '?'}${name}=${q(value)}`;
}

/** folderOf is the folder a key or prefix is in: everything up to and including its last "/" ("" at the top). */
export function folderOf(keyOrPrefix: string): string {
  return keyOrPrefix.slice(0, keyOrPrefix.lastIndexOf('/') + 1);
}

/** folderTrail lists the folders leading to `folder` ("a/b/" gives a/ and a/b/), each with its name and full prefix. */
export function folderTrail(folder: string): { name: string; prefix: string }[] {
  const out: { name: string; prefix: string }[] = [];
  let at = 0;
  for (;;) {
    const slash = folder.indexOf('/', at);
    if (slash === -1) return out;
    out.push({ name: folder.slice(at, slash + 1), prefix: folder.slice(0, slash + 1) });
    at = slash + 1;
  }
}

// --- Bytes.

const encoder = new TextEncoder();

/** utf8Bytes encodes text as UTF-8. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** utf8Text decodes bytes that are valid UTF-8 (a leading byte-order mark is kept), else returns undefined. */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** bytesToBase64 writes bytes as standard base64 with padding. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** base64ToBytes reads standard base64 (white space, such as line breaks, is ignored), or returns undefined when it is not base64. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  const t = text.replace(/\s+/g, '');
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return undefined;
  let binary: string;
  try {
    binary = atob(t);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** valueBytes turns an editor's content into the bytes to store, or undefined when base64 content is not base64. */
export function valueBytes(value: string, mode: ValueMode): Uint8Array | undefined {
  return mode === 'text' ? utf8Bytes(value) : base64ToBytes(value);
}

/** checkFlags returns why a flags field is not a valid flags value, or undefined. */
export function checkFlags(flags: string): string | undefined {
  if (!/^\d{1,16}$/.test(flags) || Number(flags) > MAX_FLAGS) return `Flags must be a whole number from 0 to ${MAX_FLAGS}.`;
  return undefined;
}

/** hexDump writes up to `limit` bytes as lines of offset, 16 bytes in hex, and their printable ASCII. */
export function hexDump(bytes: Uint8Array, limit: number): string {
  const lines: string[] = [];
  const end = Math.min(bytes.length, limit);
  for (let at = 0; at < end; at += 16) {
    const row = bytes.subarray(at, Math.min(at + 16, end));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return lines.join('\n');
}
