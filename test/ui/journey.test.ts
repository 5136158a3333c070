// A person's first session with the dashboard, end to end on a real server and a real browser:
// sign in; create an http task every 2 s against a local sink and watch its runs arrive without
// reloading; open a run and read its log; schedule a one-off run, move it, cancel it; pause and
// resume; a bad cron expression is explained next to its field; a viewer is offered no changes.
// A screenshot of every page lands in test-results/screenshots/journey-*.png.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

const LOGGER = `export default async (ctx) => {
  ctx.log('fetching the report');
  ctx.log('3 rows written', 'warn');
  return { rows: 3 };
};`;

let server: ServerProcess;
let browser: Browser;
let sink: Server;
let sinkHits = 0;
let page: Page;

before(async () => {
  sink = createServer((req, res) => {
    sinkHits++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  [server, browser] = await Promise.all([startUiServer({ modules: { 'report.mjs': LOGGER } }), launchBrowser()]);
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
  sink?.close();
});

/** Marks the document, so a later check can tell the page was never reloaded. */
async function markDocument(): Promise<void> {
  await page.evaluate('window.__journey = true');
}
async function sameDocument(): Promise<boolean> {
  return (await page.evaluate('window.__journey === true')) as boolean;
}

let taskPath = '';

test('sign in, create an http task every 2 s, and watch its runs arrive without reloading', async () => {
  await page.goto(server.url);
  await screenshot(page, 'journey-01-sign-in');
  await signIn(page, server.url);
  await markDocument();

  await page.getByRole('link', { name: 'Tasks' }).click();
  await page.getByRole('link', { name: 'New task' }).click();
  await page.getByLabel('Name', { exact: true }).fill('ping-sink');
  await page.getByLabel('URL').fill(`http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`);
  await page.getByRole('radio', { name: 'Interval' }).check();
  await page.getByLabel('Every').fill('2s');
  await page.getByRole('list', { name: 'Next runs' }).getByRole('listitem').nth(2).waitFor();
  await screenshot(page, 'journey-02-new-task');
  await page.getByRole('button', { name: 'Create task' }).click();
  await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
  taskPath = new URL(page.url()).pathname;

  const history = page.getByRole('table', { name: 'Run history' });
  await history.locator('.badge-succeeded').nth(1).waitFor({ timeout: 20_000 });
  assert.ok(sinkHits >= 2, `the sink was called (${sinkHits} times)`);
  assert.ok(await sameDocument(), 'the runs arrived without a reload');
  await screenshot(page, 'journey-03-task-detail');

  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.getByRole('link', { name: 'ping-sink' }).first().waitFor();
  await screenshot(page, 'journey-04-overview');
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  await page.getByRole('table', { name: 'Tasks' }).getByRole('link', { name: 'ping-sink' }).waitFor();
  await screenshot(page, 'journey-05-tasks');
  assert.ok(await sameDocument());
});

test('run a task now, open the run and read its log', async () => {
  const created = await server.api('POST', '/v1/tasks', { name: 'nightly-report', kind: 'module', spec: { file: 'report.mjs' } });
  assert.equal(created.status, 201);
  await page.goto(`${server.url}/tasks`);
  await page.getByRole('table', { name: 'Tasks' }).getByRole('link', { name: 'nightly-report' }).click();
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.getByRole('status').getByRole('link', { name: 'View the run' }).click();
  await page.getByRole('heading', { level: 1, name: /succeeded/ }).waitFor();
  const log = page.getByRole('log', { name: 'Log lines' });
  await log.getByText('fetching the report').waitFor();
  await log.getByText('3 rows written').waitFor();
  await screenshot(page, 'journey-06-run-detail');
});

test('schedule a one-off run, move it to a new time, then cancel it', async () => {
  await page.goto(server.url + taskPath);
  const inAnHour = (await page.evaluate(
    `(() => { const d = new Date(Date.now() + 3600000); const p = (n) => String(n).padStart(2, '0'); return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); })()`,
  )) as string;
  await page.getByLabel('Run at').fill(inAnHour);
  await page.getByRole('button', { name: 'Schedule run' }).click();
  await page.getByRole('status').filter({ hasText: 'One-off run scheduled for' }).getByRole('link').click();
  await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
  const runId = new URL(page.url()).pathname.split('/').pop()!;

  const newTime = '2031-06-15T09:30:00';
  await page.getByLabel('New time').fill(newTime);
  await page.getByRole('button', { name: 'Reschedule' }).click();
  await page.getByRole('status').filter({ hasText: 'Moved' }).waitFor();
  const expected = (await page.evaluate(`new Date(${JSON.stringify(newTime)}).toISOString()`)) as string;
  await page.getByRole('list', { name: 'Status timeline' }).locator(`time[datetime="${expected}"]`).waitFor();
  const moved = await server.api<{ scheduledFor: string; status: string }>('GET', `/v1/runs/${runId}`);
  assert.equal(moved.body.scheduledFor, expected, 'the new time is the one shown');
  await screenshot(page, 'journey-07-run-rescheduled');

  await page.getByRole('button', { name: 'Cancel run' }).click();
  await page.getByRole('dialog', { name: 'Cancel this run?' }).getByRole('button', { name: 'Cancel run' }).click();
  await page.getByRole('heading', { level: 1, name: /cancelled/ }).waitFor();
  assert.equal((await server.api<{ status: string }>('GET', `/v1/runs/${runId}`)).body.status, 'cancelled');
});

test('pause and resume the task', async () => {
  await page.goto(server.url + taskPath);
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  assert.equal((await server.api<{ status: string }>('GET', '/v1/tasks/ping-sink')).body.status, 'paused');
  await screenshot(page, 'journey-08-task-paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('button', { name: 'Pause' }).waitFor();
  assert.equal((await server.api<{ status: string }>('GET', '/v1/tasks/ping-sink')).body.status, 'active');
});

test('a bad cron expression shows the API’s message next to the field', async () => {
  await page.goto(`${server.url}/tasks/new`);
  await page.getByLabel('Name', { exact: true }).fill('never-created');
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('radio', { name: 'Cron' }).check();
  const cron = page.getByLabel('Cron expression');
  await cron.fill('0 0 30 2 *');
  await page.getByRole('button', { name: 'Create task' }).click();
  await cron.and(page.locator('[aria-invalid="true"]')).waitFor();
  const ids = ((await cron.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter(Boolean);
  const described = (await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()))).join(' ');
  const api = await server.api<{ errors: { path: string; message: string }[] }>('POST', '/v1/schedules/preview', {
    schedule: { type: 'cron', expression: '0 0 30 2 *', timezone: await page.getByLabel('Time zone').inputValue() },
  });
  const message = api.body.errors.find((e) => e.path === '/schedule/expression')!.message;
  assert.ok(described.includes(message), `"${message}" is next to the cron field (found: ${described})`);
  assert.equal((await server.api('GET', '/v1/tasks/never-created')).status, 404, 'nothing was created');
  await screenshot(page, 'journey-09-bad-cron');
});

test('the admin pages, and a viewer who is offered nothing to change', async () => {
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('table').getByText('task.create').first().waitFor();
  await screenshot(page, 'journey-10-audit');
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByLabel('Name', { exact: true }).fill('wall-screen');
  await page.getByLabel('Role').selectOption('viewer');
  await page.getByRole('button', { name: /Create key/ }).click();
  const secret = await page.locator('input[readonly]').first().inputValue();
  assert.match(secret, /^sdl_/);
  await screenshot(page, 'journey-11-api-keys');

  const viewer = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await signIn(viewer, `${server.url}/tasks`, secret);
  await viewer.getByRole('table', { name: 'Tasks' }).getByRole('link', { name: 'ping-sink' }).click();
  await viewer.getByRole('table', { name: 'Run history' }).waitFor();
  for (const name of ['Run now', 'Pause', 'Resume', 'Delete', 'Schedule run']) {
    assert.equal(await viewer.getByRole('button', { name, exact: true }).count(), 0, `a viewer has no ${name} button`);
  }
  assert.equal(await viewer.getByRole('link', { name: 'Edit' }).count(), 0, 'a viewer has no Edit link');
  assert.equal(await viewer.getByRole('link', { name: 'Audit log' }).count(), 0);
  await screenshot(viewer, 'journey-12-viewer-task-detail');
  await viewer.goto(`${server.url}/tasks`);
  await viewer.getByRole('table', { name: 'Tasks' }).waitFor();
  assert.equal(await viewer.getByRole('link', { name: 'New task' }).count(), 0, 'a viewer has no New task');
  await viewer.close();
});
