import { expect, test } from '@playwright/test';
import { connect } from 'node:net';
import { TEST_TOKENS } from '../server/testing/appliance-process';
import { managedAppliance, shoot, signIn } from './fixtures';

// A long drain, so that the test sees it wait for a request in flight before the request ends.
const app = managedAppliance('', { shutdownTimeout: '30s' });

test('the peers page shows a single node as alone', async ({ page }) => {
  await signIn(page, app);
  await page.getByTestId('nav-peers').click();
  await expect(page.getByTestId('cluster-facts')).toContainText('test-node');
  await shoot(page, 'peers-alone');
});

test('the shutdown control stops the node gracefully, shows the drain, and the process exits 0', async ({ page }) => {
  await signIn(page, app);
  await page.getByTestId('nav-shutdown').click();
  // A request in flight that the drain must wait for: a KV write whose body is still arriving.
  const [host, port] = [new URL(app.url).hostname, Number(new URL(app.url).port)];
  const slow = connect({ host, port });
  let answer = '';
  slow.on('data', (d) => (answer += d.toString()));
  const ended = new Promise<void>((resolve) => slow.on('close', () => resolve()));
  slow.write(`PUT /v1/kv/slow/upload HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${TEST_TOKENS.kv}\r\ncontent-length: 10\r\n\r\nhello`);
  await page.getByTestId('shutdown').click();
  await expect(page.getByTestId('shutdown-dialog')).toBeVisible();
  await shoot(page, 'shutdown-confirm');
  await page.getByTestId('shutdown-confirm').click();
  const log = page.getByTestId('shutdown-log');
  await expect(log.locator('[data-phase="requested"]')).toContainText('web manager user "operator"');
  await expect(log.locator('[data-phase="draining"]').first()).toContainText('listeners closed');
  // The drain waits for the upload (and this page's own stream) ...
  await expect(log.locator('[data-phase="draining"]').nth(1)).toContainText('1 request(s) still in flight');
  await expect(log.locator('[data-phase="drained"]')).toHaveCount(0);
  await shoot(page, 'shutdown-draining');
  // ... which, finished, gets a whole answer; then the drain ends.
  slow.write('world');
  await expect(log.locator('[data-phase="drained"]')).toBeVisible();
  await ended;
  expect(answer).toMatch(/^HTTP\/1\.1 \d{3} /);
  await expect(page.getByTestId('shutdown-status')).toContainText('has stopped');
  await shoot(page, 'shutdown-done');
  expect(await app.exited).toBe(0);
  const steps = app.logs.map((l) => l.msg);
  expect(steps).toContain('shutting down');
  expect(steps).toContain('stopped');
});
