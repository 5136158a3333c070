import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusExpected, validateHttpSpec } from '../../src/executor/http-spec.js';

function paths(spec: unknown): string[] {
  return validateHttpSpec(spec).map((e) => e.path);
}

describe('validateHttpSpec', () => {
  it('accepts a full, valid spec', () => {
    assert.deepEqual(
      validateHttpSpec({ url: 'https://example.com/hook?x=1', method: 'post', headers: { Authorization: 'Bearer t', 'X-Custom': 'v' }, body: { a: 1 }, expectStatus: [200, 202] }),
      [],
    );
    assert.deepEqual(validateHttpSpec({ url: 'http://example.com' }), []);
  });

  it('refuses what the runner could not send', () => {
    assert.deepEqual(paths(null), ['/spec']);
    assert.deepEqual(paths({}), ['/spec/url']);
    assert.deepEqual(paths({ url: 'not a url' }), ['/spec/url']);
    assert.deepEqual(paths({ url: 'ftp://example.com/x' }), ['/spec/url']);
    assert.deepEqual(paths({ url: 'file:///etc/passwd' }), ['/spec/url']);
    assert.deepEqual(paths({ url: 'https://user:pw@example.com/' }), ['/spec/url']);
    assert.deepEqual(paths({ url: 'https://example.com', method: 'CONNECT' }), ['/spec/method']);
    assert.deepEqual(paths({ url: 'https://example.com', method: 'FETCH' }), ['/spec/method']);
    assert.deepEqual(paths({ url: 'https://example.com', headers: { 'bad name': 'x' } }), ['/spec/headers/bad name']);
    assert.deepEqual(paths({ url: 'https://example.com', headers: { Host: 'internal' } }), ['/spec/headers/Host']);
    assert.deepEqual(paths({ url: 'https://example.com', headers: { 'Content-Length': '5' } }), ['/spec/headers/Content-Length']);
    assert.deepEqual(paths({ url: 'https://example.com', headers: { 'X-A': 'a\r\nX-B: b' } }), ['/spec/headers/X-A']);
    assert.deepEqual(paths({ url: 'https://example.com', headers: { 'X-A': 1 } }), ['/spec/headers/X-A']);
    assert.deepEqual(paths({ url: 'https://example.com', body: 'x' }), ['/spec/body']);
    assert.deepEqual(paths({ url: 'https://example.com', method: 'POST', body: 10n }), ['/spec/body']);
    assert.deepEqual(paths({ url: 'https://example.com', expectStatus: 700 }), ['/spec/expectStatus']);
    assert.deepEqual(paths({ url: 'https://example.com', expectStatus: [] }), ['/spec/expectStatus']);
    assert.deepEqual(paths({ url: 'https://example.com', expectedStatus: 200 }), ['/spec/expectedStatus']);
  });

  it('statusExpected: any 2xx by default, else the listed codes', () => {
    assert.equal(statusExpected({ url: 'x' }, 204), true);
    assert.equal(statusExpected({ url: 'x' }, 302), false);
    assert.equal(statusExpected({ url: 'x', expectStatus: 404 }, 404), true);
    assert.equal(statusExpected({ url: 'x', expectStatus: [200, 410] }, 410), true);
    assert.equal(statusExpected({ url: 'x', expectStatus: [200, 410] }, 201), false);
  });
});
