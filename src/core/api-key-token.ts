// What an API key looks like, told apart without a database: `sdl_`, 43 base62 characters of
// randomness (256 bits), and 6 base62 characters of the CRC32 of those 43, as GitHub's tokens
// carry one. Secret scanners match the shape and check the checksum, so a leaked key is found and
// a random string that merely looks like one is not; the server refuses a key whose checksum is
// wrong (a typo, a truncated paste, a guess) without a lookup. The checksum is no secret and
// proves nothing about who made the key; the hash lookup does that.
//
// Keys made before the checksum (`sdl_` + 43 base64url characters) and operator-chosen
// SUNDIAL_ADMIN_TOKENs stay valid: their shapes differ from the checksummed one (47 characters,
// or anything else of 32 characters or more), so they go to the lookup as before.

import { crc32 } from 'node:zlib';

/** Every generated key starts with this, so secret scanners and people recognise it. */
export const API_KEY_PREFIX = 'sdl_';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Random characters of a checksummed key (43 × log2 62 ≈ 256 bits). */
export const API_KEY_BODY_LENGTH = 43;
/** Checksum characters (CRC32 < 62^6). */
export const API_KEY_CHECKSUM_LENGTH = 6;

/** A checksummed key: the prefix, 43 base62 characters, their 6-character CRC32 (53 in all). */
export const API_KEY_RE = /^sdl_[0-9A-Za-z]{49}$/;
/** A key made before checksums: the prefix and 43 base64url characters (32 random bytes). */
export const LEGACY_API_KEY_RE = /^sdl_[A-Za-z0-9_-]{43}$/;
/** Shortest token that can be a key at all (SUNDIAL_ADMIN_TOKEN must have 32 characters). */
export const MIN_TOKEN_LENGTH = 32;

/** The 6-character base62 CRC32 of a key's body (zero-padded on the left). */
export function apiKeyChecksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < API_KEY_CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A key from 43 base62 characters: the prefix, the body and its checksum. */
export function apiKeyFromBody(body: string): string {
  return API_KEY_PREFIX + body + apiKeyChecksum(body);
}

/** 43 uniformly random base62 characters from a source of random bytes (rejection sampling). */
export function base62Body(randomBytes: (n: number) => Uint8Array): string {
  let out = '';
  while (out.length < API_KEY_BODY_LENGTH) {
    for (const b of randomBytes(64)) {
      // 248 = 4 × 62: bytes at or above it would make the first characters likelier.
      if (b < 248 && out.length < API_KEY_BODY_LENGTH) out += BASE62[b % 62];
    }
  }
  return out;
}

/**
 * What a bearer token is, by its shape alone:
 * - `checksummed`: a current key with a valid checksum (look it up);
 * - `legacy`: a key made before checksums (look it up);
 * - `other`: anything else long enough to be an operator-chosen admin token (look it up);
 * - `malformed`: a checksummed key's shape with a wrong checksum, or too short to be any key:
 *   refused without a lookup.
 */
export type TokenShape = 'checksummed' | 'legacy' | 'other' | 'malformed';

/** Classifies `token` (see TokenShape). */
export function tokenShape(token: string): TokenShape {
  if (API_KEY_RE.test(token)) {
    const body = token.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + API_KEY_BODY_LENGTH);
    return token.endsWith(apiKeyChecksum(body)) ? 'checksummed' : 'malformed';
  }
  if (LEGACY_API_KEY_RE.test(token)) return 'legacy';
  return token.length < MIN_TOKEN_LENGTH ? 'malformed' : 'other';
}

/** True when `token` has the shape of a generated key (either format), checksum aside. */
export function looksLikeApiKey(token: string): boolean {
  return API_KEY_RE.test(token) || LEGACY_API_KEY_RE.test(token);
}
