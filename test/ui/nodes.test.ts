// The Nodes page: this node listed as up with its roles and runs in flight, the count following
// a run that starts while the page is open (the page reads the list again every 5 s: there is no
// node event); a viewer key gets no Nodes page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

interface NodeItem {
  id: string;
  roles: string[];
  status: string;
  runsInFlight: number;
}

let server: ServerProcess;
let browser: Browser;
let page: Page;

before(async () => {
  [server, browser] = await Promise.all([
    startUiServer({
      modules: { 'slow.mjs': 'export default async () => new Promise((r) => setTimeout(r, 60_000));' },
      // The slow run is still running at the end: no grace to wait out on SIGTERM.
      env: { SUNDIAL_DRAIN_GRACE: '0s' },
    }),
    launchBrowser(),
  ]);
  const task = await server.api('POST', '/v1/tasks', { name: 'slow', kind: 'module', spec: { file: 'slow.mjs' } });
  assert.equal(task.status, 201, JSON.stringify(task.body));
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

test('the Nodes page lists this node as up, with its roles and runs in flight, kept current', async () => {
  const { status, body } = await server.api<{ items: NodeItem[] }>('GET', '/v1/cluster/nodes');
  assert.equal(status, 200);
  assert.equal(body.items.length, 1);
  const self = body.items[0]!;
  assert.equal(self.status, 'up');
  assert.deepEqual([...self.roles].sort(), ['api', 'executor', 'scheduler']);
  assert.equal(self.runsInFlight, 0);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Nodes' }).click();
  await page.waitForURL(/\/nodes$/);

  await page.getByRole('heading', { level: 1, name: 'Nodes' }).waitFor();
  const table = page.getByRole('table', { name: 'Cluster nodes' });
  const row = table.getByRole('row').filter({ has: page.getByRole('rowheader', { name: self.id, exact: true }) });
  await row.waitFor();
  await row.getByText('up', { exact: true }).waitFor();
  await row.getByRole('cell', { name: self.roles.join(', '), exact: true }).waitFor();
  const inFlight = row.getByRole('cell', { name: /^\d+$/ });
  assert.equal(await inFlight.textContent(), '0');
  await row.getByText(/^\d+ s ago$/).waitFor();
  await page.getByText('Now 1 up.').waitFor();

  // A run starts: the open page shows it in flight at its next read, without a reload.
  assert.equal((await server.api('POST', '/v1/tasks/slow/runs', {})).status, 201);
  await row.getByRole('cell', { name: '1', exact: true }).waitFor({ timeout: 15_000 });
  await screenshot(page, 'nodes');
});

test('a viewer key gets no Nodes page', async () => {
  const { body } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'watcher', role: 'viewer' });
  const viewer = await browser.newPage();
  await signIn(viewer, server.url, body.secret);
  const nav = viewer.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Runs' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Nodes' }).count(), 0);
  await viewer.goto(`${server.url}/nodes`);
  await viewer.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
  await viewer.close();
});
