// Browser tests of the dashboard: a real `sundial serve` process serving the built UI, and
// Debian's Chromium driven by playwright-core (scripts/install-browser.sh installs it; no
// browser is downloaded). Screenshots go to test-results/screenshots/.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN_TOKEN, makeDirs, startServerProcess, type ServerProcess } from '../e2e/server-process.js';

const ROOT = new URL('../../', import.meta.url).pathname;
export const CHROMIUM = process.env.SUNDIAL_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');
export { ADMIN_TOKEN };

/** Fails with the fix when the UI build or the browser is missing (never skips silently). */
export function assertBrowserSetup(): void {
  if (!existsSync(join(ROOT, 'dist', 'ui', 'index.html'))) {
    throw new Error('dist/ui is not built: run `npm run build:ui` (npm test does it in pretest)');
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/install-browser.sh as root (npm test does it in pretest)`);
  }
}

/** Starts headless Chromium with the flags this machine needs (no network chatter, no sandbox as root). */
export async function launchBrowser(): Promise<Browser> {
  assertBrowserSetup();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A server with the dashboard on a fresh data dir. */
export async function startUiServer(opts: { modules?: Record<string, string>; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const dirs = makeDirs(opts.modules ?? {});
  return startServerProcess({
    ...dirs,
    env: { SUNDIAL_OUTBOUND_ALLOW: '127.0.0.1', ...opts.env },
  });
}

/** Opens `url` and signs in with `token` through the sign-in form. */
export async function signIn(page: Page, url: string, token: string = ADMIN_TOKEN): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API key').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
