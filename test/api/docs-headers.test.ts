// Issue 12, hole 6: the API docs (/docs, Swagger UI) are served with the dashboard's security
// headers: the same Content-Security-Policy (no framing, scripts only from this origin),
// X-Frame-Options, nosniff and no referrer.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;
before(async () => {
  h = await startApi();
});
after(async () => {
  await h.close();
});

test('every answer under /docs carries the page security headers', async () => {
  const page = await h.call({ method: 'GET', url: '/docs/', token: null, headers: { accept: 'text/html' } });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  const urls = ['/docs', '/docs/', '/docs/static/index.html', '/docs/static/swagger-initializer.js', '/docs/json'];
  for (const url of urls) {
    const res = await h.call({ method: 'GET', url, token: null });
    assert.ok(res.statusCode < 400, `${url}: ${res.statusCode}`);
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /frame-ancestors 'none'/, url);
    assert.match(csp, /script-src 'self'(;|$)/, url);
    assert.match(csp, /default-src 'self'/, url);
    assert.equal(res.headers['x-frame-options'], 'DENY', url);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    assert.equal(res.headers['referrer-policy'], 'no-referrer', url);
  }
});

test('API answers are not given page headers (they are not pages)', async () => {
  const res = await h.call({ method: 'GET', url: '/v1/tasks' });
  assert.equal(res.headers['x-frame-options'], undefined);
});
