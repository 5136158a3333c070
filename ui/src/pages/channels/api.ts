// The notification channel calls (docs/notifications.md): list, create, change, delete, a test
// delivery, and a channel's deliveries. A channel is named by namespace and name, so every call
// names its namespace (a key may cover several; the list shows them all).

import { client, unwrap } from '../../api/client';
import type { paths } from '../../api/schema';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type Channel = Json<paths['/v1/channels/{name}']['get']['responses'][200]>;
export type ChannelType = Channel['type'];
export type ChannelCreate = NonNullable<paths['/v1/channels']['post']['requestBody']>['content']['application/json'];
export type ChannelPatch = NonNullable<paths['/v1/channels/{name}']['patch']['requestBody']>['content']['application/json'];
export type Delivery = Json<paths['/v1/channels/{name}/test']['post']['responses'][202]>;
export type DeliveryStatus = Delivery['status'];

export const CHANNEL_TYPES: readonly ChannelType[] = ['webhook', 'slack', 'email'];

/** Query keys, so a change refetches exactly the lists it touches. */
export const channelKeys = {
  all: ['channels'] as const,
  list: (namespace: string | undefined, cursor: string | undefined) => ['channels', 'list', namespace ?? '*', cursor ?? null] as const,
  deliveries: (namespace: string, name: string, cursor: string | undefined) => ['channels', 'deliveries', namespace, name, cursor ?? null] as const,
};

/** One page of channels in `namespace` (undefined: every namespace the key covers). */
export async function listChannels(namespace: string | undefined, cursor: string | undefined, limit = 100) {
  const query = { limit, ...(namespace !== undefined && { namespace }), ...(cursor !== undefined && { cursor }) };
  return unwrap(await client.GET('/v1/channels', { params: { query } }));
}

export async function createChannel(body: ChannelCreate): Promise<Channel> {
  return unwrap(await client.POST('/v1/channels', { body }));
}

export async function updateChannel(c: Pick<Channel, 'namespace' | 'name'>, body: ChannelPatch): Promise<Channel> {
  return unwrap(await client.PATCH('/v1/channels/{name}', { params: { path: { name: c.name }, query: { namespace: c.namespace } }, body }));
}

export async function deleteChannel(c: Pick<Channel, 'namespace' | 'name'>): Promise<Channel> {
  return unwrap(await client.DELETE('/v1/channels/{name}', { params: { path: { name: c.name }, query: { namespace: c.namespace } } }));
}

/** Queues a `run.test` notification; the answer is the queued delivery. */
export async function testChannel(c: Pick<Channel, 'namespace' | 'name'>): Promise<Delivery> {
  return unwrap(await client.POST('/v1/channels/{name}/test', { params: { path: { name: c.name }, query: { namespace: c.namespace } } }));
}

/** One page of a channel's deliveries, newest first. */
export async function listDeliveries(namespace: string, name: string, cursor: string | undefined, limit = 20) {
  const query = { namespace, limit, ...(cursor !== undefined && { cursor }) };
  return unwrap(await client.GET('/v1/channels/{name}/deliveries', { params: { path: { name }, query } }));
}
