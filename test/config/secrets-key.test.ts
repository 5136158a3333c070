// The secrets store's key-encryption keys: from the variable or a file (never both), malformed
// keys refused without echoing them, a generated 0600 key file on a single node (reused at the
// next start), none on a shared database (secrets off, with the reason), and the previous keys
// of a rotation; then the rewrap at start moves every readable row to the current key.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GENERATED_KEY_FILE, loadSecretsKeyring } from '../../src/config/secrets-key.js';
import { removeSecretsFromEnv } from '../../src/config/secret-env.js';
import { resolveConfig } from '../../src/config/config.js';
import { generateKekText, Keyring, parseKek, type Kek } from '../../src/core/secrets/envelope.js';
import { rewrapSecrets } from '../../src/services/secret-rewrap.js';
import { openTempStore } from '../helpers/temp-store.js';

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sundial-kek-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const none = { secretsKey: '', secretsKeyFile: '', secretsKeyPrevious: '', secretsKeyPreviousFile: '' };

describe('loadSecretsKeyring', () => {
  it('a single node without a key generates a 0600 key file once and reuses it', () => {
    const d = dir();
    const first = loadSecretsKeyring({ ...none, dataDir: d }, { shared: false });
    const file = join(d, GENERATED_KEY_FILE);
    assert.equal(first.generatedFile, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const second = loadSecretsKeyring({ ...none, dataDir: d }, { shared: false });
    assert.equal(second.generatedFile, null);
    assert.equal(second.keyring!.current.id, first.keyring!.current.id);
  });

  it('a shared database without a key has secrets off, with a reason naming the variable; nothing is written', () => {
    const d = dir();
    const state = loadSecretsKeyring({ ...none, dataDir: d }, { shared: true });
    assert.equal(state.keyring, null);
    assert.match(state.problem!, /SUNDIAL_SECRETS_KEY.*every node/);
    assert.throws(() => statSync(join(d, GENERATED_KEY_FILE)));
  });

  it('reads the key from the variable or a file; previous keys too; refuses both, bad keys and unreadable files without echoing them', () => {
    const d = dir();
    const text = generateKekText();
    const prev = generateKekText();
    const fromVar = loadSecretsKeyring({ ...none, secretsKey: text, secretsKeyPrevious: ` ${prev} `, dataDir: d }, { shared: true });
    assert.equal(fromVar.keyring!.current.id, (parseKek(text) as Kek).id);
    assert.deepEqual(fromVar.keyring!.ids, [(parseKek(text) as Kek).id, (parseKek(prev) as Kek).id]);
    const keyFile = join(d, 'k');
    writeFileSync(keyFile, `${text}\n`);
    const fromFile = loadSecretsKeyring({ ...none, secretsKeyFile: keyFile, dataDir: d }, { shared: true });
    assert.equal(fromFile.keyring!.current.id, fromVar.keyring!.current.id);
    const bad = 'short-but-secret-looking';
    for (const cfg of [
      { ...none, secretsKey: text, secretsKeyFile: keyFile },
      { ...none, secretsKey: bad },
      { ...none, secretsKey: text, secretsKeyPrevious: `${prev},${bad}` },
      { ...none, secretsKeyFile: join(d, 'missing') },
    ]) {
      assert.throws(
        () => loadSecretsKeyring({ ...cfg, dataDir: d }, { shared: true }),
        (err: unknown) => (err as { code?: string }).code === 'validation_failed' && !String((err as Error).message).includes(bad) && !String((err as Error).message).includes(text),
      );
    }
  });

  it('a single node given a key keeps its generated key as a previous one', () => {
    const d = dir();
    const generated = loadSecretsKeyring({ ...none, dataDir: d }, { shared: false }).keyring!;
    const text = generateKekText();
    const given = loadSecretsKeyring({ ...none, secretsKey: text, dataDir: d }, { shared: false }).keyring!;
    assert.deepEqual(given.ids, [(parseKek(text) as Kek).id, generated.current.id]);
  });

  it('resolveConfig refuses a malformed inline key with the other configuration errors, without echoing it', () => {
    const bad = 'short-but-secret-looking';
    assert.throws(
      () => resolveConfig({ env: { SUNDIAL_SECRETS_KEY: bad }, cwd: dir() }),
      (err: unknown) => /secretsKey must be base64/.test((err as Error).message) && !(err as Error).message.includes(bad),
    );
    assert.throws(() => resolveConfig({ env: { SUNDIAL_SECRETS_KEY_PREVIOUS: `${generateKekText()},${bad}` }, cwd: dir() }), /secretsKeyPrevious/);
    assert.equal(resolveConfig({ env: { SUNDIAL_SECRETS_KEY: generateKekText() }, cwd: dir() }).secretsKey.length, 44);
  });

  it('the key variables leave the environment', () => {
    const env: Record<string, string | undefined> = { SUNDIAL_SECRETS_KEY: 'a', SUNDIAL_SECRETS_KEY_PREVIOUS: 'b', SUNDIAL_SECRETS_KEY_FILE: '/x', SUNDIAL_PORT: '1' };
    removeSecretsFromEnv(env);
    assert.deepEqual(Object.keys(env), ['SUNDIAL_PORT']);
  });
});

describe('rewrapSecrets', () => {
  it('rewraps rows under previous keys, leaves rows under unknown keys (reported) alone', async () => {
    const temp = await openTempStore('sundial-rewrap-');
    try {
      const k = () => parseKek(generateKekText()) as Kek;
      const [oldKek, newKek, lostKek] = [k(), k(), k()];
      const put = async (ring: Keyring, name: string, value: string) => {
        const sealed = ring.seal({ namespace: 'default', name }, value);
        await temp.store.secrets.putSecret({ id: `id-${name}`, namespace: 'default', name, at: 1, actor: 'key:a', ...sealed }, (s) => ({
          namespace: 'default', at: 1, actor: 'key:a', ip: null, action: 'secret.create', targetType: 'secret', targetId: s.id,
        }));
      };
      for (let i = 0; i < 150; i++) await put(new Keyring(oldKek), `OLD_${i}`, `value-${i}`);
      await put(new Keyring(lostKek), 'LOST', 'lost-value');
      await put(new Keyring(newKek), 'NEW', 'new-value');
      const ring = new Keyring(newKek, [oldKek]);
      const report = await rewrapSecrets(temp.store, ring);
      assert.equal(report.rewrapped, 150);
      assert.deepEqual(report.unreadable, [{ namespace: 'default', name: 'LOST', kekId: lostKek.id }]);
      const onlyNew = new Keyring(newKek);
      const row = await temp.store.secrets.getSecret('default', 'OLD_149');
      assert.equal(onlyNew.open({ namespace: 'default', name: 'OLD_149' }, row!), 'value-149');
      assert.deepEqual((await temp.store.secrets.listSecretsNotUnder(newKek.id, '', 10)).map((s) => s.name), ['LOST']);
      // Again: nothing left to do.
      assert.equal((await rewrapSecrets(temp.store, ring)).rewrapped, 0);
    } finally {
      await temp.cleanup();
    }
  });
});
