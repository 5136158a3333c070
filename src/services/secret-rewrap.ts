// Key rotation of the secrets store (docs/security.md, "Secrets"): at start, every secret whose
// data key is wrapped under another KEK than the current one is rewrapped under the current one,
// if this node holds the old KEK (SUNDIAL_SECRETS_KEY_PREVIOUS). Only the 60-byte wrapped keys
// change; values are not re-encrypted. A row written meanwhile by another node is left as that
// node wrote it (the update is conditional on the row as read). Safe to run on every node at
// every start: with nothing to do it is one indexed read.

import { SecretCryptoError, type Keyring } from '../core/secrets/envelope.js';
import type { SecretRewrap } from '../store/secret-store.js';
import type { Store } from '../store/store.js';

export interface RewrapReport {
  rewrapped: number;
  /** Secrets under a KEK this node does not hold (or altered): their runs fail `secret_unreadable`. */
  unreadable: { namespace: string; name: string; kekId: string }[];
}

const BATCH = 100;

/** Rewraps every secret not under the current KEK that the keyring can open. */
export async function rewrapSecrets(store: Pick<Store, 'secrets'>, keyring: Keyring): Promise<RewrapReport> {
  const report: RewrapReport = { rewrapped: 0, unreadable: [] };
  let after = '';
  for (;;) {
    const rows = await store.secrets.listSecretsNotUnder(keyring.current.id, after, BATCH);
    if (rows.length === 0) return report;
    after = rows[rows.length - 1]!.id;
    const rewraps: SecretRewrap[] = [];
    for (const row of rows) {
      const place = { namespace: row.namespace, name: row.name };
      try {
        const next = keyring.rewrap(place, row);
        rewraps.push({ id: row.id, fromKekId: row.kekId, ciphertext: row.ciphertext, kekId: next.kekId, wrappedKey: next.wrappedKey });
      } catch (err) {
        if (!(err instanceof SecretCryptoError)) throw err;
        report.unreadable.push({ ...place, kekId: row.kekId });
      }
    }
    report.rewrapped += await store.secrets.rewrapSecrets(rewraps);
    if (rows.length < BATCH) return report;
  }
}
