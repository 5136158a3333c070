// A sanity check of SUNDIAL_ADMIN_TOKEN: it is the bootstrap admin key, so `sdl_short` or
// `passwordpassword…` would hand the whole server to whoever guesses it. Randomness cannot be
// proven from one string; this refuses the obvious mistakes (too short, too few distinct
// characters, too repetitive) and lets any real random token through, including
// `openssl rand -hex 16` (32 characters, 128 bits).

import { tokenShape } from '../core/api-key-token.js';

/** Fewest characters. */
export const ADMIN_TOKEN_MIN_LENGTH = 32;
/** Fewest distinct characters (a random 32-character hex token has 8 or more all but once in millions). */
const MIN_DISTINCT = 8;
/** Least estimated entropy: length × Shannon entropy of the token's own characters. */
const MIN_BITS = 80;

/** Estimated bits of `token`, from how evenly its characters are spread (an upper bound). */
export function estimatedBits(token: string): number {
  const counts = new Map<string, number>();
  for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = [...token].length;
  let perChar = 0;
  for (const k of counts.values()) perChar -= (k / n) * Math.log2(k / n);
  return perChar * n;
}

/** Why `token` is too weak to be the admin key, or null when it will do ('' means "generate one"). */
export function adminTokenProblem(token: string): string | null {
  if (token === '') return null;
  const advice = 'use a random one, e.g. `openssl rand -base64 32`, or leave it unset on a first start to have one generated';
  const length = [...token].length;
  if (length < ADMIN_TOKEN_MIN_LENGTH) return `is ${length} characters long; it must have at least ${ADMIN_TOKEN_MIN_LENGTH}: ${advice}`;
  // The API refuses such a token before any lookup (core/api-key-token.ts), so it could never log in.
  if (tokenShape(token) === 'malformed') return `has the shape of a Sundial key (sdl_ and 49 letters and digits) but not its checksum: ${advice}`;
  if (new Set(token).size < MIN_DISTINCT || estimatedBits(token) < MIN_BITS) return `is too repetitive to be a secret: ${advice}`;
  return null;
}
