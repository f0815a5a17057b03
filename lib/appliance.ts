/**
 * The running appliance as the web manager sees it. The web manager runs in its
 * own worker thread (so that Next's global patches and async hooks stay off the
 * DNS and API paths); its worker publishes one Appliance on globalThis before Next
 * starts, whose calls go to the appliance's thread as messages. Server components,
 * route handlers and server actions reach it only through getAppliance().
 *
 * Every read and write of data goes through `api`: the HTTP API's own router,
 * called in-process as the signed-in operator (role admin). The web manager thus
 * has no second code path to the data: the same routes, validation messages,
 * error codes, observer refusals and metrics as a client with a token.
 */
export interface Appliance {
  info(): Promise<ApplianceInfo>;
  /**
   * verifyAdmin checks the web manager's login (scrypt, constant time) for a
   * client address, under the login rate limit: a refused or limited attempt
   * never says which part was wrong.
   */
  verifyAdmin(user: string, password: string, client: string): Promise<LoginVerdict>;
  /** api runs one API request as `operator`; aborting `signal` ends a blocking query early. */
  api(call: ApiCall, operator: string, signal?: AbortSignal): Promise<ApiAnswer>;
  /** shutdownProgress waits (at most waitMs) for shutdown steps after the first `after` and returns them. */
  shutdownProgress(after: number, waitMs: number): Promise<ShutdownProgress>;
  /** Key for next-auth's session tokens: generated on first start, kept in the data directory. */
  readonly sessionSecret: string;
}

/** The operations behind the Appliance accessor, by name: what the worker may call across the thread boundary. */
export interface ApplianceOperations {
  info(): ApplianceInfo;
  verifyAdmin(user: string, password: string, client: string): Promise<LoginVerdict>;
  api(call: ApiCall, operator: string, signal?: AbortSignal): Promise<ApiAnswer>;
  shutdownProgress(after: number, waitMs: number): Promise<ShutdownProgress>;
}

/**
 * The web manager's shutdown stream (POST): the HTTP fronts count requests to it
 * as watchers, apart from the requests a drain waits for.
 */
export const SHUTDOWN_WATCH_PATH = '/ui/shutdown';

export interface ApplianceInfo {
  readonly node: string;
  readonly version: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly listeners: readonly { readonly name: string; readonly address: string }[];
  readonly ready: boolean;
}

/** ok: admitted. refused: wrong user or password (never which). limited: too many attempts from this client; retry after retryAfterS. */
export type LoginVerdict = { readonly result: 'ok' } | { readonly result: 'refused' } | { readonly result: 'limited'; readonly retryAfterS: number };

/** An API request made in-process: the same routes, checks and errors as over HTTP. */
export interface ApiCall {
  readonly method: string;
  /** Path and query, percent-encoded as on the wire. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  /** The client's address as the API's handlers see it (DoH, recursion rules). */
  readonly remoteAddress?: string;
}

/** The answer to an ApiCall: status, headers (lower case), and the body as bytes (JSON, problem+json, text or binary). */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** One step of a graceful shutdown, as the operator sees it. */
export interface ShutdownEvent {
  readonly seq: number;
  /** ms since the epoch. */
  readonly at: number;
  readonly phase: 'requested' | 'not-ready' | 'peers-told' | 'waking' | 'draining' | 'drained' | 'web-stopping';
  readonly text: string;
}

/** What shutdownProgress returns: the events after the caller's position; `final` once the caller will see no more. */
export interface ShutdownProgress {
  readonly events: readonly ShutdownEvent[];
  readonly final: boolean;
}

const KEY = Symbol.for('nekoq-bootstrap.appliance');
type Holder = { [KEY]?: Appliance };

/** publishAppliance makes the appliance reachable from Next's bundles; called once by the web manager's worker. */
export function publishAppliance(a: Appliance | undefined): void {
  (globalThis as Holder)[KEY] = a;
}

/** getAppliance returns the running appliance; it throws when none is published (Next run without our server). */
export function getAppliance(): Appliance {
  const a = (globalThis as Holder)[KEY];
  if (a === undefined) throw new Error('the appliance is not running in this process (start it with npm start)');
  return a;
}
