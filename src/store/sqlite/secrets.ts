// Secrets on SQLite. Writes go through the store's group-commit writer like every other write; a
// new value is one upsert, so two writers of one name never both make version 2.
import type Database from 'better-sqlite3';
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
import { prepareAuditAppend } from './audit-chain.js';
import { StorePart } from './store-part.js';


function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    put: p(
      `INSERT INTO secrets (${SECRET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
        'ON CONFLICT (namespace, name) DO UPDATE SET version = secrets.version + 1, kek_id = excluded.kek_id, wrapped_key = excluded.wrapped_key, ' +
        `ciphertext = excluded.ciphertext, updated_at = excluded.updated_at, updated_by = excluded.updated_by RETURNING ${SECRET_COLUMNS}`,
    ),
    byName: p(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE namespace = ? AND name = ?`),
    delete: p(`DELETE FROM secrets WHERE namespace = ? AND name = ? RETURNING ${SECRET_COLUMNS}`),
    notUnder: p(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE kek_id <> ? AND id > ? ORDER BY id LIMIT ?`),
    rewrap: p('UPDATE secrets SET kek_id = ?, wrapped_key = ? WHERE id = ? AND kek_id = ? AND ciphertext = ?'),
    insertAudit: prepareAuditAppend(db),
  };
}

type Statements = ReturnType<typeof prepare>;

/** The SecretStore on the SQLite store's database and writer. */
export class SqliteSecrets extends StorePart<Statements> implements SecretStore {
  protected prepare(db: Database.Database): Statements {
    return prepare(db);
  }

  putSecret(w: SecretWrite, audit: (stored: StoredSecret) => NewAudit): Promise<StoredSecret> {
    return this.write(() => {
      const stored = rowToSecret(this.s.put.get(...newSecretValues(w)) as SecretRow);
      this.s.insertAudit.run(...newAuditValues(audit(stored)));
      return stored;
    });
  }

  async getSecret(namespace: string, name: string): Promise<StoredSecret | null> {
    const row = this.s.byName.get(namespace, name) as SecretRow | undefined;
    return row === undefined ? null : rowToSecret(row);
  }

  async getSecrets(namespace: string, names: readonly string[]): Promise<StoredSecret[]> {
    if (names.length === 0) return [];
    const unique = [...new Set(names)];
    const rows = this.db
      .prepare(`SELECT ${SECRET_COLUMNS} FROM secrets WHERE namespace = ? AND name IN (${unique.map(() => '?').join(', ')}) ORDER BY name`)
      .all(namespace, ...unique) as SecretRow[];
    return rows.map(rowToSecret);
  }

  async listSecrets(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<StoredSecret>> {
    const q = namedListing('secrets', SECRET_COLUMNS, namespaces, cursor === undefined ? null : decodeSecretCursor(cursor), limit);
    if (q === null) return { items: [], nextCursor: null };
    return pageOf((this.db.prepare(q.sql).all(...q.args) as SecretRow[]).map(rowToSecret), limit, secretCursor);
  }

  deleteSecret(namespace: string, name: string, audit: (stored: StoredSecret) => NewAudit): Promise<StoredSecret> {
    return this.write(() => {
      const row = this.s.delete.get(namespace, name) as SecretRow | undefined;
      if (row === undefined) throw new SundialError('secret_not_found', `no secret "${name}" in namespace "${namespace}"`);
      const stored = rowToSecret(row);
      this.s.insertAudit.run(...newAuditValues(audit(stored)));
      return stored;
    });
  }

  async listSecretsNotUnder(kekId: string, afterId: string, limit: number): Promise<StoredSecret[]> {
    return (this.s.notUnder.all(kekId, afterId, limit) as SecretRow[]).map(rowToSecret);
  }

  rewrapSecrets(rewraps: readonly SecretRewrap[]): Promise<number> {
    if (rewraps.length === 0) return Promise.resolve(0);
    return this.write(() => {
      let n = 0;
      for (const r of rewraps) n += this.s.rewrap.run(r.kekId, r.wrappedKey, r.id, r.fromKekId, r.ciphertext).changes;
      return n;
    });
  }
}
