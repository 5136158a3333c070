// /v1/channels: notification channels (webhook, Slack, e-mail), their deliveries, and a test
// delivery. Reads need the viewer role, changes the operator role, as for tasks.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth-hook.js';
import { channelView, deliveryView } from '../channel-views.js';
import { ChannelCreateBody, ChannelListQuery, ChannelParams, ChannelPatchBody, ChannelView, DeliveryListQuery, DeliveryView } from '../schemas/channel.js';
import { AUTH_PROBLEMS, NamespaceQuery, Page, problems } from '../schemas/common.js';
import { pageView } from '../views.js';
import { limitOf, type RouteDeps } from './route-helpers.js';

const tags = ['notifications'];

/** Channel routes. */
export const channelRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { services }) => {
  const { channels } = services;
  const ref = (params: { name: string }, query: { namespace?: string | undefined }) => ({ name: params.name, namespace: query.namespace });

  app.post(
    '/channels',
    {
      config: { role: 'operator', scope: 'channels' },
      schema: {
        tags,
        summary: 'Create a notification channel',
        description:
          '`webhook` needs `url` and `secret` (`whsec_…`), `slack` needs `url` (an incoming-webhook URL), `email` needs `to` and a server with ' +
          '`SUNDIAL_SMTP_URL`. URLs must pass the outbound guard. The secret is never returned.',
        body: ChannelCreateBody,
        response: { 201: ChannelView, ...problems(...AUTH_PROBLEMS, 409) },
      },
    },
    async (request, reply) => {
      const channel = await channels.create(actorOf(request), request.body);
      return reply.code(201).header('location', `/v1/channels/${encodeURIComponent(channel.name)}?namespace=${encodeURIComponent(channel.namespace)}`).send(channelView(channel, actorOf(request).role));
    },
  );

  app.get(
    '/channels',
    {
      config: { role: 'viewer' },
      schema: { tags, summary: 'List notification channels', querystring: ChannelListQuery, response: { 200: Page(ChannelView), ...problems(...AUTH_PROBLEMS) } },
    },
    async (request) => {
      const q = request.query;
      return pageView(await channels.list(actorOf(request), { namespace: q.namespace, limit: limitOf(q), cursor: q.cursor }), (c) => channelView(c, actorOf(request).role));
    },
  );

  app.get(
    '/channels/:name',
    {
      config: { role: 'viewer' },
      schema: { tags, summary: 'Get a notification channel', params: ChannelParams, querystring: NamespaceQuery, response: { 200: ChannelView, ...problems(...AUTH_PROBLEMS, 404) } },
    },
    async (request) => channelView(await channels.get(actorOf(request), ref(request.params, request.query)), actorOf(request).role),
  );

  app.patch(
    '/channels/:name',
    {
      config: { role: 'operator', scope: 'channels' },
      schema: {
        tags,
        summary: 'Change a notification channel',
        description:
          'Absent fields stay; `null` clears `url`, `to` or `secret`. Notifications already queued go to the channel as it is when they are sent; ' +
          'a rename takes its deliveries along, but tasks naming the old name must be changed too (their notifications die meanwhile).',
        params: ChannelParams,
        querystring: NamespaceQuery,
        body: ChannelPatchBody,
        response: { 200: ChannelView, ...problems(...AUTH_PROBLEMS, 404, 409) },
      },
    },
    async (request) => channelView(await channels.update(actorOf(request), ref(request.params, request.query), request.body), actorOf(request).role),
  );

  app.delete(
    '/channels/:name',
    {
      config: { role: 'operator', scope: 'channels' },
      schema: {
        tags,
        summary: 'Delete a notification channel',
        description: 'Its pending notifications are marked dead when their turn comes. Tasks that name it keep their rules (a later task write refuses them).',
        params: ChannelParams,
        querystring: NamespaceQuery,
        response: { 200: ChannelView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => channelView(await channels.delete(actorOf(request), ref(request.params, request.query)), actorOf(request).role),
  );

  app.get(
    '/channels/:name/deliveries',
    {
      config: { role: 'viewer' },
      schema: {
        tags,
        summary: 'List a channel\'s deliveries, newest first',
        description: 'Each notification of the outbox with its status (`pending`, `delivered`, `dead`), its attempts and its last error.',
        params: ChannelParams,
        querystring: DeliveryListQuery,
        response: { 200: Page(DeliveryView), ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      return pageView(await channels.deliveries(actorOf(request), ref(request.params, q), limitOf(q), q.cursor), deliveryView);
    },
  );

  app.post(
    '/channels/:name/test',
    {
      config: { role: 'operator', scope: 'channels' },
      schema: {
        tags,
        summary: 'Send a test notification through the channel',
        description: 'Queues a `run.test` notification; follow it in the channel\'s deliveries. Delivered like any other (retries, rate limit).',
        params: ChannelParams,
        querystring: NamespaceQuery,
        response: { 202: DeliveryView, ...problems(...AUTH_PROBLEMS, 404) },
      },
    },
    async (request, reply) => reply.code(202).send(deliveryView(await channels.test(actorOf(request), ref(request.params, request.query)))),
  );
};
