// API key secrets: `sdl_` + 43 characters of base64url (32 random bytes). Only a SHA-256 hash is
// ever stored. The secrets carry 256 bits of entropy, so nobody can guess one from its hash and a
// slow password KDF (bcrypt, scrypt, argon2) would add nothing but a slow lookup per request:
// those exist to protect low-entropy, human-chosen passwords.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every generated key starts with this, so secret scanners and people recognise it. */
export const API_KEY_PREFIX = 'sdl_';

/** Generated keys: the prefix and 43 base64url characters. */
export const API_KEY_RE = /^sdl_[A-Za-z0-9_-]{43}$/;

/** A new random key secret (shown once to its owner, never stored). */
export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** The stored form of a secret: SHA-256, hex. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * The first characters of a generated key, kept to recognise it in listings (12 characters:
 * 48 of its 256 bits). Operator-chosen tokens (SUNDIAL_ADMIN_TOKEN) may be short, so nothing
 * of them is kept.
 */
export function displayPrefix(secret: string): string {
  return API_KEY_RE.test(secret) ? secret.slice(0, 12) : '';
}

/** Compares two hex hashes in constant time (false for different lengths). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
