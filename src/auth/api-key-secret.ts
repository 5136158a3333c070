// API key secrets (the format is core/api-key-token.ts): `sdl_` + 43 base62 characters + a
// 6-character checksum. Only a SHA-256 hash is ever stored. The secrets carry 256 bits of
// entropy, so nobody can guess one from its hash and a slow password KDF (bcrypt, scrypt,
// argon2) would add nothing but a slow lookup per request: those exist to protect low-entropy,
// human-chosen passwords.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_PREFIX, API_KEY_RE, LEGACY_API_KEY_RE, apiKeyFromBody, base62Body, looksLikeApiKey } from '../core/api-key-token.js';

export { API_KEY_PREFIX, API_KEY_RE, LEGACY_API_KEY_RE };

/** A new random key secret (shown once to its owner, never stored). */
export function generateApiKeySecret(): string {
  return apiKeyFromBody(base62Body((n) => randomBytes(n)));
}

/** The stored form of a secret: SHA-256, hex. */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * The first characters of a generated key, kept to recognise it in listings and audit rows
 * (12 characters: the prefix and 8 random ones, about 48 of its 256 bits). Operator-chosen tokens
 * (SUNDIAL_ADMIN_TOKEN) may be short, so nothing of them is kept.
 */
export function displayPrefix(secret: string): string {
  return looksLikeApiKey(secret) ? secret.slice(0, 12) : '';
}

/** Compares two hex hashes in constant time (false for different lengths). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
