// The key-encryption keys of the secrets store (docs/security.md, "Secrets"), read once at start
// from the configuration (variables or files) and held only in the returned Keyring: the
// variables themselves leave the environment with the other secrets (secret-env.ts).
//
// Without a configured key, a single node on SQLite makes one: `<data dir>/secrets.key`, mode
// 0600, written once and reused at every later start (the database beside it is no use without
// it, and vice versa: back them up apart). A cluster cannot do that: each node would make its
// own key and none could read the others' secrets, so on PostgreSQL secrets stay off (writes
// answer 501 `secrets_key_missing`) until the operator sets the same key on every node.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SundialError } from '../core/errors.js';
import { generateKekText, Keyring, parseKek, type Kek } from '../core/secrets/envelope.js';
import type { Config } from './config.js';

/** The key file a single node makes when no key is configured. */
export const GENERATED_KEY_FILE = 'secrets.key';

export interface SecretsKeyState {
  /** Null when secrets are off on this node (no key on a shared database). */
  keyring: Keyring | null;
  /** Why `keyring` is null: the message write requests get. */
  problem: string | null;
  /** The key file made by this start, if any (to say so in the log). */
  generatedFile: string | null;
}

type KeyConfig = Pick<Config, 'secretsKey' | 'secretsKeyFile' | 'secretsKeyPrevious' | 'secretsKeyPreviousFile' | 'dataDir'>;

function bad(option: string, message: string): SundialError {
  return new SundialError('validation_failed', `invalid configuration: ${option} ${message}`, { errors: [{ path: option, message }] });
}

/** The text of a key option: the variable, or its file; never both. */
function keyText(value: string, file: string, option: string): string {
  if (value !== '' && file !== '') throw bad(option, `is set twice: give either ${option} or ${option}File, not both`);
  if (file === '') return value;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw bad(`${option}File`, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): ${file}`);
  }
}

function parseOne(text: string, option: string): Kek {
  const k = parseKek(text);
  if ('problem' in k) throw bad(option, k.problem);
  return k;
}

/**
 * Builds the node's keyring. `shared`: the store is shared with other nodes (PostgreSQL), where a
 * generated key would be wrong. Throws `validation_failed` for a malformed or unreadable key (the
 * message never contains key material).
 */
export function loadSecretsKeyring(config: KeyConfig, opts: { shared: boolean }): SecretsKeyState {
  const currentText = keyText(config.secretsKey, config.secretsKeyFile, 'secretsKey');
  const previousText = keyText(config.secretsKeyPrevious, config.secretsKeyPreviousFile, 'secretsKeyPrevious');
  const previous = previousText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parseOne(s, 'secretsKeyPrevious'));
  const generatedPath = join(config.dataDir, GENERATED_KEY_FILE);
  if (currentText.trim() !== '') {
    const current = parseOne(currentText, 'secretsKey');
    // A single node that ran on a generated key and is now given one keeps reading the old secrets
    // (they are rewrapped under the given key at start).
    if (!opts.shared && existsSync(generatedPath)) previous.push(parseOne(readFileSync(generatedPath, 'utf8'), `${generatedPath}`));
    return { keyring: new Keyring(current, previous), problem: null, generatedFile: null };
  }
  if (opts.shared) {
    return {
      keyring: null,
      problem:
        'secrets need a key-encryption key on this cluster: set SUNDIAL_SECRETS_KEY (or SUNDIAL_SECRETS_KEY_FILE) to the same ' +
        'base64 of 32 random bytes on every node (openssl rand -base64 32) and restart them; a key made per node would not match the others',
      generatedFile: null,
    };
  }
  let generatedFile: string | null = null;
  if (!existsSync(generatedPath)) {
    try {
      // 'wx': never overwrite a key another process wrote a moment ago; 0600: only the server's user.
      writeFileSync(generatedPath, generateKekText() + '\n', { mode: 0o600, flag: 'wx' });
      generatedFile = generatedPath;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const current = parseOne(readFileSync(generatedPath, 'utf8'), generatedPath);
  return { keyring: new Keyring(current, previous), problem: null, generatedFile };
}
