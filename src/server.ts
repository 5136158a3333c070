// The composition root: the one place that wires config, store, executor, scheduler, metrics
// and the API together. Everything below it receives its dependencies explicitly.

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { buildApp } from './api/build-app.js';
import { ensureBootstrapAdmin } from './auth/bootstrap.js';
import type { Config } from './config/config.js';
import { loadSecretsKeyring } from './config/secrets-key.js';
import { createSecretSource } from './services/secret-service.js';
import { rewrapSecrets } from './services/secret-rewrap.js';
import { OffsetClock, systemClock, type Clock } from './core/clock.js';
import { SundialError } from './core/errors.js';
import { EventBus } from './core/events.js';
import { newId } from './core/ids.js';
import type { PlannerOptions } from './core/planner.js';
import { createExecutor } from './executor/create-executor.js';
import { validateHttpSpec } from './executor/http-spec.js';
import { checkScriptSyntax, loadScriptSyntaxChecker } from './executor/script/script-syntax.js';
import type { SandboxPreference } from './executor/shell/shell-sandbox.js';
import { createModuleFileChecker, throwIfBadModuleFile } from './executor/module/module-file.js';
import { createLogger, logBusEvents } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { HistoryRetention, retentionOptions } from './scheduler/retention.js';
import { Scheduler } from './scheduler/scheduler.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import { RunOutputRecorder } from './scheduler/run-output.js';
import type { NewAudit, Store } from './store/store.js';
import { AuditMaintenance } from './scheduler/audit-maintenance.js';
import { loadAuditKey, type AuditKey } from './config/audit-key.js';
import { configForAudit } from './config/config-snapshot.js';
import { PROJECT_ROOT, VERSION } from './version.js';
import { ApiKeyAuthenticator } from './auth/authenticator.js';
import { namespaceCap, namespaceScriptMemory, parseQuotas } from './core/quotas.js';
import { ClusterControl } from './cluster/cluster-control.js';
import { DatabaseHealth } from './cluster/database-health.js';
import { NodeRegistry } from './cluster/node-registry.js';
import { SignalBridge } from './cluster/signal-bridge.js';

/**
 * How long a node trusts a cached API key in a cluster: a revocation reaches the other nodes as a
 * signal at once, and this bounds it when a signal is lost.
 */
const SHARED_AUTH_TTL_MS = 1000;

/** Skews beyond this are worth an operator's attention (NTP broken or missing). */
const SKEW_WARN_MS = 1000;

/** Logs what the cluster machinery reports, with the advice an operator needs. */
function logClusterEvents(bus: EventBus, log: ReturnType<typeof createLogger>): void {
  let warnedSkew = false;
  bus.on('cluster:skew', (e) => {
    const large = Math.abs(e.skewMs) > SKEW_WARN_MS;
    if (large && !warnedSkew) log.warn({ skewMs: Math.round(e.skewMs), rttMs: e.rttMs }, "this node's clock differs from the database's; Sundial follows the database's clock, but fix NTP");
    warnedSkew = large;
  });
  bus.on('database:state', (e) => {
    if (e.reachable) log.info('the database answers again');
    else log.error({ error: e.error }, 'the database cannot be reached: /readyz and writes answer 503 until it is back');
  });
  bus.on('scheduler:fenced', (e) => log.error(e, 'could not renew leases in time: stopped the runs of this node (others take them over)'));
  bus.on('scheduler:unfenced', () => log.info('leases renewed again: runs stopped by the fence were handed back'));
}

export interface StartOptions {
  /** Called once with a generated bootstrap admin key (first start without SUNDIAL_ADMIN_TOKEN). */
  printBootstrapKey?: (key: string) => void;
  clock?: Clock;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  store: Store;
  scheduler: Scheduler;
  bus: EventBus;
  /** Drains (SIGTERM semantics) and closes everything. */
  close(): Promise<void>;
}

/**
 * The InfluxDB sink (SUNDIAL_INFLUX_URL), subscribed to the bus. Loaded only when configured. The
 * operator's own InfluxDB is not an `http` task's target: the outbound guard does not apply.
 */
async function startInfluxSink(
  config: Config,
  d: { bus: EventBus; clock: Clock; registry: Registry; log: ReturnType<typeof createLogger>; store: Store; load: () => { held: number; running: number } },
): Promise<{ stop(boundMs: number): Promise<void> }> {
  const { InfluxSink } = await import('./observability/influx/influx-sink.js');
  const sink = new InfluxSink(
    {
      target: { url: config.influxUrl, database: config.influxDatabase, bucket: config.influxBucket, org: config.influxOrg, token: config.influxToken },
      batchSize: config.influxBatchSize,
      flushIntervalMs: config.influxFlushInterval,
      bufferSize: config.influxBufferSize,
      timeoutMs: config.influxTimeout,
      nodeIntervalMs: config.influxNodeInterval,
      node: config.nodeId,
    },
    {
      bus: d.bus,
      clock: d.clock,
      registry: d.registry,
      log: d.log,
      lookupTask: (id) => d.store.getTask(id),
      load: d.load,
      backlog: async () => (await d.store.countRuns('*', d.clock.now())).backlog,
    },
  );
  sink.start();
  d.log.info({ origin: sink.endpoint.origin, api: sink.endpoint.api, path: sink.endpoint.path.replace(/\?.*/, '') }, 'writing measurements to InfluxDB');
  return sink;
}

/**
 * The `node.start` audit row: this node's version, id, host, roles, backend and effective
 * configuration with every secret removed (config/config-snapshot.ts).
 */
function nodeStartAudit(config: Config, at: number, backend: string): NewAudit {
  return {
    namespace: '*',
    at,
    actor: 'system',
    ip: null,
    action: 'node.start',
    targetType: 'node',
    targetId: config.nodeId,
    detail: { version: VERSION, nodeId: config.nodeId, host: hostname(), roles: config.roles, backend, config: configForAudit(config) },
  };
}

/** Opens the store for the configured backend. */
async function openStore(config: Config): Promise<Store> {
  if (config.databaseUrl !== '') {
    // Loaded only when used: a single node on SQLite starts without the PostgreSQL driver.
    const { openPostgresStore } = await import('./store/postgres/pg-store.js');
    return openPostgresStore({ url: config.databaseUrl, poolSize: config.databasePoolSize });
  }
  mkdirSync(config.dataDir, { recursive: true });
  return openSqliteStore({ dir: config.dataDir });
}

/** Starts a Sundial node: store, executor, scheduler and API on one port, as its roles say. */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const log = createLogger(config.logLevel);
  const bus = new EventBus();
  logBusEvents(bus, log);
  const roles = new Set(config.roles);

  // Before the store opens: a malformed or unreadable key stops the start with nothing opened.
  if (config.databaseUrl === '') mkdirSync(config.dataDir, { recursive: true });
  const secretsKey = loadSecretsKeyring(config, { shared: config.databaseUrl !== '' });
  if (secretsKey.generatedFile !== null) {
    log.warn(
      { file: secretsKey.generatedFile },
      'no SUNDIAL_SECRETS_KEY set: generated a key-encryption key for secrets in this file (mode 0600); back it up apart from the database, which is no use without it',
    );
  }
  if (secretsKey.problem !== null) log.warn(secretsKey.problem);
  const store = await openStore(config);
  let auditKey: AuditKey;
  try {
    await store.migrate();
    if (secretsKey.keyring !== null) {
      const rewrap = await rewrapSecrets(store, secretsKey.keyring);
      if (rewrap.rewrapped > 0) log.info({ rewrapped: rewrap.rewrapped, kek: secretsKey.keyring.current.id }, 'rewrapped secrets under the current key-encryption key');
      if (rewrap.unreadable.length > 0) {
        log.error(
          { secrets: rewrap.unreadable.slice(0, 20), count: rewrap.unreadable.length },
          'secrets wrapped under a key-encryption key this node does not hold: set it as SUNDIAL_SECRETS_KEY_PREVIOUS; until then their runs fail secret_unreadable',
        );
      }
    }
    // After the store: on SQLite the generated key goes into the data directory it created.
    auditKey = loadAuditKey(config);
  } catch (err) {
    await store.close();
    throw err;
  }
  if (auditKey.key === null) log.warn('no audit key (SUNDIAL_AUDIT_KEY): the audit chain is verified but its head is not signed; set one on every node');
  else log.info({ source: auditKey.source, ...(auditKey.path !== undefined && { path: auditKey.path }) }, 'audit checkpoints are signed with the audit key');
  const shared = store.capabilities.shared;
  // On a shared database every node runs on the database's clock (skew measured at heartbeat).
  const offsetClock = shared ? new OffsetClock(opts.clock ?? systemClock) : undefined;
  const clock = offsetClock ?? opts.clock ?? systemClock;
  const bootstrapKey = await ensureBootstrapAdmin(store, config.adminToken, clock);
  if (bootstrapKey) opts.printBootstrapKey?.(bootstrapKey);

  const planner: PlannerOptions = { misfireThresholdMs: config.misfireThreshold, newId, random: Math.random };
  // Validated with the configuration; parsed once here for the executor and the scheduler.
  const quotas = parseQuotas(config.quotas).quotas;
  const output = new RunOutputRecorder({ store, bus, onError: (err) => log.error({ err }, 'writing live run logs failed; they are kept with the run\'s completion') });
  const executor = createExecutor({
    tasksDir: config.tasksDir,
    workers: config.workers,
    logMaxBytes: config.logMaxBytes,
    resultMaxBytes: config.resultMaxBytes,
    httpBodyExcerptBytes: config.httpBodyExcerptBytes,
    outboundAllow: config.outboundAllow,
    moduleEnv: config.moduleEnv,
    clock,
    bus,
    output,
    secrets: createSecretSource(store, secretsKey.keyring),
    script: {
      workers: config.scriptWorkers,
      defaultMemoryBytes: config.scriptMemory,
      memoryMaxBytes: config.scriptMemoryMax,
      namespaceMemoryBytes: namespaceScriptMemory(quotas),
    },
    shell: {
      enabled: config.shellTasks,
      dataDir: config.dataDir,
      network: config.shellNetwork,
      sandbox: config.shellSandbox as SandboxPreference,
      maxLimits: { processes: config.shellMaxProcesses, fileSizeBytes: config.shellMaxFileSize },
      onWarning: (message, refused) => (refused === true ? log.error(message) : log.warn(message)),
    },
  });
  const checkModuleFile = createModuleFileChecker(config.tasksDir);

  const authenticator = new ApiKeyAuthenticator({ store, clock, ...(shared && { ttlMs: SHARED_AUTH_TTL_MS }) });
  let scheduler: Scheduler | null = null;
  const bridge =
    store.signals === null
      ? null
      : new SignalBridge({
          signals: store.signals,
          bus,
          clock,
          onCancel: (runId) => void scheduler?.dispatcher.cancelRunning(runId),
          onWake: (dueAt) => scheduler?.dispatcher.wake(dueAt),
          onKeyRevoked: (id) => {
            authenticator.invalidate();
            // The key's open streams on this node end too (api/stream-registry.ts).
            bus.emit('cluster:api-key:revoked', { id, at: clock.now() });
          },
          onError: (err) => log.warn({ err }, 'a cluster signal failed (a hint only; the database stays the truth)'),
        });
  scheduler = new Scheduler(
    {
      node: config.nodeId,
      lookaheadMs: config.lookahead,
      pollIntervalMs: config.pollInterval,
      claimBatch: config.claimBatch,
      leaseMs: config.lease,
      maxConcurrentRuns: config.maxConcurrentRuns,
      namespaceCap: namespaceCap(quotas),
      executor: roles.has('executor'),
      // A single node has no one else to take over its runs at start.
      sweeper: roles.has('scheduler') || !shared,
    },
    { store, executor, clock, bus, planner, ...(bridge !== null && { peers: bridge }) },
  );
  const dispatcher = scheduler.dispatcher;
  const registry = new NodeRegistry(
    {
      info: { id: config.nodeId, host: hostname(), pid: process.pid, version: VERSION, roles: config.roles, startedAt: clock.now(), instanceId: randomUUID() },
      leaseMs: config.lease,
    },
    {
      store,
      clock,
      bus,
      runsInFlight: () => dispatcher.load.held + dispatcher.load.running,
      ...(offsetClock !== undefined && { offsetClock }),
    },
  );
  const health = shared ? new DatabaseHealth({ store, clock, bus }) : null;
  // History is pruned where dead nodes are swept for: on every node by default, and on a single
  // node always (it has no one else to do it).
  const retention = roles.has('scheduler') || !shared ? new HistoryRetention(retentionOptions(config), { store, clock, bus }) : null;
  // The audit chain's head is signed, and old audit rows pruned, where history is pruned.
  const auditMaintenance =
    roles.has('scheduler') || !shared
      ? new AuditMaintenance(
          { key: auditKey.key, node: config.nodeId, retentionMs: config.auditRetention, signIntervalMs: config.auditSignInterval },
          { chain: store.auditChain, clock, bus },
        )
      : null;
  logClusterEvents(bus, log);
  const metricsRegistry = createMetrics({ bus, store, clock, load: () => dispatcher.load });
  // Subscribed before the scheduler starts, so the transitions of the recovery are written too.
  const influx = config.influxUrl === '' ? null : await startInfluxSink(config, { bus, clock, registry: metricsRegistry, log, store, load: () => dispatcher.load });
  let ready = false;
  let address = '';
  // The outbox is delivered where dead nodes are swept for (and on a single node always); it
  // starts once the server listens, so links to runs can name its address.
  const delivers = roles.has('scheduler') || !shared;
  let deliverer: { stop(): Promise<void> } | null = null;
  let alertEvaluator: { stop(): Promise<void> } | null = null;
  const app = await buildApp({
    config,
    store,
    clock,
    bus,
    scheduler: new ClusterControl(roles.has('executor') ? dispatcher : null, bridge),
    metricsRegistry,
    nodes: registry,
    unreadyReason: () => {
      if (!ready) return new SundialError('not_ready', 'the server is starting or shutting down');
      if (health !== null && !health.reachable) return new SundialError('database_unavailable', 'this node cannot reach its database');
      return null;
    },
    authenticator,
    auditKey: auditKey.key,
    planner,
    logger: log,
    checkModuleFile: (file: string) => void throwIfBadModuleFile(checkModuleFile(file)),
    checkHttpSpec: validateHttpSpec,
    checkScriptSyntax,
    loadScriptSyntaxChecker,
    runOutput: output,
    secretsKeyring: secretsKey.keyring,
    secretsKeyProblem: secretsKey.problem,
    uiDir: roles.has('api') ? join(PROJECT_ROOT, 'dist', 'ui') : undefined,
    apiRoutes: roles.has('api'),
  });

  /** Undoes a start that failed half-way, so the process can exit with nothing claimed or running. */
  const abort = async (err: unknown): Promise<never> => {
    await retention?.stop();
    await auditMaintenance?.stop();
    bridge?.stop();
    health?.stop();
    await scheduler.stop(0);
    await registry.stop();
    await app.close();
    await executor.close(0);
    output.close();
    await influx?.stop(0);
    await store.close();
    throw err;
  };
  try {
    // Registration first: a second live node with this id must stop before it claims anything.
    await registry.start();
    // Once the id is known to be this node's: what started, and with which settings (no secrets).
    await store.appendAudit(nodeStartAudit(config, clock.now(), store.backend));
    await auditMaintenance?.start();
    bridge?.start();
    health?.start();
    const recovered = await scheduler.start();
    if (recovered.released + recovered.lost > 0) log.info(recovered, 'recovered runs left by a previous process');
    retention?.start();
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // The id is taken, the port is taken (or not ours to bind), the database went away.
    await abort(err);
  }
  ready = true;
  if (delivers) {
    const { startDeliverer } = await import('./notify/start.js');
    deliverer = startDeliverer(config, {
      store,
      clock,
      registry: metricsRegistry,
      publicUrl: () => config.publicUrl || address,
      onError: (err) => log.error({ err }, 'the notification deliverer failed a round; it tries again at its next poll'),
    });
    // Alerts are evaluated where notifications are delivered; one node at a time holds its lease.
    const { startAlertEvaluator } = await import('./alerts/start.js');
    alertEvaluator = startAlertEvaluator(config, {
      store,
      clock,
      registry: metricsRegistry,
      holder: `${config.nodeId}/${randomUUID()}`,
      onError: (err, rule) => log.error({ err, rule: rule?.name, namespace: rule?.namespace }, 'alert evaluation failed; it tries again at its next round'),
    });
  }
  // The module workers and the http client start once the server answers (see createExecutor).
  if (config.roles.includes('executor')) for (const kind of ['module', 'http'] as const) executor.prepare?.(kind);
  log.info({ address, dataDir: config.dataDir, node: config.nodeId, roles: config.roles, backend: store.backend }, 'sundial is listening');

  let closing: Promise<void> | null = null;
  return {
    url: address,
    app,
    store,
    scheduler,
    bus,
    close() {
      closing ??= (async () => {
        ready = false;
        log.info({ graceMs: config.drainGrace }, 'draining');
        await retention?.stop();
        await auditMaintenance?.stop();
        await scheduler.stop(config.drainGrace);
        // Sends in flight finish (each within notifyTimeout); the rest stay in the outbox.
        await alertEvaluator?.stop();
        await deliverer?.stop();
        bridge?.stop();
        health?.stop();
        await registry.stop();
        await app.close();
        await executor.close(0);
        // Lines and samples of runs cut off by the drain are kept with what else they wrote.
        await output.flush();
        output.close();
        // The last transitions, samples and lines, within the sink's time limit.
        await influx?.stop(config.influxTimeout);
        await store.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
