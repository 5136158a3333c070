// A run's log followed live through the real server: lines arrive as the run writes them, in
// order, once each, then an `end` event; the stored log and the run's resource use agree.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, eventually, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

interface RunView {
  id: string;
  status: string;
  cpuMs: number | null;
  peakRssBytes: number | null;
  diskWriteBytes: number | null;
}

interface SseEvent {
  id?: string;
  event: string;
  data: string;
  at: number;
}

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
let server: ServerProcess;

before(async () => {
  server = await startServerProcess({
    ...makeDirs({
      // Four lines 400 ms apart, then holds ~60 MB for a moment so a sample shows it.
      'drip.mjs': `export default async (ctx) => {
        for (let i = 0; i < 4; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 400));
          ctx.log('drip ' + i, i === 3 ? 'warn' : 'info');
        }
        const block = Buffer.alloc(60 * 1024 * 1024, 1);
        await new Promise((r) => setTimeout(r, 300));
        console.log('held', block.length);
        return 'dripped';
      };`,
    }),
  });
});
after(async () => {
  await server.kill('SIGTERM');
});

/** Reads server-sent events from a follow request until `end` or the stream closes. */
async function follow(path: string, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let sep: number;
    while ((sep = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep + 2);
      const ev: SseEvent = { event: 'message', data: '', at: Date.now() };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
      }
      if (ev.data !== '' || ev.event !== 'message') events.push(ev);
      if (ev.event === 'end') return events;
    }
  }
  return events;
}

describe('live logs', () => {
  it('follows a running run line by line, then ends with its status; the stored log matches', async () => {
    const create = await server.api('POST', '/v1/tasks', { name: 'drip', kind: 'module', spec: { file: 'drip.mjs' } });
    assert.equal(create.status, 201);
    const started = await server.api<RunView>('POST', '/v1/tasks/drip/runs', {});
    assert.equal(started.status, 201);
    const runId = started.body.id;
    const events = await follow(`/v1/runs/${runId}/logs?follow=1`);
    const lines = events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data) as { level: string; message: string });
    assert.deepEqual(
      lines.map((l) => `${l.level} ${l.message}`),
      ['info drip 0', 'info drip 1', 'info drip 2', 'warn drip 3', `info held ${60 * 1024 * 1024}`],
    );
    assert.deepEqual(events.filter((e) => e.event === 'message').map((e) => e.id), ['0', '1', '2', '3', '4']);
    // Live, not at the end: the first line came well before the last (1.2 s of gaps between them).
    const msgs = events.filter((e) => e.event === 'message');
    assert.ok(msgs[3]!.at - msgs[0]!.at >= 700, `lines arrived ${msgs[3]!.at - msgs[0]!.at} ms apart`);
    const end = events.at(-1)!;
    assert.equal(end.event, 'end');
    assert.deepEqual(JSON.parse(end.data), { status: 'succeeded' });

    const stored = await fetch(`${server.url}/v1/runs/${runId}/logs`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const storedLines = (await stored.text()).trim().split('\n').map((l) => (JSON.parse(l) as { message: string }).message);
    assert.deepEqual(storedLines, ['drip 0', 'drip 1', 'drip 2', 'drip 3', `held ${60 * 1024 * 1024}`]);

    const run = (await server.api<RunView>('GET', `/v1/runs/${runId}`)).body;
    assert.equal(run.status, 'succeeded');
    assert.ok(run.cpuMs !== null && run.cpuMs >= 0 && run.cpuMs < 5000, `cpuMs ${run.cpuMs}`);
    assert.ok(run.peakRssBytes !== null && run.peakRssBytes > 60 * 1024 * 1024, `peakRssBytes ${run.peakRssBytes}`);
    const metrics = await server.api<{ peakRssBytes: number; samples: { at: string; rssBytes: number; cpuMs: number }[] }>('GET', `/v1/runs/${runId}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.body.peakRssBytes, run.peakRssBytes);
    // A 1.5 s run: at least one sample, with ISO times.
    assert.ok(metrics.body.samples.length >= 1, 'no samples');
    assert.match(metrics.body.samples[0]!.at, /^\d{4}-\d\d-\d\dT/);
  });

  it('a finished run replays its whole log and ends at once; Last-Event-ID resumes after a line', async () => {
    const started = await server.api<RunView>('POST', '/v1/tasks/drip/runs', {});
    await eventually(async () => (await server.api<RunView>('GET', `/v1/runs/${started.body.id}`)).body.status === 'succeeded', 10_000);
    const all = await follow(`/v1/runs/${started.body.id}/logs?follow=1`);
    assert.equal(all.filter((e) => e.event === 'message').length, 5);
    assert.equal(all.at(-1)!.event, 'end');
    const rest = await follow(`/v1/runs/${started.body.id}/logs?follow=1`, { 'last-event-id': '2' });
    assert.deepEqual(
      rest.filter((e) => e.event === 'message').map((e) => e.id),
      ['3', '4'],
    );
  });

  it('sundial run logs --follow prints the lines as they come and exits when the run ends', async () => {
    // Due in 2.5 s: the CLI (a fresh tsx process) is connected and waiting before the first line.
    const started = await server.api<RunView>('POST', '/v1/tasks/drip/schedule', { at: new Date(Date.now() + 2500).toISOString() });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', 'logs', started.body.id, '--follow'], {
      env: { ...process.env, SUNDIAL_URL: server.url, SUNDIAL_TOKEN: ADMIN_TOKEN },
    });
    const seen: { at: number; line: string }[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => seen.push({ at: Date.now(), line }));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, stderr);
    assert.deepEqual(
      seen.map((s) => s.line.replace(/^\S+ \S+ /, '')),
      ['INFO  drip 0', 'INFO  drip 1', 'INFO  drip 2', 'WARN  drip 3', `INFO  held ${60 * 1024 * 1024}`],
    );
    // Printed while the run went on, not all at the end.
    assert.ok(seen[3]!.at - seen[0]!.at >= 700, `lines printed ${seen[3]!.at - seen[0]!.at} ms apart`);
  });

  it('following a run that does not exist is a 404 problem', async () => {
    const res = await fetch(`${server.url}/v1/runs/01890000-0000-7000-8000-000000000000/logs?follow=1`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'run_not_found');
  });
});
