// Masking of secret values and their encoded forms, and the references in specs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMasker, secretMark } from '../../src/core/secrets/masker.js';
import { bindSecretValues, secretReferences } from '../../src/core/secrets/references.js';

const VALUE = 's3cr3t/with+odd=chars & spaces"quoted"';
const masker = createMasker(new Map([['TOKEN', VALUE], ['SHORT', 'abc']]));
const mark = secretMark('TOKEN');

describe('masker', () => {
  it('masks the value and its base64, base64url, percent-encoded and JSON-escaped forms', () => {
    const forms = [
      VALUE,
      Buffer.from(VALUE).toString('base64'),
      Buffer.from(VALUE).toString('base64').replace(/=+$/, ''),
      Buffer.from(VALUE).toString('base64url'),
      encodeURIComponent(VALUE),
      new URLSearchParams({ q: VALUE }).toString().slice(2),
      JSON.stringify(VALUE).slice(1, -1),
    ];
    for (const f of forms) {
      const out = masker.text(`before ${f} after`);
      assert.equal(out, `before ${mark} after`, f);
    }
  });

  it('masks the value inside a longer base64 text (HTTP Basic), at every alignment', () => {
    for (const user of ['u', 'us', 'use', 'user']) {
      const basic = Buffer.from(`${user}:${VALUE}`).toString('base64');
      const out = masker.text(`Authorization: Basic ${basic}`);
      assert.ok(out.includes(mark), `${user}: ${out}`);
      // What is left cannot be decoded back into the value.
      assert.ok(!Buffer.from(out.replace(/^.*Basic /, '').replace(mark, ''), 'base64').toString().includes(VALUE.slice(0, 8)));
    }
  });

  it('masks every occurrence, the longest value first, and strings and keys inside JSON', () => {
    assert.equal(masker.text(`${VALUE}${VALUE} abc`), `${mark}${mark} ${secretMark('SHORT')}`);
    const result = { [VALUE]: [1, { deep: `x${VALUE}x` }, null, true], n: 3 };
    assert.deepEqual(masker.json(result), { [mark]: [1, { deep: `x${mark}x` }, null, true], n: 3 });
  });

  it('masks the beginning of a value that ends a text (cut by a cap), not a short or inner piece', () => {
    for (const n of [6, 12, VALUE.length - 1]) assert.equal(masker.text(`line cut here: ${VALUE.slice(0, n)}`), `line cut here: ${mark}`, String(n));
    assert.equal(masker.text(`too short: ${VALUE.slice(0, 5)}`), `too short: ${VALUE.slice(0, 5)}`);
    assert.equal(masker.text(`${VALUE.slice(0, 8)} and more`), `${VALUE.slice(0, 8)} and more`);
    // A whole value then a cut one: both masked.
    assert.equal(masker.text(`${VALUE} then ${VALUE.slice(0, 9)}`), `${mark} then ${mark}`);
  });

  it('masks each line of a value of several lines (a PEM key printed line by line)', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nab\n-----END PRIVATE KEY-----\n';
    const m = createMasker(new Map([['PEM', pem]]));
    const lines = pem.split('\n').map((l) => m.text(`> ${l}`));
    assert.deepEqual(lines, ['> [secret:PEM]', '> [secret:PEM]', '> ab', '> [secret:PEM]', '> ']);
    assert.equal(m.text(pem), '[secret:PEM]');
  });

  it('leaves text without values alone; no secrets, no work', () => {
    assert.equal(masker.text('nothing here'), 'nothing here');
    const none = createMasker(new Map());
    assert.equal(none.empty, true);
    const obj = { a: VALUE };
    assert.equal(none.json(obj), obj);
  });
});

describe('references', () => {
  const http = {
    url: 'https://api.example.com/v1/{{secrets.PATH_PART}}?key={{ secrets.QUERY_KEY }}',
    headers: { authorization: 'Bearer {{secrets.TOKEN}}', 'x-plain': 'no secret' },
    body: { nested: ['{{secrets.BODY}}'], '{{secrets.KEY_NAME}}': 1 },
  };

  it('finds the references of http (URL, headers, body), shell (env) and script (spec.secrets)', () => {
    assert.deepEqual(secretReferences('http', http), ['BODY', 'KEY_NAME', 'PATH_PART', 'QUERY_KEY', 'TOKEN']);
    assert.deepEqual(secretReferences('http', { url: 'https://x/', body: 'raw {{secrets.RAW}} text' }), ['RAW']);
    assert.deepEqual(secretReferences('shell', { command: ['env'], env: { A: '{{secrets.ONE}}', B: 'x{{secrets.TWO}}y{{secrets.ONE}}' } }), ['ONE', 'TWO']);
    assert.deepEqual(secretReferences('shell', { command: ['echo', '{{secrets.NOT_IN_ARGV}}'] }), []);
    assert.deepEqual(secretReferences('script', { code: 'ctx.secrets.X', secrets: ['B', 'A'] }), ['A', 'B']);
    assert.deepEqual(secretReferences('module', { file: 'x.js' }), []);
    assert.deepEqual(secretReferences('http', { url: 'https://x/{{secrets.bad-name}}' }), []);
  });

  it('binds values into a copy: percent-encoded in the URL, as they are elsewhere', () => {
    const values = new Map([['PATH_PART', 'a/b'], ['QUERY_KEY', 'k&v=1'], ['TOKEN', 't0k'], ['BODY', 'b"q'], ['KEY_NAME', 'kn']]);
    const bound = bindSecretValues('http', http as never, values) as unknown as typeof http;
    assert.equal(bound.url, 'https://api.example.com/v1/a%2Fb?key=k%26v%3D1');
    assert.deepEqual(bound.headers, { authorization: 'Bearer t0k', 'x-plain': 'no secret' });
    assert.deepEqual(bound.body, { nested: ['b"q'], kn: 1 });
    assert.equal(http.headers.authorization, 'Bearer {{secrets.TOKEN}}', 'the original spec is unchanged');
    const shell = bindSecretValues('shell', { command: ['env'], env: { A: 'x{{secrets.TOKEN}}' } } as never, values) as { env: Record<string, string> };
    assert.deepEqual(shell.env, { A: 'xt0k' });
  });
});
