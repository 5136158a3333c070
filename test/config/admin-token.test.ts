// Issue 12, hole 6: SUNDIAL_ADMIN_TOKEN must look like a secret (length and entropy, refused at
// start-up otherwise), and changing it revokes the bootstrap key of the old token.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { hashApiKey } from '../../src/auth/api-key-secret.js';
import { ensureBootstrapAdmin } from '../../src/auth/bootstrap.js';
import { resolveConfig } from '../../src/config/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { SundialError } from '../../src/core/errors.js';
import { openTempStore } from '../helpers/temp-store.js';

function refusal(token: string): SundialError {
  try {
    resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: token } });
  } catch (err) {
    assert.ok(err instanceof SundialError);
    return err;
  }
  assert.fail(`${token} was accepted`);
}

describe('SUNDIAL_ADMIN_TOKEN strength', () => {
  test('short or repetitive tokens stop the start-up with a message that names the option, not the token', () => {
    for (const [token, why] of [
      ['sdl_short', /at least 32/],
      ['passwordpasswordpasswordpassword', /too repetitive/],
      ['a'.repeat(64), /too repetitive/],
      ['sdl_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', /too repetitive/],
    ] as const) {
      const err = refusal(token);
      assert.equal(err.code, 'validation_failed');
      assert.match(err.message, /adminToken/);
      assert.match(err.message, why);
      assert.ok(!err.message.includes(token), 'the token is not echoed');
    }
  });

  test('random tokens of 32 characters and more are accepted, and unset still means "generate one"', () => {
    for (let i = 0; i < 200; i++) {
      const hex = randomBytes(16).toString('hex');
      assert.equal(resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: hex } }).adminToken, hex);
    }
    const b64 = `sdl_${randomBytes(32).toString('base64url')}`;
    assert.equal(resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: b64 } }).adminToken, b64);
    assert.equal(resolveConfig({ env: {} }).adminToken, '');
  });
});

describe('changing SUNDIAL_ADMIN_TOKEN', () => {
  test('revokes the old bootstrap key; the old token is not brought back by a node that still has it', async () => {
    const temp = await openTempStore();
    try {
      const clock = new ManualClock();
      const oldToken = `sdl_${randomBytes(32).toString('base64url')}`;
      const newToken = `sdl_${randomBytes(32).toString('base64url')}`;
      await ensureBootstrapAdmin(temp.store, oldToken, clock);
      clock.advance(1000);
      await ensureBootstrapAdmin(temp.store, newToken, clock);
      const oldKey = await temp.store.findApiKeyByHash(hashApiKey(oldToken));
      const newKey = await temp.store.findApiKeyByHash(hashApiKey(newToken));
      assert.notEqual(oldKey?.revokedAt, null, 'the old token no longer works');
      assert.equal(newKey?.revokedAt, null);
      const audit = await temp.store.listAudit({ namespaces: '*', limit: 10 });
      const revoke = audit.items.find((a) => a.action === 'api_key.revoke');
      assert.equal(revoke?.targetId, oldKey!.id);
      assert.deepEqual(revoke?.detail, { reason: 'SUNDIAL_ADMIN_TOKEN changed' });
      // A node of the cluster restarted with the old token before its config was updated.
      await ensureBootstrapAdmin(temp.store, oldToken, clock);
      assert.notEqual((await temp.store.findApiKeyByHash(hashApiKey(oldToken)))?.revokedAt, null);
      assert.equal((await temp.store.findApiKeyByHash(hashApiKey(newToken)))?.revokedAt, null);
      assert.equal((await temp.store.listApiKeys()).length, 2);
    } finally {
      await temp.cleanup();
    }
  });

  test('a generated first key is the old bootstrap key too; keys people made are never touched', async () => {
    const temp = await openTempStore();
    try {
      const clock = new ManualClock();
      const generated = await ensureBootstrapAdmin(temp.store, '', clock);
      assert.ok(generated !== null);
      const now = clock.now();
      await temp.store.createApiKey(
        { id: '0190aaaa-0000-7000-8000-00000000000a', name: 'bootstrap', role: 'admin', namespaces: ['*'], prefix: 'sdl_x', createdAt: now, createdBy: 'key:someone', lastUsedAt: null, revokedAt: null, hash: hashApiKey('sdl_made-by-a-person') },
        { namespace: '*', at: now, actor: 'key:someone', ip: null, action: 'api_key.create', targetType: 'api_key', targetId: '0190aaaa-0000-7000-8000-00000000000a' },
      );
      await ensureBootstrapAdmin(temp.store, `sdl_${randomBytes(32).toString('base64url')}`, clock);
      assert.notEqual((await temp.store.findApiKeyByHash(hashApiKey(generated)))?.revokedAt, null);
      assert.equal((await temp.store.findApiKeyByHash(hashApiKey('sdl_made-by-a-person')))?.revokedAt, null);
    } finally {
      await temp.cleanup();
    }
  });
});
