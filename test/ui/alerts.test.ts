// The Alerts page and the overview's firing strip: a rule "flaky failed once" fires when the
// task's run fails, shows under Firing with why and since when, and in a strip on the overview;
// the next run succeeds, the alert resolves and moves under Resolved, and the strip goes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

let server: ServerProcess;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([
    startUiServer({
      modules: { 'flaky.mjs': 'export default async (ctx) => { if (ctx.payload && ctx.payload.fail) throw new Error("boom"); return 1; };' },
      env: { SUNDIAL_ALERT_INTERVAL: '200ms' },
    }),
    launchBrowser(),
  ]);
  assert.equal((await server.api('POST', '/v1/tasks', { name: 'flaky', kind: 'module', spec: { file: 'flaky.mjs' } })).status, 201);
  const rule = await server.api('POST', '/v1/alert-rules', { name: 'flaky-failing', kind: 'consecutive_failures', params: { task: 'flaky', n: 1 } });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

test('a firing alert is listed first and stripped on the overview; once resolved it moves below and the strip goes', async () => {
  assert.equal((await server.api('POST', '/v1/tasks/flaky/runs', { payload: { fail: true } })).status, 201);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url);

  // The overview's strip (read again every 15 s; a reload is quicker to wait for).
  const strip = page.getByRole('region', { name: /firing 1 alert/ });
  for (let i = 0; i < 60 && (await strip.count()) === 0; i++) {
    await page.waitForTimeout(500);
    if ((await strip.count()) === 0) await page.reload();
  }
  await strip.getByText('flaky-failing').waitFor();
  await strip.getByText(/failed 1 times in a row/).waitFor();
  await screenshot(page, 'overview-firing-alert');

  await strip.getByRole('link', { name: 'All alerts' }).click();
  await page.getByRole('heading', { level: 1, name: 'Alerts' }).waitFor();
  const firing = page.getByRole('table', { name: 'Firing alerts' });
  const row = firing.getByRole('row', { name: /flaky-failing/ });
  await row.getByText('firing', { exact: true }).waitFor();
  await row.getByText('consecutive_failures').waitFor();
  await row.getByText(/ago/).first().waitFor();
  await page.getByRole('region', { name: 'Resolved' }).getByText('No alert has resolved yet.').waitFor();
  const rule = page.getByRole('table', { name: 'Alert rules' }).getByRole('row', { name: /flaky-failing/ });
  await rule.getByText('task flaky · n 1').waitFor();
  await rule.getByText('enabled').waitFor();
  await screenshot(page, 'alerts-firing');

  // A success resolves it.
  assert.equal((await server.api('POST', '/v1/tasks/flaky/runs', { payload: {} })).status, 201);
  const resolved = page.getByRole('table', { name: 'Resolved alerts' }).getByRole('row', { name: /flaky-failing/ });
  for (let i = 0; i < 60 && (await resolved.count()) === 0; i++) {
    await page.waitForTimeout(500);
    if ((await resolved.count()) === 0) await page.reload();
  }
  await resolved.getByText('resolved', { exact: true }).waitFor();
  await page.getByRole('region', { name: /Firing/ }).getByText('Nothing is firing.').waitFor();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.getByRole('list', { name: 'Current state' }).waitFor();
  assert.equal(await page.getByRole('region', { name: /firing/ }).count(), 0, 'no strip once nothing fires');
  await page.close();
});
