// Authentication, roles, scopes and rate limits for the /v1 routes: a bearer key on every
// request (checked before the body is even parsed), the role each route declares in
// `config.role`, and for keys with scopes the area a write route declares in `config.scope`
// (auth/scopes.ts). Namespace checks belong to the services, which know what a request touches.
// A refused key is audited (auth/failure-audit.ts) and counted against its address; an address
// that has spent its failures gets 429 before its next key is looked up (api/rate-limits.ts).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid, SundialError } from '../core/errors.js';
import type { Actor, Role } from '../core/types.js';
import { auditPrefix, type ApiKeyAuthenticator } from '../auth/authenticator.js';
import type { FailureAudit, SignInFailure } from '../auth/failure-audit.js';
import { requireRole } from '../auth/roles.js';
import { requireScope, type WriteArea } from '../auth/scopes.js';
import type { RateLimits } from './rate-limits.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key (set for /v1 routes). */
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** Weakest role a route accepts; routes that forget it are admin-only. */
    role?: Role;
    /** What a write route changes, for keys with scopes; write routes without it are refused to them. */
    scope?: WriteArea;
  }
}

/** What the auth hook uses besides the authenticator (absent: no limits, no failure rows). */
export interface AuthGuards {
  limits?: RateLimits;
  failures?: FailureAudit;
}

/** Longest bearer token looked at (longer ones are not keys and are not hashed). */
const MAX_TOKEN_LENGTH = 512;
const BEARER_RE = /^Bearer[ ]+(\S+)[ ]*$/i;
/** Methods that change nothing; any other needs a scope for a key with scopes (unless the route is a viewer's). */
const READ_METHODS = new Set(['GET', 'HEAD']);

const DETAIL: Record<SignInFailure, string> = {
  bad_header: 'the Authorization header must be "Bearer <key>"',
  malformed: 'the API key is not well-formed (a Sundial key is sdl_ and 49 letters and digits, the last 6 a checksum)',
  unknown: 'the API key is not known or has been revoked',
  revoked: 'the API key is not known or has been revoked',
  expired: 'the API key has expired; ask an admin for a new one (or rotate keys before they expire)',
};

/** Requires a valid key with the route's role on every route of `app` (an encapsulated scope). */
export function installAuth(app: FastifyInstance, authenticator: ApiKeyAuthenticator, guards: AuthGuards = {}): void {
  const { limits, failures } = guards;
  /** Audits and counts a refusal, then throws the answer. */
  const refuse = async (request: FastifyRequest, reason: SignInFailure, token: string | undefined): Promise<never> => {
    failures?.record(request.ip, reason, token === undefined ? null : auditPrefix(token));
    await limits?.countFailure(request);
    throw new SundialError(reason === 'expired' ? 'key_expired' : 'unauthenticated', DETAIL[reason]);
  };
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    // Node keeps the first of repeated Authorization headers; a proxy in front may keep the last.
    // Two answers to "who is this" are refused rather than guessed.
    if (authorizationCount(request.raw.rawHeaders) > 1) {
      throw invalid([{ path: '/headers/authorization', message: 'must be sent once; this request has several Authorization headers' }]);
    }
    await limits?.checkAddress(request);
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      // No attempt to sign in: counted against the address, not audited.
      await limits?.countFailure(request);
      throw new SundialError('unauthenticated', 'send an API key as Authorization: Bearer <key>');
    }
    const token = BEARER_RE.exec(header)?.[1];
    if (token === undefined) return refuse(request, 'bad_header', undefined);
    if (token.length > MAX_TOKEN_LENGTH) return refuse(request, 'malformed', undefined);
    const result = await authenticator.authenticate(token, request.ip);
    if (!result.ok) return refuse(request, result.reason, token);
    const actor = result.actor;
    await limits?.countKey(request, actor.id);
    const config = request.routeOptions.config;
    const role = config.role ?? 'admin';
    requireRole(actor, role);
    // Reads, and the viewer's POST (a schedule preview), are never narrowed by scopes.
    if (!READ_METHODS.has(request.method) && role !== 'viewer') requireScope(actor, config.scope);
    request.actor = actor;
  });
}

/** How many Authorization headers the raw request has (names at even indexes). */
function authorizationCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 13 && raw[i]!.toLowerCase() === 'authorization') n++;
  return n;
}

/** The request's authenticated key (only on routes behind installAuth). */
export function actorOf(request: FastifyRequest): Actor {
  if (request.actor === null) throw new SundialError('unauthenticated');
  return request.actor;
}
