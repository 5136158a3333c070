// The task list and the task detail in a real browser: server-side paging, search, filters and
// sort kept in the URL (through a reload), the next fire times with a daylight-saving change
// marked, Run now with a live run history, pause/resume, delete with confirmation, and a viewer
// who is offered no action at all.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { eventually, type ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

// Fails when the payload asks it to, so seeded tasks get a mix of outcomes.
const JOB = `export default async (ctx) => {
  if (ctx.payload && ctx.payload.fail) throw new Error('asked to fail');
  return { ok: true };
};`;

const PREFIXES = ['billing-sync', 'report-daily', 'cache-warm', 'ping-health', 'cleanup-tmp', 'export-csv'];
const SEEDS = 120;

interface Seed {
  name: string;
  kind: 'http' | 'module';
}
interface Page_<T> {
  items: T[];
  nextCursor: string | null;
}

let server: ServerProcess;
let browser: Browser;
const seeds: Seed[] = [];
const ids = new Map<string, string>();

// In-page expressions (this file is type-checked without the DOM library).
const TABLE = 'table[aria-label="Tasks"]';
const ROW_IDS = `[...document.querySelectorAll('${TABLE} tbody tr')].map((r) => r.getAttribute('data-task-id'))`;
const ROW_NAMES = `[...document.querySelectorAll('${TABLE} tbody tr .task-name')].map((a) => a.textContent)`;
const ROW_KINDS = `[...document.querySelectorAll('${TABLE} tbody tr .kind')].map((a) => a.textContent)`;

// What the wait functions below touch of the page's document.
interface El {
  getAttribute(name: string): string | null;
}
interface Doc {
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}

function seedBody(i: number): Record<string, unknown> {
  const kind = i % 3 === 0 ? 'module' : 'http';
  const name = `${PREFIXES[i % PREFIXES.length]}-${String(i).padStart(3, '0')}`;
  seeds.push({ name, kind });
  const schedules = [
    { type: 'cron', expression: '0 3 * * *', ...(i % 8 === 0 ? { timezone: 'America/New_York' } : {}) },
    { type: 'interval', every: '1h' },
    { type: 'once', at: '2030-01-01T00:00:00Z' },
    null,
  ];
  return {
    name,
    kind,
    spec: kind === 'module' ? { file: 'job.mjs' } : { url: 'http://127.0.0.1:9/x', method: i % 2 === 0 ? 'POST' : 'GET', headers: { 'x-team': 'ops' } },
    ...(i % 5 === 0 ? { description: `Seeded task number ${i}` } : {}),
    ...(schedules[i % 4] !== null ? { schedule: schedules[i % 4] } : {}),
    policies: { overlap: 'allow_all' },
  };
}

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await server.api<{ id: string }>('POST', '/v1/tasks', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  ids.set(String(body.name), res.body.id);
  return res.body.id;
}

/** Gives the first few tasks (page 1 in creation order) a history for their sparklines. */
async function seedRuns(): Promise<void> {
  for (let i = 0; i < 8; i++) {
    const id = ids.get(seeds[i]!.name)!;
    for (let n = 0; n < 4 + i; n++) {
      const res = await server.api('POST', `/v1/tasks/${id}/runs`, { payload: { fail: n % 5 === 3 } });
      assert.equal(res.status, 201);
    }
  }
  await eventually(async () => {
    const res = await server.api<Page_<{ trigger: string }>>('GET', '/v1/runs?status=scheduled,queued,running&limit=500');
    return res.body.items.every((r) => r.trigger !== 'manual');
  }, 30_000);
}

before(async () => {
  [server, browser] = await Promise.all([startUiServer({ modules: { 'job.mjs': JOB } }), launchBrowser()]);
  for (let i = 0; i < SEEDS; i++) await create(seedBody(i));
  const year = new Date().getUTCFullYear() + 1;
  // Europe/Berlin springs forward on the last Sunday of March (25th to 31st): ten 09:00 fire
  // times from the 24th always cross it.
  await create({
    name: 'berlin-morning',
    kind: 'module',
    spec: { file: 'job.mjs' },
    description: 'Morning report for the Berlin office',
    schedule: { type: 'cron', expression: '0 9 * * *', timezone: 'Europe/Berlin', startAt: `${year}-03-24T00:00:00Z` },
    policies: { retry: { maxAttempts: 3 }, timeout: '2m' },
    payload: { office: 'berlin' },
  });
  await create({ name: 'doomed', kind: 'http', spec: { url: 'http://127.0.0.1:9/x' } });
  await seedRuns();
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

async function openPage(path: string, token?: string, timezoneId?: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, ...(timezoneId ? { timezoneId } : {}) });
  await signIn(page, server.url + path, token);
  return page;
}

async function rowIds(page: Page): Promise<string[]> {
  return (await page.evaluate(ROW_IDS)) as string[];
}

async function rowNames(page: Page): Promise<string[]> {
  return (await page.evaluate(ROW_NAMES)) as string[];
}

/** Waits until the table has settled (not loading) on rows other than `before`; returns them. */
async function rowsChangedFrom(page: Page, before: string[]): Promise<string[]> {
  // A function, not a string: the page's CSP forbids eval. It runs in the page.
  await page.waitForFunction(
    ([table, prev]) => {
      const doc = (globalThis as unknown as { document: Doc }).document;
      if (doc.querySelector(table)?.getAttribute('aria-busy') !== 'false') return false;
      const now = Array.from(doc.querySelectorAll(`${table} tbody tr`), (r) => r.getAttribute('data-task-id'));
      return JSON.stringify(now) !== prev;
    },
    [TABLE, JSON.stringify(before)] as const,
  );
  return rowIds(page);
}

/** Waits until the table is not loading. */
async function settled(page: Page): Promise<void> {
  await page.locator(`${TABLE}[aria-busy="false"]`).waitFor();
}

test('the list pages forward and back through the server, 50 rows a page', async () => {
  const page = await openPage('/tasks');
  const table = page.getByRole('table', { name: 'Tasks' });
  await table.locator('tbody tr').first().waitFor();
  await settled(page);
  const first = await rowIds(page);
  assert.equal(first.length, 50);
  assert.equal(first[0], ids.get(seeds[0]!.name), 'creation order by default');
  await page.getByRole('img', { name: /^Last \d+ runs: / }).first().waitFor();
  await screenshot(page, 'task-list');

  await page.getByRole('button', { name: 'Next →' }).click();
  const second = await rowsChangedFrom(page, first);
  await page.getByText('Page 2', { exact: true }).waitFor();
  assert.equal(second.length, 50);
  assert.ok(second.every((id) => !first.includes(id)), 'page 2 shows other tasks');

  await page.getByRole('button', { name: 'Next →' }).click();
  const third = await rowsChangedFrom(page, second);
  await page.getByText('Page 3', { exact: true }).waitFor();
  assert.equal(third.length, SEEDS + 2 - 100);
  assert.ok(await page.getByRole('button', { name: 'Next →' }).isDisabled(), 'the last page has no next');

  await page.getByRole('button', { name: '← Previous' }).click();
  assert.deepEqual(await rowsChangedFrom(page, third), second);
  await page.getByText('Page 2', { exact: true }).waitFor();
  await page.getByRole('button', { name: '← Previous' }).click();
  assert.deepEqual(await rowsChangedFrom(page, second), first);
  await page.getByText('Page 1', { exact: true }).waitFor();
  await page.close();
});

test('search narrows the list, and a filter and a sort live in the URL through a reload', async () => {
  const page = await openPage('/tasks');
  await page.getByRole('table', { name: 'Tasks' }).locator('tbody tr').first().waitFor();
  await settled(page);
  const all = await rowIds(page);

  await page.getByLabel('Search').fill('cache-warm');
  await page.waitForURL((u) => u.searchParams.get('q') === 'cache-warm');
  const foundIds = await rowsChangedFrom(page, all);
  const found = await rowNames(page);
  assert.equal(found.length, seeds.filter((s) => s.name.includes('cache-warm')).length);
  assert.ok(found.every((n) => n.includes('cache-warm')), found.join(', '));
  assert.ok(await page.getByRole('button', { name: 'Next →' }).isDisabled());

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.waitForURL((u) => u.search === '');
  const before = await rowsChangedFrom(page, foundIds);
  assert.deepEqual(before, all);

  await page.getByLabel('Kind').selectOption('module');
  await page.waitForURL((u) => u.searchParams.get('kind') === 'module');
  await rowsChangedFrom(page, before);
  assert.ok(((await page.evaluate(ROW_KINDS)) as string[]).every((k) => k === 'module'));

  const modules = [...seeds.filter((s) => s.kind === 'module').map((s) => s.name), 'berlin-morning'];
  const byName = [...modules].sort();
  const unsorted = await rowIds(page);
  await page.getByRole('button', { name: 'Name' }).click();
  await page.waitForURL((u) => u.searchParams.get('sort') === 'name');
  await page.locator('th[aria-sort="ascending"]', { hasText: 'Name' }).waitFor();
  await rowsChangedFrom(page, unsorted);
  assert.deepEqual(await rowNames(page), byName.slice(0, 50));

  const ascending = await rowIds(page);
  await page.getByRole('button', { name: 'Name' }).click();
  await page.waitForURL((u) => u.searchParams.get('sort') === '-name');
  await page.locator('th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
  await rowsChangedFrom(page, ascending);
  const descending = [...byName].reverse().slice(0, 50);
  assert.deepEqual(await rowNames(page), descending);

  await page.reload();
  await page.getByRole('table', { name: 'Tasks' }).locator('tbody tr').first().waitFor();
  await settled(page);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('kind'), 'module');
  assert.equal(url.searchParams.get('sort'), '-name');
  assert.deepEqual(await rowNames(page), descending, 'the reload shows the same view');
  assert.equal(await page.getByLabel('Kind').inputValue(), 'module');
  await page.locator('th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
  await page.close();
});

test('a cron task shows its next 10 fire times with the daylight-saving change marked', async () => {
  const page = await openPage(`/tasks/${ids.get('berlin-morning')}`);
  await page.getByRole('heading', { level: 1, name: 'berlin-morning' }).waitFor();
  const fireTimes = page.getByRole('table', { name: 'Next fire times' }).locator('tr[data-fire-time]');
  await fireTimes.first().waitFor();
  assert.equal(await fireTimes.count(), 10);
  await page.getByText('DST: UTC+01:00 → UTC+02:00').waitFor();
  await page.getByText('at 09:00 every day (Europe/Berlin)').first().waitFor();
  await page.getByText('module', { exact: true }).first().waitFor();
  await page.getByText('job.mjs').waitFor();
  await page.close();
});

test('Run now adds a run to the history, which follows it live; pause and resume change the status', async () => {
  // A browser in another zone than the schedule's, so both columns of fire times differ.
  const page = await openPage(`/tasks/${ids.get('berlin-morning')}`, undefined, 'America/New_York');
  const history = page.getByRole('table', { name: 'Run history' });
  await page.getByRole('button', { name: 'Run now' }).click();
  const link = page.getByRole('status').getByRole('link', { name: 'View the run' });
  await link.waitFor();
  const runId = (await link.getAttribute('href'))!.split('/').pop()!;
  const row = history.locator(`tr[data-run-id="${runId}"]`);
  await row.waitFor();
  await row.locator('.badge-succeeded').waitFor();

  // A run made elsewhere reaches the open page through the event stream.
  const other = await server.api<{ id: string }>('POST', `/v1/tasks/${ids.get('berlin-morning')}/runs`, {});
  await history.locator(`tr[data-run-id="${other.body.id}"] .badge-succeeded`).waitFor();

  // A one-off run a day from now (the input is in the browser's zone).
  const at = new Date(Date.now() + 86_400_000);
  const local = (await page.evaluate(
    `(() => { const d = new Date(${at.getTime()}); const p = (n) => String(n).padStart(2, '0'); return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()); })()`,
  )) as string;
  await page.getByLabel('Run at').fill(local);
  await page.getByRole('button', { name: 'Schedule run' }).click();
  await page.getByRole('status').filter({ hasText: 'One-off run scheduled for' }).waitFor();
  const onceHref = await page.getByRole('status').filter({ hasText: 'One-off run scheduled for' }).getByRole('link').getAttribute('href');
  await history.locator(`tr[data-run-id="${onceHref!.split('/').pop()}"] .badge-scheduled`).waitFor();

  const summary = page.locator('.task-cards');
  await page.getByRole('button', { name: 'Pause' }).click();
  await summary.locator('.badge-paused').waitFor();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await summary.locator('.badge-active').waitFor();
  await page.getByRole('button', { name: 'Pause' }).waitFor();
  // Resuming plans the next occurrence; its new run shows up live.
  await history
    .locator('tbody tr')
    .filter({ has: page.locator('td', { hasText: /^schedule$/ }) })
    .filter({ has: page.locator('.badge-scheduled') })
    .waitFor();
  await screenshot(page, 'task-detail');
  await page.close();
});

test('Delete asks first, then removes the task', async () => {
  const id = ids.get('doomed')!;
  const page = await openPage(`/tasks/${id}`);
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete doomed?' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await server.api('GET', `/v1/tasks/${id}`)).status, 200, 'Cancel keeps the task');

  await page.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete task' }).click();
  await page.waitForURL((u) => u.pathname === '/tasks');
  assert.equal((await server.api('GET', `/v1/tasks/${id}`)).status, 404);
  await page.close();
});

test('a viewer is offered no action', async () => {
  const key = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'watcher', role: 'viewer' });
  assert.equal(key.status, 201);
  const page = await openPage('/tasks', key.body.secret);
  await page.getByRole('table', { name: 'Tasks' }).locator('tbody tr').first().waitFor();
  assert.equal(await page.getByRole('link', { name: 'New task' }).count(), 0);

  await page.goto(`${server.url}/tasks/${ids.get('berlin-morning')}`);
  await page.getByRole('heading', { level: 1, name: 'berlin-morning' }).waitFor();
  await page.getByRole('table', { name: 'Run history' }).waitFor();
  for (const name of ['Run now', 'Pause', 'Resume', 'Delete', 'Schedule run']) {
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `no ${name} button`);
  }
  assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
  assert.equal(await page.getByLabel('Run at').count(), 0);
  await page.close();
});

test('the list refreshes itself when a task is created elsewhere', async () => {
  const page = await openPage('/tasks?sort=-createdAt');
  await page.getByRole('table', { name: 'Tasks' }).locator('tbody tr').first().waitFor();
  await settled(page);
  const id = await create({ name: 'fresh-arrival', kind: 'http', spec: { url: 'http://127.0.0.1:9/x' } });
  await page.locator(`${TABLE} tbody tr:first-child[data-task-id="${id}"]`).waitFor();
  await page.close();
});
