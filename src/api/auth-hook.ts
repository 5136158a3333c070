// Authentication and roles for the /v1 routes: a bearer key on every request (checked before the
// body is even parsed), and the role each route declares in `config.role`. Namespace checks
// belong to the services, which know what a request touches.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid, SundialError } from '../core/errors.js';
import type { Actor, Role } from '../core/types.js';
import type { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { requireRole } from '../auth/roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated key (set for /v1 routes). */
    actor: Actor | null;
  }
  interface FastifyContextConfig {
    /** Weakest role a route accepts; routes that forget it are admin-only. */
    role?: Role;
  }
}

/** Longest bearer token looked at (longer ones are not keys and are not hashed). */
const MAX_TOKEN_LENGTH = 512;
const BEARER_RE = /^Bearer[ ]+(\S+)[ ]*$/i;

/** Requires a valid key with the route's role on every route of `app` (an encapsulated scope). */
export function installAuth(app: FastifyInstance, authenticator: ApiKeyAuthenticator): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    // Node keeps the first of repeated Authorization headers; a proxy in front may keep the last.
    // Two answers to "who is this" are refused rather than guessed.
    if (authorizationCount(request.raw.rawHeaders) > 1) {
      throw invalid([{ path: '/headers/authorization', message: 'must be sent once; this request has several Authorization headers' }]);
    }
    const header = request.headers.authorization;
    if (header === undefined || header === '') throw new SundialError('unauthenticated', 'send an API key as Authorization: Bearer <key>');
    const token = BEARER_RE.exec(header)?.[1];
    if (token === undefined) throw new SundialError('unauthenticated', 'the Authorization header must be "Bearer <key>"');
    const actor = token.length <= MAX_TOKEN_LENGTH ? await authenticator.authenticate(token, request.ip) : null;
    if (actor === null) throw new SundialError('unauthenticated', 'the API key is not known or has been revoked');
    requireRole(actor, request.routeOptions.config.role ?? 'admin');
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
