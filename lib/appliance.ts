import type { ServiceView } from './registry/registry';

/**
 * The running appliance as the web manager sees it. The web manager runs in its
 * own worker thread (so that Next's global patches and async hooks stay off the
 * DNS and API paths); its worker publishes one Appliance on globalThis before Next
 * starts, whose calls go to the appliance's thread as messages. Server components,
 * route handlers and server actions reach it only through getAppliance(), and call
 * the same operations the HTTP API calls. Every operation is therefore async and
 * takes and returns structured-clonable values.
 */
export interface Appliance {
  info(): Promise<ApplianceInfo>;
  /** verifyAdmin checks the web manager's login (constant time, scrypt). */
  verifyAdmin(user: string, password: string): Promise<boolean>;
  /** Key for next-auth's session tokens: generated on first start, kept in the data directory. */
  readonly sessionSecret: string;
  readonly registry: {
    services(type?: string): Promise<ServiceView[]>;
  };
}

/** The operations behind the Appliance accessor, by name: what the worker may call across the thread boundary. */
export interface ApplianceOperations {
  info(): ApplianceInfo;
  verifyAdmin(user: string, password: string): Promise<boolean>;
  services(type?: string): ServiceView[];
}

export interface ApplianceInfo {
  readonly node: string;
  readonly version: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly listeners: readonly { readonly name: string; readonly address: string }[];
  readonly ready: boolean;
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
