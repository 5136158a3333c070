// Alert rules in the dashboard: a consecutive_failures rule made through the form (a bad count
// refused first and shown at its field), edited, disabled and deleted, each checked through the
// API; the kind picker shows only the kind's params and `for` only where it applies, the
// installation-wide kinds only to admins; a viewer sees the rules and no form or buttons.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

interface Rule {
  kind: string;
  params: Record<string, unknown>;
  for: string;
  channels: string[];
  enabled: boolean;
}

let server: ServerProcess;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([startUiServer({ modules: { 'noop.mjs': 'export default async () => 1;' } }), launchBrowser()]);
  assert.equal((await server.api('POST', '/v1/tasks', { name: 'nightly', kind: 'module', spec: { file: 'noop.mjs' } })).status, 201);
  for (const name of ['ops-hook', 'team-slack']) {
    assert.equal((await server.api('POST', '/v1/channels', { name, type: 'slack', url: 'http://127.0.0.1:9/slack' })).status, 201);
  }
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

async function open(path: string, token?: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url + path, token);
  return page;
}

test('create a consecutive_failures rule through the form (a bad count refused at its field), edit, disable and delete it', async () => {
  const page = await open('/alerts');
  await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
  await page.getByText('No alert rules yet.').waitFor();
  const form = page.getByRole('form', { name: 'New alert rule' });
  const kind = form.getByLabel('Kind');

  // Each kind shows its own params, and `for` only where it applies; admins get every kind.
  assert.equal(await kind.inputValue(), 'consecutive_failures', 'the default kind');
  assert.equal(await form.getByLabel(/^For/).count(), 0, 'consecutive_failures takes no for');
  await kind.selectOption('backlog');
  await form.getByLabel('Above (runs)').waitFor();
  await form.getByLabel(/^For/).waitFor();
  assert.equal(await form.getByLabel('Task').count(), 0, 'backlog has no task');
  await kind.selectOption('node_down');
  await form.getByLabel('Node (optional)').waitFor();
  await kind.selectOption('consecutive_failures');
  assert.equal(await form.getByLabel(/^For/).count(), 0);

  await form.getByLabel('Name', { exact: true }).fill('nightly-failing');
  const taskInput = form.getByLabel('Task');
  await taskInput.fill('night');
  // The task picker's suggestions come from /v1/tasks.
  await form.locator('datalist option[value="nightly"]').waitFor({ state: 'attached' });
  await taskInput.fill('nightly');
  const n = form.getByLabel('Failures in a row (n)');
  await n.fill('0');
  const channels = form.getByRole('group', { name: 'Channels' });
  await channels.getByLabel('ops-hook').check();

  // The API refuses n = 0 and says so at the field; nothing is stored.
  await form.getByRole('button', { name: 'Create rule' }).click();
  await n.and(page.locator('[aria-invalid="true"]')).waitFor();
  await form.locator('.field-errors').filter({ hasText: 'must be an integer from 1 to 100' }).waitFor();
  assert.equal((await server.api('GET', '/v1/alert-rules/nightly-failing')).status, 404);
  await screenshot(page, 'alert-rule-refused');

  await n.fill('3');
  assert.equal(await n.getAttribute('aria-invalid'), null, 'a change clears the refusal');
  await form.getByRole('button', { name: 'Create rule' }).click();
  const rules = page.getByRole('table', { name: 'Alert rules' });
  const row = rules.getByRole('row', { name: /nightly-failing/ });
  await row.getByText('task nightly · n 3').waitFor();
  await row.getByText('enabled', { exact: true }).waitFor();
  const created = await server.api<Rule>('GET', '/v1/alert-rules/nightly-failing');
  assert.equal(created.status, 200);
  assert.equal(created.body.kind, 'consecutive_failures');
  assert.deepEqual(created.body.params, { task: 'nightly', n: 3 });
  assert.deepEqual(created.body.channels, ['ops-hook']);
  assert.equal(created.body.for, '0s');
  assert.equal(created.body.enabled, true);
  assert.equal(await form.getByLabel('Name', { exact: true }).inputValue(), '', 'the form starts afresh once saved');

  // Edit: the form is filled with the rule and takes the focus.
  await row.getByRole('button', { name: 'Edit nightly-failing' }).click();
  const edit = page.getByRole('form', { name: 'Edit alert rule “nightly-failing”' });
  const editN = edit.getByLabel('Failures in a row (n)');
  assert.equal(await editN.inputValue(), '3');
  assert.equal(await edit.getByLabel('Task').inputValue(), 'nightly');
  assert.equal(await page.locator(':focus').getAttribute('id'), await edit.getByLabel('Name', { exact: true }).getAttribute('id'), 'Edit moves the focus to the form');
  await editN.fill('5');
  await edit.getByRole('group', { name: 'Channels' }).getByLabel('team-slack').check();
  await screenshot(page, 'alert-rule-edit');
  await edit.getByRole('button', { name: 'Save rule' }).click();
  await row.getByText('task nightly · n 5').waitFor();
  await row.getByText('ops-hook, team-slack').waitFor();
  const edited = await server.api<Rule>('GET', '/v1/alert-rules/nightly-failing');
  assert.deepEqual(edited.body.params, { task: 'nightly', n: 5 });
  assert.deepEqual(edited.body.channels, ['ops-hook', 'team-slack']);
  await page.getByRole('form', { name: 'New alert rule' }).waitFor();

  // Disable, in place.
  await row.getByRole('button', { name: 'Disable nightly-failing' }).click();
  await row.getByText('disabled', { exact: true }).waitFor();
  await row.getByRole('button', { name: 'Enable nightly-failing' }).waitFor();
  assert.equal((await server.api<Rule>('GET', '/v1/alert-rules/nightly-failing')).body.enabled, false);

  // Delete, asked first.
  await row.getByRole('button', { name: 'Delete nightly-failing' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete “nightly-failing”?' });
  await dialog.getByRole('button', { name: 'Delete rule' }).click();
  await row.waitFor({ state: 'detached' });
  assert.equal((await server.api('GET', '/v1/alert-rules/nightly-failing')).status, 404);
  await page.close();
});

test('operators get the form without the installation-wide kinds; viewers see the rules and no form or buttons', async () => {
  assert.equal((await server.api('POST', '/v1/alert-rules', { name: 'backlog-high', kind: 'backlog', params: { above: 100 }, for: '2m' })).status, 201);
  assert.equal((await server.api('POST', '/v1/alert-rules', { name: 'node-gone', kind: 'node_down' })).status, 201);

  const { body: operatorKey } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'op', role: 'operator', namespaces: ['default'] });
  const operator = await open('/alerts', operatorKey.secret);
  const kind = operator.getByRole('form', { name: 'New alert rule' }).getByLabel('Kind');
  await kind.waitFor();
  const kinds = await kind.locator('option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
  assert.deepEqual(kinds, ['consecutive_failures', 'retries_exhausted', 'no_success_for', 'lateness_p99', 'backlog']);
  const rules = operator.getByRole('table', { name: 'Alert rules' });
  await rules.getByRole('button', { name: 'Edit backlog-high' }).waitFor();
  await rules.getByRole('row', { name: /node-gone/ }).waitFor();
  assert.equal(await rules.getByRole('button', { name: /node-gone/ }).count(), 0, 'an admin-only rule has no buttons for operators');
  await operator.close();

  const { body: viewerKey } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'reader', role: 'viewer' });
  const viewer = await open('/alerts', viewerKey.secret);
  await viewer.getByRole('table', { name: 'Alert rules' }).getByRole('row', { name: /backlog-high/ }).getByText('above 100').waitFor();
  assert.equal(await viewer.getByRole('form').count(), 0, 'no form for viewers');
  assert.equal(await viewer.getByRole('button', { name: /Edit|Disable|Enable|Delete/ }).count(), 0, 'no changes for viewers');
  await screenshot(viewer, 'alert-rules-viewer');
  await viewer.close();
});
