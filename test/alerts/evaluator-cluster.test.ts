// Two nodes' evaluators on one PostgreSQL database: rounds run side by side, yet one node holds
// the lease and evaluates, so a condition fires exactly one alert with one notification per
// channel; when the holder stops, the other takes over at once and resolves it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AlertEvaluator } from '../../src/alerts/evaluator.js';
import { ManualClock } from '../../src/core/clock.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/pg-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { finishRun, rule } from '../store/alert-conformance.js';
import { T0, audit, newTask } from '../store/store-fixtures.js';

describe('alert evaluators on a shared PostgreSQL database', () => {
  let db: TestDatabase;
  let a: PostgresStore;
  let b: PostgresStore;
  before(async () => {
    db = await createTestDatabase('sundial_pgeval');
    a = await openPostgresStore({ url: db.url, poolSize: 3 });
    await a.migrate();
    b = await openPostgresStore({ url: db.url, poolSize: 3 });
    await b.migrate();
  });
  after(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it('fires once across nodes and is resolved by the node that takes over', async () => {
    const clock = new ManualClock(T0);
    const errors: Error[] = [];
    const evaluator = (store: PostgresStore, holder: string) =>
      new AlertEvaluator({ intervalMs: 15_000, holder, nodeLeaseMs: 30_000 }, { store, clock, drops: null, onError: (e) => errors.push(e) });
    const ea = evaluator(a, 'node-a/1');
    const eb = evaluator(b, 'node-b/1');
    const input = newTask({ name: 'nightly' });
    const task = await a.createTask(input, null, audit('task.create', input.id));
    const r = await a.alerts.createRule(rule({ params: { task: 'nightly', n: 2 }, channels: ['ops', 'pager'] }), audit('alert_rule.create', 'r'));
    await finishRun(a, task, T0 + 1000, 'failed');
    await finishRun(a, task, T0 + 2000, 'failed');

    for (let round = 0; round < 5; round++) {
      clock.set(T0 + 3000 + round * 15_000);
      const held = await Promise.all([ea.tick(), eb.tick()]);
      assert.equal(held.filter(Boolean).length, 1, `round ${round}: exactly one node evaluates`);
    }
    const alerts = (await a.alerts.listAlerts({ namespaces: '*', ruleId: r.id, limit: 10 })).items;
    assert.deepEqual(alerts.map((x) => x.status), ['firing']);
    const sent = async (channel: string) => (await b.notifications.listNotifications('default', channel, 10)).items.map((n) => n.event);
    assert.deepEqual(await sent('ops'), ['alert.firing']);
    assert.deepEqual(await sent('pager'), ['alert.firing']);

    // Whichever node held it stops (releasing the lease); the other resolves on its next round.
    const holderIsA = await a.alerts.tryLease('alert-evaluator', 'node-a/1', clock.now(), clock.now() + 45_000);
    await (holderIsA ? ea : eb).stop();
    await finishRun(a, task, clock.now() + 1000, 'succeeded');
    clock.advance(2000);
    assert.equal(await (holderIsA ? eb : ea).tick(), true, 'taken over at once after a release');
    assert.equal((await a.alerts.getAlert(alerts[0]!.id))?.status, 'resolved');
    assert.deepEqual(await sent('ops'), ['alert.resolved', 'alert.firing']);
    assert.deepEqual(errors, []);
  });
});
