import { expect, test, type Page } from '@playwright/test';
import { TEST_TOKENS } from '../server/testing/appliance-process';
import { managedAppliance, shoot, signIn } from './fixtures';

const app = managedAppliance();

/** putBytes stores raw bytes under a key through the HTTP API (app.api sends only text). */
async function putBytes(key: string, bytes: number[], query = ''): Promise<boolean> {
  const res = await fetch(`${app.url}/v1/kv/${key}${query}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as boolean;
}

/** rawBytes reads a key's bytes through the HTTP API. */
async function rawBytes(key: string): Promise<number[]> {
  const res = await fetch(`${app.url}/v1/kv/${key}?raw`, { headers: { authorization: `Bearer ${TEST_TOKENS.admin}` } });
  expect(res.status).toBe(200);
  return [...new Uint8Array(await res.arrayBuffer())];
}

async function entry(key: string): Promise<{ value: string; flags: number; modifyIndex: number; encoding?: string }> {
  const r = await app.api('GET', `/v1/kv/${key}`);
  expect(r.status).toBe(200);
  return r.json;
}

async function openKey(page: Page, key: string): Promise<void> {
  await page.goto(`${app.url}/kv/edit?key=${encodeURIComponent(key)}`);
  await expect(page.getByTestId('kv-key-name')).toHaveText(key);
}

test('browse: keys put through the API appear under their prefix, folder by folder', async ({ page }) => {
  expect((await app.api('PUT', '/v1/kv/config/db/url', { raw: 'postgres://x' })).json).toBe(true);
  expect((await app.api('PUT', '/v1/kv/config/db/pool?flags=3', { raw: '10' })).json).toBe(true);
  expect((await app.api('PUT', '/v1/kv/config/feature', { raw: 'on' })).json).toBe(true);
  expect((await app.api('PUT', '/v1/kv/other/x', { raw: 'y' })).json).toBe(true);
  await signIn(page, app);

  await page.getByTestId('nav-kv').click();
  await expect(page).toHaveURL(/\/kv$/);
  await expect(page.getByTestId('kv-folder-config/')).toContainText('3 keys');
  await expect(page.getByTestId('kv-folder-other/')).toContainText('1 key');

  // Into config/: the folder db/ and the key feature at this level; the URL can be bookmarked.
  await page.getByTestId('kv-folder-config/').getByRole('link').click();
  await expect(page).toHaveURL(/\/kv\?prefix=config\/$/);
  await expect(page.getByTestId('kv-folder-config/db/')).toContainText('2 keys');
  await expect(page.getByTestId('kv-key-config/feature')).toContainText('feature');
  await expect(page.getByTestId('kv-key-config/db/url')).toHaveCount(0);

  await page.goto(`${app.url}/kv?prefix=config/db/`);
  const pool = page.getByTestId('kv-key-config/db/pool');
  await expect(pool.getByTestId('kv-flags')).toHaveText('3');
  await expect(pool.getByTestId('kv-size')).toHaveText('2 B');
  await expect(page.getByTestId('kv-key-config/db/url').getByTestId('kv-size')).toHaveText('12 B');
  const poolIndex = (await entry('config/db/pool')).modifyIndex;
  await expect(pool.getByTestId('kv-index')).toHaveText(String(poolIndex));
  await expect(page.getByTestId('kv-trail').getByRole('link', { name: 'config/' })).toBeVisible();
  await expect(page.getByTestId('kv-table').getByRole('columnheader', { name: 'Size' })).toBeVisible();
  await shoot(page, 'kv-browse');

  // A partial prefix, typed and submitted from the keyboard.
  await page.getByRole('textbox', { name: 'Prefix', exact: true }).fill('config/d');
  await page.getByTestId('kv-prefix').press('Enter');
  await expect(page).toHaveURL(/prefix=config(\/|%2F)d$/);
  await expect(page.getByTestId('kv-folder-config/db/')).toBeVisible();
  await expect(page.getByTestId('kv-key-config/feature')).toHaveCount(0);

  await page.goto(`${app.url}/kv?prefix=nothing-here/`);
  await expect(page.getByTestId('kv-empty')).toContainText('No keys start with “nothing-here/”');
  await page.goto(`${app.url}/kv?prefix=/bad`);
  await expect(page.getByTestId('kv-error')).toContainText('invalid_path');
});

test('a value and its flags edited in the UI are read back through the API', async ({ page }) => {
  await app.api('PUT', '/v1/kv/edit/db/url?flags=2', { raw: 'postgres://x' });
  await signIn(page, app);
  await openKey(page, 'edit/db/url');
  await expect(page.getByTestId('kv-value')).toHaveValue('postgres://x');
  await expect(page.getByTestId('kv-flags')).toHaveValue('2');
  await expect(page.getByRole('textbox', { name: 'Value (text)' })).toBeVisible();

  await page.getByTestId('kv-value').fill('postgres://db.internal:5432/app\nsslmode=require');
  await page.getByTestId('kv-flags').fill('7');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('Saved');
  const e = await entry('edit/db/url');
  expect(e.value).toBe('postgres://db.internal:5432/app\nsslmode=require');
  expect(e.flags).toBe(7);
  await expect(page.getByTestId('kv-fact-index')).toHaveText(String(e.modifyIndex));
  await expect(page.getByTestId('kv-fact-flags')).toHaveText('7');
  await shoot(page, 'kv-edit');

  // Saving again works from the new version (its CAS index moved on with the save).
  await page.getByTestId('kv-value').fill('postgres://db.internal:5432/app');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText(/Saved \(the key is now at index \d+\)/);
  expect((await entry('edit/db/url')).value).toBe('postgres://db.internal:5432/app');

  // A bad flags value is refused before anything is sent.
  await page.getByTestId('kv-flags').fill('-1');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('Flags must be a whole number');
  expect((await entry('edit/db/url')).flags).toBe(7);
  await page.getByTestId('kv-flags').fill('7');
  await expect(page.getByTestId('kv-status')).toHaveText('');
});

test('a CAS conflict says someone changed the key, keeps the edit and writes nothing', async ({ page }) => {
  await app.api('PUT', '/v1/kv/cas/pool', { raw: '10' });
  await signIn(page, app);
  await openKey(page, 'cas/pool');
  await page.getByTestId('kv-value').fill('20');

  // Behind the UI's back.
  expect((await app.api('PUT', '/v1/kv/cas/pool', { raw: '99' })).json).toBe(true);
  const theirs = await entry('cas/pool');

  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-conflict')).toHaveText(
    `Not saved: someone changed this key since you opened it (now at index ${theirs.modifyIndex}). Your edit is still in the box. Reload to see their value, then apply your change again.`,
  );
  await expect(page.getByTestId('kv-value')).toHaveValue('20');
  expect((await entry('cas/pool')).value).toBe('99');
  await page.getByTestId('kv-conflict-panel').locator('summary').click();
  await expect(page.getByTestId('kv-their-value')).toHaveText('99');
  await shoot(page, 'kv-conflict');

  // Reload their value, apply the change again: now it is saved.
  await page.getByTestId('kv-reload').click();
  await expect(page.getByTestId('kv-value')).toHaveValue('99');
  await expect(page.getByTestId('kv-conflict')).toHaveText('');
  await page.getByTestId('kv-value').fill('25');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('Saved');
  expect((await entry('cas/pool')).value).toBe('25');

  // Someone deletes it meanwhile: the edit is kept, and "Save mine anyway" creates it again.
  await page.getByTestId('kv-value').fill('30');
  expect((await app.api('DELETE', '/v1/kv/cas/pool')).json).toBe(true);
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-conflict')).toContainText('someone deleted this key since you opened it');
  expect((await app.api('GET', '/v1/kv/cas/pool')).status).toBe(404);
  await page.getByTestId('kv-overwrite').click();
  await expect(page.getByTestId('kv-status')).toContainText('Saved');
  expect((await entry('cas/pool')).value).toBe('30');
});

test('create and delete through the UI, checked through the API', async ({ page }) => {
  await app.api('PUT', '/v1/kv/crud/keep', { raw: 'k' });
  await app.api('PUT', '/v1/kv/crud/row', { raw: 'r' });
  await signIn(page, app);
  await page.goto(`${app.url}/kv?prefix=crud/`);
  await page.getByTestId('kv-new-link').click();
  await expect(page.getByTestId('kv-new-key')).toHaveValue('crud/');
  await page.getByTestId('kv-new-key').fill('crud/new key');
  await page.getByTestId('kv-new-value').fill('hello');
  await page.getByTestId('kv-new-flags').fill('5');
  await page.getByTestId('kv-new-key').press('Enter');
  await expect(page.getByTestId('kv-flash')).toHaveText('Created.');
  await expect(page.getByTestId('kv-key-name')).toHaveText('crud/new key');
  const created = await entry('crud/new%20key');
  expect(created.value).toBe('hello');
  expect(created.flags).toBe(5);

  // Creating a key that exists writes nothing and says so.
  await page.goto(`${app.url}/kv/new?key=crud/keep`);
  await page.getByTestId('kv-new-value').fill('overwritten?');
  await page.getByTestId('kv-new-submit').click();
  await expect(page.getByTestId('kv-new-error')).toContainText('Not created: the key “crud/keep” already exists');
  await expect(page.getByTestId('kv-new-open-existing')).toBeVisible();
  expect((await entry('crud/keep')).value).toBe('k');
  // A key the API refuses: its message is shown.
  await page.getByTestId('kv-new-key').fill('crud/trailing/');
  await page.getByTestId('kv-new-submit').click();
  await expect(page.getByTestId('kv-new-error')).toContainText('a key may not end with "/"');

  // Delete from the key's page, with a confirmation.
  await openKey(page, 'crud/new key');
  await page.getByTestId('kv-delete').click();
  await expect(page.getByTestId('kv-delete-dialog')).toBeVisible();
  await page.getByTestId('kv-delete-confirm').click();
  await expect(page.getByTestId('kv-flash')).toHaveText('Deleted “crud/new key”.');
  await expect(page).toHaveURL(/\/kv\?prefix=crud\/$/);
  expect((await app.api('GET', '/v1/kv/crud/new%20key')).status).toBe(404);
  await page.goto(`${app.url}/kv/edit?key=${encodeURIComponent('crud/new key')}`);
  await expect(page.getByTestId('kv-missing')).toContainText('There is no such key');
  await page.goto(`${app.url}/kv?prefix=crud/`);

  // Delete from the listing: Cancel keeps it, Delete removes it.
  await page.getByTestId('kv-delete-crud/row').click();
  await page.getByTestId('kv-delete-crud/row-dialog').getByRole('button', { name: 'Cancel' }).click();
  expect((await entry('crud/row')).value).toBe('r');
  await page.getByTestId('kv-delete-crud/row').click();
  await page.getByTestId('kv-delete-crud/row-confirm').click();
  await expect(page.getByTestId('kv-flash')).toHaveText('Deleted “crud/row”.');
  await expect(page.getByTestId('kv-key-crud/row')).toHaveCount(0);
  expect((await app.api('GET', '/v1/kv/crud/row')).status).toBe(404);

  // A delete is CAS-checked too: changed behind the UI's back, it is refused in the dialog.
  await openKey(page, 'crud/keep');
  await app.api('PUT', '/v1/kv/crud/keep', { raw: 'changed' });
  await page.getByTestId('kv-delete').click();
  await page.getByTestId('kv-delete-confirm').click();
  await expect(page.getByTestId('kv-delete-dialog')).toContainText('Not deleted: someone changed this key since you opened it');
  expect((await entry('crud/keep')).value).toBe('changed');
});

test('a binary value is shown as base64 and hex and can be saved from base64', async ({ page }) => {
  expect(await putBytes('bin/blob', [0x00, 0xff, 0x10, 0x80, 0x41], '?flags=1')).toBe(true);
  await signIn(page, app);
  await page.goto(`${app.url}/kv?prefix=bin/`);
  await expect(page.getByTestId('kv-key-bin/blob').getByTestId('kv-size')).toContainText('binary');
  await openKey(page, 'bin/blob');
  await expect(page.getByTestId('kv-content')).toHaveText('binary (not UTF-8 text)');
  await expect(page.getByTestId('kv-mode-base64')).toBeChecked();
  await expect(page.getByTestId('kv-value')).toHaveValue('AP8QgEE=');
  await expect(page.getByTestId('kv-hex')).toContainText('00 ff 10 80 41');

  // These bytes cannot become text; the switch is refused and says why.
  await page.getByTestId('kv-mode-text').click();
  await expect(page.getByTestId('kv-note')).toContainText('not valid UTF-8');
  await expect(page.getByTestId('kv-mode-base64')).toBeChecked();

  // Not base64: refused before anything is sent.
  await page.getByTestId('kv-value').fill('not base64!');
  await expect(page.getByTestId('kv-size')).toHaveText('Not valid base64.');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('not valid base64');
  expect(await rawBytes('bin/blob')).toEqual([0x00, 0xff, 0x10, 0x80, 0x41]);

  await page.getByTestId('kv-value').fill('AQID/g==');
  await expect(page.getByTestId('kv-size')).toHaveText('4 bytes');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('Saved');
  expect(await rawBytes('bin/blob')).toEqual([0x01, 0x02, 0x03, 0xfe]);
  const e = await entry('bin/blob');
  expect(e).toMatchObject({ value: 'AQID/g==', encoding: 'base64', flags: 1 });
  await expect(page.getByTestId('kv-hex')).toContainText('01 02 03 fe');
  // The download link gives the exact bytes, named after the key.
  const download = await page.request.get(`${app.url}${await page.getByTestId('kv-download').getAttribute('href')}`);
  expect(download.status()).toBe(200);
  expect(download.headers()['content-disposition']).toContain('filename="blob"');
  expect([...(await download.body())]).toEqual([0x01, 0x02, 0x03, 0xfe]);

  // Text with carriage returns opens as base64 so that saving it unchanged keeps the CRs.
  await putBytes('bin/crlf', [...Buffer.from('a\r\nb')]);
  await openKey(page, 'bin/crlf');
  await expect(page.getByTestId('kv-mode-base64')).toBeChecked();
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('Saved');
  expect(await rawBytes('bin/crlf')).toEqual([...Buffer.from('a\r\nb')]);
  // Text can be edited as base64 and back without changing it.
  await app.api('PUT', '/v1/kv/bin/text', { raw: 'grüße' });
  await openKey(page, 'bin/text');
  await page.getByTestId('kv-mode-base64').check();
  await expect(page.getByTestId('kv-value')).toHaveValue(Buffer.from('grüße').toString('base64'));
  await page.getByTestId('kv-mode-text').check();
  await expect(page.getByTestId('kv-value')).toHaveValue('grüße');

  // The largest value the API takes (512 KiB), loaded from a file, goes through the server action whole.
  const big = Buffer.alloc(512 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  await page.getByTestId('kv-file').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: big });
  await expect(page.getByTestId('kv-note')).toContainText('Loaded big.bin (512 KiB) as base64');
  await expect(page.getByTestId('kv-size')).toHaveText('524288 bytes');
  await page.getByTestId('kv-save').click();
  await expect(page.getByTestId('kv-status')).toContainText('Saved');
  expect(Buffer.from(await rawBytes('bin/text')).equals(big)).toBe(true);
});

test('readable at 390 px wide', async ({ page }) => {
  await app.api('PUT', '/v1/kv/mobile/a-rather-long-key-name-that-has-to-wrap-somewhere/value', { raw: 'x' });
  await app.api('PUT', '/v1/kv/mobile/short', { raw: 'a value' });
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, app);
  await page.goto(`${app.url}/kv?prefix=mobile/`);
  await expect(page.getByTestId('kv-key-mobile/short')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shoot(page, 'kv-mobile');
  await openKey(page, 'mobile/short');
  const editOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(editOverflow).toBeLessThanOrEqual(0);
  await shoot(page, 'kv-mobile-edit');
});
