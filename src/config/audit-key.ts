// The key that signs the audit chain's checkpoints (HMAC-SHA256, store/audit-chain.ts). Whoever
// holds it can forge checkpoints, so it lives outside the database: in SUNDIAL_AUDIT_KEY, in a
// file named by SUNDIAL_AUDIT_KEY_FILE, or, on a single node without either, in a file generated
// into the data directory (mode 0600) at the first start. A cluster has no data directory all its
// nodes share, so it runs without a key unless one is set: then nothing is signed, and pruning the
// audit log (auditRetention), which must leave a signed checkpoint behind, refuses to start.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SundialError } from '../core/errors.js';
import type { Config } from './config.js';

/** Where the key came from (logged at start-up; the key itself never is). */
export type AuditKeySource = 'env' | 'file' | 'data-dir' | 'generated' | 'none';

export interface AuditKey {
  key: string | null;
  source: AuditKeySource;
  /** The file it was read from or written to, if any. */
  path?: string;
}

/** Name of the generated key's file in the data directory. */
export const AUDIT_KEY_FILE_NAME = 'audit.key';

const MIN_LENGTH = 32;

/** Why `key` is too weak to sign with, or null. Never quotes the key. */
export function auditKeyWeakness(key: string): string | null {
  if (key.length < MIN_LENGTH) return `must be at least ${MIN_LENGTH} characters (e.g. openssl rand -base64 32)`;
  if (new Set(key).size < 8) return 'must use at least 8 distinct characters (e.g. openssl rand -base64 32)';
  return null;
}

/**
 * Resolves the audit key for this node (see the file head); throws a SundialError
 * (`validation_failed`) for a key file that cannot be read or holds a weak key, and for
 * `auditRetention` on a cluster without a key.
 */
export function loadAuditKey(config: Pick<Config, 'auditKey' | 'auditKeyFile' | 'auditRetention' | 'dataDir' | 'databaseUrl'>): AuditKey {
  if (config.auditKey !== '') return { key: config.auditKey, source: 'env' };
  if (config.auditKeyFile !== '') return { key: readKeyFile(config.auditKeyFile, 'auditKeyFile'), source: 'file', path: config.auditKeyFile };
  if (config.databaseUrl !== '') {
    if (config.auditRetention > 0) {
      throw new SundialError(
        'validation_failed',
        'invalid configuration: auditRetention needs an audit key on a cluster (pruning leaves a signed checkpoint): set SUNDIAL_AUDIT_KEY or SUNDIAL_AUDIT_KEY_FILE, the same on every node',
        { errors: [{ path: 'auditKey', message: 'required with auditRetention on PostgreSQL' }] },
      );
    }
    return { key: null, source: 'none' };
  }
  const path = join(config.dataDir, AUDIT_KEY_FILE_NAME);
  const key = randomBytes(32).toString('base64url');
  try {
    // `wx`: never overwrite a key that exists (two starts racing keep the first one's).
    writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return { key, source: 'generated', path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { key: readKeyFile(path, 'auditKey'), source: 'data-dir', path };
}

function readKeyFile(path: string, option: string): string {
  let key: string;
  try {
    key = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new SundialError('validation_failed', `invalid configuration: cannot read the audit key file ${path}: ${(err as Error).message}`, {
      errors: [{ path: option, message: 'cannot be read' }],
    });
  }
  const weak = auditKeyWeakness(key);
  if (weak !== null) {
    throw new SundialError('validation_failed', `invalid configuration: the audit key in ${path} ${weak}`, { errors: [{ path: option, message: weak }] });
  }
  return key;
}
