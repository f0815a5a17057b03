import { expect, test, type Page } from '@playwright/test';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashPassword } from '../lib/auth/password';
import { removeTemp, startAppliance, tempDir, type ApplianceProcess } from '../server/testing/appliance-process';
import { query } from '../server/testing/dns-clients';
import { OPERATOR, PASSWORD, SHOTS, shoot, signIn } from './fixtures';

/*
 * The DNS pages against the real built server: what the operator does in the
 * browser is checked where it matters, in the answers dig gets from the node's
 * DNS UDP listener, and refusals are checked against what the API itself says.
 */

const run = promisify(execFile);
const ZONE = 'example.test.';
const FILE_ZONE = 'static.test.';

let app: ApplianceProcess;
let confDir: string;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  confDir = tempDir('nekoq-dns-e2e-');
  const zoneFile = join(confDir, 'static.test.zone');
  writeFileSync(zoneFile, `$ORIGIN ${FILE_ZONE}\n$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\nhost IN A 192.0.2.80\n`);
  const hash = await hashPassword(PASSWORD);
  app = await startAppliance({
    toml: `[auth]\nadmin_user = "${OPERATOR}"\nadmin_password_hash = "${hash}"\n[dnssec]\nenabled = true\n`,
    dnsToml: `zone_files = [${JSON.stringify(zoneFile)}]`,
  });
});

test.afterAll(async () => {
  await app.stop();
  removeTemp(app.dataDir);
  removeTemp(confDir);
});

function dnsServer(): { host: string; port: number } {
  const [host, port] = app.listeners['dns-udp']!.split(/:(?=\d+$)/);
  return { host: host!, port: Number(port) };
}

/** digShort asks the node's UDP listener with dig +short and returns the answer lines. */
async function digShort(name: string, type: string): Promise<string[]> {
  const { host, port } = dnsServer();
  const { stdout } = await run('dig', ['-r', `@${host}`, '-p', String(port), name, type, '+short', '+norecurse', '+timeout=2', '+tries=1']);
  return stdout.split('\n').filter((l) => l.trim() !== '');
}

/** rcodeOf asks the node's UDP listener with dig and returns the response code. */
async function rcodeOf(name: string, type: string): Promise<string> {
  return (await query('dig', 'udp', dnsServer(), name, type)).rcode;
}

async function openZone(page: Page, zone: string): Promise<void> {
  await page.goto(`${app.url}/dns/${encodeURIComponent(zone)}`);
  await expect(page.getByTestId('zone-title')).toHaveText(zone);
}

async function addRRset(page: Page, owner: string, type: string, ttl: string, values: string): Promise<void> {
  await page.getByTestId('rrset-owner').fill(owner);
  await page.getByTestId('rrset-type').selectOption(type);
  await page.getByTestId('rrset-ttl').fill(ttl);
  await page.getByTestId('rrset-values').fill(values);
  await page.getByTestId('rrset-save').click();
}

test('the export route needs a session', async ({ request }) => {
  const res = await request.get(`${app.url}/dns/${encodeURIComponent(FILE_ZONE)}/export`);
  expect(res.status()).toBe(401);
});

test('a zone created and an RRset added in the UI are answered by dig; a bad value shows the API message; edit and delete change the answers', async ({ page }) => {
  await signIn(page, app);
  await page.getByTestId('nav-dns').click();
  await expect(page.getByTestId(`zone-row-${FILE_ZONE}`)).toContainText('file');

  // Create the zone: the manager opens its page.
  await page.getByTestId('zone-create-name').fill(ZONE);
  await page.getByTestId('zone-create-submit').click();
  await expect(page).toHaveURL(new RegExp(`/dns/${ZONE.replace(/\./g, '\\.')}$`));
  await expect(page.getByTestId('zone-title')).toHaveText(ZONE);
  expect((await rcodeOf(`www.${ZONE}`, 'A'))).toBe('NXDOMAIN');

  // A zone that exists already is refused with the API's problem.
  await page.goto(`${app.url}/dns`);
  await page.getByTestId('zone-create-name').fill(ZONE);
  await page.getByTestId('zone-create-submit').click();
  await expect(page.getByTestId('zone-create-error')).toContainText('(zone_exists)');
  await expect(page.getByTestId(`zone-row-${ZONE}`)).toBeVisible();
  await shoot(page, 'dns-zones');
  await page.getByTestId(`zone-link-${ZONE}`).click();
  await expect(page.getByTestId('zone-title')).toHaveText(ZONE);

  // Add www A 192.0.2.10.
  await addRRset(page, 'www', 'A', '300', '192.0.2.10');
  await expect(page.getByTestId('rrset-status')).toContainText(`Saved www.${ZONE} A: TTL 300, 1 value.`);
  await expect(page.getByTestId('rrset-values-www-A')).toHaveText('192.0.2.10');
  expect(await digShort(`www.${ZONE}`, 'A')).toEqual(['192.0.2.10']);

  // An invalid value: the UI shows exactly what the API says, and nothing is written.
  const api = await app.api('PUT', `/v1/zones/${ZONE}/records/bad/A`, { body: { values: ['not-an-ip'] } });
  expect(api.status).toBe(400);
  const detail = (api.json as { detail: string; errors: { path: string; message: string }[] }).detail;
  await addRRset(page, 'bad', 'A', '', 'not-an-ip');
  await expect(page.getByTestId('rrset-error')).toContainText(`${detail} (invalid_record)`);
  await expect(page.getByTestId('rrset-error')).toContainText((api.json as { errors: { message: string }[] }).errors[0]!.message);
  await expect(page.getByTestId('rrset-bad-A')).toHaveCount(0);
  expect(await rcodeOf(`bad.${ZONE}`, 'A')).toBe('NXDOMAIN');

  // An MX RRset with two values, one per line.
  await addRRset(page, '@', 'MX', '', '10 mail\n20 mx2.example.net.');
  await expect(page.getByTestId('rrset-values-@-MX')).toContainText(`10 mail.${ZONE}`);
  expect((await digShort(ZONE, 'MX')).sort()).toEqual([`10 mail.${ZONE}`, '20 mx2.example.net.']);

  // Edit: the form is pre-filled, focus goes to the values, owner and type stay fixed.
  await page.getByTestId('rrset-edit-www-A').click();
  await expect(page.getByTestId('rrset-form-title')).toHaveText('Edit www A');
  await expect(page.getByTestId('rrset-owner')).toHaveValue('www');
  await expect(page.getByTestId('rrset-ttl')).toHaveValue('300');
  await expect(page.getByTestId('rrset-values')).toHaveValue('192.0.2.10');
  await expect(page.getByTestId('rrset-values')).toBeFocused();
  await page.getByTestId('rrset-values').fill('192.0.2.11\n192.0.2.12');
  await page.getByTestId('rrset-save').click();
  await expect(page.getByTestId('rrset-status')).toContainText(`Saved www.${ZONE} A: TTL 300, 2 values.`);
  await expect(page.getByTestId('rrset-form-title')).toHaveText('Add an RRset');
  await expect(page.getByTestId('rrset-values-www-A')).toContainText('192.0.2.12');
  expect((await digShort(`www.${ZONE}`, 'A')).sort()).toEqual(['192.0.2.11', '192.0.2.12']);
  await shoot(page, 'dns-zone');

  // Delete, by keyboard: the dialog asks first, then the name is gone from the answers.
  await page.getByTestId('rrset-delete-www-A').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('rrset-delete-www-A-dialog')).toBeVisible();
  await page.getByTestId('rrset-delete-www-A-confirm').click();
  await expect(page.getByTestId('rrset-www-A')).toHaveCount(0);
  await expect(page.getByTestId('rrset-status')).toContainText(`Deleted www.${ZONE} A.`);
  await expect(page.getByTestId('rrset-status')).toBeFocused();
  expect(await digShort(`www.${ZONE}`, 'A')).toEqual([]);
  expect(await rcodeOf(`www.${ZONE}`, 'A')).toBe('NXDOMAIN');
});

test('export downloads the zone file with the records; import replaces the zone and reports the line of an error', async ({ page }) => {
  await signIn(page, app);
  await openZone(page, ZONE);
  await addRRset(page, 'www', 'A', '', '192.0.2.10');
  await expect(page.getByTestId('rrset-values-www-A')).toHaveText('192.0.2.10');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('zone-export').click()]);
  expect(download.suggestedFilename()).toBe('example.test.zone');
  const exported = readFileSync((await download.path())!, 'utf8');
  expect(exported).toContain(`$ORIGIN ${ZONE}`);
  expect(exported).toMatch(/^www(\.example\.test\.)?\s+3600\s+IN\s+A\s+192\.0\.2\.10$/m);
  expect(exported).toMatch(/\sMX\s+10 mail/);

  // A file with an error changes nothing and names the line.
  await page.getByTestId('zone-import-text').fill(`${exported}\nbroken IN A not-an-ip\n`);
  await page.getByTestId('zone-import-submit').click();
  await page.getByTestId('zone-import-submit-confirm').click();
  await expect(page.getByTestId('zone-import-error')).toContainText('(invalid_zone_file)');
  await expect(page.getByTestId('zone-import-error')).toContainText(/line \d+/);
  expect(await rcodeOf(`broken.${ZONE}`, 'A')).toBe('NXDOMAIN');

  // Start from the current zone, add a line, import: the new name is answered.
  await page.getByTestId('zone-import-load').click();
  await expect(page.getByTestId('zone-import-text')).toHaveValue(exported);
  await page.getByTestId('zone-import-text').fill(`${exported}api 600 IN A 192.0.2.20\napi IN TXT "imported"\n`);
  await page.getByTestId('zone-import-submit').click();
  await expect(page.getByTestId('zone-import-submit-dialog')).toContainText(`Replace ${ZONE}?`);
  await page.getByTestId('zone-import-submit-confirm').click();
  await expect(page.getByTestId('zone-import-status')).toContainText(`Imported: ${ZONE} now holds`);
  await expect(page.getByTestId('rrset-values-api-A')).toHaveText('192.0.2.20');
  await expect(page.getByTestId('rrset-values-api-TXT')).toHaveText('"imported"');
  expect(await digShort(`api.${ZONE}`, 'A')).toEqual(['192.0.2.20']);
  expect(await digShort(`api.${ZONE}`, 'TXT')).toEqual(['"imported"']);
  expect(await digShort(`www.${ZONE}`, 'A')).toEqual(['192.0.2.10']);
});

test('the query tester shows the sections of the answer, the DO bit, and NXDOMAIN with the SOA', async ({ page }) => {
  await signIn(page, app);
  await page.goto(`${app.url}/dns`);
  await page.getByTestId('dns-query-link').click();
  await page.getByTestId('query-name').fill(`www.${ZONE}`);
  await page.getByTestId('query-type').fill('A');
  await page.getByTestId('query-do').check();
  await page.getByTestId('query-submit').click();
  await expect(page.getByTestId('query-rcode')).toHaveText('NOERROR');
  await expect(page.getByTestId('query-question')).toHaveText(`www.${ZONE} IN A`);
  await expect(page.getByTestId('query-section-answer')).toContainText('192.0.2.10');
  await expect(page.getByTestId('query-section-authority')).toContainText('NS');
  await expect(page.getByTestId('query-flags')).toContainText('aa');
  await expect(page.getByTestId('query-edns-flag-do')).toHaveText('do');
  await expect(page.getByTestId('query-summary')).toContainText('NOERROR');
  await expect(page).toHaveURL(/do=1/);
  await shoot(page, 'dns-query');

  // Without DO the flag is gone; a name that does not exist is NXDOMAIN with the SOA in authority.
  await page.getByTestId('query-name').fill(`nope.${ZONE}`);
  await page.getByTestId('query-do').uncheck();
  await page.getByTestId('query-submit').click();
  await expect(page.getByTestId('query-rcode')).toHaveText('NXDOMAIN');
  await expect(page.getByTestId('query-edns-flag-do')).toHaveCount(0);
  await expect(page.getByTestId('query-section-authority')).toContainText('SOA');
  await expect(page.getByTestId('query-section-answer')).toHaveText('Empty.');

  // A name outside every zone is refused, and the Extended DNS Error says why.
  await page.getByTestId('query-name').fill('example.org');
  await page.getByTestId('query-submit').click();
  await expect(page.getByTestId('query-rcode')).toHaveText('REFUSED');
  await expect(page.getByTestId('query-edns')).toContainText('Not Authoritative');

  // A bad question is explained, not sent.
  await page.getByTestId('query-name').fill('a..b');
  await page.getByTestId('query-submit').click();
  await expect(page.getByTestId('query-error')).toContainText('empty label');
});

test('DNSSEC: a zone page shows the DS for the parent and the keys, and starts a ZSK rollover; the DNS page lists every DS', async ({ page }) => {
  await signIn(page, app);
  await openZone(page, FILE_ZONE);
  const api = (await app.api('GET', `/v1/dnssec/${FILE_ZONE}`)).json as { ds: string[]; keys: { keyTag: number; role: string }[] };
  await expect(page.getByTestId('dnssec-ds')).toHaveText(api.ds.join('\n'));
  await expect(page.getByTestId('dnssec-key-ksk-active')).toContainText(String(api.keys.find((k) => k.role === 'ksk')!.keyTag));
  await expect(page.getByTestId('dnssec-key-zsk-active')).toHaveCount(1);
  await expect(page.getByTestId('dnssec-rolling')).toHaveCount(0);
  // Answers are signed with the key the page shows.
  const { host, port } = dnsServer();
  const { stdout } = await run('dig', [`@${host}`, '-p', String(port), `host.${FILE_ZONE}`, 'A', '+dnssec', '+norecurse', '+short']);
  const zsk = api.keys.find((k) => k.role === 'zsk')!.keyTag;
  expect(stdout).toContain(` ${zsk} ${FILE_ZONE} `);

  await page.getByTestId('dnssec-roll').click();
  await page.getByTestId('dnssec-roll-confirm').click();
  await expect(page.getByTestId('dnssec-key-zsk-published')).toHaveCount(1);
  await expect(page.getByTestId('dnssec-key-zsk-active')).toHaveCount(1);
  await expect(page.getByTestId('dnssec-rolling')).toBeVisible();
  expect(((await app.api('GET', `/v1/dnssec/${FILE_ZONE}`)).json as { keys: unknown[] }).keys).toHaveLength(3);
  await shoot(page, 'dns-dnssec');
  // A second rollover while one is under way: the API's reason, in the dialog.
  await page.getByTestId('dnssec-roll').click();
  await page.getByTestId('dnssec-roll-confirm').click();
  await expect(page.getByTestId('dnssec-roll-dialog')).toContainText('under way');
  await page.keyboard.press('Escape');

  await page.goto(`${app.url}/dns`);
  await expect(page.getByTestId('dnssec-summary')).toContainText('Signing on');
  await expect(page.getByTestId('dnssec-all-ds')).toContainText('nekoq.internal. IN DS');
  await expect(page.getByTestId('dnssec-all-ds')).toContainText(api.ds[0]!);
});

test('a zone from a file is read-only; a deleted zone is no longer answered', async ({ page }) => {
  await signIn(page, app);
  await openZone(page, FILE_ZONE);
  await expect(page.getByTestId('zone-read-only')).toBeVisible();
  await expect(page.getByTestId('rrset-form')).toHaveCount(0);
  await expect(page.getByTestId('rrset-values-host-A')).toHaveText('192.0.2.80');
  await expect(page.getByTestId('zone-serial')).toHaveText('7');

  // A zone whose name holds a "%" reaches the right zone through the page and the export (the path is decoded once).
  expect((await app.api('POST', '/v1/zones', { body: { name: 'pct%41.test.' } })).status).toBe(201);
  await page.goto(`${app.url}/dns`);
  await page.getByTestId('zone-link-pct%41.test.').click();
  await expect(page.getByTestId('zone-title')).toHaveText('pct%41.test.');
  const exported = await page.request.get(`${app.url}/dns/${encodeURIComponent('pct%41.test.')}/export`);
  expect(exported.status()).toBe(200);
  expect(exported.headers()['content-disposition']).toBe('attachment; filename="pct_41.test.zone"');
  expect(await exported.text()).toContain('$ORIGIN pct%41.test.');
  await page.goto(`${app.url}/dns`);
  await page.getByTestId('zone-create-name').fill('gone.test');
  await page.getByTestId('zone-create-submit').click();
  await expect(page.getByTestId('zone-title')).toHaveText('gone.test.');
  expect(await rcodeOf('gone.test.', 'SOA')).toBe('NOERROR');
  await page.getByTestId('zone-delete').click();
  await page.getByTestId('zone-delete-confirm').click();
  await expect(page).toHaveURL(/\/dns$/);
  await expect(page.getByTestId('zone-row-gone.test.')).toHaveCount(0);
  expect(await rcodeOf('gone.test.', 'SOA')).toBe('REFUSED');
});

test('the DNS pages are readable at 390 px', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, app);
  await openZone(page, ZONE);
  await expect(page.getByTestId('rrset-values-api-A')).toBeVisible();
  // Wide tables scroll inside their own box; the page itself does not scroll sideways.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await shoot(page, 'dns-zone-mobile');
  await page.goto(`${app.url}/dns/query?name=${ZONE}&type=SOA&do=1`);
  await expect(page.getByTestId('query-rcode')).toHaveText('NOERROR');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await shoot(page, 'dns-query-mobile');
  await page.goto(`${app.url}/dns`);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await shoot(page, 'dns-zones-mobile');
});
