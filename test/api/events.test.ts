// GET /v1/events over a real socket: events arrive, filtered to the key's namespaces, with
// heartbeats; a disconnect unsubscribes from the bus.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, httpTask, startApi, type ApiHarness } from '../helpers/api-harness.js';

let h: ApiHarness;
let base: string;

before(async () => {
  h = await startApi({ sseHeartbeatMs: 50 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
});
after(async () => {
  await h.close();
});

interface Stream {
  res: IncomingMessage;
  /** Resolves with the first frame for which `match` is true. */
  next(match: (frame: string) => boolean): Promise<string>;
  close(): void;
}

function open(token: string, query = ''): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/v1/events${query}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.setEncoding('utf8');
      let buffer = '';
      const frames: string[] = [];
      const waiters: { match: (f: string) => boolean; resolve: (f: string) => void }[] = [];
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          frames.push(frame);
          for (const w of [...waiters]) {
            if (w.match(frame)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(frame);
            }
          }
        }
      });
      resolve({
        res,
        next: (match) =>
          new Promise((done) => {
            const seen = frames.find(match);
            if (seen !== undefined) {
              frames.splice(frames.indexOf(seen), 1);
              done(seen);
            } else waiters.push({ match, resolve: done });
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function dataOf(frame: string): Record<string, unknown> {
  const line = frame.split('\n').find((l) => l.startsWith('data: '));
  assert.ok(line, frame);
  return JSON.parse(line.slice(6)) as Record<string, unknown>;
}

test('streams task and run events to a key that covers their namespace', async () => {
  const stream = await open(ADMIN_TOKEN);
  assert.equal(stream.res.statusCode, 200);
  assert.match(String(stream.res.headers['content-type']), /^text\/event-stream/);
  const created = await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('sse-1', { schedule: { type: 'once', at: '2026-03-03T00:00:00Z' } }) });
  const taskId = (created.json() as { id: string }).id;
  const taskFrame = await stream.next((f) => f.startsWith('event: task:changed'));
  const taskEvent = dataOf(taskFrame) as { action: string; task: { id: string; nextRunAt: string } };
  assert.equal(taskEvent.action, 'created');
  assert.equal(taskEvent.task.id, taskId);
  assert.equal(taskEvent.task.nextRunAt, '2026-03-03T00:00:00.000Z');
  const runFrame = await stream.next((f) => f.startsWith('event: run:transition'));
  const run = dataOf(runFrame) as { taskId: string; to: string; scheduledFor: string };
  assert.equal(run.taskId, taskId);
  assert.equal(run.to, 'scheduled');
  assert.equal(run.scheduledFor, '2026-03-03T00:00:00.000Z');
  await stream.next((f) => f === ': heartbeat');
  stream.close();
});

test("a key never sees events of namespaces it does not cover", async () => {
  const teamA = await h.key('viewer', ['team-a']);
  const stream = await open(teamA);
  await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('secret', { namespace: 'team-b' }) });
  await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('visible', { namespace: 'team-a' }) });
  const frame = await stream.next((f) => f.startsWith('event: task:changed'));
  assert.equal((dataOf(frame) as { task: { name: string } }).task.name, 'visible', 'the team-b event was never sent');
  stream.close();
});

test('?namespace= narrows the stream further', async () => {
  const stream = await open(ADMIN_TOKEN, '?namespace=only-this');
  await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('noise', { namespace: 'elsewhere' }) });
  await h.call({ method: 'POST', url: '/v1/tasks', payload: httpTask('signal', { namespace: 'only-this' }) });
  const frame = await stream.next((f) => f.startsWith('event: task:changed'));
  assert.equal((dataOf(frame) as { task: { name: string } }).task.name, 'signal');
  stream.close();
});

test('a disconnect unsubscribes from the bus', async () => {
  const serverSocket = once(h.app.server, 'connection') as Promise<[Socket]>;
  const stream = await open(ADMIN_TOKEN);
  const [socket] = await serverSocket;
  await stream.next((f) => f.includes(': connected'));
  assert.ok(h.bus.has('run:transition'));
  const serverClosed = once(socket, 'close');
  stream.close();
  await serverClosed;
  // The response's own 'close' (which detaches the client) follows the socket's in the same turn.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(h.bus.has('run:transition'), false);
  assert.equal(h.bus.has('task:changed'), false);
});

test('without a key the stream is a 401 problem', async () => {
  const res = await fetch(`${base}/v1/events`);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
});
