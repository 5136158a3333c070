// The task editor: create http and script tasks through the form (the schedule preview answers
// while typing, the CodeMirror editor takes keyboard input), the API's messages land next to the
// field they concern (live and after submitting) and nothing is created, an edit sends a PATCH
// that changes what was changed, and a stale edit is stopped with a way to load the latest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

let server: ServerProcess;
let browser: Browser;

interface TaskBody {
  id: string;
  name: string;
  description: string | null;
  kind: string;
  spec: Record<string, unknown>;
  schedule: Record<string, unknown> | null;
  payload: unknown;
  version: number;
}

before(async () => {
  [server, browser] = await Promise.all([startUiServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

/** A fresh tab, signed in, on `path`. */
async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url + path);
  return page;
}

/** The text of everything an input's aria-describedby points at (its hint and its error list). */
async function describedText(page: Page, input: Locator): Promise<string> {
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  return texts.join(' | ');
}

/**
 * Waits until what `input` is described by (its hint and error list, once it is invalid) shows
 * `message`. The live preview may first answer for a half-typed value (on a slow machine
 * keystrokes can be further apart than its debounce), with another message; the full value's
 * answer follows into the same error list.
 */
async function waitDescribedBy(page: Page, input: Locator, message: string): Promise<void> {
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  await page.locator(ids.map((id) => `[id="${id}"]`).join(', ')).filter({ hasText: message }).first().waitFor();
}

/** Waits until `input` is marked invalid (the API's or the browser's message is attached). */
async function waitInvalid(input: Locator): Promise<void> {
  await input.and(input.page().locator('[aria-invalid="true"]')).waitFor();
}

async function waitForTaskPage(page: Page): Promise<string> {
  await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname.split('/').pop()!;
}

test('create an http task with an interval schedule, the preview answering while typing', async () => {
  const page = await open('/tasks/new');
  await page.getByRole('heading', { name: 'New task' }).waitFor();

  await page.getByLabel('Name', { exact: true }).fill('ping-http');
  await page.getByLabel('Description (optional)').fill('Pings the hook every five minutes');
  assert.equal(await page.getByRole('radio', { name: 'HTTP request' }).isChecked(), true, 'http is the default kind');
  await page.getByLabel('Method').selectOption('POST');
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', { name: '+ Add header' }).click();
  await page.getByLabel('Header 1 name').fill('x-team');
  await page.getByLabel('Header 1 value').fill('data');
  await page.getByLabel('Body', { exact: true }).fill('{ "hello": "world" }');
  await page.getByLabel('The body is JSON').check();
  await page.getByLabel('Expected status (optional)').fill('200, 202');

  await page.getByRole('radio', { name: 'Interval' }).check();
  const times = page.getByRole('list', { name: 'Next runs' }).getByRole('listitem');
  assert.equal(await times.count(), 0, 'no preview before anything is typed');
  await page.getByLabel('Every').pressSequentially('5m', { delay: 30 });
  await times.nth(4).waitFor();
  assert.equal(await times.count(), 5, 'five next fire times');
  await page.locator('.preview-status').filter({ hasText: 'every 5m' }).waitFor();
  await page.getByLabel('Default payload (JSON, optional)').fill('{ "region": "eu" }');
  await screenshot(page, 'task-create-http');

  await page.getByRole('button', { name: 'Create task' }).click();
  const id = await waitForTaskPage(page);

  const res = await server.api<TaskBody>('GET', '/v1/tasks/ping-http');
  assert.equal(res.status, 200);
  assert.equal(res.body.id, id, 'the page went to the new task');
  assert.equal(res.body.kind, 'http');
  assert.equal(res.body.description, 'Pings the hook every five minutes');
  assert.deepEqual(res.body.spec, {
    url: 'http://127.0.0.1:9/hook',
    method: 'POST',
    headers: { 'x-team': 'data' },
    body: { hello: 'world' },
    expectStatus: [200, 202],
  });
  assert.equal(res.body.schedule?.type, 'interval');
  assert.equal(res.body.schedule?.every, '5m');
  assert.deepEqual(res.body.payload, { region: 'eu' });
  await page.close();
});

test('a bad cron expression: the API message sits next to the field, live and after submitting, and nothing is created', async () => {
  const page = await open('/tasks/new');
  await page.getByLabel('Name', { exact: true }).fill('bad-cron');
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('radio', { name: 'Cron' }).check();
  const zone = await page.getByLabel('Time zone').inputValue();
  assert.notEqual(zone, '', 'the zone defaults to the browser');

  const expected = await server.api<{ errors: { path: string; message: string }[] }>('POST', '/v1/schedules/preview', {
    schedule: { type: 'cron', expression: '61 * * * *', timezone: zone },
  });
  assert.equal(expected.status, 400);
  const message = expected.body.errors.find((e) => e.path === '/schedule/expression')!.message;

  const cron = page.getByLabel('Cron expression');
  await cron.pressSequentially('61 * * * *', { delay: 20 });
  await waitInvalid(cron);
  // The live preview puts the API's message next to the field.
  await waitDescribedBy(page, cron, message);
  await page.locator('.preview-status').filter({ hasText: 'not valid' }).waitFor();
  assert.equal(await page.getByRole('list', { name: 'Next runs' }).count(), 0, 'no times for an invalid schedule');

  await page.getByRole('button', { name: 'Create task' }).click();
  const summary = page.getByRole('alert').filter({ hasText: 'Not saved' });
  await summary.waitFor();
  assert.match((await summary.textContent()) ?? '', /invalid_schedule/);
  assert.ok((await describedText(page, cron)).includes(message), 'after submitting, the message is still next to the field');
  assert.equal(await page.locator(':focus').getAttribute('id'), await cron.getAttribute('id'), 'the first invalid field has focus');
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'bad-cron', 'what was typed stays');
  assert.equal(await cron.inputValue(), '61 * * * *');
  await screenshot(page, 'task-create-bad-cron');

  const res = await server.api('GET', '/v1/tasks/bad-cron');
  assert.equal(res.status, 404, 'nothing was created');

  // Fixing it clears the message and brings the preview back.
  await cron.fill('*/10 * * * *');
  await page.getByRole('list', { name: 'Next runs' }).getByRole('listitem').nth(4).waitFor();
  assert.equal(await cron.getAttribute('aria-invalid'), null);
  await page.close();
});

test('client-side checks: payload that is not JSON is named next to the payload field', async () => {
  const page = await open('/tasks/new');
  await page.getByLabel('Name', { exact: true }).fill('bad-payload');
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  const payload = page.getByLabel('Default payload (JSON, optional)');
  await payload.fill('{ "a": 1,, }');
  await page.getByRole('button', { name: 'Create task' }).click();
  await waitInvalid(payload);
  assert.match(await describedText(page, payload), /not valid JSON/);
  assert.equal(await page.locator(':focus').getAttribute('id'), await payload.getAttribute('id'));
  assert.equal((await server.api('GET', '/v1/tasks/bad-payload')).status, 404);
  await page.close();
});

test('an error inside "Advanced" opens it; a refused kind is named next to the kind; a once schedule is sent with its zone', async () => {
  const page = await open('/tasks/new');
  await page.getByLabel('Name', { exact: true }).fill('policy-errors');
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  await page.getByText('Advanced: backoff, missed runs, priority, concurrency').click();
  await page.getByLabel('Priority').fill('5000');
  await page.getByText('Advanced: backoff, missed runs, priority, concurrency').click();
  const priority = page.getByLabel('Priority');
  assert.equal(await priority.isVisible(), false, 'closed again');
  await page.getByRole('button', { name: 'Create task' }).click();
  await waitInvalid(priority);
  assert.equal(await priority.isVisible(), true, 'the disclosure opened by itself');
  assert.match(await describedText(page, priority), /1000/);
  assert.equal(await page.locator(':focus').getAttribute('id'), await priority.getAttribute('id'));
  await priority.fill('10');

  // Shell tasks are off on this server: the API says so, next to the kind.
  await page.getByRole('radio', { name: 'Shell command' }).check();
  await page.getByLabel('Command', { exact: true }).fill(`sh -c 'echo "hi there"'`);
  await page.getByRole('list', { name: 'Runs as argv:' }).getByText('echo "hi there"').waitFor();
  await page.getByRole('button', { name: 'Create task' }).click();
  const shell = page.getByRole('radio', { name: 'Shell command' });
  await waitInvalid(shell);
  assert.match(await describedText(page, shell), /SUNDIAL_SHELL_TASKS/);

  await page.getByRole('radio', { name: 'HTTP request' }).check();
  await page.getByRole('radio', { name: 'Once' }).check();
  await page.getByLabel('Run at').fill('2030-01-02T03:04:05');
  await page.getByRole('list', { name: 'Next runs' }).getByRole('listitem').first().waitFor();
  await page.getByRole('button', { name: 'Create task' }).click();
  await waitForTaskPage(page);
  const res = await server.api<TaskBody>('GET', '/v1/tasks/policy-errors');
  const at = await page.evaluate(`new Date('2030-01-02T03:04:05').toISOString()`);
  assert.deepEqual(res.body.schedule, { type: 'once', at });
  await page.close();
});

test('create a script task by typing into the code editor', async () => {
  const page = await open('/tasks/new');
  await page.getByLabel('Name', { exact: true }).fill('double-it');
  await page.getByRole('radio', { name: 'Script' }).check();
  const editor = page.getByRole('textbox', { name: 'Code' });
  await editor.waitFor();
  assert.match((await editor.textContent()) ?? '', /ctx\.log\('hello'\)/, 'the editor starts with a working script');

  const code = 'export default async (ctx) => ({ doubled: ctx.payload.n * 2 })';
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(code);
  await editor.filter({ hasText: code }).waitFor();
  assert.ok((await page.locator('.cm-content .cm-line span[class]').count()) > 0, 'the code is highlighted');

  // Esc, then Tab leaves the editor (Tab alone indents).
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement?.closest(".cm-editor") === null'), true, 'Esc then Tab moves focus out of the editor');

  await page.getByLabel('Default payload (JSON, optional)').fill('{ "n": 21 }');
  await screenshot(page, 'task-create-script');
  await page.getByRole('button', { name: 'Create task' }).click();
  await waitForTaskPage(page);

  const res = await server.api<TaskBody>('GET', '/v1/tasks/double-it');
  assert.equal(res.status, 200);
  assert.equal(res.body.kind, 'script');
  assert.deepEqual(res.body.spec, { code });
  assert.equal(res.body.schedule, null);
  await page.close();
});

test('edit a task: the form is pre-filled and the PATCH carries the changes', async () => {
  const created = await server.api<TaskBody>('POST', '/v1/tasks', {
    name: 'edit-me',
    description: 'before',
    kind: 'http',
    spec: { url: 'http://127.0.0.1:9/edit', method: 'GET' },
    schedule: { type: 'cron', expression: '0 9 * * *', timezone: 'Europe/Berlin' },
    policies: { timeout: '2m' },
  });
  assert.equal(created.status, 201);
  const page = await open(`/tasks/${created.body.id}/edit`);
  await page.getByRole('heading', { name: 'Edit edit-me' }).waitFor();

  assert.equal(await page.getByLabel('Description (optional)').inputValue(), 'before');
  assert.equal(await page.getByLabel('URL').inputValue(), 'http://127.0.0.1:9/edit');
  assert.equal(await page.getByRole('radio', { name: 'Cron' }).isChecked(), true);
  assert.equal(await page.getByLabel('Cron expression').inputValue(), '0 9 * * *');
  assert.equal(await page.getByLabel('Time zone').inputValue(), 'Europe/Berlin');
  assert.equal(await page.getByLabel('Timeout').inputValue(), '2m');
  await page.locator('.zone-note').filter({ hasText: 'Europe/Berlin' }).waitFor();

  await page.getByLabel('Description (optional)').fill('after');
  await page.getByLabel('Cron expression').fill('30 10 * * 1-5');
  await page.locator('.preview-status').filter({ hasText: '10:30' }).waitFor();
  await screenshot(page, 'task-edit');
  await page.getByRole('button', { name: 'Save changes' }).click();
  assert.equal(await waitForTaskPage(page), created.body.id);

  const res = await server.api<TaskBody>('GET', `/v1/tasks/${created.body.id}`);
  assert.equal(res.body.version, 2, 'one PATCH');
  assert.equal(res.body.description, 'after');
  assert.deepEqual(res.body.schedule, { type: 'cron', expression: '30 10 * * 1-5', timezone: 'Europe/Berlin' });
  assert.deepEqual(res.body.spec, { url: 'http://127.0.0.1:9/edit', method: 'GET' }, 'the spec was not touched');
  await page.close();
});

test('a stale edit is refused with a version conflict, and the latest can be loaded', async () => {
  const created = await server.api<TaskBody>('POST', '/v1/tasks', {
    name: 'stale-me',
    description: 'v1',
    kind: 'http',
    spec: { url: 'http://127.0.0.1:9/stale' },
  });
  assert.equal(created.status, 201);
  const page = await open(`/tasks/${created.body.id}/edit`);
  const description = page.getByLabel('Description (optional)');
  await page.getByRole('heading', { name: 'Edit stale-me' }).waitFor();
  assert.equal(await description.inputValue(), 'v1');

  const elsewhere = await server.api('PATCH', `/v1/tasks/${created.body.id}`, { description: 'changed elsewhere' });
  assert.equal(elsewhere.status, 200);

  await description.fill('mine');
  await page.getByRole('button', { name: 'Save changes' }).click();
  const conflict = page.getByRole('alert').filter({ hasText: 'changed since you opened it' });
  await conflict.waitFor();
  assert.match((await conflict.textContent()) ?? '', /version 2/);
  assert.equal(await description.inputValue(), 'mine', 'the edit is still in the form');
  assert.equal(new URL(page.url()).pathname, `/tasks/${created.body.id}/edit`);
  const still = await server.api<TaskBody>('GET', `/v1/tasks/${created.body.id}`);
  assert.equal(still.body.description, 'changed elsewhere', 'the other change was not overwritten');

  await page.getByRole('button', { name: 'Load the latest version (discard my edits)' }).click();
  await conflict.waitFor({ state: 'detached' });
  await page.waitForFunction(
    `[...document.querySelectorAll('label')].find((l) => l.textContent === 'Description (optional)')?.control?.value === 'changed elsewhere'`,
  );
  await description.fill('mine, on top of the latest');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await waitForTaskPage(page);
  const saved = await server.api<TaskBody>('GET', `/v1/tasks/${created.body.id}`);
  assert.equal(saved.body.description, 'mine, on top of the latest');
  assert.equal(saved.body.version, 3);
  await page.close();
});
