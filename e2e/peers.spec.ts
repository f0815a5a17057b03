import { expect, test } from '@playwright/test';
import { hashPassword } from '../lib/auth/password';
import { removeTemp } from '../server/testing/appliance-process';
import { TestCluster } from '../server/testing/cluster';
import { OPERATOR, PASSWORD, shoot } from './fixtures';

const cluster = new TestCluster();

test.afterAll(async () => {
  for (const n of cluster.nodes.values()) {
    if (n.proc.exitCode === null && n.proc.signalCode === null) await n.stop();
    removeTemp(n.dataDir);
  }
});

test('the peers page shows a peer in step, then stale with the data held from it, and services show who holds a lease', async ({ page }) => {
  const auth = `[auth]\nadmin_user = "${OPERATOR}"\nadmin_password_hash = "${await hashPassword(PASSWORD)}"\n`;
  const clusterToml = 'stale_after = "2s"\ndrop_after = "1h"';
  const [a, b] = await Promise.all([
    cluster.start({ name: 'a', peers: ['b'], clusterToml, toml: auth }),
    cluster.start({ name: 'b', peers: ['a'], clusterToml, toml: auth }),
  ]);
  await b.api('PUT', '/v1/services/consistency/zk/instances/zk-1', { body: { address: '10.2.0.1', port: 2181 } });
  await b.api('PUT', '/v1/kv/cluster/owner', { raw: 'b' });

  await page.goto(`${a.url}/login`);
  await page.getByTestId('login-username').fill(OPERATOR);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('peer-glance')).toContainText('b');
  await expect(page.getByTestId('peer-glance').getByTestId('peer-state')).toHaveText('ok');

  await page.getByTestId('nav-services').click();
  await expect(page.getByTestId('instance-zk-1').getByTestId('lease')).toHaveText('held by b');

  await page.getByTestId('nav-peers').click();
  const row = page.getByTestId('peer-b');
  await expect(row.getByTestId('peer-state')).toHaveText('ok');
  await expect(row).toContainText('reachable');
  await expect(row).toContainText('in step');
  await expect(row.locator('td').nth(4)).toHaveText('2'); // keys held from b: the instance and the KV entry
  await shoot(page, 'peers');

  await b.kill9();
  await expect(row.getByTestId('peer-state')).toHaveText('stale', { timeout: 15_000 });
  await expect(row).toContainText('not reachable');
  await expect(row.getByTestId('peer-error')).toBeVisible();
  await expect(page.getByTestId('stale-data')).toContainText('2 keys from b may be out of date');
  await shoot(page, 'peers-stale');
});
