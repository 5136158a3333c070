// Envelope encryption of secret values (docs/security.md, "Secrets"): each value is sealed with
// AES-256-GCM under its own random data key, and the data key is sealed (wrapped) under the
// key-encryption key (KEK) the operator provides. Only wrapped keys depend on the KEK, so a
// rotation rewraps 60-byte keys and never touches the values themselves.
//
// Both seals carry associated data that binds them to their row (namespace and name) and, for
// the data key, to the KEK's id: a ciphertext copied onto another secret's row, or a wrapped key
// relabelled with another KEK's id, fails authentication instead of decrypting.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** KEKs and data keys are AES-256 keys. */
export const KEY_BYTES = 32;

/** A key-encryption key with its id (derived from the key, so nodes agree without configuring ids). */
export interface Kek {
  id: string;
  key: Buffer;
}

/** A sealed value as stored: the KEK's id, the wrapped data key and the value's ciphertext. */
export interface SealedValue {
  kekId: string;
  /** base64 of iv | tag | AES-256-GCM(data key). */
  wrappedKey: string;
  /** base64 of iv | tag | AES-256-GCM(value). */
  ciphertext: string;
}

/** Why a sealed value could not be opened; the message never contains key or value material. */
export class SecretCryptoError extends Error {
  constructor(
    readonly reason: 'unknown_kek' | 'tampered',
    message: string,
  ) {
    super(message);
    this.name = 'SecretCryptoError';
  }
}

/** The id of a KEK: a short digest, safe to store and log (it reveals nothing of a 256-bit key). */
export function kekIdOf(key: Buffer): string {
  return 'kek-' + createHash('sha256').update('sundial secrets kek id\0').update(key).digest('base64url').slice(0, 16);
}

/**
 * Parses a KEK as the operator writes it: base64 (or base64url) of exactly 32 bytes, surrounding
 * whitespace ignored. Returns a problem (never echoing the text) when it is not one.
 */
export function parseKek(text: string): Kek | { problem: string } {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return { problem: 'must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`)' };
  const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEY_BYTES) return { problem: `must be base64 of exactly 32 bytes (this one decodes to ${key.length})` };
  return { id: kekIdOf(key), key };
}

/** A new random KEK, as base64 text (for the key file a first start writes). */
export function generateKekText(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

function seal(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

function open(key: Buffer, sealed: string, aad: string, what: string): Buffer {
  const buf = Buffer.from(sealed, 'base64');
  if (buf.length < IV_BYTES + TAG_BYTES) throw new SecretCryptoError('tampered', `the ${what} is truncated`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(buf.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(buf.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SecretCryptoError('tampered', `the ${what} does not authenticate (altered, moved to another secret, or sealed under another key)`);
  }
}

/** Associated data of a value's ciphertext: the row it belongs to. */
function valueAad(namespace: string, name: string): string {
  return `sundial secret value\0${namespace}\0${name}`;
}

/** Associated data of a wrapped data key: its row and the KEK it is wrapped under. */
function keyAad(kekId: string, namespace: string, name: string): string {
  return `sundial secret data key\0${kekId}\0${namespace}\0${name}`;
}

/** Where a sealed value belongs. */
export interface SecretPlace {
  namespace: string;
  name: string;
}

/**
 * The KEKs of this node: the current one seals, the current and the previous ones open. Values
 * sealed under a KEK it does not hold cannot be opened (`unknown_kek`).
 */
export class Keyring {
  readonly current: Kek;
  readonly #byId: Map<string, Kek>;

  constructor(current: Kek, previous: readonly Kek[] = []) {
    this.current = current;
    this.#byId = new Map([...previous, current].map((k) => [k.id, k]));
  }

  /** The ids of every KEK held (current first). */
  get ids(): string[] {
    return [this.current.id, ...[...this.#byId.keys()].filter((id) => id !== this.current.id)];
  }

  /** Seals `value` for `place` under a fresh data key wrapped by the current KEK. */
  seal(place: SecretPlace, value: string): SealedValue {
    const dataKey = randomBytes(KEY_BYTES);
    try {
      return {
        kekId: this.current.id,
        wrappedKey: seal(this.current.key, dataKey, keyAad(this.current.id, place.namespace, place.name)),
        ciphertext: seal(dataKey, Buffer.from(value, 'utf8'), valueAad(place.namespace, place.name)),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Opens a sealed value of `place`; throws SecretCryptoError. */
  open(place: SecretPlace, sealed: SealedValue): string {
    const dataKey = this.#unwrap(place, sealed);
    try {
      return open(dataKey, sealed.ciphertext, valueAad(place.namespace, place.name), 'value').toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  }

  /** Whether `sealed` is wrapped under another KEK than the current one. */
  needsRewrap(sealed: Pick<SealedValue, 'kekId'>): boolean {
    return sealed.kekId !== this.current.id;
  }

  /** The same value with its data key rewrapped under the current KEK (the ciphertext stays). */
  rewrap(place: SecretPlace, sealed: SealedValue): SealedValue {
    const dataKey = this.#unwrap(place, sealed);
    try {
      // The value must still authenticate: rewrapping a tampered row would bless it.
      open(dataKey, sealed.ciphertext, valueAad(place.namespace, place.name), 'value').fill(0);
      return { kekId: this.current.id, wrappedKey: seal(this.current.key, dataKey, keyAad(this.current.id, place.namespace, place.name)), ciphertext: sealed.ciphertext };
    } finally {
      dataKey.fill(0);
    }
  }

  #unwrap(place: SecretPlace, sealed: SealedValue): Buffer {
    const kek = this.#byId.get(sealed.kekId);
    if (kek === undefined) {
      throw new SecretCryptoError('unknown_kek', `sealed under key ${sealed.kekId}, which this node does not hold (set it as SUNDIAL_SECRETS_KEY_PREVIOUS)`);
    }
    return open(kek.key, sealed.wrappedKey, keyAad(kek.id, place.namespace, place.name), 'wrapped data key');
  }
}
