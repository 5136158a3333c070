// The Secrets page: an operator creates a secret through the form (the value in a password field,
// cleared after the save), gives it a new value (version 2), and deletes it through the dialog;
// the value never appears in the page or in any answer the page received; a viewer sees the list
// without the form.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

const VALUE = 'ui-s3cret-value-5d1c9a';
let server: ServerProcess;
let browser: Browser;

async function mint(role: string): Promise<string> {
  const res = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: `ui-${role}`, role, namespaces: ['default'] });
  assert.equal(res.status, 201);
  return res.body.secret;
}

before(async () => {
  [server, browser] = await Promise.all([startUiServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

test('an operator creates a secret, gives it a new value and deletes it; the value is never shown', async () => {
  const operator = await mint('operator');
  const page: Page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const bodies: string[] = [];
  page.on('response', (res) => {
    if (res.url().includes('/v1/')) void res.text().then((t) => bodies.push(t), () => {});
  });
  await signIn(page, `${server.url}/`, operator);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Secrets' }).click();
  await page.getByRole('heading', { level: 1, name: 'Secrets' }).waitFor();
  await page.getByText('No secrets yet.').waitFor();

  await page.getByLabel('Name', { exact: true }).fill('API_TOKEN');
  const value = page.getByLabel('Value', { exact: true });
  assert.equal(await value.getAttribute('type'), 'password');
  await value.fill(VALUE);
  await page.getByRole('button', { name: 'Create secret' }).click();
  const row = page.getByRole('row', { name: /API_TOKEN/ });
  await row.waitFor();
  assert.equal(await row.getByRole('cell').nth(0).textContent(), '1', 'version 1');
  assert.equal(await page.getByLabel('Value', { exact: true }).inputValue(), '', 'the value is cleared after the save');

  await row.getByRole('button', { name: 'New value for API_TOKEN' }).click();
  await page.getByRole('heading', { name: 'New value for API_TOKEN' }).waitFor();
  await page.getByLabel('Value', { exact: true }).fill(`${VALUE}-2`);
  await page.getByRole('button', { name: 'Save new value' }).click();
  await page.getByRole('status').getByText('Saved API_TOKEN (version 2).').waitFor();
  await row.getByRole('cell', { name: '2', exact: true }).waitFor();
  const stored = await server.api<{ version: number }>('GET', '/v1/secrets/API_TOKEN');
  assert.equal(stored.body.version, 2);
  await screenshot(page, 'secrets');

  await page.reload();
  await row.waitFor();
  assert.ok(!(await page.content()).includes(VALUE), 'the value is nowhere on the page');

  await row.getByRole('button', { name: 'Delete API_TOKEN' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete “API_TOKEN”?' });
  await dialog.getByRole('button', { name: 'Delete secret' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByText('No secrets yet.').waitFor();
  assert.equal((await server.api('GET', '/v1/secrets/API_TOKEN')).status, 404);
  assert.ok(bodies.length > 3, 'answers were recorded');
  assert.ok(!bodies.join('\n').includes(VALUE), 'no answer the page received held the value');
  await page.close();
});

test('a viewer sees the secrets without the form', async () => {
  assert.equal((await server.api('PUT', '/v1/secrets/VISIBLE', { value: 'v-1-2-3-4' })).status, 201);
  const viewer = await mint('viewer');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, `${server.url}/secrets`, viewer);
  await page.getByRole('row', { name: /VISIBLE/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Create secret' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: /Delete/ }).count(), 0);
  await page.close();
});
