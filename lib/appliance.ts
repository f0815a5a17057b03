import type { ServiceView } from './registry/registry';

/**
 * The running appliance as the web manager sees it. The custom server publishes one
 * Appliance on globalThis before Next starts (module singletons are not shared
 * between the server and Next's compiled bundles); server components, route
 * handlers and server actions reach it only through getAppliance(), and call the
 * same operations the HTTP API calls.
 */
export interface Appliance {
  info(): ApplianceInfo;
  /** verifyAdmin checks the web manager's login (constant time, scrypt). */
  verifyAdmin(user: string, password: string): Promise<boolean>;
  /** Key for next-auth's session tokens: generated on first start, kept in the data directory. */
  readonly sessionSecret: string;
  readonly registry: {
    services(type?: string): ServiceView[];
  };
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

/** publishAppliance makes the appliance reachable from Next's bundles; called once by server/main. */
export function publishAppliance(a: Appliance | undefined): void {
  (globalThis as Holder)[KEY] = a;
}

/** getAppliance returns the running appliance; it throws when none is published (Next run without our server). */
export function getAppliance(): Appliance {
  const a = (globalThis as Holder)[KEY];
  if (a === undefined) throw new Error('the appliance is not running in this process (start it with npm start)');
  return a;
}
