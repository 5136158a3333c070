// /v1/secrets: secrets that tasks reference (`{{secrets.NAME}}`, `ctx.secrets.NAME`). Reading
// their names and versions needs the viewer role; setting and deleting them the operator role,
// as for tasks (who writes tasks in a namespace can use its secrets anyway). No route returns a
// value, whatever the role.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { invalid } from '../../core/errors.js';
import type { StoredSecret } from '../../store/secret-store.js';
import { actorOf } from '../auth-hook.js';
import { AUTH_PROBLEMS, NamespaceQuery, Page, problems } from '../schemas/common.js';
import { SecretListQuery, SecretParams, SecretPutBody, SecretView } from '../schemas/secret.js';
import { pageView } from '../views.js';
import { limitOf, type RouteDeps } from './route-helpers.js';

const tags = ['secrets'];
const iso = (t: number): string => new Date(t).toISOString();

/** A secret as the API shows it: metadata only. */
export function secretView(s: StoredSecret) {
  return { name: s.name, namespace: s.namespace, version: s.version, createdAt: iso(s.createdAt), createdBy: s.createdBy, updatedAt: iso(s.updatedAt), updatedBy: s.updatedBy };
}

/** Secret routes. */
export const secretRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { secrets } = services;

  app.put(
    '/secrets/:name',
    {
      config: { role: 'operator' },
      schema: {
        tags,
        summary: 'Create a secret, or give it a new value (a new version)',
        description:
          'The value is encrypted at rest (AES-256-GCM under its own data key, wrapped by the server\'s key-encryption key) and is never returned. ' +
          'Runs started after the write use the new value. 201 when the secret is new, 200 for a new version. The namespace is `namespace` of the body or `?namespace=` (the key\'s own by default). ' +
          '501 `secrets_key_missing` on a cluster whose nodes have no `SUNDIAL_SECRETS_KEY`.',
        params: SecretParams,
        querystring: NamespaceQuery,
        body: SecretPutBody,
        response: { 200: SecretView, 201: SecretView, ...problems(...AUTH_PROBLEMS, 501) },
      },
    },
    async (request, reply) => {
      const { body, query } = request;
      if (body.namespace !== undefined && query.namespace !== undefined && body.namespace !== query.namespace) {
        throw invalid([{ path: '/namespace', message: `names namespace "${body.namespace}" but ?namespace= names "${query.namespace}"` }]);
      }
      const stored = await secrets.put(actorOf(request), { name: request.params.name, namespace: body.namespace ?? query.namespace }, body.value);
      if (stored.version === 1) {
        reply.code(201).header('location', `/v1/secrets/${encodeURIComponent(stored.name)}?namespace=${encodeURIComponent(stored.namespace)}`);
      }
      return reply.send(secretView(stored));
    },
  );

  app.get(
    '/secrets',
    {
      config: { role: 'viewer' },
      schema: { tags, summary: 'List secrets (names and versions, never values)', querystring: SecretListQuery, response: { 200: Page(SecretView), ...problems(...AUTH_PROBLEMS) } },
    },
    async (request) => {
      const q = request.query;
      return pageView(await secrets.list(actorOf(request), { namespace: q.namespace, limit: limitOf(q), cursor: q.cursor }), secretView);
    },
  );

  app.get(
    '/secrets/:name',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'Get a secret\'s metadata (never its value)',
        params: SecretParams,
        querystring: NamespaceQuery,
        response: { 200: SecretView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => secretView(await secrets.get(actorOf(request), { name: request.params.name, namespace: request.query.namespace })),
  );

  app.delete(
    '/secrets/:name',
    {
      config: { role: 'operator' },
      schema: {
        tags,
        summary: 'Delete a secret',
        description: 'Tasks that reference it keep the reference; their runs fail `secret_missing` until it is set again.',
        params: SecretParams,
        querystring: NamespaceQuery,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request, reply) => {
      await secrets.delete(actorOf(request), { name: request.params.name, namespace: request.query.namespace });
      return reply.code(204).send(null);
    },
  );
};
