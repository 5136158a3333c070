// Issue 12, hole 4: revoking a key ends its open streams (/v1/events and log follow) within a
// second, whether the revocation happened on this node, on another node (a relayed signal), or
// reached this node only through the store (a lost signal: the periodic re-check). And hole 6's
// cap: one key may hold only so many streams at once (429 beyond it).
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/config.js';
import { ADMIN_TOKEN, httpTask, startApi, startRuns, type ApiHarness } from '../helpers/api-harness.js';
import { openSse, type SseStream } from '../helpers/sse.js';

let h: ApiHarness;
let base: string;
let runId: string;

before(async () => {
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_STREAMS_PER_KEY: '3' } });
  h = await startApi({ config, sseHeartbeatMs: 100, streamRecheckMs: 300 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  const task = (await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('followed') })).json() as { id: string };
  runId = ((await h.call({ method: 'POST', url: `/v1/tasks/${task.id}/runs`, payload: {} })).json() as { id: string }).id;
  // Running: a log follower of it stays open until the run ends.
  await startRuns(h, [runId]);
});
after(async () => {
  await h.close();
});

async function mint(role: 'viewer' | 'operator'): Promise<{ id: string; secret: string }> {
  const res = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: `k-${Math.random()}`, role } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { id: string; secret: string };
}

/** Both kinds of stream, open and past their first bytes. */
async function openBoth(secret: string): Promise<SseStream[]> {
  const events = await openSse(`${base}/v1/events`, secret);
  const follow = await openSse(`${base}/v1/runs/${runId}/logs?follow=1`, secret);
  assert.equal(events.res.statusCode, 200);
  assert.equal(follow.res.statusCode, 200);
  await events.next((f) => f.includes(': connected'));
  await follow.next((f) => f.includes(': following'));
  return [events, follow];
}

/** Milliseconds until every stream ended (fails past `withinMs`). */
async function endedWithin(streams: SseStream[], withinMs: number): Promise<number> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), withinMs)));
  const done = await Promise.race([Promise.all(streams.map((s) => s.ended)).then(() => 'ended' as const), timeout]);
  clearTimeout(timer);
  for (const s of streams) s.close();
  assert.equal(done, 'ended', `the streams were still open ${withinMs} ms after the revocation`);
  return Date.now() - t0;
}

describe('revoking a key ends its open streams', () => {
  test('revoked through the API on this node: /v1/events and log follow end at once, with a revoked event', async () => {
    const key = await mint('viewer');
    const streams = await openBoth(key.secret);
    const other = await mint('viewer');
    const bystander = await openSse(`${base}/v1/events`, other.secret);
    assert.equal((await h.call({ method: 'DELETE', url: `/v1/api-keys/${key.id}` })).statusCode, 200);
    await endedWithin(streams, 1000);
    for (const s of streams) assert.match(s.text(), /event: revoked/);
    // Another key's stream stays open.
    await bystander.next((f) => f.includes(': heartbeat'));
    bystander.close();
    const again = await h.call({ method: 'GET', url: '/v1/events', token: key.secret });
    assert.equal(again.statusCode, 401);
  });

  test('revoked on another node (the relayed signal): the streams here end within a second', async () => {
    const key = await mint('operator');
    const streams = await openBoth(key.secret);
    const now = h.clock.now();
    await h.store.revokeApiKey(key.id, now, { namespace: '*', at: now, actor: 'key:other-node', ip: null, action: 'api_key.revoke', targetType: 'api_key', targetId: key.id });
    h.bus.emit('cluster:api-key:revoked', { id: key.id, at: now });
    await endedWithin(streams, 1000);
  });

  test('revoked with the signal lost: the periodic re-check of open streams ends them', async () => {
    const key = await mint('viewer');
    const streams = await openBoth(key.secret);
    const now = h.clock.now();
    await h.store.revokeApiKey(key.id, now, { namespace: '*', at: now, actor: 'key:other-node', ip: null, action: 'api_key.revoke', targetType: 'api_key', targetId: key.id });
    await endedWithin(streams, 1000);
  });
});

describe('streams per key', () => {
  test('a key holds at most SUNDIAL_STREAMS_PER_KEY streams; one more is a 429 problem, and a closed one frees its place', async () => {
    const key = await mint('viewer');
    const open = [await openSse(`${base}/v1/events`, key.secret), await openSse(`${base}/v1/events`, key.secret), await openSse(`${base}/v1/runs/${runId}/logs?follow=1`, key.secret)];
    for (const s of open) assert.equal(s.res.statusCode, 200);
    const refused = await openSse(`${base}/v1/events`, key.secret);
    assert.equal(refused.res.statusCode, 429);
    assert.match(String(refused.res.headers['content-type']), /^application\/problem\+json/);
    await refused.ended;
    assert.equal((JSON.parse(refused.text()) as { code: string }).code, 'rate_limited');
    const follow = await openSse(`${base}/v1/runs/${runId}/logs?follow=1`, key.secret);
    assert.equal(follow.res.statusCode, 429);
    follow.close();
    // Other keys are not affected.
    const other = await openSse(`${base}/v1/events`, ADMIN_TOKEN);
    assert.equal(other.res.statusCode, 200);
    other.close();
    open[0]!.close();
    await open[0]!.ended;
    // The server notices the close asynchronously.
    let next: SseStream | null = null;
    for (let i = 0; i < 20 && next?.res.statusCode !== 200; i++) {
      next?.close();
      await new Promise((r) => setTimeout(r, 25));
      next = await openSse(`${base}/v1/events`, key.secret);
    }
    assert.equal(next!.res.statusCode, 200);
    for (const s of [...open, next!]) s.close();
  });
});
