// The admin pages: a key made through the form shows its secret once (gone after a reload) and
// works; revoking it through the dialog stops it; the audit log lists both changes and narrows
// by action (kept in the URL); an operator key gets neither page; a key's expiry and last
// address are shown.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

let server: ServerProcess;
let browser: Browser;
let page: Page;
let secret = '';

async function whoIs(key: string): Promise<number> {
  const res = await fetch(`${server.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
  return res.status;
}

before(async () => {
  [server, browser] = await Promise.all([startUiServer({ modules: { 'noop.mjs': 'export default async () => 1;' } }), launchBrowser()]);
  // Something besides keys in the audit log.
  const task = await server.api('POST', '/v1/tasks', { name: 'nightly-report', kind: 'module', spec: { file: 'noop.mjs' } });
  assert.equal(task.status, 201);
  assert.equal((await server.api('POST', '/v1/tasks/nightly-report/runs', {})).status, 201);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, `${server.url}/api-keys`);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

test('a key created through the form shows its secret once, and revoking it stops it', async () => {
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('ci-deployer');
  await page.getByLabel('Role').selectOption('operator');
  await page.getByLabel('Namespaces').fill('default, reports');
  await page.getByRole('button', { name: 'Create key' }).click();

  const box = page.getByRole('region', { name: /New key “ci-deployer” created/ });
  await box.getByText('It will not be shown again').waitFor();
  secret = await box.getByLabel('Secret of ci-deployer').inputValue();
  assert.match(secret, /^sdl_/);
  assert.equal(await whoIs(secret), 200, 'the secret shown is a working key');
  const row = page.getByRole('row', { name: /ci-deployer/ });
  await row.getByText('default, reports').waitFor();
  await row.getByText('operator', { exact: true }).waitFor();
  await screenshot(page, 'api-keys');

  await page.reload();
  await row.waitFor();
  assert.equal(await page.getByLabel('Secret of ci-deployer').count(), 0, 'the secret is gone after a reload');
  assert.ok(!(await page.content()).includes(secret), 'nowhere on the page');

  await row.getByRole('button', { name: 'Revoke ci-deployer' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke “ci-deployer”?' });
  await dialog.getByRole('button', { name: 'Revoke key' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await row.getByText('revoked').waitFor();
  assert.equal(await row.getByRole('button', { name: /Revoke/ }).count(), 0, 'a revoked key offers no revoke');
  assert.equal(await whoIs(secret), 401, 'the revoked key is refused');
});

test('the audit log lists the key changes and narrows by action', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
  const table = page.getByRole('table', { name: 'Audit log' });
  await table.waitFor();
  await table.getByRole('link', { name: 'api_key.revoke' }).waitFor();
  await table.getByRole('link', { name: 'api_key.create' }).first().waitFor();
  await table.getByRole('link', { name: 'task.create' }).waitFor();
  await table.getByRole('link', { name: /^task / }).first().waitFor();
  await screenshot(page, 'audit');

  await page.getByLabel('Action').selectOption('api_key.revoke');
  await page.waitForURL(/action=api_key\.revoke/);
  const rows = table.locator('tbody tr');
  await table.getByRole('link', { name: 'api_key.create' }).first().waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 1);
  await rows.first().getByRole('link', { name: 'api_key.revoke' }).waitFor();

  await page.reload();
  await table.waitFor();
  assert.equal(await page.getByLabel('Action').inputValue(), 'api_key.revoke', 'the filter survives a reload');
  assert.equal(await rows.count(), 1);
});

test('an operator key gets no audit log and no API keys', async () => {
  const { body } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'ops', role: 'operator' });
  const ops = await browser.newPage();
  await signIn(ops, server.url, body.secret);
  const nav = ops.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Runs' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0);
  await ops.goto(`${server.url}/audit`);
  await ops.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
  await ops.goto(`${server.url}/api-keys`);
  await ops.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
  await ops.close();
});

test('a key can be made to expire: the table says when, and where it was last used from', async () => {
  await page.goto(`${server.url}/api-keys`);
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('temp-bot');
  await page.getByLabel('Expires').selectOption('30d');
  await page.getByRole('button', { name: 'Create key' }).click();
  const box = page.getByRole('region', { name: /New key “temp-bot” created/ });
  const tempSecret = await box.getByLabel('Secret of temp-bot').inputValue();
  assert.equal(await whoIs(tempSecret), 200);
  const list = await server.api<{ items: { name: string; expiresAt: string | null }[] }>('GET', '/v1/api-keys?limit=500');
  const key = list.body.items.find((k) => k.name === 'temp-bot');
  assert.ok(key?.expiresAt, 'created with an expiry');
  assert.ok(Math.abs(Date.parse(key.expiresAt) - Date.now() - 30 * 86_400_000) < 120_000);
  const row = page.getByRole('row', { name: /temp-bot/ });
  await row.locator(`time[datetime="${key.expiresAt}"]`).waitFor();
  // The key was just used from this machine; uses are written off the request path, so wait
  // for the write, then the table names the address.
  for (let i = 0; ; i++) {
    const keys = await server.api<{ items: { name: string; lastUsedFrom: string | null }[] }>('GET', '/v1/api-keys?limit=500');
    if (keys.body.items.find((k) => k.name === 'temp-bot')?.lastUsedFrom) break;
    assert.ok(i < 100, 'the use was never recorded');
    await new Promise((r) => setTimeout(r, 50));
  }
  await page.reload();
  await row.getByText(/from (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)/).waitFor();
});
