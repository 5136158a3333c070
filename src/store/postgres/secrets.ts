// Secrets on PostgreSQL. A new value is one upsert (INSERT … ON CONFLICT DO UPDATE), so nodes
// writing one name at once get versions n+1 and n+2, never two n+1.
import type pg from 'pg';
import { SundialError } from '../../core/errors.js';
import type { NamespaceScope } from '../../core/types.js';
import { newAuditValues } from '../rows.js';
import {
  SECRET_COLUMNS,
  decodeSecretCursor,
  newSecretValues,
  rowToSecret,
  secretCursor,
  type SecretRewrap,
  type SecretRow,
  type SecretStore,
  type SecretWrite,
  type StoredSecret,
} from '../secret-store.js';
import { pageOf } from '../notification-rows.js';
import type { NewAudit, Page } from '../store.js';
import { namedListing } from './named-listing.js';
import * as S from './statements.js';

type Tx = <T>(fn: (c: pg.ClientBase) => Promise<T>) => Promise<T>;
type Read = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<R[]>;

const PUT =
  `INSERT INTO secrets (${SECRET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ` +
  'ON CONFLICT (namespace, name) DO UPDATE SET version = secrets.version + 1, kek_id = EXCLUDED.kek_id, wrapped_key = EXCLUDED.wrapped_key, ' +
  `ciphertext = EXCLUDED.ciphertext, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by RETURNING ${SECRET_COLUMNS}`;

/** The SecretStore on the PostgreSQL store's pool. */
export class PgSecrets implements SecretStore {
  constructor(
    private readonly tx: Tx,
    private readonly read: Read,
  ) {}

  putSecret(w: SecretWrite, audit: (stored: StoredSecret) => NewAudit): Promise<StoredSecret> {
    return this.tx(async (c) => {
      const { rows } = await c.query<SecretRow>(PUT, newSecretValues(w));
      const stored = rowToSecret(rows[0]!);
      await S.insertAudit.run(c, newAuditValues(audit(stored)));
      return stored;
    });
  }

  async getSecret(namespace: string, name: string): Promise<StoredSecret | null> {
    const rows = await this.read<SecretRow>(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE namespace = $1 AND name = $2`, [namespace, name]);
    return rows[0] === undefined ? null : rowToSecret(rows[0]);
  }

  async getSecrets(namespace: string, names: readonly string[]): Promise<StoredSecret[]> {
    if (names.length === 0) return [];
    const rows = await this.read<SecretRow>(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE namespace = $1 AND name = ANY($2::text[]) ORDER BY name`, [
      namespace,
      [...new Set(names)],
    ]);
    return rows.map(rowToSecret);
  }

  async listSecrets(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<StoredSecret>> {
    const q = namedListing('secrets', SECRET_COLUMNS, namespaces, cursor === undefined ? null : decodeSecretCursor(cursor), limit);
    if (q === null) return { items: [], nextCursor: null };
    return pageOf((await this.read<SecretRow>(q.sql, q.args)).map(rowToSecret), limit, secretCursor);
  }

  deleteSecret(namespace: string, name: string, audit: (stored: StoredSecret) => NewAudit): Promise<StoredSecret> {
    return this.tx(async (c) => {
      const { rows } = await c.query<SecretRow>(`DELETE FROM secrets WHERE namespace = $1 AND name = $2 RETURNING ${SECRET_COLUMNS}`, [namespace, name]);
      if (rows[0] === undefined) throw new SundialError('secret_not_found', `no secret "${name}" in namespace "${namespace}"`);
      const stored = rowToSecret(rows[0]);
      await S.insertAudit.run(c, newAuditValues(audit(stored)));
      return stored;
    });
  }

  async listSecretsNotUnder(kekId: string, afterId: string, limit: number): Promise<StoredSecret[]> {
    const sql = `SELECT ${SECRET_COLUMNS} FROM secrets WHERE kek_id <> $1 AND id > $2 ORDER BY id LIMIT $3`;
    return (await this.read<SecretRow>(sql, [kekId, afterId, limit])).map(rowToSecret);
  }

  rewrapSecrets(rewraps: readonly SecretRewrap[]): Promise<number> {
    if (rewraps.length === 0) return Promise.resolve(0);
    return this.tx(async (c) => {
      let n = 0;
      for (const r of rewraps) {
        const res = await c.query('UPDATE secrets SET kek_id = $1, wrapped_key = $2 WHERE id = $3 AND kek_id = $4 AND ciphertext = $5', [
          r.kekId,
          r.wrappedKey,
          r.id,
          r.fromKekId,
          r.ciphertext,
        ]);
        n += res.rowCount ?? 0;
      }
      return n;
    });
  }
}
