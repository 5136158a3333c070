// The task list with 100,000 tasks in the store: how long the first page takes to render after
// a page load, and how long paging, a search and a sort take to show their rows, measured in
// the browser (performance.now(), from navigation start or from the click to the changed rows).
// The figures are written to test-results/ui-perf.json and recorded in docs/benchmarks.md; the
// assertions check correctness only (speed is not asserted in tests: a loaded CI machine would
// make them flaky).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { makeDirs, startServerProcess, type ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn } from './browser.js';
import { seedTasks } from './seed-tasks.js';

const TASKS = 100_000;
const RESULTS = new URL('../../test-results/', import.meta.url).pathname;

let server: ServerProcess;
let browser: Browser;
let dirs: { dataDir: string; tasksDir: string };

before(async () => {
  dirs = makeDirs({ 'job.mjs': 'export default async () => 1' });
  await seedTasks(dirs.dataDir, TASKS);
  [server, browser] = await Promise.all([startServerProcess(dirs), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
  // 100,000 tasks and 300,000 runs are ~150 MB on disk; not worth keeping.
  if (dirs) rmSync(dirname(dirs.dataDir), { recursive: true, force: true });
});

// Runs in the page before its scripts: notes when the first task row is in the DOM.
const FIRST_ROW_PROBE = `
  new MutationObserver((_, obs) => {
    if (document.querySelector('tr[data-task-id]')) {
      window.__firstRowAt = performance.now();
      obs.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
`;

/** Runs `clickJs` in the page and resolves with the ms until the first row's id changes (fails after 20 s). */
async function timeUntilRowsChange(page: Page, clickJs: string): Promise<number> {
  return (await page.evaluate(`new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('the rows did not change within 20 s')), 20000);
    const first = () => document.querySelector('tr[data-task-id]')?.getAttribute('data-task-id');
    const before = first();
    const t0 = performance.now();
    const obs = new MutationObserver(() => {
      const now = first();
      if (now && now !== before) { obs.disconnect(); resolve(performance.now() - t0); }
    });
    obs.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-task-id'] });
    (${clickJs})();
  })`)) as number;
}

async function rowIds(page: Page): Promise<string[]> {
  return page.locator('tr[data-task-id]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-task-id') ?? ''));
}

const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const round = (x: number): number => Math.round(x * 10) / 10;

test(`the task list with ${TASKS.toLocaleString('en')} tasks: first page, paging, search and sort`, async (t) => {
  const page = await browser.newPage();
  await signIn(page, server.url);
  await page.addInitScript(FIRST_ROW_PROBE);

  // First page after a full page load (bundle, session check, one list request), five times.
  const firstPage: number[] = [];
  for (let i = 0; i < 5; i++) {
    await page.goto(`${server.url}/tasks`);
    await page.locator('tr[data-task-id]').first().waitFor();
    firstPage.push((await page.evaluate('window.__firstRowAt')) as number);
  }
  const page1 = await rowIds(page);
  assert.equal(page1.length, 50, 'a page holds 50 tasks');
  await screenshot(page, 'task-list-100k');

  // Twenty pages forward, then five back.
  const pagerButton = (label: string): string =>
    `() => [...document.querySelectorAll('nav[aria-label="Pages"] button')].find((b) => b.textContent.includes('${label}')).click()`;
  const clickNext = pagerButton('Next');
  const clickPrev = pagerButton('Previous');
  const paging: number[] = [];
  const seen = new Set(page1);
  for (let i = 0; i < 20; i++) {
    paging.push(await timeUntilRowsChange(page, clickNext));
    const ids = await rowIds(page);
    assert.equal(ids.length, 50);
    for (const id of ids) assert.ok(!seen.has(id), 'each task appears on one page only');
    ids.forEach((id) => seen.add(id));
  }
  for (let i = 0; i < 5; i++) paging.push(await timeUntilRowsChange(page, clickPrev));

  // A search that matches one task in 100,000, and a sort.
  // Typed in the page (React sees an input event), timed to the changed rows; this includes
  // the search box's 250 ms debounce.
  const search = page.getByLabel('Search');
  const searchId = await search.getAttribute('id');
  const searchMs = await timeUntilRowsChange(
    page,
    `() => {
      const input = document.getElementById(${JSON.stringify(searchId)});
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, 'task-098765');
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }`,
  );
  await page.locator('tr[data-task-id]').filter({ hasText: 'task-098765' }).waitFor();
  assert.equal((await rowIds(page)).length, 1, 'the search finds exactly one task');
  await search.fill('');
  await page.locator('tr[data-task-id]').nth(49).waitFor();
  // Sorting by last run (latest first) is the slow sort: no index, a top-N scan of every task.
  const sortMs = await timeUntilRowsChange(page, `() => [...document.querySelectorAll('th button')].find((b) => b.textContent.includes('Last run')).click()`);

  const result = {
    at: new Date().toISOString(),
    tasks: TASKS,
    firstPageMs: { runs: firstPage.map(round), median: round(percentile(firstPage, 50)), max: round(Math.max(...firstPage)) },
    pagingMs: { runs: paging.length, median: round(percentile(paging, 50)), p95: round(percentile(paging, 95)), max: round(Math.max(...paging)) },
    searchOneIn100kMsWithDebounce: round(searchMs),
    sortByLastRunMs: round(sortMs),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'ui-perf.json'), JSON.stringify(result, null, 2) + '\n');
  t.diagnostic(JSON.stringify(result));
  await page.close();
});
