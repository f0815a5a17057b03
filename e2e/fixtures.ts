import { expect, test, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../lib/auth/password';
import { removeTemp, startAppliance, type ApplianceProcess } from '../server/testing/appliance-process';

/** Where each spec keeps its screenshots (kept as test artifacts; a few are in the README). */
export const SHOTS = join(__dirname, '.artifacts');
export const OPERATOR = 'operator';
export const PASSWORD = 'e2e-correct-horse-battery';

/** startManaged starts a real appliance (built production server) with a known operator login. */
export async function startManaged(extraToml = '', opts: { shutdownTimeout?: string } = {}): Promise<ApplianceProcess> {
  mkdirSync(SHOTS, { recursive: true });
  const hash = await hashPassword(PASSWORD);
  return startAppliance({ toml: `[auth]\nadmin_user = "${OPERATOR}"\nadmin_password_hash = "${hash}"\n${extraToml}`, ...opts });
}

/** signIn logs the operator in through the login form and waits for the overview. */
export async function signIn(page: Page, app: ApplianceProcess): Promise<void> {
  await page.goto(`${app.url}/login`);
  await page.getByTestId('login-username').fill(OPERATOR);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('node-name')).toBeVisible();
}

/** shoot saves a full-page screenshot under e2e/.artifacts. */
export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * managedAppliance starts one appliance for the spec file (beforeAll), and stops it
 * and removes its data (afterAll, unless a test already stopped it). It returns a
 * stand-in that forwards to that appliance, for use inside tests.
 */
export function managedAppliance(extraToml = '', opts: { shutdownTimeout?: string } = {}): ApplianceProcess {
  let app: ApplianceProcess | undefined;
  test.beforeAll(async () => {
    app = await startManaged(extraToml, opts);
  });
  test.afterAll(async () => {
    if (app === undefined) return;
    if (app.proc.exitCode === null && app.proc.signalCode === null) await app.stop();
    removeTemp(app.dataDir);
  });
  return new Proxy({} as ApplianceProcess, {
    get(_, prop) {
      if (app === undefined) throw new Error('the appliance is used outside a test');
      const v = Reflect.get(app, prop) as unknown;
      return typeof v === 'function' ? v.bind(app) : v;
    },
  });
}
