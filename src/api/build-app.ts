// The HTTP API as a Fastify instance that does not listen: the composition root calls
// `listen`, tests call `inject`. Every route has TypeBox request and response schemas, which
// are compiled once at start-up (validators by TypeBox, serializers by fast-json-stringify) and
// feed the OpenAPI document at /openapi.json and the browsable one at /docs.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Clock } from '../core/clock.js';
import { SundialError, type FieldError } from '../core/errors.js';
import type { EventBus } from '../core/events.js';
import type { PlannerOptions } from '../core/planner.js';
import type { SchedulerControl } from '../scheduler/scheduler-control.js';
import type { Store } from '../store/store.js';
import { ApiKeyAuthenticator } from '../auth/authenticator.js';
import { createServices } from '../services/index.js';
import { installAuth } from './auth-hook.js';
import { FailureAudit } from '../auth/failure-audit.js';
import { installRateLimits } from './rate-limits.js';
import { EventStreamHub } from './event-stream.js';
import { StreamRegistry } from './stream-registry.js';
import { installJsonBodyParser } from './json-body.js';
import { httpsOptions, installHsts } from './tls.js';
import { DOCS_PREFIX, installDocsHeaders } from './page-headers.js';
import { DEFAULT_SERVER_TIMEOUTS, serverTimeoutOptions, type ServerTimeouts } from './server-timeouts.js';
import { frameworkErrorProblem, installProblemHandlers, type NotFoundFallback } from './problem.js';
import { adminRoutes } from './routes/admin.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { channelRoutes } from './routes/channels.js';
import { alertRoutes } from './routes/alerts.js';
import { secretRoutes } from './routes/secrets.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { runRoutes } from './routes/runs.js';
import { scheduleRoutes } from './routes/schedules.js';
import { taskRoutes } from './routes/tasks.js';
import { installUi } from './ui-static.js';
import { LazySchemas } from './lazy-schemas.js';
import { strictIntegers } from './strict-integers.js';
import type { LiveLogSource } from './log-follow.js';
import type { ScriptSyntaxError } from '../services/task-spec.js';
import type { NodeDirectory } from '../services/admin-service.js';
import type { Keyring } from '../core/secrets/envelope.js';

/** Everything the API needs, handed in by the composition root (or a test). */
export interface AppDeps {
  config: Config;
  store: Store;
  clock: Clock;
  bus: EventBus;
  scheduler: SchedulerControl;
  metricsRegistry: Registry;
  /** This node and the cluster's others (GET /v1/cluster/nodes). */
  nodes: NodeDirectory;
  /**
   * Null once the node can serve; otherwise why not, for /readyz: `not_ready` (starting, draining)
   * or `database_unavailable`.
   */
  unreadyReason: () => SundialError | null;
  /** The key cache; built here from `authCache` when absent (the server passes its own to clear it on a signal). */
  authenticator?: ApiKeyAuthenticator;
  planner: PlannerOptions;
  /** Request logger; false or absent: no logging. */
  logger?: Logger | false;
  /** Throws a SundialError when a module file is not valid (the executor provides it). */
  checkModuleFile?: (file: string) => void;
  /** Field errors of an http spec, e.g. refused outbound addresses (the executor provides it). */
  checkHttpSpec?: (spec: unknown) => FieldError[];
  /** Parses a script without running it (the executor provides it); null when it parses. */
  checkScriptSyntax?: (code: string) => ScriptSyntaxError | null;
  /** Loads what checkScriptSyntax needs; awaited before the first script spec is checked. */
  loadScriptSyntaxChecker?: () => Promise<void>;
  /** The run output recorder, for the lines of running runs not yet stored (live log follow). */
  runOutput?: LiveLogSource;
  /** The secrets store's keys (config/secrets-key.ts); null or absent: secret writes answer 501 with `secretsKeyProblem`. */
  secretsKeyring?: Keyring | null;
  secretsKeyProblem?: string | null;
  /** Overrides of the auth cache's timings (tests). */
  authCache?: { ttlMs?: number; missTtlMs?: number };
  /** Folder of the built web dashboard (dist/ui); absent: no dashboard. */
  uiDir?: string;
  /** Serve the API, its docs and the dashboard (role `api`, the default); false: only health and metrics. */
  apiRoutes?: boolean;
  /** Heartbeat period of /v1/events (tests shorten it). */
  sseHeartbeatMs?: number;
  /** How often the keys of open streams are re-read (default 1 s; tests change it). */
  streamRecheckMs?: number;
  /** Overrides of how long clients may take (tests shorten them). */
  serverTimeouts?: Partial<ServerTimeouts>;
  /** The HMAC key of the audit chain's checkpoints (GET /v1/audit/verify checks them); absent: none. */
  auditKey?: string | null;
}

/** Builds the API (routes registered, not listening). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const schemas = new LazySchemas();
  const buildSerializer = SerializerSelector();
  const https = httpsOptions(deps.config);
  // One cast: Fastify's types cannot relate a pino Logger instance to its own logger type.
  const fastify = Fastify({
    ...(https !== undefined && { https }),
    schemaController: {
      compilersFactory: {
        buildSerializer: (externalSchemas: unknown, options: unknown) => schemas.wrap(buildSerializer(externalSchemas as never, options as never)),
      },
    },
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.config.bodyLimit,
    // X-Forwarded-For only from the configured proxies (config/trust-proxy.ts); none by default.
    trustProxy: deps.config.trustProxy.length > 0 ? [...deps.config.trustProxy] : false,
    ...serverTimeoutOptions({ ...DEFAULT_SERVER_TIMEOUTS, ...deps.serverTimeouts }),
    // Two log lines per request cost more than the request itself at thousands per second;
    // failures are logged by the error handler, traffic is counted in /metrics.
    logController: new LogController({ disableRequestLogging: true }),
    // Draining is answered below, as a problem document like every other error.
    return503OnClosing: false,
    // So are the router's own refusals (bad percent-encoding, over-long path segments).
    frameworkErrors: frameworkErrorProblem,
  }) as unknown as FastifyInstance;
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(schemas.wrap(strictIntegers(TypeBoxValidatorCompiler)));
  // What start-up left uncompiled is compiled once the server listens.
  fastify.addHook('onListen', (done) => {
    schemas.warm((err) => fastify.log.error({ err }, 'a route schema failed to compile'));
    done();
  });
  const notFound: { current: NotFoundFallback } = { current: () => false };
  installProblemHandlers(fastify, notFound);
  if (https !== undefined) installHsts(fastify);
  installJsonBodyParser(fastify);

  const version = deps.nodes.self().version;
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sundial API',
        version,
        description: 'Tasks run on time, never twice, never lost. Errors are application/problem+json (RFC 9457).',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer sdl_…`.' } } },
      security: [{ apiKey: [] }],
      tags: ['tasks', 'runs', 'schedules', 'events', 'notifications', 'alerts', 'secrets', 'admin', 'cluster', 'health'].map((name) => ({ name })),
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  installDocsHeaders(fastify);
  app.get('/openapi.json', { schema: { tags: ['health'], security: [], summary: 'This API as an OpenAPI 3.1 document' } }, async () => app.swagger());

  const authenticator = deps.authenticator ?? new ApiKeyAuthenticator({ store: deps.store, clock: deps.clock, ...deps.authCache });
  const services = createServices(deps, authenticator, deps.nodes);
  const hub = new EventStreamHub(deps.bus, deps.sseHeartbeatMs === undefined ? {} : { heartbeatMs: deps.sseHeartbeatMs });
  const streams = new StreamRegistry({
    bus: deps.bus,
    store: deps.store,
    now: () => deps.clock.now(),
    maxPerKey: deps.config.streamsPerKey,
    ...(deps.streamRecheckMs !== undefined && { recheckMs: deps.streamRecheckMs }),
    onError: (err) => fastify.log.warn({ err }, 're-checking the keys of open streams failed; trying again'),
  });
  const failures = new FailureAudit({
    store: deps.store,
    clock: deps.clock,
    onError: (err) => fastify.log.warn({ err }, 'writing an auth.failed audit row failed'),
  });
  const limits = await installRateLimits(fastify, { perKey: deps.config.rateLimit, perAddress: deps.config.rateLimitAnon });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    failures.close();
    streams.close();
    // Open event streams would keep the server from closing.
    hub.closeAll();
  });
  // Requests on kept-alive connections may still arrive while the server drains.
  app.addHook('onRequest', async () => {
    if (closing) throw new SundialError('shutting_down', 'this node is shutting down; retry on another node or after the restart');
  });

  await app.register(healthRoutes, { unreadyReason: deps.unreadyReason, metricsRegistry: deps.metricsRegistry });
  // A worker-only node answers its load balancer and Prometheus, nothing else.
  if (deps.apiRoutes === false) return fastify;
  notFound.current = await installUi(fastify, deps.uiDir);
  await app.register(
    async (v1) => {
      installAuth(v1, authenticator, { limits, failures });
      const opts = { services };
      await v1.register(taskRoutes, opts);
      await v1.register(runRoutes, { ...opts, bus: deps.bus, store: deps.store, live: deps.runOutput, heartbeatMs: deps.sseHeartbeatMs ?? 15_000, streams });
      await v1.register(scheduleRoutes, { ...opts, now: () => deps.clock.now() });
      await v1.register(eventRoutes, { ...opts, hub, streams });
      await v1.register(apiKeyRoutes, opts);
      await v1.register(channelRoutes, opts);
      await v1.register(alertRoutes, opts);
      await v1.register(secretRoutes, opts);
      await v1.register(adminRoutes, opts);
    },
    { prefix: '/v1' },
  );
  return fastify;
}
