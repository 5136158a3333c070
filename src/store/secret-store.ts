// The part of the Store contract that keeps secrets (docs/security.md, "Secrets"): one row per
// secret, its value sealed (core/secrets/envelope.ts); the store never sees a plaintext value.
// Only the current version is kept: a new value replaces the old one and bumps `version`.
import type { Millis, NamespaceScope } from '../core/types.js';
import type { SealedValue } from '../core/secrets/envelope.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { NewAudit, Page } from './store.js';

/** A secret as stored. */
export interface StoredSecret extends SealedValue {
  id: string;
  namespace: string;
  name: string;
  /** 1 at creation, +1 per new value. */
  version: number;
  createdAt: Millis;
  updatedAt: Millis;
  createdBy: string;
  updatedBy: string;
}

/** A value to store: a new secret, or a new version of the existing one of that name. */
export interface SecretWrite extends SealedValue {
  /** Used when the secret is new; an existing secret keeps its id. */
  id: string;
  namespace: string;
  name: string;
  at: Millis;
  actor: string;
}

/** A rewrap: the row's wrapped key under the current KEK, applied only if the row is unchanged since read. */
export interface SecretRewrap {
  id: string;
  /** The row as read (its KEK and ciphertext): a row changed meanwhile is left alone. */
  fromKekId: string;
  ciphertext: string;
  kekId: string;
  wrappedKey: string;
}

export interface SecretStore {
  /**
   * Creates the secret (version 1) or gives it a new value (version + 1), atomically even when
   * writes race; the audit row, made from the stored secret, commits with it.
   */
  putSecret(write: SecretWrite, audit: (stored: StoredSecret) => NewAudit): Promise<StoredSecret>;
  getSecret(namespace: string, name: string): Promise<StoredSecret | null>;
  /** Secrets of one namespace with these names (those that exist), in name order. */
  getSecrets(namespace: string, names: readonly string[]): Promise<StoredSecret[]>;
  /** Secrets in the scope by namespace, then name; the cursor is opaque. */
  listSecrets(namespaces: NamespaceScope, limit: number, cursor?: string): Promise<Page<StoredSecret>>;
  /** Deletes the secret; throws `secret_not_found`. */
  deleteSecret(namespace: string, name: string, audit: (stored: StoredSecret) => NewAudit): Promise<StoredSecret>;
  /** Up to `limit` secrets wrapped under any KEK but `kekId` with ids after `afterId`, by id (for the rewrap at start). */
  listSecretsNotUnder(kekId: string, afterId: string, limit: number): Promise<StoredSecret[]>;
  /** Applies rewraps of rows still as read; returns how many were applied. */
  rewrapSecrets(rewraps: readonly SecretRewrap[]): Promise<number>;
}

// ---- rows, shared by both SQL stores ----

export interface SecretRow {
  id: string;
  namespace: string;
  name: string;
  version: number | string;
  kek_id: string;
  wrapped_key: string;
  ciphertext: string;
  created_at: number | string;
  updated_at: number | string;
  created_by: string;
  updated_by: string;
}

export const SECRET_COLUMNS = 'id, namespace, name, version, kek_id, wrapped_key, ciphertext, created_at, updated_at, created_by, updated_by';

export function rowToSecret(r: SecretRow): StoredSecret {
  return {
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    version: Number(r.version),
    kekId: r.kek_id,
    wrappedKey: r.wrapped_key,
    ciphertext: r.ciphertext,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
  };
}

/** Insert values in SECRET_COLUMNS order for a new secret (version 1). */
export function newSecretValues(w: SecretWrite): unknown[] {
  return [w.id, w.namespace, w.name, 1, w.kekId, w.wrappedKey, w.ciphertext, w.at, w.at, w.actor, w.actor];
}

export function secretCursor(s: StoredSecret): string {
  return encodeCursor(['sc', s.namespace, s.name]);
}

export function decodeSecretCursor(cursor: string): { namespace: string; name: string } {
  const [, namespace, name] = decodeCursor(cursor, 'sc');
  return { namespace, name };
}
