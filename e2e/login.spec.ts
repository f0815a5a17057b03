import { expect, test } from '@playwright/test';
import { managedAppliance, OPERATOR, PASSWORD, shoot, signIn } from './fixtures';

const app = managedAppliance();

test('every page needs a login', async ({ page }) => {
  for (const path of ['/', '/services', '/dns', '/kv', '/peers', '/shutdown']) {
    await page.goto(`${app.url}${path}`);
    await expect(page).toHaveURL(/\/login$/);
  }
  await expect(page.getByTestId('login-submit')).toBeVisible();
});

test('a wrong password is refused without saying which part was wrong', async ({ page }) => {
  await page.goto(`${app.url}/login`);
  await page.getByTestId('login-username').fill(OPERATOR);
  await page.getByTestId('login-password').fill('not-the-password');
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-error')).toHaveText('Sign-in failed: the user name or password is not right.');
  await expect(page).toHaveURL(/\/login$/);
  await shoot(page, 'login-refused');
  // A wrong user name gets the very same words.
  await page.getByTestId('login-username').fill('nobody');
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-error')).toHaveText('Sign-in failed: the user name or password is not right.');
});

test('the right password admits, the overview shows this node, what it holds and its listeners; sign-out ends the session', async ({ page }) => {
  await app.api('PUT', '/v1/services/discovery/nacos/instances/n1', { body: { address: '10.0.0.1', port: 8848 } });
  await app.api('PUT', '/v1/kv/config/a', { raw: 'x' });
  await signIn(page, app);
  await expect(page.getByTestId('node-name')).toHaveText('test-node');
  await expect(page.getByTestId('count-instances')).toHaveText('1');
  await expect(page.getByTestId('count-kv')).toHaveText('1');
  await expect(page.getByTestId('node-facts')).toContainText(app.listeners['dns-udp']!);
  await shoot(page, 'overview');
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto(`${app.url}/`);
  await expect(page).toHaveURL(/\/login$/);
});

// Last in this file: it locks this browser's address out.
test('sign-in attempts are rate limited per client: after five failures even the right password waits', async ({ page }) => {
  await page.goto(`${app.url}/login`);
  const refused = 'Sign-in failed: the user name or password is not right.';
  // The successful sign-in above cleared the two failures before it.
  let failures = 0;
  while (failures < 5) {
    await page.getByTestId('login-username').fill(OPERATOR);
    await page.getByTestId('login-password').fill(`wrong-${failures}`);
    await page.getByTestId('login-submit').click();
    await expect(page.getByTestId('login-error')).toHaveText(refused);
    await page.getByTestId('login-error').evaluate((e) => (e.textContent = ''));
    failures += 1;
  }
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('login-error')).toHaveText(/^Too many failed sign-ins from this address: try again in \d+ s\.$/);
  await expect(page).toHaveURL(/\/login$/);
  await shoot(page, 'login-limited');
  // Two refusals in the test before the successful sign-in, five here.
  const metrics = (await app.api('GET', '/metrics', { role: null })).text;
  expect(metrics).toMatch(/nekoq_web_logins_total\{result="refused"\} 7/);
  expect(metrics).toMatch(/nekoq_web_logins_total\{result="limited"\} 1/);
});
