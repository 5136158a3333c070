// The composition root: the one place that wires config, store, executor, scheduler, metrics
// and the API together. Everything below it receives its dependencies explicitly.

import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/build-app.js';
import { ensureBootstrapAdmin } from './auth/bootstrap.js';
import type { Config } from './config/config.js';
import { systemClock, type Clock } from './core/clock.js';
import { SundialError } from './core/errors.js';
import { EventBus } from './core/events.js';
import { newId } from './core/ids.js';
import type { PlannerOptions } from './core/planner.js';
import { createExecutor } from './executor/create-executor.js';
import { validateHttpSpec } from './executor/http-spec.js';
import { checkScriptSyntax, loadScriptSyntaxChecker } from './executor/script/script-syntax.js';
import type { SandboxPreference } from './executor/shell/shell-sandbox.js';
import { createModuleFileChecker, throwIfBadModuleFile } from './executor/module-file.js';
import { createLogger, logBusEvents } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { Scheduler } from './scheduler/scheduler.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import { RunOutputRecorder } from './scheduler/run-output.js';
import type { Store } from './store/store.js';
import { PROJECT_ROOT, VERSION } from './version.js';

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

/** Opens the store for the configured backend. */
async function openStore(config: Config): Promise<Store> {
  if (config.databaseUrl !== '') {
    throw new SundialError('validation_failed', 'PostgreSQL (cluster mode) is not available in this release; unset SUNDIAL_DATABASE_URL to use SQLite');
  }
  mkdirSync(config.dataDir, { recursive: true });
  return openSqliteStore({ dir: config.dataDir });
}

/** Starts a Sundial node: store, executor, scheduler and API on one port. */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const log = createLogger(config.logLevel);
  const bus = new EventBus();
  logBusEvents(bus, log);

  const store = await openStore(config);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  const bootstrapKey = await ensureBootstrapAdmin(store, config.adminToken, clock);
  if (bootstrapKey) opts.printBootstrapKey?.(bootstrapKey);

  const planner: PlannerOptions = { misfireThresholdMs: config.misfireThreshold, newId, random: Math.random };
  const output = new RunOutputRecorder({ store, bus, onError: (err) => log.error({ err }, 'writing live run logs failed; they are kept with the run\'s completion') });
  const executor = createExecutor({
    tasksDir: config.tasksDir,
    workers: config.workers,
    logMaxBytes: config.logMaxBytes,
    resultMaxBytes: config.resultMaxBytes,
    httpBodyExcerptBytes: config.httpBodyExcerptBytes,
    outboundAllow: config.outboundAllow,
    clock,
    bus,
    output,
    script: { workers: config.scriptWorkers, defaultMemoryBytes: config.scriptMemory, memoryMaxBytes: config.scriptMemoryMax },
    shell: {
      enabled: config.shellTasks,
      dataDir: config.dataDir,
      network: config.shellNetwork,
      sandbox: config.shellSandbox as SandboxPreference,
      maxLimits: { processes: config.shellMaxProcesses, fileSizeBytes: config.shellMaxFileSize },
      onWarning: (message) => log.warn(message),
    },
  });
  const checkModuleFile = createModuleFileChecker(config.tasksDir);
  const startedAt = clock.now();
  const nodeInfo = {
    id: config.nodeId,
    host: hostname(),
    pid: process.pid,
    version: VERSION,
    roles: ['api', 'scheduler', 'executor'],
    startedAt,
    heartbeatAt: startedAt,
  };
  const scheduler = new Scheduler(
    {
      node: config.nodeId,
      lookaheadMs: config.lookahead,
      pollIntervalMs: config.pollInterval,
      claimBatch: config.claimBatch,
      leaseMs: config.lease,
      maxConcurrentRuns: config.maxConcurrentRuns,
      nodeInfo,
    },
    { store, executor, clock, bus, planner },
  );
  const metricsRegistry = createMetrics({ bus, store, clock, load: () => scheduler.dispatcher.load });
  let ready = false;
  const app = await buildApp({
    config,
    store,
    clock,
    bus,
    scheduler: scheduler.dispatcher,
    metricsRegistry,
    nodeInfo: () => ({ ...nodeInfo, heartbeatAt: clock.now() }),
    isReady: () => ready,
    planner,
    logger: log,
    checkModuleFile: (file: string) => void throwIfBadModuleFile(checkModuleFile(file)),
    checkHttpSpec: validateHttpSpec,
    checkScriptSyntax,
    loadScriptSyntaxChecker,
    runOutput: output,
    uiDir: join(PROJECT_ROOT, 'dist', 'ui'),
  });

  const recovered = await scheduler.start();
  if (recovered.released + recovered.lost > 0) log.info(recovered, 'recovered runs left by a previous process');
  let address: string;
  try {
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // The port is taken (or not ours to bind): undo the start so the process can exit, with
    // nothing claimed left behind and no worker process running on.
    await scheduler.stop(0);
    await app.close();
    await executor.close(0);
    output.close();
    await store.close();
    throw err;
  }
  ready = true;
  log.info({ address, dataDir: config.dataDir, node: config.nodeId }, 'sundial is listening');

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
        await scheduler.stop(config.drainGrace);
        await app.close();
        await executor.close(0);
        // Lines and samples of runs cut off by the drain are kept with what else they wrote.
        await output.flush();
        output.close();
        await store.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
