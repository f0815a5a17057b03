import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../lib/auth/password';
import { removeTemp, startAppliance, type ApplianceProcess } from '../server/testing/appliance-process';

const PASSWORD = 'e2e-correct-horse-battery';
const SHOTS = join(__dirname, '.artifacts');
let app: ApplianceProcess;

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const hash = await hashPassword(PASSWORD);
  app = await startAppliance({ toml: `[auth]\nadmin_user = "operator"\nadmin_password_hash = "${hash}"\n` });
});

test.afterAll(async () => {
  await app.stop();
  removeTemp(app.dataDir);
});

test('the overview needs a login', async ({ page }) => {
  await page.goto(`${app.url}/`);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByTestId('login-submit')).toBeVisible();
});

test('a wrong password is refused without saying which part was wrong', async ({ page }) => {
  await page.goto(`${app.url}/login`);
  await page.getByTestId('login-username').fill('operator');
  await page.getByTestId('login-password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-error')).toHaveText('Sign-in failed: the user name or password is not right.');
  await expect(page).toHaveURL(/\/login$/);
  await page.screenshot({ path: join(SHOTS, 'login-refused.png') });
});

test('the right password admits, the overview shows this node and its services, sign-out ends the session', async ({ page }) => {
  await app.api('PUT', '/v1/services/discovery/nacos/instances/n1', { body: { address: '10.0.0.1', port: 8848 } });
  await page.goto(`${app.url}/login`);
  await page.getByTestId('login-username').fill('operator');
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('node-name')).toHaveText('test-node');
  await expect(page.getByTestId('service-types')).toContainText('discovery');
  await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(`${app.url}/`);
  await expect(page).toHaveURL(/\/login$/);
});
