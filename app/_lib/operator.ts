import { getServerSession } from 'next-auth';
import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { authOptions } from '@/app/auth-options';
import { getAppliance, type ApiAnswer } from '@/lib/appliance';
import type { Problem } from './api-types';

/**
 * The web manager's server side: who is signed in, and the one way to the data
 * (the appliance's API router, called in-process as that operator). Server
 * components, route handlers and server actions all start here.
 */

/** operatorOrNull returns the signed-in operator's name, or null without a session. */
export async function operatorOrNull(): Promise<string | null> {
  const session = await getServerSession(authOptions());
  return session?.user?.name ?? null;
}

/** requireOperator returns the signed-in operator; without a session it redirects to the login page (pages only). */
export async function requireOperator(): Promise<string> {
  const operator = await operatorOrNull();
  if (operator === null) redirect('/login');
  return operator;
}

/** An API answer, decoded: JSON when the body is JSON, the problem when it failed. */
export interface ApiResult<T = unknown> {
  readonly ok: boolean;
  readonly status: number;
  /** X-Nekoq-Index, when the API sent one. */
  readonly index: number | undefined;
  readonly data: T;
  readonly text: string;
  readonly bytes: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly problem: Problem | undefined;
}

export interface ApiOptions {
  /** A JSON body. */
  readonly json?: unknown;
  /** A raw body with its content type. */
  readonly body?: { readonly data: Uint8Array | string; readonly contentType: string };
  readonly signal?: AbortSignal;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** callApi runs one API request as `operator` through the appliance's own router. */
export async function callApi<T = unknown>(operator: string, method: string, url: string, opts: ApiOptions = {}): Promise<ApiResult<T>> {
  const hdrs: Record<string, string> = {};
  let body: Uint8Array | undefined;
  if (opts.json !== undefined) {
    hdrs['content-type'] = 'application/json';
    body = encoder.encode(JSON.stringify(opts.json));
  } else if (opts.body !== undefined) {
    hdrs['content-type'] = opts.body.contentType;
    body = typeof opts.body.data === 'string' ? encoder.encode(opts.body.data) : opts.body.data;
  }
  const remoteAddress = (await headers()).get('x-forwarded-for') ?? '';
  const answer: ApiAnswer = await getAppliance().api({ method, url, headers: hdrs, ...(body === undefined ? {} : { body }), remoteAddress }, operator, opts.signal);
  return decodeAnswer<T>(answer);
}

function decodeAnswer<T>(answer: ApiAnswer): ApiResult<T> {
  const type = answer.headers['content-type'] ?? '';
  const text = type.includes('json') || type.startsWith('text/') ? decoder.decode(answer.body) : '';
  let data: unknown;
  if (type.includes('json') && text.length > 0) data = JSON.parse(text);
  const ok = answer.status >= 200 && answer.status < 300;
  const indexHeader = answer.headers['x-nekoq-index'];
  return {
    ok,
    status: answer.status,
    index: indexHeader === undefined ? undefined : Number(indexHeader),
    data: data as T,
    text,
    bytes: answer.body,
    headers: answer.headers,
    problem: ok ? undefined : ((data as Problem | undefined) ?? { code: 'internal', title: `HTTP ${answer.status}`, status: answer.status }),
  };
}

/** notSignedIn is the problem a server action returns without a session. */
export const notSignedIn: Problem = { code: 'unauthorized', title: 'your session has ended; sign in again', status: 401 };

/** seg percent-encodes one path segment. */
export const seg = (s: string) => encodeURIComponent(s);

/** problemResponse answers a route handler's request with a problem (application/problem+json, never cached). */
export function problemResponse(p: Problem): Response {
  return new Response(JSON.stringify(p), { status: p.status, headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' } });
}

/** firstParam is the first value of a search parameter of a page (Next gives repeated ones as an array). */
export function firstParam(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
