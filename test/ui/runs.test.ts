// The run pages: a running run's log arrives line by line and its outcome without a reload; a
// pending run moves through the datetime input and is cancelled through the dialog; the run list
// shows runs, narrows them by status (kept in the URL) and takes new ones live; a viewer is
// offered no run actions.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { eventually, type ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

// Each line waits for its gate file, so the test decides when the next line comes: "the lines
// arrive one by one" is then a fact to observe, not a race against a timer.
const GATED_LOGGER = `
import { existsSync } from 'node:fs';
export default async (ctx) => {
  for (let i = 0; i < 5; i++) {
    ctx.log('line ' + i, i === 3 ? 'warn' : 'info');
    while (!existsSync(ctx.payload.gate + '/go-' + i)) await new Promise((r) => setTimeout(r, 20));
  }
  return { done: true, lines: 5 };
};
`;

let server: ServerProcess;
let browser: Browser;
let page: Page;

interface RunBody {
  id: string;
  status: string;
  scheduledFor: string;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await server.api<T>(method, path, body);
  assert.ok(res.status < 300, `${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function finished(id: string): Promise<RunBody> {
  return eventually(async () => {
    const run = await api<RunBody>('GET', `/v1/runs/${id}`);
    return ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'].includes(run.status) ? run : null;
  });
}

before(async () => {
  [server, browser] = await Promise.all([
    startUiServer({ modules: { 'gated.mjs': GATED_LOGGER, 'quick.mjs': 'export default async () => ({ ok: true });' } }),
    launchBrowser(),
  ]);
  await api('POST', '/v1/tasks', { name: 'gated-logger', kind: 'module', spec: { file: 'gated.mjs' } });
  await api('POST', '/v1/tasks', { name: 'quick', kind: 'module', spec: { file: 'quick.mjs' } });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

test('a running run shows its log line by line, then its outcome, without a reload', async () => {
  const gate = mkdtempSync(join(tmpdir(), 'sundial-gate-'));
  const run = await api<RunBody>('POST', '/v1/tasks/gated-logger/runs', { payload: { gate } });
  await page.goto(`${server.url}/runs/${run.id}`);
  await page.getByRole('heading', { level: 1, name: /Run of gated-logger/ }).waitFor();
  // A mark in the page's memory: it would be gone after a reload.
  await page.evaluate('window.__sameDocument = true');

  const log = page.getByRole('log', { name: 'Log lines' });
  for (let i = 0; i < 5; i++) {
    await log.getByText(`line ${i}`, { exact: true }).waitFor();
    assert.equal(await log.getByText(`line ${i + 1}`, { exact: true }).count(), 0, `line ${i + 1} is not there before its gate opens`);
    await page.getByRole('status').filter({ hasText: 'Following live' }).waitFor();
    if (i === 2) {
      // Long enough for resource samples, so the chart has a line to draw.
      await eventually(async () => (await api<{ samples: unknown[] }>('GET', `/v1/runs/${run.id}/metrics`)).samples.length >= 3);
      // The page polls a running run's figures, so the chart comes without a reload too.
      await page.getByRole('img', { name: /CPU/ }).waitFor();
      await screenshot(page, 'run-detail-logs');
    }
    writeFileSync(join(gate, `go-${i}`), '');
  }

  await page.getByRole('heading', { level: 1, name: /succeeded/ }).waitFor();
  await page.getByLabel('Result (JSON)').filter({ hasText: '"done": true' }).waitFor();
  const outcome = page.getByRole('list', { name: 'Status timeline' }).getByRole('listitem').last();
  await outcome.getByText('succeeded (done)').waitFor();
  // The count sits beside the live status (not in it: screen readers would read it ten times a second).
  await page.getByRole('region', { name: 'Log' }).getByText('5 lines').waitFor();
  assert.equal(await log.locator('.log-line').count(), 5, 'each line once, none repeated across the live hand-over');
  await page.getByRole('img', { name: /CPU/ }).waitFor();
  await page.getByRole('img', { name: /Memory/ }).waitFor();
  assert.equal(await page.evaluate('window.__sameDocument'), true, 'the page was not reloaded');
  assert.equal((await finished(run.id)).status, 'succeeded');
  await screenshot(page, 'run-detail');
  assert.ok(existsSync(join(gate, 'go-4')));
});

test('a pending run moves through the datetime input, then is cancelled through the dialog', async () => {
  const at = new Date(Date.now() + 3_600_000).toISOString();
  const run = await api<RunBody>('POST', '/v1/tasks/quick/schedule', { at });
  await page.goto(`${server.url}/runs/${run.id}`);
  const input = page.getByLabel('New time');
  await input.waitFor();
  const prefilled = (await page.evaluate(`new Date(${JSON.stringify(await input.inputValue())}).toISOString()`)) as string;
  assert.equal(prefilled, new Date(Math.floor(Date.parse(run.scheduledFor) / 1000) * 1000).toISOString(), 'prefilled with scheduledFor');

  const value = '2031-06-15T09:30:00';
  await input.fill(value);
  await page.getByRole('button', { name: 'Reschedule' }).click();
  const notice = page.getByRole('status').filter({ hasText: 'Moved' });
  await notice.waitFor();
  const expected = (await page.evaluate(`new Date(${JSON.stringify(value)}).toISOString()`)) as string;
  const moved = await api<RunBody>('GET', `/v1/runs/${run.id}`);
  assert.equal(moved.scheduledFor, expected, 'the server has the time typed in, read in the browser’s zone');
  assert.equal(await notice.locator('time').getAttribute('datetime'), moved.scheduledFor);
  await page.getByRole('list', { name: 'Status timeline' }).locator(`time[datetime="${moved.scheduledFor}"]`).waitFor();

  await page.getByRole('button', { name: 'Cancel run' }).click();
  const dialog = page.getByRole('dialog', { name: 'Cancel this run?' });
  await dialog.getByRole('button', { name: 'Cancel run' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('heading', { level: 1, name: /cancelled/ }).waitFor();
  assert.equal(await page.getByLabel('New time').count(), 0, 'a cancelled run cannot be moved');
  assert.equal((await api<RunBody>('GET', `/v1/runs/${run.id}`)).status, 'cancelled');

  // Moving it now is refused, and the refusal is shown as the API's problem.
  const refused = await server.api<{ code: string }>('POST', `/v1/runs/${run.id}/reschedule`, { at: expected });
  assert.equal(refused.body.code, 'run_not_reschedulable');
});

test('the run list shows runs, narrows them by status in the URL, and takes new runs live', async () => {
  for (let i = 0; i < 3; i++) await finished((await api<RunBody>('POST', '/v1/tasks/quick/runs', {})).id);
  await page.goto(`${server.url}/runs`);
  const table = page.getByRole('table', { name: 'Runs' });
  await table.waitFor();
  const rows = table.locator('tbody tr');
  await eventually(async () => (await rows.count()) >= 5);
  await table.getByRole('link', { name: 'gated-logger' }).first().waitFor();
  await screenshot(page, 'runs');

  await page.getByRole('checkbox', { name: 'cancelled' }).check();
  await page.waitForURL(/status=cancelled/);
  await eventually(async () => (await rows.count()) === 1);
  await rows.first().getByText('cancelled', { exact: true }).waitFor();

  await page.getByRole('checkbox', { name: 'cancelled' }).uncheck();
  await page.getByRole('checkbox', { name: 'succeeded' }).check();
  await page.waitForURL(/status=succeeded/);
  await eventually(async () => (await rows.count()) === 4);
  await page.reload();
  assert.equal(await page.getByRole('checkbox', { name: 'succeeded' }).isChecked(), true, 'the filter survives a reload');
  await eventually(async () => (await rows.count()) === 4);

  // A new run shows up once it matches, with no reload.
  await page.evaluate('window.__sameDocument = true');
  const fresh = await api<RunBody>('POST', '/v1/tasks/quick/runs', {});
  await table.getByRole('link', { name: new RegExp(`^Run ${fresh.id.slice(-8)}`) }).waitFor();
  assert.equal(await rows.count(), 5);
  assert.equal(await page.evaluate('window.__sameDocument'), true);

  await table.getByRole('link', { name: new RegExp(`^Run ${fresh.id.slice(-8)}`) }).click();
  await page.waitForURL(`**/runs/${fresh.id}`);
  await page.getByRole('heading', { level: 1, name: /Run of quick/ }).waitFor();
});

test('a viewer is offered no reschedule and no cancel', async () => {
  const { body: key } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'watcher', role: 'viewer' });
  const run = await api<RunBody>('POST', '/v1/tasks/quick/schedule', { at: new Date(Date.now() + 3_600_000).toISOString() });
  const viewer = await browser.newPage();
  await signIn(viewer, `${server.url}/runs/${run.id}`, key.secret);
  await viewer.getByRole('heading', { level: 1, name: /Run of quick/ }).waitFor();
  await viewer.getByRole('list', { name: 'Status timeline' }).waitFor();
  assert.equal(await viewer.getByRole('button', { name: 'Cancel run' }).count(), 0);
  assert.equal(await viewer.getByRole('button', { name: 'Reschedule' }).count(), 0);
  assert.equal(await viewer.getByLabel('New time').count(), 0);
  await viewer.getByRole('link', { name: 'Open task' }).waitFor();
  await viewer.close();
});
