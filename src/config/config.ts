// Configuration is declared once here: every option with its environment name, type, default
// and a one-line doc. It is resolved once at start-up from defaults < config file < environment
// < flags, validated, and frozen. Nothing else in Sundial reads process.env.
// docs/configuration.md is checked against this table by test/config/config.test.ts.

import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseDuration } from '../core/duration.js';
import { SundialError, type FieldError } from '../core/errors.js';
import { validateOutboundAllow } from '../core/outbound-allow.js';
import { parseQuotas } from '../core/quotas.js';
import { adminTokenProblem } from './admin-token.js';
import { parseKek } from '../core/secrets/envelope.js';
import { auditKeyWeakness } from './audit-key.js';
import { validateTrustProxy } from './trust-proxy.js';

type Kind = 'string' | 'int' | 'bool' | 'list' | 'duration';

interface OptionSpec {
  env: string;
  kind: Kind;
  /** Default value (a function for defaults that depend on the machine). */
  def: unknown | (() => unknown);
  doc: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
}

/** What a node can do (`roles`). */
export const NODE_ROLES = ['api', 'executor', 'scheduler'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** Every option: key → spec. The key is also the config-file field and `--flag` (kebab-cased). */
export const OPTIONS = {
  port: { env: 'SUNDIAL_PORT', kind: 'int', def: 8080, min: 0, max: 65535, doc: 'TCP port of the API and web UI.' },
  host: { env: 'SUNDIAL_HOST', kind: 'string', def: '127.0.0.1', doc: 'Address to listen on; 0.0.0.0 to listen on every interface.' },
  dataDir: { env: 'SUNDIAL_DATA_DIR', kind: 'string', def: './data', doc: 'Directory for the SQLite database and anything else kept on disk.' },
  databaseUrl: { env: 'SUNDIAL_DATABASE_URL', kind: 'string', def: '', doc: 'Unset: SQLite in the data directory. `postgres://…`: cluster mode on PostgreSQL.' },
  adminToken: { env: 'SUNDIAL_ADMIN_TOKEN', kind: 'string', def: '', doc: 'Bootstrap admin API key. Unset on a first start: one is generated and printed once.' },
  tasksDir: { env: 'SUNDIAL_TASKS_DIR', kind: 'string', def: './tasks', doc: 'Directory that `module` task files must live under.' },
  outboundAllow: { env: 'SUNDIAL_OUTBOUND_ALLOW', kind: 'list', def: [], doc: 'Hosts, addresses or CIDR ranges that `http` tasks may reach although private or loopback.' },
  shellTasks: { env: 'SUNDIAL_SHELL_TASKS', kind: 'bool', def: false, doc: '`on` enables `shell` tasks (admins only).' },
  shellSandbox: {
    env: 'SUNDIAL_SHELL_SANDBOX',
    kind: 'string',
    def: 'auto',
    choices: ['auto', 'bwrap', 'none'],
    doc:
      '`auto` and `bwrap`: `shell` runs in bubblewrap, and fail (with an error at start-up) where it is missing or does not work; ' +
      '`none`: you accept shell commands running with no file system or network isolation (process limits only).',
  },
  shellMaxProcesses: { env: 'SUNDIAL_SHELL_MAX_PROCESSES', kind: 'int', def: 256, min: 1, max: 65_536, doc: 'Most processes a `shell` run may have at once (default per run: 64; `spec.limits.processes` up to this).' },
  shellMaxFileSize: {
    env: 'SUNDIAL_SHELL_MAX_FILE_SIZE',
    kind: 'int',
    def: 1_073_741_824,
    min: 0,
    max: 1_099_511_627_776,
    doc: 'Largest file (bytes) a `shell` run may write (default per run: 100 MiB; `spec.limits.fileSizeBytes` up to this).',
  },
  shellNetwork: { env: 'SUNDIAL_SHELL_NETWORK', kind: 'bool', def: false, doc: '`on` lets `shell` commands use the network (inside bubblewrap they have none by default).' },
  scriptWorkers: { env: 'SUNDIAL_SCRIPT_WORKERS', kind: 'int', def: 2, min: 1, max: 256, doc: 'Worker processes that run `script` tasks (started on the first script run).' },
  scriptMemory: { env: 'SUNDIAL_SCRIPT_MEMORY', kind: 'int', def: 134_217_728, min: 1_048_576, max: 4_294_967_296, doc: 'Interpreter memory (bytes) of a `script` run whose spec sets no `limits.memoryBytes`.' },
  quotas: { env: 'SUNDIAL_QUOTAS', kind: 'string', def: '', doc: 'Per-namespace quotas as JSON, `*` for the default: `{"*": {"tasks": 10000}, "team-a": {"runsPerMinute": 600, "concurrentRuns": 50, "scriptMemoryBytes": 67108864}}`; none by default.' },
  scriptMemoryMax: { env: 'SUNDIAL_SCRIPT_MEMORY_MAX', kind: 'int', def: 536_870_912, min: 1_048_576, max: 4_294_967_296, doc: 'Most interpreter memory (bytes) a `script` spec may ask for.' },
  nodeId: { env: 'SUNDIAL_NODE_ID', kind: 'string', def: '', doc: 'Name of this node in leases, runs and /v1/cluster/nodes (default: `<host name>:<port>`, or `<host name>:pid-<pid>` with port 0); unique among live nodes.' },
  roles: {
    env: 'SUNDIAL_ROLES',
    kind: 'list',
    def: ['api', 'scheduler', 'executor'],
    doc: 'What this node does: `api` (HTTP API and dashboard), `executor` (claims due runs and runs them), `scheduler` (takes over the runs of dead nodes, prunes history, delivers notifications).',
  },
  logLevel: { env: 'SUNDIAL_LOG_LEVEL', kind: 'string', def: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Server log level (pino).' },
  moduleEnv: {
    env: 'SUNDIAL_MODULE_ENV',
    kind: 'list',
    def: [],
    doc: 'Environment variables passed to `module` workers besides PATH, HOME, LANG, LC_ALL, TZ and TMPDIR (never SUNDIAL_* or NODE_OPTIONS).',
  },
  workers: { env: 'SUNDIAL_WORKERS', kind: 'int', def: () => Math.max(1, availableParallelism()), min: 1, max: 256, doc: 'Worker processes in the pool that runs `module` tasks.' },
  maxConcurrentRuns: { env: 'SUNDIAL_MAX_CONCURRENT_RUNS', kind: 'int', def: 1000, min: 1, max: 1_000_000, doc: 'Runs this node executes at once; due runs beyond it wait (and count as backlog).' },
  lookahead: { env: 'SUNDIAL_LOOKAHEAD', kind: 'duration', def: 1000, min: 50, max: 60_000, doc: 'How far ahead due runs are claimed into the in-memory timer heap.' },
  pollInterval: { env: 'SUNDIAL_POLL_INTERVAL', kind: 'duration', def: 250, min: 10, max: 60_000, doc: 'How often the dispatcher looks for due runs when nothing wakes it sooner.' },
  claimBatch: { env: 'SUNDIAL_CLAIM_BATCH', kind: 'int', def: 5000, min: 1, max: 100_000, doc: 'Most runs claimed in one statement.' },
  lease: {
    env: 'SUNDIAL_LEASE',
    kind: 'duration',
    def: 15_000,
    min: 1000,
    max: 3_600_000,
    doc: 'Lease on claimed runs, renewed by heartbeat (every third of it); a dead node\'s runs are taken over about one lease after its last renewal.',
  },
  databasePoolSize: { env: 'SUNDIAL_DATABASE_POOL_SIZE', kind: 'int', def: 10, min: 2, max: 1000, doc: 'PostgreSQL connections this node keeps at most (plus one for LISTEN).' },
  drainGrace: { env: 'SUNDIAL_DRAIN_GRACE', kind: 'duration', def: 10_000, min: 0, max: 3_600_000, doc: 'On SIGTERM, how long running runs may finish before they are released.' },
  misfireThreshold: { env: 'SUNDIAL_MISFIRE_THRESHOLD', kind: 'duration', def: 5000, min: 1000, max: 3_600_000, doc: 'A schedule occurrence claimed later than this after its due time counts as missed (misfire policy applies).' },
  logMaxBytes: { env: 'SUNDIAL_LOG_MAX_BYTES', kind: 'int', def: 1_048_576, min: 1024, max: 104_857_600, doc: 'Log output kept per run; the rest is dropped with a truncated marker.' },
  resultMaxBytes: { env: 'SUNDIAL_RESULT_MAX_BYTES', kind: 'int', def: 262_144, min: 1024, max: 16_777_216, doc: 'Largest result (JSON) kept per run.' },
  historyMaxAge: {
    env: 'SUNDIAL_HISTORY_MAX_AGE',
    kind: 'duration',
    def: 2_592_000_000,
    min: 0,
    max: 315_360_000_000,
    doc: 'Finished runs that finished longer ago than this are deleted with their logs and samples (default 30 days); `0` keeps them forever.',
  },
  historyMaxPerTask: {
    env: 'SUNDIAL_HISTORY_MAX_PER_TASK',
    kind: 'int',
    def: 10_000,
    min: 0,
    max: 100_000_000,
    doc: 'Finished runs kept per task, newest first; older ones are deleted with their logs and samples (a task may go 10% over between trims); `0`: no limit.',
  },
  httpBodyExcerptBytes: { env: 'SUNDIAL_HTTP_BODY_EXCERPT_BYTES', kind: 'int', def: 4096, min: 0, max: 1_048_576, doc: 'How much of an `http` task response body is stored with the run.' },
  streamsPerKey: {
    env: 'SUNDIAL_STREAMS_PER_KEY',
    kind: 'int',
    def: 20,
    min: 1,
    max: 100_000,
    doc: 'Server-sent event streams (/v1/events, log follow) one API key may hold open on a node at once; one more answers 429.',
  },
  rateLimit: {
    env: 'SUNDIAL_RATE_LIMIT',
    kind: 'int',
    def: 6000,
    min: 0,
    max: 100_000_000,
    doc: 'Requests a minute one API key may send to a node (429 `rate_limited` with Retry-After past it); 0: no limit.',
  },
  rateLimitAnon: {
    env: 'SUNDIAL_RATE_LIMIT_ANON',
    kind: 'int',
    def: 60,
    min: 0,
    max: 100_000_000,
    doc: 'Requests a minute one client address may send to a node without a valid API key (none, malformed, unknown, revoked, expired); past it even valid keys from that address get 429 until the minute ends; 0: no limit.',
  },
  trustProxy: {
    env: 'SUNDIAL_TRUST_PROXY',
    kind: 'list',
    def: [],
    doc: 'Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed (also `loopback`, `linklocal`, `uniquelocal`); default none: the client is the socket\'s peer.',
  },
  tlsCert: { env: 'SUNDIAL_TLS_CERT', kind: 'string', def: '', doc: 'PEM certificate (chain) file: with `tlsKey`, the server speaks HTTPS only (TLS 1.2 or later) and sends Strict-Transport-Security; unset: plain HTTP (put a TLS proxy in front).' },
  tlsKey: { env: 'SUNDIAL_TLS_KEY', kind: 'string', def: '', doc: 'PEM private key file of `tlsCert`.' },
  bodyLimit: { env: 'SUNDIAL_BODY_LIMIT', kind: 'int', def: 1_048_576, min: 1024, max: 104_857_600, doc: 'Largest API request body in bytes.' },
  influxUrl: { env: 'SUNDIAL_INFLUX_URL', kind: 'string', def: '', doc: 'InfluxDB to write runs, metrics and logs to (`http://127.0.0.1:8086`); unset: no InfluxDB sink. Exempt from the outbound guard.' },
  influxDatabase: { env: 'SUNDIAL_INFLUX_DATABASE', kind: 'string', def: 'sundial', doc: 'InfluxDB 1.x database (`/write?db=`), used when no bucket is set.' },
  influxBucket: { env: 'SUNDIAL_INFLUX_BUCKET', kind: 'string', def: '', doc: 'InfluxDB 2.x/3.x bucket: when set, points go to `/api/v2/write` instead of 1.x `/write`.' },
  influxOrg: { env: 'SUNDIAL_INFLUX_ORG', kind: 'string', def: '', doc: 'InfluxDB 2.x organization of the bucket.' },
  influxToken: { env: 'SUNDIAL_INFLUX_TOKEN', kind: 'string', def: '', doc: 'InfluxDB API token, sent as `Authorization: Token …`.' },
  influxBatchSize: { env: 'SUNDIAL_INFLUX_BATCH_SIZE', kind: 'int', def: 5000, min: 1, max: 100_000, doc: 'Points per InfluxDB write request at most.' },
  influxFlushInterval: { env: 'SUNDIAL_INFLUX_FLUSH_INTERVAL', kind: 'duration', def: 1000, min: 10, max: 60_000, doc: 'Longest a point waits before a write request goes out.' },
  influxBufferSize: {
    env: 'SUNDIAL_INFLUX_BUFFER_SIZE',
    kind: 'int',
    def: 100_000,
    min: 100,
    max: 10_000_000,
    doc: 'Points held while InfluxDB is slow or away (and at most 64 MiB); beyond it the oldest are dropped and counted in `sundial_sink_dropped_total`.',
  },
  influxTimeout: { env: 'SUNDIAL_INFLUX_TIMEOUT', kind: 'duration', def: 5000, min: 100, max: 300_000, doc: 'Time limit of one InfluxDB write request, and of the last flush at shutdown.' },
  influxNodeInterval: { env: 'SUNDIAL_INFLUX_NODE_INTERVAL', kind: 'duration', def: 10_000, min: 1000, max: 3_600_000, doc: "How often this node's figures (lateness, backlog, runs/s) are written as a `sundial_node` point." },
  publicUrl: {
    env: 'SUNDIAL_PUBLIC_URL',
    kind: 'string',
    def: '',
    doc: 'Where people reach this server (`https://sundial.example.com`), for links to runs in notifications; unset: the address it listens on.',
  },
  smtpUrl: { env: 'SUNDIAL_SMTP_URL', kind: 'string', def: '', doc: 'SMTP server of `email` channels (`smtp://host:587`, `smtps://user:pass@host`); unset: no e-mail channels. Exempt from the outbound guard.' },
  smtpFrom: { env: 'SUNDIAL_SMTP_FROM', kind: 'string', def: 'sundial@localhost', doc: 'Sender address of notification e-mails.' },
  notifyPollInterval: { env: 'SUNDIAL_NOTIFY_POLL_INTERVAL', kind: 'duration', def: 1000, min: 10, max: 60_000, doc: 'How often a `scheduler` node looks for notifications due for delivery.' },
  notifyRetryInitial: { env: 'SUNDIAL_NOTIFY_RETRY_INITIAL', kind: 'duration', def: 5000, min: 10, max: 3_600_000, doc: 'Wait after a failed delivery attempt; doubled per attempt (with jitter) up to `notifyRetryMax`.' },
  notifyRetryMax: { env: 'SUNDIAL_NOTIFY_RETRY_MAX', kind: 'duration', def: 600_000, min: 10, max: 86_400_000, doc: 'Longest wait between two delivery attempts of one notification.' },
  notifyRetryFor: { env: 'SUNDIAL_NOTIFY_RETRY_FOR', kind: 'duration', def: 86_400_000, min: 100, max: 2_592_000_000, doc: 'How long a notification is retried after it was committed before it is marked dead.' },
  notifyTimeout: { env: 'SUNDIAL_NOTIFY_TIMEOUT', kind: 'duration', def: 10_000, min: 100, max: 300_000, doc: 'Time limit of one delivery attempt (webhook, Slack or SMTP).' },
  secretsKey: {
    env: 'SUNDIAL_SECRETS_KEY',
    kind: 'string',
    def: '',
    doc: 'Key-encryption key of the secrets store: base64 of 32 random bytes, the same on every node. Unset on SQLite: `<data dir>/secrets.key` (made at first start).',
  },
  secretsKeyFile: { env: 'SUNDIAL_SECRETS_KEY_FILE', kind: 'string', def: '', doc: 'A file holding `secretsKey` (instead of the variable).' },
  secretsKeyPrevious: {
    env: 'SUNDIAL_SECRETS_KEY_PREVIOUS',
    kind: 'string',
    def: '',
    doc: 'Earlier key(s), comma-separated, while rotating: secrets wrapped under them are read and rewrapped under `secretsKey` at start.',
  },
  secretsKeyPreviousFile: { env: 'SUNDIAL_SECRETS_KEY_PREVIOUS_FILE', kind: 'string', def: '', doc: 'A file holding `secretsKeyPrevious` (instead of the variable).' },
  alertInterval: { env: 'SUNDIAL_ALERT_INTERVAL', kind: 'duration', def: 15_000, min: 100, max: 3_600_000, doc: 'How often alert rules are evaluated (on one `scheduler` node of a cluster at a time).' },
  auditKey: {
    env: 'SUNDIAL_AUDIT_KEY',
    kind: 'string',
    def: '',
    doc: 'HMAC-SHA256 key (32+ characters) that signs the audit chain\'s checkpoints. Unset: `SUNDIAL_AUDIT_KEY_FILE`, else on SQLite one generated into `<data dir>/audit.key`; a cluster must set one of the two to prune or sign.',
  },
  auditKeyFile: { env: 'SUNDIAL_AUDIT_KEY_FILE', kind: 'string', def: '', doc: 'File holding the audit key (instead of `SUNDIAL_AUDIT_KEY`); read once at start-up.' },
  auditRetention: {
    env: 'SUNDIAL_AUDIT_RETENTION',
    kind: 'duration',
    def: 0,
    min: 0,
    max: 3_153_600_000_000,
    doc: 'Audit rows older than this are deleted, after a signed checkpoint of the last one deleted (verification starts there); `0` (default) keeps them forever. Needs an audit key.',
  },
  auditSignInterval: {
    env: 'SUNDIAL_AUDIT_SIGN_INTERVAL',
    kind: 'duration',
    def: 3_600_000,
    min: 0,
    max: 86_400_000,
    doc: 'How often a `scheduler` node signs the audit chain\'s head (also at each start) and prunes per `auditRetention`; `0`: only at start.',
  },
} as const satisfies Record<string, OptionSpec>;

type Options = typeof OPTIONS;
type ValueOf<K extends Kind> = K extends 'int' | 'duration' ? number : K extends 'bool' ? boolean : K extends 'list' ? string[] : string;

/** The resolved, frozen configuration. Durations are milliseconds; paths are absolute. */
export type Config = { readonly [K in keyof Options]: ValueOf<Options[K]['kind']> };

export type ConfigSource = Partial<Record<keyof Options, unknown>>;

export interface ResolveInput {
  /** Values from command-line flags (highest precedence). */
  flags?: ConfigSource;
  /** Environment (defaults to process.env). */
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file; defaults to SUNDIAL_CONFIG from the environment. */
  file?: string;
  /** Base for relative paths (defaults to the working directory). */
  cwd?: string;
}


function parseValue(kind: Kind, raw: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  switch (kind) {
    case 'string':
      return typeof raw === 'string' ? { ok: true, value: raw } : { ok: false, message: 'must be a string' };
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      return Number.isInteger(n) ? { ok: true, value: n } : { ok: false, message: 'must be a whole number' };
    }
    case 'duration': {
      if (typeof raw === 'number' && Number.isFinite(raw)) return { ok: true, value: raw };
      const text = typeof raw === 'string' ? raw.trim() : '';
      // A bare number is milliseconds, as in the table's defaults.
      const ms = /^\d+$/.test(text) ? Number(text) : parseDuration(text);
      if (ms === null) return { ok: false, message: 'must be a duration such as 250ms, 5s or 1m' };
      return { ok: true, value: Math.round(ms) };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      const s = String(raw).trim().toLowerCase();
      if (['on', 'true', '1', 'yes'].includes(s)) return { ok: true, value: true };
      if (['off', 'false', '0', 'no', ''].includes(s)) return { ok: true, value: false };
      return { ok: false, message: 'must be on or off' };
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return { ok: true, value: raw };
      if (typeof raw === 'string') {
        return { ok: true, value: raw.split(',').map((s) => s.trim()).filter((s) => s !== '') };
      }
      return { ok: false, message: 'must be a comma-separated list' };
    }
  }
}

/** The InfluxDB sink's settings that only make sense together. */
function validateInflux(out: Record<string, unknown>): FieldError[] {
  const url = out.influxUrl;
  if (typeof url !== 'string' || url === '') return [];
  const errors: FieldError[] = [];
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    errors.push({ path: 'influxUrl', message: 'must be an http:// or https:// URL, e.g. http://127.0.0.1:8086' });
  }
  if (out.influxBucket === '' && out.influxDatabase === '') {
    errors.push({ path: 'influxDatabase', message: 'must name a database (InfluxDB 1.x), or set influxBucket (2.x/3.x)' });
  }
  if (typeof out.influxBatchSize === 'number' && typeof out.influxBufferSize === 'number' && out.influxBatchSize > out.influxBufferSize) {
    errors.push({ path: 'influxBatchSize', message: `must not exceed influxBufferSize (${out.influxBufferSize})` });
  }
  return errors;
}

/** Resolves configuration once; throws a SundialError listing every bad option. */
export function resolveConfig(input: ResolveInput = {}): Config {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const filePath = input.file ?? env.SUNDIAL_CONFIG;
  let fileValues: ConfigSource = {};
  if (filePath) {
    try {
      fileValues = JSON.parse(readFileSync(resolve(cwd, filePath), 'utf8')) as ConfigSource;
    } catch (err) {
      throw new SundialError('validation_failed', `cannot read config file ${filePath}: ${(err as Error).message}`);
    }
    for (const key of Object.keys(fileValues)) {
      if (!(key in OPTIONS)) {
        throw new SundialError('validation_failed', `config file ${filePath}: unknown option "${key}"`);
      }
    }
  }
  const errors: FieldError[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(OPTIONS) as [keyof Options, OptionSpec][]) {
    const candidates: [string, unknown][] = [
      ['flag', input.flags?.[key]],
      [spec.env, env[spec.env]],
      ['config file', fileValues[key]],
    ];
    const found = candidates.find(([, v]) => v !== undefined);
    if (!found) {
      out[key] = typeof spec.def === 'function' ? (spec.def as () => unknown)() : spec.def;
      continue;
    }
    const [source, raw] = found;
    const parsed = parseValue(spec.kind, raw);
    if (!parsed.ok) {
      errors.push({ path: `${key} (${source})`, message: parsed.message });
      continue;
    }
    const v = parsed.value;
    if (typeof v === 'number' && ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max))) {
      errors.push({ path: `${key} (${source})`, message: `must be between ${spec.min} and ${spec.max}` });
      continue;
    }
    if (spec.choices && !spec.choices.includes(String(v))) {
      errors.push({ path: `${key} (${source})`, message: `must be one of ${spec.choices.join(', ')}` });
      continue;
    }
    out[key] = v;
  }
  // Checked here, with the parser the guard itself uses, so a typo stops the start-up with the
  // other configuration errors instead of surfacing later from the executor.
  if (Array.isArray(out.trustProxy)) for (const e of validateTrustProxy(out.trustProxy as string[])) errors.push(e);
  if (Array.isArray(out.outboundAllow)) {
    for (const e of validateOutboundAllow(out.outboundAllow as string[], 'outboundAllow')) errors.push(e);
  }
  if (typeof out.scriptMemory === 'number' && typeof out.scriptMemoryMax === 'number' && out.scriptMemory > out.scriptMemoryMax) {
    errors.push({ path: 'scriptMemory', message: `must not exceed scriptMemoryMax (${out.scriptMemoryMax})` });
  }
  for (const e of validateInflux(out)) errors.push(e);
  if (typeof out.quotas === 'string') for (const e of parseQuotas(out.quotas).errors) errors.push(e);
  // Keys of the secrets store, when given inline (files are read at start): never echoed either.
  for (const key of ['secretsKey', 'secretsKeyPrevious'] as const) {
    const text = out[key];
    if (typeof text !== 'string' || text.trim() === '') continue;
    for (const part of key === 'secretsKeyPrevious' ? text.split(',').filter((p) => p.trim() !== '') : [text]) {
      const k = parseKek(part);
      if ('problem' in k) errors.push({ path: key, message: k.problem });
    }
  }
  // Never echo the token itself: the message names only what is wrong with it.
  const tokenProblem = typeof out.adminToken === 'string' ? adminTokenProblem(out.adminToken) : null;
  if (tokenProblem !== null) errors.push({ path: 'adminToken', message: tokenProblem });
  // Never echoes the key either (config/audit-key.ts checks a key read from a file the same way).
  const auditKeyProblem = typeof out.auditKey === 'string' && out.auditKey !== '' ? auditKeyWeakness(out.auditKey) : null;
  if (auditKeyProblem !== null) errors.push({ path: 'auditKey', message: auditKeyProblem });
  if (out.auditKey !== '' && out.auditKeyFile !== '') errors.push({ path: 'auditKeyFile', message: 'set either auditKey or auditKeyFile, not both' });
  if (errors.length > 0) {
    throw new SundialError('validation_failed', `invalid configuration: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
  }
  if ((out.tlsCert === '') !== (out.tlsKey === '')) {
    throw new SundialError('validation_failed', 'invalid configuration: tlsCert and tlsKey go together (set both for HTTPS, or neither)');
  }
  if (out.tlsCert !== '') {
    out.tlsCert = resolve(cwd, out.tlsCert as string);
    out.tlsKey = resolve(cwd, out.tlsKey as string);
  }
  const db = out.databaseUrl as string;
  if (db !== '' && !/^postgres(ql)?:\/\//.test(db)) {
    throw new SundialError('validation_failed', 'invalid configuration: databaseUrl must start with postgres://');
  }
  const roles = out.roles as string[];
  const unknownRoles = roles.filter((r) => !(NODE_ROLES as readonly string[]).includes(r));
  if (roles.length === 0 || unknownRoles.length > 0) {
    throw new SundialError('validation_failed', `invalid configuration: roles must be a non-empty list of ${NODE_ROLES.join(', ')}`, {
      errors: [{ path: 'roles', message: unknownRoles.length > 0 ? `unknown role ${unknownRoles.join(', ')}` : 'no role given' }],
    });
  }
  out.roles = [...new Set(roles)].sort();
  // Port 0 picks a free port at listen time, so it cannot tell two nodes on one host apart.
  if (out.nodeId === '') out.nodeId = out.port === 0 ? `${hostname()}:pid-${process.pid}` : `${hostname()}:${String(out.port)}`;
  out.dataDir = resolve(cwd, out.dataDir as string);
  out.tasksDir = resolve(cwd, out.tasksDir as string);
  if (out.auditKeyFile !== '') out.auditKeyFile = resolve(cwd, out.auditKeyFile as string);
  return Object.freeze(out) as Config;
}
