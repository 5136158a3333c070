// The overview shows admins what the InfluxDB sink dropped: a server whose sink writes to a
// loopback "InfluxDB" that refuses every batch (400: never writable, so dropped and counted)
// gets a warning card with the count, which /v1/stats reports too; a viewer gets no such card.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

let server: ServerProcess;
let browser: Browser;
let influx: Server;

before(async () => {
  influx = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"refused by the test"}');
    });
  });
  await new Promise<void>((resolve) => influx.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(influx.address() as AddressInfo).port}`;
  [server, browser] = await Promise.all([
    startUiServer({ env: { SUNDIAL_INFLUX_URL: url, SUNDIAL_INFLUX_FLUSH_INTERVAL: '50ms', SUNDIAL_INFLUX_NODE_INTERVAL: '1s' } }),
    launchBrowser(),
  ]);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
  influx?.close();
});

interface Stats {
  sinks?: { sink: string; dropped: number; buffered: number }[];
}

test('dropped InfluxDB points show on the overview for admins, not for viewers', async () => {
  // The node's own figures are written every second, and every batch is refused.
  let dropped = 0;
  for (let i = 0; i < 100 && dropped === 0; i++) {
    const stats = await server.api<Stats>('GET', '/v1/stats');
    dropped = stats.body.sinks?.find((s) => s.sink === 'influxdb')?.dropped ?? 0;
    if (dropped === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(dropped > 0, 'the refused batches are counted as dropped');

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, server.url);
  const card = page.getByRole('list', { name: 'Current state' }).getByRole('listitem').filter({ hasText: 'InfluxDB points dropped' });
  await card.getByText('dropping').waitFor();
  const shown = Number((await card.locator('.value').textContent())?.replace(/\D/g, ''));
  assert.ok(shown >= dropped, `the card shows at least the ${dropped} dropped before (${shown})`);
  await card.getByText(/buffered · since start/).waitFor();
  await screenshot(page, 'overview-sink-dropped');
  await page.close();

  const { body } = await server.api<{ secret: string }>('POST', '/v1/api-keys', { name: 'watcher', role: 'viewer' });
  const viewer = await browser.newPage();
  await signIn(viewer, server.url, body.secret);
  await viewer.getByRole('list', { name: 'Current state' }).getByText('Running').waitFor();
  assert.equal(await viewer.getByText('InfluxDB points dropped').count(), 0);
  await viewer.close();
});
