// /v1/api-keys: mint, list and revoke API keys (admin only); /v1/me: what the calling key may do.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../auth-hook.js';
import { ApiKeyCreateBody, ApiKeyCreatedView, ApiKeyRotateBody, ApiKeyRotatedView, ApiKeyView, MeView } from '../schemas/admin.js';
import { AUTH_PROBLEMS, IdParams, Page, PageQuery, problems } from '../schemas/common.js';
import { apiKeyView, pageView } from '../views.js';
import { limitOf, type RouteDeps } from './route-helpers.js';

const tags = ['admin'];

/** API key routes. */
export const apiKeyRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { apiKeys } = services;

  app.get(
    '/me',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'The calling key: its actor id, role and namespaces',
        description: 'Lets a client (the web dashboard) offer only what the key may do.',
        response: { 200: MeView, ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      return { actor: actor.id, role: actor.role, namespaces: [...actor.namespaces] };
    },
  );

  app.post(
    '/api-keys',
    {
      config: { role: 'admin', scope: 'keys' },
      schema: {
        tags,
        summary: 'Create an API key',
        description:
          'The answer carries the secret, once; only its SHA-256 hash is stored. `expiresIn` or `expiresAt` make it stop by itself (401 `key_expired`); `scopes` narrow what its role may change.',
        body: ApiKeyCreateBody,
        response: { 201: ApiKeyCreatedView, ...problems(...AUTH_PROBLEMS) },
      },
    },
    async (request, reply) => {
      const { key, secret } = await apiKeys.create(actorOf(request), request.body);
      return reply.code(201).send({ ...apiKeyView(key), secret });
    },
  );

  app.get(
    '/api-keys',
    {
      config: { role: 'admin' },
      schema: { tags, summary: 'List API keys (without secrets)', querystring: Type.Object(PageQuery, { additionalProperties: false }), response: { 200: Page(ApiKeyView), ...problems(...AUTH_PROBLEMS) } },
    },
    async (request) => pageView(await apiKeys.list(limitOf(request.query), request.query.cursor), apiKeyView),
  );

  app.post(
    '/api-keys/:id/rotate',
    {
      config: { role: 'admin', scope: 'keys' },
      schema: {
        tags,
        summary: 'Rotate an API key',
        description:
          'Mints a successor with the same name, role, namespaces and scopes (its secret is in the answer, once). The old key keeps working for `gracePeriod` (default 24h) and then answers 401 `key_expired`. Revoked, expired and already rotated keys answer 409 `api_key_not_active`.',
        params: IdParams,
        body: ApiKeyRotateBody,
        response: { 201: ApiKeyRotatedView, ...problems(...AUTH_PROBLEMS, 404, 409) },
      },
    },
    async (request, reply) => {
      const { old, key, secret } = await apiKeys.rotate(actorOf(request), request.params.id, request.body ?? {});
      return reply.code(201).send({ ...apiKeyView(key), secret, previous: apiKeyView(old) });
    },
  );

  app.delete(
    '/api-keys/:id',
    {
      config: { role: 'admin', scope: 'keys' },
      schema: {
        tags,
        summary: 'Revoke an API key',
        description: 'The key stops working at once on this node and within a second on the others (a cluster signal; their key caches hold 1 s at most); its open streams end. It stays listed with `revokedAt`.',
        params: IdParams,
        response: { 200: ApiKeyView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => apiKeyView(await apiKeys.revoke(actorOf(request), request.params.id)),
  );
};
