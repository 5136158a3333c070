// The dashboard's frame: served on the API's port, client-side routes survive a reload, the key
// never lands in a URL, sign-in refuses a bad key, sign-out forgets the key, API misses stay
// problem documents.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ServerProcess } from '../e2e/server-process.js';
import { ADMIN_TOKEN, launchBrowser, screenshot, signIn, startUiServer } from './browser.js';

let server: ServerProcess;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([startUiServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.kill('SIGTERM');
});

test('the server answers page loads of client routes with the app, and API misses with problems', async () => {
  for (const path of ['/', '/index.html', '/tasks', '/runs/0194f6a8-0000-7000-8000-000000000000', '/no/such/page']) {
    const res = await fetch(server.url + path, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await res.text(), /<div id="root">/);
  }
  const miss = await fetch(`${server.url}/v1/nope`, { headers: { accept: 'text/html' } });
  assert.equal(miss.status, 404);
  assert.match(miss.headers.get('content-type') ?? '', /application\/problem\+json/);
  const asset = await fetch(`${server.url}/assets/nope.js`);
  assert.equal(asset.status, 404);
});

test('sign in, reload on a deep URL, sign out', async () => {
  const page = await browser.newPage();
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));

  await page.goto(`${server.url}/tasks`);
  await page.getByLabel('API key').fill('sdl_not-a-real-key-000000000000000000000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await screenshot(page, 'sign-in-refused');

  await signIn(page, `${server.url}/tasks`);
  await page.getByRole('heading', { level: 1 }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/tasks');
  await page.reload();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/tasks', 'a reload keeps the page and the session');
  assert.ok(urls.every((u) => !u.includes(ADMIN_TOKEN)), 'the key never appears in a URL');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
  await page.reload();
  await page.getByLabel('API key').waitFor();
  assert.equal(await page.evaluate('sessionStorage.length'), 0, 'sign-out forgets the key');
  await page.close();
});

test('the keyboard reaches every navigation link with a visible focus', async () => {
  const page = await browser.newPage();
  await signIn(page, server.url);
  await page.keyboard.press('Tab');
  const skip = await page.evaluate('document.activeElement?.textContent');
  assert.equal(skip, 'Skip to content');
  const seen: string[] = [];
  // Ten stops: nine links and the sign-out button (a Tab past the last leaves the page).
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    // A string, not a function: this file is type-checked without the DOM library.
    const focus = (await page.evaluate(
      `(() => { const el = document.activeElement; return { text: el?.textContent?.trim() ?? '', outline: el ? getComputedStyle(el).outlineStyle : 'none' }; })()`,
    )) as { text: string; outline: string };
    seen.push(focus.text);
    assert.notEqual(focus.outline, 'none', `focus on "${focus.text}" is visible`);
  }
  for (const link of ['Overview', 'Tasks', 'Runs', 'Alerts', 'Channels', 'Secrets', 'Nodes', 'Audit log', 'API keys', 'Sign out']) assert.ok(seen.includes(link), `${link} is reachable by Tab (${seen.join(', ')})`);
  await page.close();
});
