// The Overview page: status cards with the backlog, the runs-per-minute chart growing from live
// events (no reload, no re-fetch of the series), a failing task's run in Recent failures with its
// error, pending runs in Next runs due, the namespace filter, and the chart's shift into a new
// minute.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

const RUNS_CHART = 'Finished runs per minute by outcome';

let server: ServerProcess;
let browser: Browser;

async function createTask(body: Record<string, unknown>): Promise<void> {
  const res = await server.api('POST', '/v1/tasks', { kind: 'module', ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

before(async () => {
  [server, browser] = await Promise.all([
    startUiServer({
      modules: {
        'ok.mjs': 'export default async () => 1',
        'bad.mjs': 'export default async () => { throw new Error("boom") }',
      },
    }),
    launchBrowser(),
  ]);
  await createTask({ name: 'tick-ok', spec: { file: 'ok.mjs' }, schedule: { type: 'interval', every: '1s' } });
  await createTask({ name: 'tick-bad', spec: { file: 'bad.mjs' }, schedule: { type: 'cron', expression: '*/2 * * * * *' } });
  await createTask({ name: 'hourly-later', spec: { file: 'ok.mjs' }, schedule: { type: 'interval', every: '1h' } });
  await createTask({ name: 'report-later', namespace: 'reports', spec: { file: 'ok.mjs' }, schedule: { type: 'interval', every: '2h' } });
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

/** The succeeded total the runs chart announces (its accessible name). */
async function succeededInChart(page: Page): Promise<number> {
  const label = await page.getByRole('img', { name: new RegExp(`^${RUNS_CHART}`) }).getAttribute('aria-label');
  const m = /(\d+) succeeded/.exec(label ?? '');
  assert.ok(m, `the chart summary counts succeeded runs: ${label}`);
  return Number(m[1]);
}

/** A regular expression source matching any whole number above `n`. */
function above(n: number): string {
  const d = String(n);
  const alternatives = [`[1-9]\\d{${d.length},}`];
  for (let i = 0; i < d.length; i++) {
    const digit = Number(d[i]);
    if (digit < 9) alternatives.push(`${d.slice(0, i)}[${digit + 1}-9]\\d{${d.length - i - 1}}`);
  }
  return `(?:${alternatives.join('|')})`;
}

/** Waits until the runs chart announces more than `than` succeeded runs. */
async function waitForSucceededAbove(page: Page, than: number): Promise<void> {
  const name = new RegExp(`^${RUNS_CHART}.*: ${above(than)} succeeded`);
  await page.getByRole('img', { name }).waitFor({ timeout: 20_000 });
}

test('the overview updates live: chart counts, recent failures, next runs, backlog card', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const seriesCalls: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/v1/stats/runs') seriesCalls.push(r.url());
  });
  await signIn(page, server.url);
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.evaluate('window.__sameDocument = true');

  const cards = page.getByRole('list', { name: 'Current state' });
  await cards.getByText('Backlog').waitFor();
  await cards.getByText('Failures, last hour').waitFor();

  // The chart grows from events, not from fetching the series again: it is fetched once, and
  // once more if the event stream connected after that (events sent before were not seen).
  await page.getByRole('img', { name: new RegExp(`^${RUNS_CHART}`) }).waitFor();
  await page.getByText('Live: updates as runs change').waitFor();
  await waitForSucceededAbove(page, (await succeededInChart(page)) + 1);
  const calls = seriesCalls.length;
  assert.ok(calls <= 2, `the series is fetched once, or twice (${calls})`);
  await waitForSucceededAbove(page, (await succeededInChart(page)) + 2);
  assert.equal(seriesCalls.length, calls, 'the series was not fetched again while it grew');

  // The hidden table carries the same numbers: sixty minutes, the last one still counting.
  const table = page.getByRole('table', { name: RUNS_CHART });
  assert.equal(await table.getByRole('row').count(), 61);
  await table.getByRole('rowheader', { name: /this minute, so far/ }).waitFor();

  const failures = page.getByRole('region', { name: 'Recent failures' });
  const failed = failures.getByRole('row').filter({ hasText: 'tick-bad' }).first();
  await failed.waitFor();
  assert.match((await failed.textContent()) ?? '', /boom/);
  assert.match((await failed.getByRole('link', { name: 'tick-bad' }).getAttribute('href')) ?? '', /^\/runs\/[0-9a-f-]{36}$/);
  const failureCard = cards.getByRole('listitem').filter({ hasText: 'Failures, last hour' });
  await failureCard.getByText('failing').waitFor();

  const next = page.getByRole('region', { name: 'Next runs due' });
  const hourly = next.getByRole('link', { name: 'hourly-later' });
  await hourly.waitFor();
  assert.match((await hourly.getAttribute('href')) ?? '', /^\/runs\/[0-9a-f-]{36}$/);
  await next.getByRole('row').filter({ hasText: 'hourly-later' }).getByText(/in (59|60) minutes|in 1 hour/).waitFor();

  assert.equal(await page.evaluate('window.__sameDocument'), true, 'the page was never reloaded');
  await screenshot(page, 'overview');

  // The namespace filter narrows every part of the page (the admin key covers all: a text box).
  await page.getByLabel('Namespace').fill('reports');
  await next.getByRole('link', { name: 'report-later' }).waitFor();
  await next.getByRole('link', { name: 'hourly-later' }).waitFor({ state: 'detached' });
  await failures.getByText('No failed or timed-out runs.').waitFor();
  assert.equal(new URL(page.url()).searchParams.get('namespace'), 'reports');
  assert.equal(await succeededInChart(page), 0);
  await page.close();
});

test('at a minute boundary the chart moves on to a new, empty minute', async () => {
  const page = await browser.newPage();
  await page.clock.install();
  await signIn(page, server.url);
  const table = page.getByRole('table', { name: RUNS_CHART });
  const current = table.getByRole('rowheader', { name: /this minute, so far/ });
  await current.waitFor();
  const before = (await current.textContent()) ?? '';
  await page.clock.fastForward('01:00');
  await table.getByRole('rowheader', { name: /this minute, so far/ }).filter({ hasNotText: before }).waitFor();
  assert.equal(await table.getByRole('row').count(), 61, 'still sixty minutes');
  const last = table.getByRole('row').last();
  assert.match((await last.textContent()) ?? '', /this minute, so far/);
  await page.close();
});
