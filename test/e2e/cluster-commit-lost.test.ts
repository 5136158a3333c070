// A connection to PostgreSQL that breaks while a COMMIT is on its way: the server committed,
// the node only saw the connection die, so it cannot know. The store reports that as
// `database_unavailable` and the transition writer writes the same starts again. Whatever the
// first COMMIT did, the run must still end: a start that was in fact committed must not be taken
// for a stale claim (the node would drop the run while its row says `running` on this node, and
// the node's own heartbeat would keep that lease alive for as long as it lives). A claim that
// started a due run and lost its COMMIT's answer must hand the run back unexecuted, not leave it
// to be recovered as `lost`.
//
// The break is made by a TCP proxy between the node and the database: it forwards the COMMIT
// that follows the start statement (or the plain start statement itself, which is sent without
// a transaction and commits on its own), then resets the node's side before the answer comes back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Cluster, eventually } from './cluster-harness.js';
import { startTcpProxy } from './tcp-proxy.js';

interface RunView {
  id: string;
  status: string;
  error: { code: string; message: string } | null;
  node: string | null;
  attempt: number;
  retryOf: string | null;
  reason: string | null;
}

const LEASE_MS = 3000;

// One line per execution, beside the module.
const COUNTING_MODULE = `
import { appendFileSync } from 'node:fs';
export default async function (ctx) {
  appendFileSync(new URL('./executions.log', import.meta.url), ctx.run.id + '\\n');
  return 'done';
}`;

describe('a COMMIT whose answer is lost (real process, real PostgreSQL)', () => {
  for (const c of [
    { kind: 'start in the claim (a manual run due now)', markers: ['sundial_claim_locked', 'COMMIT'], scheduled: false, overlap: 'skip' },
    { kind: 'plain start (an occurrence claimed ahead of its time, overlap allow_all)', markers: ['sundial_mark_running'], scheduled: true, overlap: 'allow_all' },
    { kind: 'guarded start (an occurrence, overlap skip)', markers: ['sundial_lock_starting_runs', 'COMMIT'], scheduled: true, overlap: 'skip' },
  ] as const) {
    it(`${c.kind}: the run still ends`, { timeout: 90_000 }, async () => {
      const cluster = await Cluster.create({ prefix: 'commitlost', modules: { 'noop.mjs': COUNTING_MODULE }, lease: '3s', env: { SUNDIAL_WORKERS: '1' } });
      const db = new URL(cluster.db.url);
      const proxy = await startTcpProxy({ host: db.hostname, port: Number(db.port || 5432) });
      try {
        const node = await cluster.start({ id: 'solo', env: { SUNDIAL_DATABASE_URL: proxy.rewrite(cluster.db.url) } });
        const broken = proxy.breakAfter([...c.markers], 20_000);
        let runId: string;
        if (c.scheduled) {
          const task = await node.api<{ id: string }>('POST', '/v1/tasks', {
            name: 'once',
            kind: 'module',
            spec: { file: 'noop.mjs' },
            // Far enough ahead to be claimed before it is due on a busy machine: a run already due
            // when claimed starts in the claim, and the plain or guarded start never goes out.
            schedule: { type: 'once', at: new Date(Date.now() + 4000).toISOString() },
            policies: { overlap: c.overlap },
          });
          assert.equal(task.status, 201);
          const runs = await eventually(async () => {
            const res = await node.api<{ items: RunView[] }>('GET', `/v1/runs?task=${task.body.id}`);
            return res.body.items.length > 0 ? res.body.items : null;
          });
          runId = runs[0]!.id;
        } else {
          const task = await node.api('POST', '/v1/tasks', { name: 'manual', kind: 'module', spec: { file: 'noop.mjs' } });
          assert.equal(task.status, 201);
          const run = await node.api<RunView>('POST', '/v1/tasks/manual/runs', {});
          assert.equal(run.status, 201);
          runId = run.body.id;
        }
        const { at } = await broken;
        // Three leases: a start the writer retried, or a takeover after a lapsed lease, has
        // long ended the run by then.
        const final = await eventually(
          async () => {
            const r = (await node.api<RunView>('GET', `/v1/runs/${runId}`)).body;
            return ['succeeded', 'failed', 'cancelled', 'skipped', 'timed_out'].includes(r.status) ? r : null;
          },
          3 * LEASE_MS,
          100,
        ).catch(async () => {
          const r = (await node.api<RunView>('GET', `/v1/runs/${runId}`)).body;
          throw new Error(
            `the run is still ${r.status} on ${r.node} ${Date.now() - at} ms after its start's COMMIT lost its answer ` +
              `(the node dropped it as a stale claim while its row says it runs there):\n${node.output.filter((l) => l.includes('"level":5')).join('\n')}`,
          );
        });
        const log = join(cluster.tasksDir, 'executions.log');
        const executions = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l === runId).length : 0;
        assert.ok(executions <= 1, `the run executed ${executions} times`);
        const errors = node.output.filter((l) => l.includes('"level":5') || l.includes('"level":4'));
        assert.equal(
          final.status,
          'succeeded',
          `the run ended ${final.status} (${final.reason ?? ''}) after ${executions} executions: its start was committed, the retried start was ` +
            `refused as stale, the node dropped the run, and it was recovered when its lease lapsed\n${JSON.stringify(final)}\n${errors.join('\n')}`,
        );
      } finally {
        await cluster.close();
        await proxy.close();
      }
    });
  }
});
