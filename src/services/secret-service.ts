// Secrets: set (create or new version), read their metadata, delete, within the caller's
// namespaces. A value goes in and is sealed here (core/secrets/envelope.ts); nothing ever reads
// it back through the API, whatever the role: views carry the version, never the value, and the
// audit rows record only the name and version (a digest of a short value would reveal it).
// Values are opened only on the run path (`createSecretSource`), for the executor.

import { invalid, SundialError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { SecretCryptoError, type Keyring } from '../core/secrets/envelope.js';
import { secretReferences } from '../core/secrets/references.js';
import type { Actor, TaskKind } from '../core/types.js';
import type { SecretLookup, SecretSource } from '../executor/secret-binding.js';
import type { StoredSecret } from '../store/secret-store.js';
import type { Page, Store } from '../store/store.js';
import { coversNamespace, homeNamespace, readScope, requireNamespace } from '../auth/roles.js';
import { auditOf } from './audit.js';
import type { ServiceDeps } from './deps.js';

/** Largest secret value, in UTF-8 bytes. */
export const SECRET_VALUE_MAX_BYTES = 65_536;

/** How a request names a secret: by name, in `namespace` or the key's home namespace. */
export interface SecretRef {
  name: string;
  namespace?: string | undefined;
}

/** Secret operations for the API. */
export class SecretService {
  readonly #d: ServiceDeps;

  constructor(deps: ServiceDeps) {
    this.#d = deps;
  }

  /** Creates the secret or stores a new version of its value. */
  async put(actor: Actor, ref: SecretRef, value: string): Promise<StoredSecret> {
    const keyring = this.#keyring();
    const namespace = ref.namespace ?? homeNamespace(actor);
    requireNamespace(actor, namespace);
    if (value === '') throw invalid([{ path: '/value', message: 'must not be empty' }]);
    if (Buffer.byteLength(value, 'utf8') > SECRET_VALUE_MAX_BYTES) throw invalid([{ path: '/value', message: `must be at most ${SECRET_VALUE_MAX_BYTES} bytes` }]);
    const now = this.#d.clock.now();
    const sealed = keyring.seal({ namespace, name: ref.name }, value);
    return this.#d.store.secrets.putSecret({ id: newId(now), namespace, name: ref.name, at: now, actor: actor.id, ...sealed }, (stored) =>
      auditOf(actor, now, stored.version === 1 ? 'secret.create' : 'secret.update', { type: 'secret', id: stored.id, namespace }, { name: stored.name, version: stored.version }),
    );
  }

  async get(actor: Actor, ref: SecretRef): Promise<StoredSecret> {
    const namespace = ref.namespace ?? homeNamespace(actor);
    const secret = coversNamespace(actor, namespace) ? await this.#d.store.secrets.getSecret(namespace, ref.name) : null;
    if (secret === null) throw new SundialError('secret_not_found', `no secret "${ref.name}" in namespace "${namespace}"`);
    return secret;
  }

  async list(actor: Actor, q: { namespace?: string | undefined; limit: number; cursor?: string | undefined }): Promise<Page<StoredSecret>> {
    return this.#d.store.secrets.listSecrets(readScope(actor, q.namespace), q.limit, q.cursor);
  }

  /** Deletes the secret. Tasks that reference it keep their reference; their runs fail `secret_missing`. */
  async delete(actor: Actor, ref: SecretRef): Promise<StoredSecret> {
    const namespace = ref.namespace ?? homeNamespace(actor);
    if (!coversNamespace(actor, namespace)) throw new SundialError('secret_not_found', `no secret "${ref.name}" in namespace "${namespace}"`);
    const now = this.#d.clock.now();
    return this.#d.store.secrets.deleteSecret(namespace, ref.name, (stored) =>
      auditOf(actor, now, 'secret.delete', { type: 'secret', id: stored.id, namespace }, { name: stored.name, version: stored.version }),
    );
  }

  #keyring(): Keyring {
    const keyring = this.#d.secretsKeyring ?? null;
    if (keyring === null) throw new SundialError('secrets_key_missing', this.#d.secretsKeyProblem ?? 'this server has no key-encryption key for secrets (SUNDIAL_SECRETS_KEY)');
    return keyring;
  }
}

/**
 * The refusal (400 `secret_unknown`) of a task spec that references secrets its namespace does
 * not have, or null: a typo shows when the task is written, not at its first run. A secret
 * deleted later fails the runs instead (`secret_missing`).
 */
export async function unknownSecretReferences(store: Store, namespace: string, kind: TaskKind, spec: unknown): Promise<SundialError | null> {
  const names = secretReferences(kind, spec);
  if (names.length === 0) return null;
  const found = new Set((await store.secrets.getSecrets(namespace, names)).map((s) => s.name));
  const missing = names.filter((n) => !found.has(n));
  if (missing.length === 0) return null;
  return invalid(
    missing.map((n) => ({ path: kind === 'script' ? '/spec/secrets' : '/spec', message: `references secret "${n}", which does not exist in namespace "${namespace}" (create it first: PUT /v1/secrets/${n})` })),
    'secret_unknown',
  );
}

/** Throws what `unknownSecretReferences` finds. */
export async function checkSecretReferences(store: Store, namespace: string, kind: TaskKind, spec: unknown): Promise<void> {
  const refused = await unknownSecretReferences(store, namespace, kind, spec);
  if (refused !== null) throw refused;
}

/** Where the executor gets the values a run needs: read and opened per run, never cached. */
export function createSecretSource(store: Store, keyring: Keyring | null): SecretSource {
  return async (namespace, names): Promise<SecretLookup> => {
    const rows = await store.secrets.getSecrets(namespace, names);
    const byName = new Map(rows.map((r) => [r.name, r]));
    const missing = names.filter((n) => !byName.has(n));
    if (missing.length > 0) return { missing };
    if (keyring === null) return { unreadable: [...names], reason: 'this node has no key-encryption key (SUNDIAL_SECRETS_KEY)' };
    const values = new Map<string, string>();
    const unreadable: string[] = [];
    let reason = '';
    for (const [name, row] of byName) {
      try {
        values.set(name, keyring.open({ namespace, name }, row));
      } catch (err) {
        if (!(err instanceof SecretCryptoError)) throw err;
        unreadable.push(name);
        reason = err.message;
      }
    }
    return unreadable.length > 0 ? { unreadable, reason } : { values };
  };
}
