// The API over a real SQLite store in a temp dir, a manual clock, a recording scheduler and a
// bootstrap admin key; `key()` mints keys of any role for auth tests.
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, type AppDeps } from '../../src/api/build-app.js';
import { ensureBootstrapAdmin } from '../../src/auth/bootstrap.js';
import { generateKekText, Keyring, parseKek, type Kek } from '../../src/core/secrets/envelope.js';
import { resolveConfig } from '../../src/config/config.js';
import { ManualClock } from '../../src/core/clock.js';
import { EventBus } from '../../src/core/events.js';
import { newId } from '../../src/core/ids.js';
import { createOccurrencePlanner } from '../../src/core/planner.js';
import { SundialError } from '../../src/core/errors.js';
import type { NodeState, Role, Run } from '../../src/core/types.js';
import type { Store } from '../../src/store/store.js';
import { FakeScheduler } from './fake-scheduler.js';
import { openTempStore } from './temp-store.js';

/** The admin token every harness starts with. */
export const ADMIN_TOKEN = 'sdl_test-admin-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';

export interface ApiHarness {
  app: FastifyInstance;
  store: Store;
  clock: ManualClock;
  bus: EventBus;
  scheduler: FakeScheduler;
  ready: { value: boolean };
  /** Sends a request with `token` (default: the admin key). */
  call(opts: InjectOptions & { token?: string | null }): Promise<LightMyRequestResponse>;
  /** Mints a key through the API and returns its secret. */
  key(role: Role, namespaces?: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Starts the API on a fresh store. */
export async function startApi(overrides: Partial<AppDeps> = {}): Promise<ApiHarness> {
  const temp = await openTempStore('sundial-api-');
  const clock = new ManualClock('2026-03-02T10:00:00Z');
  const bus = new EventBus();
  const scheduler = new FakeScheduler();
  const ready = { value: true };
  const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node' }, cwd: temp.dir });
  await ensureBootstrapAdmin(temp.store, config.adminToken, clock);
  const node: NodeState = {
    id: 'test-node',
    host: 'localhost',
    pid: process.pid,
    version: '0.0.0-test',
    roles: ['api'],
    startedAt: clock.now(),
    heartbeatAt: clock.now(),
    runsInFlight: 0,
    status: 'up',
  };
  const self = (): NodeState => ({ ...node, heartbeatAt: clock.now() });
  const app = await buildApp({
    config,
    store: temp.store,
    clock,
    bus,
    scheduler,
    metricsRegistry: new Registry(),
    nodes: { self, list: async () => [self()] },
    unreadyReason: () => (ready.value ? null : new SundialError('not_ready', 'the server is starting or shutting down')),
    planner: { misfireThresholdMs: config.misfireThreshold, newId, random: () => 0.5 },
    logger: false,
    // As a single node on SQLite has (it generates its key file): secrets work unless a test says otherwise.
    secretsKeyring: new Keyring(parseKek(generateKekText()) as Kek),
    ...overrides,
  });
  await app.ready();
  const call: ApiHarness['call'] = ({ token = ADMIN_TOKEN, headers, ...opts }) =>
    app.inject({ ...opts, headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers } });
  return {
    app,
    store: temp.store,
    clock,
    bus,
    scheduler,
    ready,
    call,
    async key(role, namespaces) {
      const res = await call({ method: 'POST', url: '/v1/api-keys', payload: { name: `${role}-${newId()}`, role, ...(namespaces && { namespaces }) } });
      if (res.statusCode !== 201) throw new Error(`minting a ${role} key failed: ${res.statusCode} ${res.body}`);
      return (res.json() as { secret: string }).secret;
    },
    async close() {
      await app.close();
      await temp.cleanup();
    },
  };
}

/** A minimal valid http task body. */
export function httpTask(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, kind: 'http', spec: { url: 'https://example.com/hook', method: 'POST' }, ...extra };
}

/**
 * Moves the given runs to `running` the way the dispatcher does (claim, then mark running), and
 * gives every other run it claimed back. Returns the claims of `runIds`.
 */
export async function startRuns(h: ApiHarness, runIds: string[]): Promise<Run[]> {
  const now = h.clock.now();
  const claimed = await h.store.claimDueRuns({
    node: 'test-node',
    now,
    horizon: now,
    limit: 1000,
    leaseUntil: now + 30_000,
    plan: createOccurrencePlanner({ misfireThresholdMs: 5000, newId, random: () => 0.5 }),
  });
  const wanted = claimed.filter((c) => runIds.includes(c.run.id)).map((c) => c.run);
  const others = claimed.filter((c) => !runIds.includes(c.run.id) && c.run.status === 'queued');
  await h.store.markRunning(wanted.map((r) => ({ runId: r.id, leaseEpoch: r.leaseEpoch, startedAt: now })));
  await h.store.releaseRuns('test-node', others.map((c) => ({ runId: c.run.id, leaseEpoch: c.run.leaseEpoch })), now);
  if (wanted.length !== runIds.length) throw new Error(`only ${wanted.length} of ${runIds.length} runs were due`);
  return wanted;
}
