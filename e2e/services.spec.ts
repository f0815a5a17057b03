import { expect, test } from '@playwright/test';
import { managedAppliance, shoot, signIn } from './fixtures';

const app = managedAppliance();

test('a service registered through the API appears without reload and disappears after deregistration', async ({ page }) => {
  await signIn(page, app);
  await page.getByTestId('nav-services').click();
  await expect(page.getByTestId('services-empty')).toBeVisible();
  // Mark the document: a reload would lose the mark.
  await page.evaluate(() => ((window as unknown as { mark: string }).mark = 'same-page'));

  const put = await app.api('PUT', '/v1/services/mq/kafka/instances/broker-1', {
    body: { address: '10.1.0.7', port: 9092, ttl: 60, tags: ['primary'], meta: { zone: 'dc1-a' } },
  });
  expect(put.status).toBe(200);
  const row = page.getByTestId('instance-broker-1');
  await expect(row).toBeVisible();
  await expect(row).toContainText('10.1.0.7:9092/tcp');
  await expect(row).toContainText('primary');
  await expect(row).toContainText('zone=dc1-a');
  await expect(row.getByTestId('lease')).toContainText(/\d+s left/);
  await app.api('PUT', '/v1/services/discovery/nacos/instances/n1', { body: { address: '10.0.0.1', port: 8848 } });
  await expect(page.getByTestId('instance-n1')).toBeVisible();
  await shoot(page, 'services');

  // The filter narrows the list; the type selector too.
  await page.getByTestId('services-filter').fill('dc1-a');
  await expect(page.getByTestId('instance-n1')).toBeHidden();
  await expect(row).toBeVisible();
  await page.getByTestId('services-filter').fill('');
  await page.getByTestId('services-type').selectOption('discovery');
  await expect(row).toBeHidden();
  await page.getByTestId('services-type').selectOption('');

  // Deregistered through the API: gone without reload.
  expect((await app.api('DELETE', '/v1/services/discovery/nacos/instances/n1')).status).toBe(204);
  await expect(page.getByTestId('instance-n1')).toBeHidden();

  // Deregistered through the UI, with confirmation; Cancel first changes nothing.
  await page.getByTestId('deregister-broker-1').click();
  await expect(page.getByTestId('deregister-broker-1-dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('deregister-broker-1-dialog')).toBeHidden();
  expect((await app.api('GET', '/v1/services/mq/kafka/instances/broker-1')).status).toBe(200);
  await page.getByTestId('deregister-broker-1').click();
  await page.getByTestId('deregister-broker-1-confirm').click();
  await expect(row).toBeHidden();
  expect((await app.api('GET', '/v1/services/mq/kafka/instances/broker-1')).status).toBe(404);
  await expect(page.getByTestId('services-empty')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { mark?: string }).mark)).toBe('same-page');
});

test('the services page is readable at 390 px', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await app.api('PUT', '/v1/services/batch/spark/instances/exec-1', { body: { address: 'fd00::17', port: 7077, tags: ['gpu'] } });
  await signIn(page, app);
  await page.goto(`${app.url}/services`);
  await expect(page.getByTestId('instance-exec-1')).toContainText('[fd00::17]:7077');
  // Nothing but the table scrolls sideways.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await shoot(page, 'services-mobile');
});
