// Notification channels in the dashboard: a webhook channel made through the form with a secret
// generated in the browser (shown once, never again), a test delivery to a loopback receiver
// that refuses the first attempt, seen delivered with both attempts in the channel's deliveries
// and verified with the generated secret by standardwebhooks; edit and delete; and the task
// editor's notify rules saved through the API, with the API's refusal shown at the rule.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

interface Received {
  body: string;
  headers: IncomingHttpHeaders;
}

let server: ServerProcess;
let browser: Browser;
let receiver: Server;
let receiverUrl = '';
const received: Received[] = [];

before(async () => {
  // The receiver answers 500 to the first request, then 204: the delivery needs a retry.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.statusCode = received.length === 1 ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  [server, browser] = await Promise.all([
    startUiServer({
      modules: { 'noop.mjs': 'export default async () => 1;' },
      env: { SUNDIAL_NOTIFY_POLL_INTERVAL: '200ms', SUNDIAL_NOTIFY_RETRY_INITIAL: '300ms', SUNDIAL_NOTIFY_RETRY_MAX: '1s' },
    }),
    launchBrowser(),
  ]);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
  receiver?.close();
});

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url + path);
  return page;
}

test('create a webhook channel with a generated secret, send a test and see it delivered with its attempts', async () => {
  const page = await open('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Channels' }).click();
  await page.getByRole('heading', { level: 1, name: 'Channels' }).waitFor();
  await page.getByText('No channels yet.').waitFor();

  const form = page.getByRole('form', { name: 'New channel' });
  await form.getByLabel('Name', { exact: true }).fill('ops-hook');
  assert.equal(await form.getByLabel('Type').inputValue(), 'webhook', 'webhook is the default type');
  await form.getByLabel('URL').fill(receiverUrl);

  // Without a secret the API refuses, and says so at the secret field.
  await form.getByRole('button', { name: 'Create channel' }).click();
  const secretInput = form.getByLabel('Signing secret');
  await secretInput.and(page.locator('[aria-invalid="true"]')).waitFor();
  await form.locator('.field-errors').filter({ hasText: 'is required' }).waitFor();

  await form.getByRole('button', { name: 'Generate' }).click();
  const secret = await secretInput.inputValue();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{32}$/, '24 random bytes as base64');
  assert.equal(await secretInput.getAttribute('type'), 'text', 'a generated secret is shown to be copied');
  await form.getByText('Copy this secret now').waitFor();
  await form.getByRole('button', { name: 'Copy' }).waitFor();
  await screenshot(page, 'channel-create');
  await form.getByRole('button', { name: 'Create channel' }).click();

  const row = page.getByRole('row', { name: /ops-hook/ });
  await row.waitFor();
  await row.getByRole('cell', { name: receiverUrl }).waitFor();
  await row.getByRole('cell', { name: 'set', exact: true }).waitFor();
  assert.equal(await secretInput.inputValue(), '', 'the form forgets the secret once saved');
  assert.ok(!(await page.content()).includes(secret), 'the secret is nowhere on the page');
  const stored = await server.api<{ secretSet: boolean; url: string }>('GET', '/v1/channels/ops-hook');
  assert.equal(stored.status, 200);
  assert.equal(stored.body.secretSet, true);
  assert.equal(stored.body.url, receiverUrl);

  await row.getByRole('button', { name: 'Send test to ops-hook' }).click();
  await row.getByRole('status').filter({ hasText: 'Test queued' }).waitFor();

  await row.getByRole('link', { name: 'Deliveries of ops-hook' }).click();
  await page.getByRole('heading', { level: 1, name: 'Deliveries of ops-hook' }).waitFor();
  const delivery = page.getByRole('table', { name: 'Deliveries' }).getByRole('row', { name: /run\.test/ });
  // Pending first (the receiver refused it), then delivered by the retry: the page polls meanwhile.
  await delivery.getByText('delivered', { exact: true }).waitFor({ timeout: 20_000 });
  await delivery.getByText('2 attempts').click();
  await delivery.getByRole('listitem').filter({ hasText: 'HTTP 500' }).waitFor();
  await delivery.getByRole('listitem').filter({ hasText: 'HTTP 204' }).waitFor();
  await screenshot(page, 'channel-deliveries');

  // The receiver got the same notification twice (same webhook-id), signed with the generated secret.
  assert.equal(received.length, 2);
  assert.equal(received[0]!.headers['webhook-id'], received[1]!.headers['webhook-id']);
  const event = new Webhook(secret).verify(received[1]!.body, received[1]!.headers as Record<string, string>) as { type: string };
  assert.equal(event.type, 'run.test');
  await page.close();
});

test('edit a channel (its secret kept) and delete another through the dialog', async () => {
  assert.equal((await server.api('POST', '/v1/channels', { name: 'team-slack', type: 'slack', url: 'http://127.0.0.1:9/slack' })).status, 201);
  const page = await open('/channels');
  const row = page.getByRole('row', { name: /ops-hook/ });
  await row.getByRole('button', { name: 'Edit ops-hook' }).click();
  const form = page.getByRole('form', { name: 'Edit channel “ops-hook”' });
  await form.getByText('Leave empty to keep the stored secret').waitFor();
  assert.equal(await page.locator(':focus').getAttribute('id'), await form.getByLabel('Name', { exact: true }).getAttribute('id'), 'Edit moves the focus to the form');
  assert.equal(await form.getByLabel('Signing secret').inputValue(), '', 'a stored secret is never shown');
  await form.getByLabel('URL').fill(`${receiverUrl}/v2`);
  await form.getByRole('button', { name: 'Save channel' }).click();
  await row.getByRole('cell', { name: `${receiverUrl}/v2` }).waitFor();
  const changed = await server.api<{ secretSet: boolean; url: string }>('GET', '/v1/channels/ops-hook');
  assert.equal(changed.body.url, `${receiverUrl}/v2`);
  assert.equal(changed.body.secretSet, true, 'the secret stayed');

  // A viewer reads the channels but gets no form and no buttons, and a Slack URL (a credential) only as its origin.
  const { body: viewerKey } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'reader', role: 'viewer' });
  const viewer = await browser.newPage();
  await signIn(viewer, `${server.url}/channels`, viewerKey.secret);
  const viewerSlack = viewer.getByRole('row', { name: /team-slack/ });
  await viewerSlack.waitFor();
  assert.equal(await viewer.getByRole('form', { name: 'New channel' }).count(), 0, 'no form for viewers');
  assert.equal(await viewer.getByRole('button', { name: /Send test|Edit|Delete/ }).count(), 0, 'no changes for viewers');
  assert.ok(!((await viewerSlack.textContent()) ?? '').includes('/slack'), 'the Slack URL is not shown whole');
  await viewer.close();

  const slack = page.getByRole('row', { name: /team-slack/ });
  await slack.getByRole('cell', { name: '—', exact: true }).waitFor();
  await slack.getByRole('button', { name: 'Delete team-slack' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete “team-slack”?' });
  await dialog.getByRole('button', { name: 'Delete channel' }).click();
  await slack.waitFor({ state: 'detached' });
  assert.equal((await server.api('GET', '/v1/channels/team-slack')).status, 404);
  await page.close();
});

test('the task editor adds a notify rule from the channel picker and saves it; a rule without events is refused at the rule', async () => {
  const task = await server.api<{ id: string }>('POST', '/v1/tasks', { name: 'nightly', kind: 'module', spec: { file: 'noop.mjs' } });
  assert.equal(task.status, 201);
  const page = await open(`/tasks/${task.body.id}/edit`);
  const section = page.getByRole('region', { name: 'Notifications' });
  await section.getByText('No one is told').waitFor();
  await section.getByRole('button', { name: '+ Add notify rule' }).click();
  const rule = section.getByRole('group', { name: 'Rule 1', exact: true });
  const channel = rule.getByLabel('Rule 1 channel');
  await channel.locator('option', { hasText: 'ops-hook' }).waitFor({ state: 'attached' });
  await channel.selectOption('ops-hook');
  // Failures are ticked by default; untick them all to see the API's refusal first.
  const events = rule.getByRole('group', { name: 'Rule 1 events' });
  for (const e of ['failed', 'retries exhausted']) await events.getByLabel(e, { exact: true }).uncheck();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('alert').filter({ hasText: 'Not saved' }).waitFor();
  await channel.and(page.locator('[aria-invalid="true"]')).waitFor();
  await rule.locator('.field-errors').filter({ hasText: 'must be a non-empty list' }).waitFor();
  assert.equal(await page.locator(':focus').getAttribute('id'), await channel.getAttribute('id'), 'the invalid rule has focus');

  for (const e of ['failed', 'timed out', 'recovered']) await events.getByLabel(e, { exact: true }).check();
  await screenshot(page, 'task-editor-notify');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(new RegExp(`/tasks/${task.body.id}$`));
  const saved = await server.api<{ policies: { notify?: { on: string[]; channel: string }[] } }>('GET', '/v1/tasks/nightly');
  assert.deepEqual(saved.body.policies.notify, [{ on: ['failed', 'timed_out', 'recovered'], channel: 'ops-hook' }]);
  // The task's page lists the rule with its policies.
  await page.getByRole('region', { name: 'Policies' }).getByText('failed, timed out, recovered → ops-hook').waitFor();

  // Removing the rule saves [] and the task has none.
  await page.goto(`${server.url}/tasks/${task.body.id}/edit`);
  await page.getByRole('button', { name: 'Remove rule 1' }).click();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(new RegExp(`/tasks/${task.body.id}$`));
  const cleared = await server.api<{ policies: { notify?: unknown[] } }>('GET', '/v1/tasks/nightly');
  assert.ok(cleared.body.policies.notify === undefined || cleared.body.policies.notify.length === 0, 'no rules left');
  await page.close();
});
