// The key format (issue 12, item 6): generated keys carry a CRC32 checksum that tells a real key
// from a typo or a guess without a lookup; older keys and operator tokens keep their own shapes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { test } from 'node:test';
import { generateApiKeySecret } from '../../src/auth/api-key-secret.js';
import { API_KEY_RE, apiKeyChecksum, apiKeyFromBody, base62Body, tokenShape } from '../../src/core/api-key-token.js';
import { adminTokenProblem } from '../../src/config/admin-token.js';

/** The documented scanner regex (docs/security.md), kept in step with the code here. */
const SCANNER_RE = /\bsdl_[0-9A-Za-z]{43}[0-9A-Za-z]{6}\b/;

test('a generated key is sdl_, 43 base62 characters and their 6-character CRC32', () => {
  for (let i = 0; i < 200; i++) {
    const key = generateApiKeySecret();
    assert.match(key, API_KEY_RE);
    assert.match(key, SCANNER_RE);
    assert.equal(key.length, 53);
    const body = key.slice(4, 47);
    // Decode the checksum as base62 by hand: the value scanners compute.
    let n = 0;
    for (const c of key.slice(47)) n = n * 62 + '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.indexOf(c);
    assert.equal(n, crc32(body));
    assert.equal(tokenShape(key), 'checksummed');
  }
});

test('the checksum is zero-padded base62 of the CRC32 (fixed vectors)', () => {
  // crc32("") = 0; crc32 of 43 zeros is a fixed number any implementation can reproduce.
  assert.equal(apiKeyChecksum(''), '000000');
  const zeros = '0'.repeat(43);
  const expected = crc32(zeros);
  let n = 0;
  for (const c of apiKeyChecksum(zeros)) n = n * 62 + '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.indexOf(c);
  assert.equal(n, expected);
  assert.equal(apiKeyFromBody(zeros), `sdl_${zeros}${apiKeyChecksum(zeros)}`);
});

test('any changed character, a truncation or an extension is malformed', () => {
  const key = generateApiKeySecret();
  for (let i = 4; i < key.length; i++) {
    const c = key[i] === 'a' ? 'b' : 'a';
    assert.equal(tokenShape(key.slice(0, i) + c + key.slice(i + 1)), 'malformed', `changed at ${i}`);
  }
  // Shorter or longer than the checksummed shape: not that shape, and long enough for an operator token.
  assert.equal(tokenShape(key.slice(0, -1)), 'other');
  assert.equal(tokenShape(`${key}x`), 'other');
});

test('older keys, operator tokens and short garbage', () => {
  assert.equal(tokenShape(`sdl_${randomBytes(32).toString('base64url')}`), 'legacy');
  assert.equal(tokenShape('sdl_test-admin-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), 'other');
  assert.equal(tokenShape(randomBytes(16).toString('hex')), 'other');
  assert.equal(tokenShape('sdl_short'), 'malformed');
  assert.equal(tokenShape(''), 'malformed');
});

test('the body is uniform base62 (every character appears, none favoured grossly)', () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) for (const c of base62Body((n) => randomBytes(n))) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  const mean = (2000 * 43) / 62;
  for (const [c, n] of counts) assert.ok(n > mean * 0.8 && n < mean * 1.2, `${c}: ${n} vs ${mean}`);
});

test('an admin token shaped like a checksummed key needs its checksum', () => {
  const key = generateApiKeySecret();
  assert.equal(adminTokenProblem(key), null);
  const broken = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
  assert.match(adminTokenProblem(broken) ?? '', /checksum/);
});
