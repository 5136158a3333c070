// Turns command-line flags into API request bodies. Pure (the clock is passed in) so every rule
// here is unit-tested without a server. The server validates everything again; the checks here
// exist to answer a mistaken command line with a usage error naming the flag, instead of a 400
// naming a JSON path the person never typed.

import { isRecord } from './api-client.js';
import { UsageError } from './cli-errors.js';

/** Flags that make a schedule. */
export interface ScheduleFlags {
  at?: string;
  every?: string;
  cron?: string;
  tz?: string;
  start?: string;
  end?: string;
  maxRuns?: number;
  jitter?: string;
}

/** Flags that describe a task, as commander hands them over (numbers already parsed). */
export interface TaskFlags extends ScheduleFlags {
  name?: string;
  description?: string;
  kind?: string;
  urlTarget?: string;
  method?: string;
  header?: string[];
  body?: string;
  expectStatus?: string;
  file?: string;
  export?: string;
  code?: string;
  /** Operands after `--`: the argv of a shell task. */
  argv?: string[];
  cwd?: string;
  env?: string[];
  clearSchedule?: boolean;
  maxAttempts?: number;
  backoff?: string;
  backoffInitial?: string;
  backoffMax?: string;
  timeout?: string;
  overlap?: string;
  misfire?: string;
  catchupWindow?: string;
  priority?: number;
  concurrency?: number;
  concurrencyKey?: string;
  payload?: string;
}

/** A JSON object body. */
export type Body = Record<string, unknown>;

type SpecKey = 'urlTarget' | 'method' | 'header' | 'body' | 'expectStatus' | 'file' | 'export' | 'code' | 'argv' | 'cwd' | 'env';

/** Which flags belong to which task kind, with the spelling a person typed. */
const SPEC_FLAGS: Record<string, readonly (readonly [SpecKey, string])[]> = {
  http: [['urlTarget', '--url-target'], ['method', '--method'], ['header', '--header'], ['body', '--body'], ['expectStatus', '--expect-status']],
  module: [['file', '--file'], ['export', '--export']],
  script: [['code', '--code']],
  shell: [['argv', 'a command after --'], ['cwd', '--cwd'], ['env', '--env']],
};

/** The field each kind cannot do without, for a usage error on create. */
const REQUIRED_SPEC: Record<string, readonly [string, string]> = {
  http: ['url', '--url-target'],
  module: ['file', '--file'],
  script: ['code', '--code or --code-file'],
  shell: ['command', 'a command after -- (e.g. -- /usr/bin/backup --full)'],
};

const SCHEDULE_TYPE_FLAGS = ['at', 'every', 'cron'] as const;
const SCHEDULE_MODIFIERS = ['tz', 'start', 'end', 'maxRuns', 'jitter'] as const;

/** Body of `POST /v1/tasks`: the file's body (if any) with the flags laid over it. */
export function buildCreateBody(flags: TaskFlags, opts: { base?: Body; now?: Date } = {}): Body {
  const now = opts.now ?? new Date();
  const base = opts.base ?? {};
  const out: Body = { ...base };
  if (flags.name !== undefined) out.name = flags.name;
  if (flags.description !== undefined) out.description = flags.description;

  const { kind, spec } = specFromFlags(flags, typeof base.kind === 'string' ? base.kind : undefined);
  if (kind !== undefined) out.kind = kind;
  if (spec !== undefined) {
    // A different kind than the file's makes the file's spec meaningless, so it is replaced.
    const keep = isRecord(base.spec) && (kind === undefined || kind === base.kind);
    out.spec = keep ? mergeSpec(base.spec as Body, spec) : spec;
  }

  const schedule = scheduleFromFlags(flags, now, isRecord(base.schedule) ? base.schedule : undefined);
  if (schedule !== undefined) out.schedule = schedule;
  const policies = policiesFromFlags(flags);
  if (policies !== undefined) out.policies = deepMerge(isRecord(base.policies) ? base.policies : {}, policies);
  if (flags.payload !== undefined) out.payload = parseJsonFlag('--payload', flags.payload);

  if (typeof out.name !== 'string' || out.name === '') throw new UsageError('task create needs --name (or a name in --from-file)');
  if (typeof out.kind !== 'string') {
    throw new UsageError('task create needs --kind http|module|script|shell (or a kind in --from-file)');
  }
  const required = REQUIRED_SPEC[out.kind];
  if (required !== undefined && !(isRecord(out.spec) && out.spec[required[0]] !== undefined)) {
    throw new UsageError(`a ${out.kind} task needs ${required[1]}`);
  }
  return out;
}

/**
 * True when `task update` must read the task first: flags that change part of the spec or part
 * of the schedule are merged into the current one, because PATCH replaces `spec` and `schedule`
 * as wholes.
 */
export function updateNeedsCurrent(flags: TaskFlags): boolean {
  const specGiven = Object.values(SPEC_FLAGS).some((group) => group.some(([k]) => given(flags[k])));
  const modifiersOnly = !SCHEDULE_TYPE_FLAGS.some((k) => given(flags[k])) && SCHEDULE_MODIFIERS.some((k) => given(flags[k]));
  return specGiven || modifiersOnly;
}

/** Body of `PATCH /v1/tasks/{idOrName}`: only what the flags change. */
export function buildUpdateBody(flags: TaskFlags, opts: { current?: Body; now?: Date } = {}): Body {
  const now = opts.now ?? new Date();
  const current = opts.current;
  const currentKind = typeof current?.kind === 'string' ? current.kind : undefined;
  const out: Body = {};
  if (flags.name !== undefined) out.name = flags.name;
  if (flags.description !== undefined) out.description = flags.description;

  const { kind, spec } = specFromFlags(flags, currentKind);
  if (flags.kind !== undefined) out.kind = flags.kind;
  if (spec !== undefined) {
    const sameKind = kind === undefined || kind === currentKind;
    out.spec = sameKind && isRecord(current?.spec) ? mergeSpec(current.spec, spec) : spec;
    if (out.kind === undefined && kind !== undefined && kind !== currentKind) out.kind = kind;
  }

  if (flags.clearSchedule === true) {
    if ([...SCHEDULE_TYPE_FLAGS, ...SCHEDULE_MODIFIERS].some((k) => given(flags[k]))) {
      throw new UsageError('--clear-schedule cannot be combined with schedule flags');
    }
    out.schedule = null;
  } else {
    const currentSchedule = isRecord(current?.schedule) ? current.schedule : undefined;
    const schedule = scheduleFromFlags(flags, now, currentSchedule, current !== undefined);
    if (schedule !== undefined) out.schedule = schedule;
  }

  const policies = policiesFromFlags(flags);
  if (policies !== undefined) out.policies = policies;
  if (flags.payload !== undefined) out.payload = parseJsonFlag('--payload', flags.payload);
  if (Object.keys(out).length === 0) throw new UsageError('task update: nothing to change; give at least one flag');
  return out;
}

/**
 * The schedule the flags describe, or undefined when they name none. `--at`, `--every` and
 * `--cron` make a new schedule; the modifiers alone (`--tz`, `--start`…) change `current`.
 */
export function scheduleFromFlags(
  flags: ScheduleFlags,
  now: Date,
  current?: Body,
  currentKnown = current !== undefined,
): Body | undefined {
  const types = SCHEDULE_TYPE_FLAGS.filter((k) => given(flags[k]));
  if (types.length > 1) throw new UsageError(`give only one of ${types.map((t) => `--${t}`).join(', ')}`);
  const mods = scheduleModifiers(flags, now);
  let schedule: Body;
  if (flags.at !== undefined) schedule = { type: 'once', at: parseTimeFlag('--at', flags.at, now) };
  else if (flags.every !== undefined) schedule = { type: 'interval', every: flags.every };
  else if (flags.cron !== undefined) schedule = { type: 'cron', expression: flags.cron };
  else if (Object.keys(mods).length === 0) return undefined;
  else if (current !== undefined) schedule = { ...current };
  else if (currentKnown) throw new UsageError('the task has no schedule to change; give --at, --every or --cron');
  else throw new UsageError(`${modifierNames(flags).join(', ')} need --at, --every or --cron`);

  if (schedule.type !== 'cron' && mods.timezone !== undefined) throw new UsageError('--tz applies to --cron schedules only');
  if (schedule.type === 'once' && (mods.startAt !== undefined || mods.endAt !== undefined)) {
    throw new UsageError('--start and --end apply to --every and --cron schedules');
  }
  return { ...schedule, ...mods };
}

/** Body of `POST /v1/tasks/{idOrName}/schedule`: `{ at }` for one run, `{ schedule }` for a recurrence. */
export function buildScheduleRequest(flags: ScheduleFlags, now: Date = new Date()): Body {
  if (flags.at !== undefined && !given(flags.every) && !given(flags.cron)) {
    if (modifierNames(flags).length > 0) {
      throw new UsageError(`${modifierNames(flags).join(', ')} make a recurrence; with --at give none of them`);
    }
    return { at: parseTimeFlag('--at', flags.at, now) };
  }
  const schedule = scheduleFromFlags(flags, now);
  if (schedule === undefined) throw new UsageError('give --at for one run, or --every or --cron for a recurrence');
  return { schedule };
}

/** The policies the flags set, in the API's input shape, or undefined when none is set. */
export function policiesFromFlags(flags: TaskFlags): Body | undefined {
  const backoff = compact({ type: flags.backoff, initial: flags.backoffInitial, max: flags.backoffMax });
  const retry = compact({ maxAttempts: flags.maxAttempts, backoff });
  const misfire = compact({ policy: flags.misfire, catchupWindow: flags.catchupWindow });
  const policies = compact({
    retry,
    timeout: flags.timeout,
    overlap: flags.overlap,
    misfire,
    priority: flags.priority,
    concurrency: flags.concurrency,
    concurrencyKey: flags.concurrencyKey,
  });
  return policies;
}

/**
 * A time flag as an ISO string. Accepts `now`, offsets from now (`+5m`, `+1h30m`, `-2d`),
 * ISO-8601 with a zone (kept as written), and a date or date-time without a zone, which means
 * this machine's local time (as a person at a terminal means it).
 */
export function parseTimeFlag(flag: string, value: string, now: Date): string {
  const v = value.trim();
  if (v === 'now') return now.toISOString();
  const rel = /^([+-])((?:\d+(?:ms|s|m|h|d))+)$/.exec(v);
  if (rel) {
    let ms = 0;
    for (const m of (rel[2] ?? '').matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
    return new Date(now.getTime() + (rel[1] === '-' ? -ms : ms)).toISOString();
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/.exec(v);
  if (local) {
    const [, y, mo, d, h, mi, s, frac] = local;
    const date = new Date(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
      Number((frac ?? '0').padEnd(3, '0')),
    );
    const inRange = Number(h ?? 0) <= 23 && Number(mi ?? 0) <= 59 && Number(s ?? 0) <= 59;
    if (inRange && !Number.isNaN(date.getTime()) && date.getDate() === Number(d)) return date.toISOString();
  } else if (/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/i.test(v) && !Number.isNaN(Date.parse(v))) {
    return v;
  }
  throw new UsageError(`${flag} ${JSON.stringify(value)} is not a time; use ISO-8601 (2026-12-01T09:00:00Z), a local time (2026-12-01 09:00), now, or +5m`);
}

/** Parses a flag that must hold JSON. */
export function parseJsonFlag(flag: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${flag} is not valid JSON (${(err as Error).message}); quote text as JSON, e.g. '"hello"'`);
  }
}

/** `k:v` and `K=V` pairs into an object; the first separator splits, so values may hold it. */
export function parsePairs(flag: string, items: readonly string[], sep: ':' | '='): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf(sep);
    const key = i < 0 ? '' : item.slice(0, i).trim();
    if (key === '') throw new UsageError(`${flag} ${JSON.stringify(item)} must look like name${sep}value`);
    out[key] = sep === ':' ? item.slice(i + 1).trim() : item.slice(i + 1);
  }
  return out;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function specFromFlags(flags: TaskFlags, fallbackKind: string | undefined): { kind?: string; spec?: Body } {
  const used = Object.entries(SPEC_FLAGS)
    .map(([kind, group]) => ({ kind, names: group.filter(([k]) => given(flags[k])).map(([, name]) => name) }))
    .filter((g) => g.names.length > 0);
  if (used.length > 1) {
    const list = used.map((g) => `${g.names[0]} (${g.kind})`).join(' and ');
    throw new UsageError(`${list} belong to different task kinds`);
  }
  const group = used[0];
  if (group !== undefined && flags.kind !== undefined && group.kind !== flags.kind) {
    throw new UsageError(`${group.names[0]} is for ${group.kind} tasks, not ${flags.kind}`);
  }
  if (group !== undefined && flags.kind === undefined && fallbackKind !== undefined && group.kind !== fallbackKind) {
    throw new UsageError(
      `${group.names[0]} is for ${group.kind} tasks; this task is ${fallbackKind} (add --kind ${group.kind} to change its kind)`,
    );
  }
  const kind = flags.kind ?? group?.kind;
  if (group === undefined) {
    // A new kind with no spec flags still needs an empty spec to replace the old kind's.
    return { kind, spec: flags.kind !== undefined && flags.kind !== fallbackKind ? {} : undefined };
  }
  let spec: Body;
  switch (group.kind) {
    case 'http':
      spec = compact({
        url: flags.urlTarget,
        method: flags.method?.toUpperCase(),
        headers: flags.header === undefined ? undefined : parsePairs('--header', flags.header, ':'),
        body: flags.body === undefined ? undefined : parseBodyFlag(flags.body),
        expectStatus: flags.expectStatus === undefined ? undefined : parseExpectStatus(flags.expectStatus),
      }) ?? {};
      break;
    case 'module':
      spec = compact({ file: flags.file, export: flags.export }) ?? {};
      break;
    case 'script':
      spec = compact({ code: flags.code }) ?? {};
      break;
    default:
      spec = compact({
        command: flags.argv !== undefined && flags.argv.length > 0 ? flags.argv : undefined,
        cwd: flags.cwd,
        env: flags.env === undefined ? undefined : parsePairs('--env', flags.env, '='),
      }) ?? {};
  }
  return { kind, spec };
}

function scheduleModifiers(flags: ScheduleFlags, now: Date): Body {
  return (
    compact({
      timezone: flags.tz,
      startAt: flags.start === undefined ? undefined : parseTimeFlag('--start', flags.start, now),
      endAt: flags.end === undefined ? undefined : parseTimeFlag('--end', flags.end, now),
      maxRuns: flags.maxRuns,
      jitter: flags.jitter,
    }) ?? {}
  );
}

function modifierNames(flags: ScheduleFlags): string[] {
  const names: Record<(typeof SCHEDULE_MODIFIERS)[number], string> = {
    tz: '--tz',
    start: '--start',
    end: '--end',
    maxRuns: '--max-runs',
    jitter: '--jitter',
  };
  return SCHEDULE_MODIFIERS.filter((k) => given(flags[k])).map((k) => names[k]);
}

// `--body '{"a":1}'` almost always means a JSON body; anything else is sent as text.
function parseBodyFlag(text: string): unknown {
  const t = text.trim();
  return t.startsWith('{') || t.startsWith('[') ? parseJsonFlag('--body', text) : text;
}

function parseExpectStatus(text: string): number | number[] {
  const codes = text.split(',').map((s) => s.trim());
  if (codes.some((c) => !/^[1-5]\d\d$/.test(c))) {
    throw new UsageError(`--expect-status ${JSON.stringify(text)} must be a status code or a list like 200,204`);
  }
  const nums = codes.map(Number);
  return nums.length === 1 ? (nums[0] as number) : nums;
}

function mergeSpec(current: Body, change: Body): Body {
  const out = { ...current, ...change };
  for (const key of ['headers', 'env']) {
    if (isRecord(current[key]) && isRecord(change[key])) out[key] = { ...current[key], ...change[key] };
  }
  return out;
}

function deepMerge(a: Body, b: Body): Body {
  const out: Body = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

/** The object without undefined fields, or undefined when nothing is left. */
function compact(o: Record<string, unknown>): Body | undefined {
  const out: Body = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length === 0 ? undefined : out;
}

function given(v: unknown): boolean {
  return v !== undefined && !(Array.isArray(v) && v.length === 0);
}
