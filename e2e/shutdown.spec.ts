import { expect, test } from '@playwright/test';
import { removeTemp, type ApplianceProcess } from '../server/testing/appliance-process';
import { shoot, signIn, startManaged } from './fixtures';

let app: ApplianceProcess;

test.beforeAll(async () => {
  app = await startManaged();
});

test.afterAll(async () => {
  if (app.proc.exitCode === null) await app.stop();
  removeTemp(app.dataDir);
});

test('the peers page shows a single node as alone', async ({ page }) => {
  await signIn(page, app);
  await page.getByTestId('nav-peers').click();
  await expect(page.getByTestId('cluster-facts')).toContainText('test-node');
  await shoot(page, 'peers-alone');
});

test('the shutdown control stops the node gracefully, shows the drain, and the process exits 0', async ({ page }) => {
  await signIn(page, app);
  await page.getByTestId('nav-shutdown').click();
  await page.getByTestId('shutdown').click();
  await expect(page.getByTestId('shutdown-dialog')).toBeVisible();
  await shoot(page, 'shutdown-confirm');
  await page.getByTestId('shutdown-confirm').click();
  const log = page.getByTestId('shutdown-log');
  await expect(log.locator('[data-phase="requested"]')).toContainText('web manager user "operator"');
  await expect(log.locator('[data-phase="draining"]').first()).toContainText('listeners closed');
  await expect(log.locator('[data-phase="drained"]')).toBeVisible();
  await expect(page.getByTestId('shutdown-status')).toContainText('has stopped');
  await shoot(page, 'shutdown-done');
  expect(await app.exited).toBe(0);
  const steps = app.logs.map((l) => l.msg);
  expect(steps).toContain('shutting down');
  expect(steps).toContain('stopped');
});
