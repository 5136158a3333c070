// Request rate limits (docs/security.md "Rate limits"), counted by @fastify/rate-limit's
// in-memory store, per node, in fixed one-minute windows:
// - per authenticated key: SUNDIAL_RATE_LIMIT requests a minute (generous; a runaway script,
//   not normal use, should meet it);
// - per client address, for requests that fail to authenticate (no key, a malformed, unknown,
//   revoked or expired one): SUNDIAL_RATE_LIMIT_ANON a minute. Once spent, the address gets 429
//   before its key is even looked up, until the window ends: guessing and floods cost neither
//   store reads nor audit rows.
// The client address is Fastify's `request.ip`, which honours SUNDIAL_TRUST_PROXY (IPv6 grouped
// per /64 by the plugin's own key generator). Only /v1 routes are limited: /healthz, /readyz and
// /metrics are for probes and scrapers.

import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SundialError } from '../core/errors.js';

/** A limit of 0 turns it off. */
export interface RateLimitSettings {
  /** Requests a minute per key. */
  perKey: number;
  /** Failed or unauthenticated requests a minute per client address. */
  perAddress: number;
}

const WINDOW_MS = 60_000;

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** The two limits of the auth hook. */
export interface RateLimits {
  /** Throws `rate_limited` when the address has used up its failures for this window. */
  checkAddress(request: FastifyRequest): Promise<void>;
  /** Counts a failed or unauthenticated request against the address. */
  countFailure(request: FastifyRequest): Promise<void>;
  /** Counts a request of key `actorId`; throws `rate_limited` past the key's limit. */
  countKey(request: FastifyRequest, actorId: string): Promise<void>;
}

/** Registers the plugin (routes are not limited by it; the auth hook asks) and returns the limits. */
export async function installRateLimits(app: FastifyInstance, settings: RateLimitSettings): Promise<RateLimits> {
  await app.register(rateLimit, { global: false });
  const keyIds = new WeakMap<FastifyRequest, string>();
  const perAddress: Limiter | null =
    settings.perAddress > 0 ? app.createRateLimit({ max: settings.perAddress, timeWindow: WINDOW_MS }) : null;
  const perKey: Limiter | null =
    settings.perKey > 0 ? app.createRateLimit({ max: settings.perKey, timeWindow: WINDOW_MS, keyGenerator: (req) => keyIds.get(req) ?? req.ip }) : null;
  return {
    async checkAddress(request) {
      if (perAddress === null) return;
      const r = await perAddress(request, { increment: false });
      if (!r.isAllowed && r.remaining <= 0) {
        throw limited(`this address sent ${r.max} requests without a valid API key this minute (SUNDIAL_RATE_LIMIT_ANON); wait before trying again`, r.ttlInSeconds);
      }
    },
    async countFailure(request) {
      if (perAddress !== null) await perAddress(request);
    },
    async countKey(request, actorId) {
      if (perKey === null) return;
      keyIds.set(request, actorId);
      const r = await perKey(request);
      if (!r.isAllowed && r.isExceeded) {
        throw limited(`this API key sent more than ${r.max} requests this minute (SUNDIAL_RATE_LIMIT)`, r.ttlInSeconds);
      }
    },
  };
}

function limited(detail: string, retryAfterS: number): SundialError {
  return new SundialError('rate_limited', detail, { extra: { retryAfter: Math.max(1, retryAfterS) } });
}
