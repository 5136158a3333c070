// Issue 12: the API fuzzed from its own OpenAPI document. For every operation the document
// describes, fast-check draws requests from the operation's schemas: values that fit (so the
// request gets past the schema into the services), values that almost fit (bad durations, cron
// expressions, time zones, instants, URLs, ids) and values that do not (wrong types, missing and
// extra fields, huge strings, deep nesting, odd unicode, broken JSON, broken query strings), with
// the keys of the three roles. Requests go through `app.inject` (in process, no sockets: a few
// thousand a second instead of hundreds) on a real SQLite store.
//
// Asserted for every answer: no 5xx; every 4xx is application/problem+json with a `code`; a
// refused request wrote no audit row. And for every batch of requests that were all refused: the
// store's tasks, runs, keys, audit log, channels and alert rules are the same after as before.
//
// The seed: FUZZ_SEED when set (replay), else one per CI run (from the CI's run id), else random;
// printed either way. FUZZ_RUNS changes the number of requests (default 20,000).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { resolveConfig } from '../../src/config/config.js';
import type { Role } from '../../src/core/types.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20_000);
const ciSeed = process.env.GITHUB_RUN_ID ?? process.env.CI_PIPELINE_ID ?? process.env.BUILD_ID;
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : ciSeed !== undefined ? Number.parseInt(createHash('sha256').update(ciSeed).digest('hex').slice(0, 8), 16) | 0 : (Math.random() * 2 ** 31) | 0;
/** Requests per batch: half drawn to succeed or fail, half drawn to be refused (compared). */
const BATCH = 400;

// --- What the OpenAPI document says -------------------------------------------------------------

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  items?: Schema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  examples?: unknown[];
}
interface Param {
  in: 'path' | 'query';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: string;
  path: string;
  params: Param[];
  body?: Schema;
  /** A body is optional (POST /v1/tasks/{idOrName}/runs). */
  bodyOptional: boolean;
}

/** The /v1 operations of the document. */
function operationsOf(doc: { paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { required?: boolean; content?: Record<string, { schema: Schema }> } }>> }): Operation[] {
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        bodyOptional: op.requestBody?.required !== true,
      })),
    );
}

// --- Values ---------------------------------------------------------------------------------------

const huge = (n: number) => 'x'.repeat(n);
/** Strings that have broken parsers before: control characters, lone surrogates, RTL, injections, encodings. */
const NASTY = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\u202e\u0041', '𝕊𝕦𝕟𝕕𝕚𝕒𝕝', 'e\u0301', '\uFEFF', '\n\r\t', '%00', '%zz', '../../etc/passwd',
  "' OR 1=1 --", '<script>alert(1)</script>', '${7*7}', '__proto__', 'constructor', 'toString', '*', '.', '..', 'null', 'undefined', 'NaN', '-0', '1e309',
  huge(65), huge(201), huge(1001), huge(10_001),
];
const GOOD_DURATIONS = ['5m', '30s', 'PT5M', '1h30m', '250ms', '2d', 'PT1H', '1s'];
const BAD_DURATIONS = ['0s', '-5m', '5x', 'PT', 'P1Y', 'P1M', '1e9h', '99999999999999999d', '9007199254740993ms', ' 5m', '５m', '5 m', 'm5', 'PT-1S', 'P0D', '1h-30m'];
const GOOD_CRON = ['*/10 * * * *', '0 9 * * 1-5', '*/10 * * * * *', '30 2 * * *', '0 0 29 2 *'];
const BAD_CRON = ['0 0 30 2 *', '* * *', '61 * * * *', '@yearly', 'a b c d e', '*/0 * * * *', '* * * * * * *', '1-0 * * * *', '0 0 31 4,6,9,11 *', '*/99999999999 * * * *', '0 0 * * 8', '0 0 0 * *'];
const GOOD_ZONES = ['Europe/Berlin', 'UTC', 'America/New_York', 'Asia/Kathmandu'];
const BAD_ZONES = ['CEST', 'Mars/Olympus', '+02:00', 'Europe/Berlin\u0000', '../../../etc/localtime', 'EST5EDT,M3.2.0,M11.1.0', 'utc '];
const GOOD_INSTANTS = ['2026-03-02T12:00:00Z', '2026-03-02T12:00:00+02:00', '2027-01-01T00:00:00Z', '2026-03-02T10:00:00.123Z'];
const BAD_INSTANTS = ['2026-02-30T00:00:00Z', 'yesterday', '1700000000', '2026-03-02', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '275760-09-13T00:00:00Z', '2026-03-02T12:00:00', '2026-13-01T00:00:00Z', '2026-03-02T24:00:01Z', '1970-01-01T00:00:00Z'];
const URLS = ['https://example.com/hook', 'https://hooks.example.com/x?a=b', 'http://127.0.0.1/', 'http://[::1]/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://169.254.169.254/latest', 'https://exa mple.com', 'http://2130706433/', 'http://localhost.', 'https://user:pass@example.com/', 'ftp://example.com/', huge(3000)];

/**
 * Good and bad values for fields whose meaning the schema only states in words, by field name;
 * `strict`: only good ones.
 */
function domainValues(name: string, strict: boolean): fc.Arbitrary<unknown> | undefined {
  const pick = (good: string[], bad: string[]) =>
    strict ? fc.constantFrom(...good) : fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 2 }, { arbitrary: fc.constantFrom(...bad), weight: 2 }, { arbitrary: fc.constantFrom(...NASTY), weight: 1 });
  if (name === 'initial') return pick(['1s', '250ms'], BAD_DURATIONS);
  if (name === 'max') return pick(['5m', '1h'], BAD_DURATIONS);
  if (['every', 'jitter', 'timeout', 'duration', 'window', 'olderThan', 'bound', 'catchupWindow', 'within'].includes(name)) return pick(GOOD_DURATIONS, BAD_DURATIONS);
  if (name === 'for') return pick(['0s', '1m'], BAD_DURATIONS);
  if (name === 'expression') return pick(GOOD_CRON, BAD_CRON);
  if (name === 'timezone') return pick(GOOD_ZONES, BAD_ZONES);
  if (['at', 'startAt', 'endAt', 'from', 'to'].includes(name)) return pick(GOOD_INSTANTS, BAD_INSTANTS);
  if (name === 'url') return pick(URLS.slice(0, 2), URLS.slice(2));
  if (name === 'namespace') return pick(['alpha', 'beta', 'default', 'gamma'], ['*', '', 'a b', huge(101)]);
  if (name === 'secret') return pick(['whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4'], ['whsec_', 'whsec_!!!', 'secret', huge(5000)]);
  if (name === 'to' && !strict) return pick([], ['not-an-email', '@', 'a@b@c', 'x@example.com\r\nBcc: evil@example.com']);
  if (name === 'task') return pick(['fz-task'], ['no-such-task', '00000000-0000-4000-8000-000000000000']);
  // Names and keys that exist already, so creates, renames and repeats collide now and then.
  if (name === 'name' && strict) return fc.oneof({ arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/), weight: 4 }, { arbitrary: fc.constantFrom('fz-task', 'ch-alpha', 'ch-beta', 'rule-alpha', 'rule-beta'), weight: 1 });
  if (name === 'idempotencyKey' && strict) return fc.oneof(fc.constantFrom('k1', 'k2'), fc.uuid());
  if (name === 'channels' && strict) return fc.constantFrom([], ['ch-alpha'], ['ch-beta']);
  if (name === 'notify' && strict) return fc.constant([]);
  if (name === 'concurrencyKey' && strict) return fc.constantFrom(null, 'k1');
  return undefined;
}

/** Task specs: one of each kind that fits, and ones that almost do. */
const SPECS = fc.oneof(
  fc.record({ url: domainValues('url', false)!, method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'BREW', '', 'get'), headers: fc.option(fc.dictionary(fc.constantFrom('authorization', 'x-a', 'bad header', '', 'content-length'), fc.constantFrom('v', '', 'a\r\nb', huge(9000)))), expectStatus: fc.option(fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.constant('200'))) }, { requiredKeys: ['url'] }),
  fc.record({ file: fc.constantFrom('x.js', 'reports/nightly.js', '../../etc/passwd', '/etc/passwd', '', 'a\u0000.js'), export: fc.option(fc.constantFrom('run', 'default', '__proto__', '')) }, { requiredKeys: ['file'] }),
  fc.record({ code: fc.constantFrom('export default async () => 1', 'export default (', 'while(true){}', '', huge(300_000)), limits: fc.option(fc.record({ memoryBytes: fc.oneof(fc.integer(), fc.constant(1e300), fc.constant('1')) })) }, { requiredKeys: ['code'] }),
  fc.record({ command: fc.oneof(fc.constant(['true']), fc.constant([]), fc.constant(['']), fc.array(fc.string(), { maxLength: 3 }), fc.constant('sh -c id')), cwd: fc.option(fc.constantFrom('.', '/', '../..', 'sub')), env: fc.option(fc.dictionary(fc.constantFrom('A', 'PATH', 'LD_PRELOAD', '', 'A=B'), fc.constantFrom('1', '', '\u0000'))) }, { requiredKeys: ['command'] }),
  fc.jsonValue({ maxDepth: 2 }),
);
/** A spec that fits each kind (module files do not exist here, so a module spec never fits). */
const GOOD_SPECS: Record<string, fc.Arbitrary<unknown>> = {
  http: fc.record({ url: fc.constantFrom(...URLS.slice(0, 2)), method: fc.constantFrom('GET', 'POST'), headers: fc.constantFrom({}, { 'x-token': 's3cr3t' }) }),
  module: fc.constant({ file: 'nope.js' }),
  script: fc.constant({ code: 'export default async (ctx) => ctx.payload' }),
  shell: fc.record({ command: fc.constant(['true']), env: fc.constantFrom({}, { A: '1' }) }),
};
/** Alert-rule params for every kind, right and wrong. */
const PARAMS = fc.record(
  { task: domainValues('task', false)!, n: fc.oneof(fc.integer({ min: -2, max: 1000 }), fc.constant(1e12), fc.constant('3')), duration: domainValues('duration', false)!, bound: domainValues('bound', false)!, window: domainValues('window', false)!, above: fc.oneof(fc.integer({ min: -1, max: 1e9 }), fc.constant(0.5)), node: fc.constantFrom('test-node', ''), olderThan: domainValues('olderThan', false)!, within: domainValues('within', false)! },
  { requiredKeys: [] },
);
const GOOD_PARAMS: Record<string, unknown> = {
  consecutive_failures: { task: 'fz-task', n: 3 },
  retries_exhausted: {},
  no_success_for: { task: 'fz-task', duration: '1h' },
  lateness_p99: { bound: '2s' },
  backlog: { above: 100 },
  node_down: {},
  sink_dropping: {},
  outbox_backlog: { olderThan: '15m' },
};
const GOOD_SCHEDULES = fc.oneof(
  fc.record({ type: fc.constant('once'), at: fc.constantFrom(...GOOD_INSTANTS) }),
  fc.record({ type: fc.constant('interval'), every: fc.constantFrom(...GOOD_DURATIONS), jitter: fc.constantFrom('1s', '0s') }, { requiredKeys: ['type', 'every'] }),
  fc.record({ type: fc.constant('cron'), expression: fc.constantFrom(...GOOD_CRON), timezone: fc.constantFrom(...GOOD_ZONES), maxRuns: fc.integer({ min: 1, max: 5 }) }, { requiredKeys: ['type', 'expression'] }),
);

/**
 * Makes a strictly drawn body fit the rules the schema leaves to the services: a spec of the
 * task's kind, params of the rule's kind, a schedule's fields of its type, a channel's fields of
 * its type.
 */
function fitBody(body: unknown, path: string): fc.Arbitrary<unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fc.constant(body);
  const b = { ...(body as Record<string, unknown>) };
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  if ('schedule' in b && b.schedule !== null) parts.schedule = GOOD_SCHEDULES;
  // POST …/schedule takes `at` or `schedule`, not both.
  if (path.endsWith('/schedule') && 'at' in b && 'schedule' in b) delete b[b.at === GOOD_INSTANTS[0] ? 'at' : 'schedule'];
  if (path.startsWith('/v1/tasks')) {
    if (typeof b.kind === 'string') parts.spec = GOOD_SPECS[b.kind]!;
    else if ('spec' in b) parts.spec = GOOD_SPECS.http!;
  }
  if (path.startsWith('/v1/alert-rules') && typeof b.kind === 'string') {
    b.params = GOOD_PARAMS[b.kind];
    if (!['lateness_p99', 'backlog', 'node_down', 'sink_dropping', 'outbox_backlog'].includes(b.kind)) delete b.for;
  }
  if (path.startsWith('/v1/channels')) {
    if (b.type === 'email') b.type = 'slack';
    delete b.to;
    if (b.type === 'slack') delete b.secret;
  }
  return fc.record(parts).map((p) => ({ ...b, ...p }));
}

/** Any JSON value: what a field of the wrong type gets. */
const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...NASTY), fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -0, 0.5));

/** A value for `schema`: mostly one that fits, sometimes one that does not. */
function valueOf(schema: Schema, name: string, depth = 0, strict = false): fc.Arbitrary<unknown> {
  const fitting = fittingValueOf(schema, name, depth, strict);
  return strict ? fitting : fc.oneof({ arbitrary: fitting, weight: 12 }, { arbitrary: anything, weight: 1 });
}

/** A value that fits `schema` as far as types go; `strict`: one the services should accept too (mostly). */
function fittingValueOf(schema: Schema, name: string, depth: number, strict = false): fc.Arbitrary<unknown> {
  if (name === 'spec') return strict ? GOOD_SPECS.http! : SPECS;
  if (name === 'params') return strict ? fc.constant({}) : PARAMS;
  // Names mean something only on strings (`jitter` is a duration in a schedule, a boolean in a backoff).
  const domain = schema.type === 'boolean' || schema.type === 'integer' ? undefined : domainValues(name, strict);
  if (domain) return domain;
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => fittingValueOf(s, name, depth, strict)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  switch (schema.type) {
    case 'object': {
      const props = Object.entries(schema.properties ?? {});
      if (props.length === 0 || depth > 4) return fc.jsonValue({ maxDepth: 3 });
      const required = new Set(schema.required ?? []);
      return fc.record(Object.fromEntries(props.map(([k, s]) => [k, valueOf(s, k, depth + 1, strict)])), { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) });
    }
    case 'array':
      return fc.array(schema.items ? valueOf(schema.items, name, depth + 1, strict) : anything, { maxLength: Math.min(schema.maxItems ?? 4, 4) + (strict ? 0 : 1) });
    case 'integer': {
      const fits = fc.integer({ min: schema.minimum ?? (strict ? 0 : -10), max: schema.maximum ?? 1000 });
      return strict ? fits : fc.oneof(fits, fc.constantFrom((schema.minimum ?? 0) - 1, (schema.maximum ?? 1e6) + 1, 2 ** 31, 2 ** 53));
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string': {
      if (strict) {
        if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
        if (schema.examples?.length) return fc.constantFrom(...(schema.examples as string[]));
        return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 20, 20) });
      }
      const options: fc.Arbitrary<string>[] = [fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom(...NASTY)];
      if (schema.pattern) options.push(fc.stringMatching(new RegExp(schema.pattern)), fc.stringMatching(new RegExp(schema.pattern)));
      if (schema.examples?.length) options.push(fc.constantFrom(...(schema.examples as string[])));
      if (schema.maxLength !== undefined) options.push(fc.constant(huge(schema.maxLength + 1)));
      return fc.oneof(...options);
    }
    default:
      return anything;
  }
}

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) becomes the three bytes
 * WTF-8 gives it: percent-encoded bytes that are not UTF-8, which the server must refuse politely.
 */
function encode(text: string): string {
  return text
    .split(/([\ud800-\udfff])/)
    .map((part) => {
      if (part.length !== 1 || part.charCodeAt(0) < 0xd800 || part.charCodeAt(0) > 0xdfff) return part === '' ? '' : encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    })
    .join('');
}

/** A value as a query-string or path parameter. */
function textOf(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? '';
}

// --- Requests -------------------------------------------------------------------------------------

/** Where a path parameter's real values come from. */
type PoolKind = 'task' | 'taskName' | 'run' | 'key' | 'channel' | 'rule';
type PathValue = { pool: PoolKind; pick: number } | { raw: string; encode: boolean };
type Body = { json: unknown } | { text: string; type?: string } | undefined;

interface FuzzRequest {
  op: Operation;
  role: Role;
  path: Record<string, PathValue>;
  /** Query parameters, already encoded, or a raw query string. */
  query: string;
  body: Body;
  ifMatch?: string;
  /** Drawn to be refused: breaks at least one rule of the operation. */
  hostile: boolean;
}

function poolFor(op: Operation, param: string): PoolKind[] {
  if (param === 'idOrName') return ['task', 'taskName'];
  if (param === 'name') return [op.path.startsWith('/v1/alert-rules') ? 'rule' : 'channel'];
  return [op.path.startsWith('/v1/api-keys') ? 'key' : 'run'];
}

/** JSON nested `depth` levels: arrays, or objects (one key a level). */
const deepText = (depth: number) => fc.boolean().map((arrays) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));
/** Over the 1 MiB body limit. */
const HUGE_BODY = `{"name":"${huge(1_100_000)}"}`;
/** Not JSON, or JSON of the wrong shape for any body (every body is an object without such keys). */
const brokenJson = fc.constantFrom('{', '{"a":}', "{'a':1}", '[1,]', 'nul', '{"a":1}{"b":2}', '\u0000', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '"just a string"', '123', '[]', '{"a":"\\ud800"}');

/** Query values that a parameter's schema certainly refuses. */
function refusedQueryValue(schema: Schema): string[] {
  if (schema.anyOf) return ['maybe'];
  if (schema.enum) return ['not-one-of-them', ''];
  if (schema.type === 'integer') return ['abc', '1.5', ...(schema.minimum !== undefined ? [String(schema.minimum - 1)] : []), ...(schema.maximum !== undefined ? [String(schema.maximum + 1)] : [])];
  if (schema.type === 'string' && schema.maxLength !== undefined) return [huge(schema.maxLength + 1), ...(schema.pattern ? ['!!bad!!'] : [])];
  if (schema.type === 'string' && schema.pattern) return ['!!bad!!'];
  return [];
}

/** Certainly refused by the services, though the schema lets them through: a patch per body field. */
const SERVICE_REFUSALS: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  schedule: fc
    .oneof(
      fc.constantFrom('0 0 30 2 *', '* * *', '61 * * * *', 'a b c d e').map((expression) => ({ type: 'cron', expression })),
      fc.constantFrom('CEST', 'Mars/Olympus', '+02:00').map((timezone) => ({ type: 'cron', expression: '0 9 * * *', timezone })),
      fc.constantFrom('5x', '-5m', 'PT', '0s').map((every) => ({ type: 'interval', every })),
      fc.constantFrom('2026-02-30T00:00:00Z', 'yesterday', '2026-03-02T12:00:00').map((at) => ({ type: 'once', at })),
    )
    .map((schedule) => ({ schedule })),
  spec: fc.constantFrom('http://127.0.0.1/', 'http://169.254.169.254/latest', 'file:///etc/passwd', 'http://[::1]:8080/').map((url) => ({ kind: 'http', spec: { url } })),
  params: fc.constantFrom({ task: 'fz-task', n: 0 }, { task: 'fz-task' }, { n: 3 }).map((params) => ({ kind: 'consecutive_failures', params })),
  url: fc.constantFrom('http://127.0.0.1/', 'http://169.254.169.254/latest', 'http://2130706433/').map((url) => ({ type: 'slack', url })),
  at: fc.constantFrom('2026-02-30T00:00:00Z', 'yesterday', '2026-03-02T12:00:00').map((at) => ({ at, schedule: undefined })),
  from: fc.constantFrom('2026-02-30T00:00:00Z', 'tomorrow').map((from) => ({ from })),
};

/** POST routes that only read (a viewer may call them). */
const READS_BY_POST = new Set(['/v1/schedules/preview']);

type Breaker = (r: FuzzRequest) => fc.Arbitrary<FuzzRequest>;

/** Ways to break a request of `op` that its rules certainly refuse, each with how it breaks it. */
function breakersOf(op: Operation): Breaker[] {
  const out: Breaker[] = [];
  // A viewer may not write (security.md's roles); a preview is a read sent as a POST.
  if (op.method !== 'GET' && !READS_BY_POST.has(op.path)) out.push((r) => fc.constant({ ...r, role: 'viewer' as Role }));
  // Nothing has a fresh random id.
  for (const p of op.params.filter((x) => x.in === 'path')) {
    out.push((r) => fc.uuid().map((raw) => ({ ...r, path: { ...r.path, [p.name]: { raw, encode: true } } })));
  }
  for (const p of op.params.filter((x) => x.in === 'query')) {
    const bad = refusedQueryValue(p.schema);
    if (bad.length > 0) out.push((r) => fc.constantFrom(...bad).map((v) => ({ ...r, query: [r.query.split('&').filter((kv) => kv !== '' && !kv.startsWith(`${p.name}=`)).join('&'), `${p.name}=${encode(v)}`].filter(Boolean).join('&') })));
  }
  const body = op.body;
  // Bodies that pass the schema and are refused by the services (so refusals past the edge are
  // batch-checked too): values the services reject, and namespaces the key does not cover.
  for (const [field, patch] of Object.entries(SERVICE_REFUSALS)) {
    if (!body?.properties?.[field]) continue;
    out.push((r) => fittingValueOf(body, '', 0, true).chain((b) => fitBody(b, op.path)).chain((json) => patch.map((p) => ({ ...r, role: 'admin' as Role, body: { json: { ...(json as object), ...p } } }))));
  }
  if (body?.properties?.namespace) {
    out.push((r) => fittingValueOf(body, '', 0, true).chain((b) => fitBody(b, op.path)).map((json) => ({ ...r, role: 'operator' as Role, body: { json: { ...(json as object), namespace: 'beta' } } })));
  }
  if (body) {
    out.push((r) => fc.oneof(fc.constantFrom(65, 100, 5_000, 100_000).chain((d) => deepText(d)), brokenJson).map((text) => ({ ...r, body: { text } })));
    // Bodies that are not JSON by their Content-Type (whatever the bytes say).
    out.push((r) =>
      fc
        .tuple(fc.constantFrom('{"a":1}', 'x', 'a=1&b=2', '<a/>'), fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonx', 'json'))
        .map(([text, type]) => ({ ...r, body: { text, type } })),
    );
    out.push((r) => fc.constantFrom(HUGE_BODY).map((text) => ({ ...r, body: { text } })));
    out.push((r) => fc.constantFrom(1, 'x', true, [1]).map((json) => ({ ...r, body: { json } })));
    if (body.additionalProperties === false) {
      out.push((r) => fittingValueOf(body, '', 0).map((json) => ({ ...r, body: { json: { ...(json as object), zzUnknownField: 1 } } })));
    }
    for (const name of body.required ?? []) {
      out.push((r) => fittingValueOf(body, '', 0).map((json) => {
        const copy = { ...(json as Record<string, unknown>) };
        delete copy[name];
        return { ...r, body: { json: copy } };
      }));
    }
  }
  return out;
}

/**
 * Requests for `op`. `strict` ones should mostly be accepted (they create what later requests
 * address and reach the services' own checks); `mixed` ones fit the schema here and there;
 * `hostile` ones are either, with at least one of the operation's rules broken (role, id, query,
 * body), so each must be refused.
 */
function requestOf(op: Operation, mode: 'strict' | 'mixed' | 'hostile'): fc.Arbitrary<FuzzRequest> | null {
  if (mode === 'hostile') {
    const breakers = breakersOf(op);
    if (breakers.length === 0) return null;
    return fc.tuple(fc.oneof(requestOf(op, 'strict')!, requestOf(op, 'mixed')!), fc.integer({ min: 0, max: breakers.length - 1 })).chain(([r, i]) => breakers[i]!(r)).map((r) => ({ ...r, hostile: true }));
  }
  const strict = mode === 'strict';
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const pathArb = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        strict
          ? fc.record({ pool: fc.constantFrom(...poolFor(op, p.name)), pick: fc.nat() })
          : fc.oneof(
              { arbitrary: fc.record({ pool: fc.constantFrom(...poolFor(op, p.name)), pick: fc.nat() }), weight: 6 },
              { arbitrary: fc.record({ raw: fc.oneof(fc.uuid(), fc.constantFrom(...NASTY), fc.string({ maxLength: 12 })), encode: fc.boolean() }), weight: 2 },
            ),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, PathValue>>;
  const junk = fc.constantFrom('limit=1&limit=2', '%zz=1', 'namespace=%E0%A4%A', 'namespace[]=a', 'x=1', 'a=%00', '&&&', '=', '__proto__[x]=1', 'constructor=1');
  const queryArb = fc
    .tuple(
      ...queryParams.filter((p) => !strict || p.name !== 'cursor').map((p) => fc.option(valueOf(p.schema, p.name, 0, strict).map((v) => `${p.name}=${encode(textOf(v))}`), { freq: 2 })),
      strict ? fc.constant(null) : fc.oneof({ arbitrary: fc.constant(null), weight: 6 }, { arbitrary: junk, weight: 1 }),
    )
    .map((parts) => parts.filter((p): p is string => p !== null).join('&'));
  let bodyArb: fc.Arbitrary<Body>;
  if (!op.body) bodyArb = strict ? fc.constant(undefined) : fc.oneof({ arbitrary: fc.constant(undefined), weight: 10 }, { arbitrary: brokenJson.map((text) => ({ text })), weight: 1 });
  else if (strict) bodyArb = valueOf(op.body, '', 0, true).chain((b) => fitBody(b, op.path)).map((json) => ({ json }));
  else {
    bodyArb = fc.oneof(
      { arbitrary: valueOf(op.body, '').map((json) => ({ json })), weight: 30 },
      { arbitrary: fc.oneof(fc.constantFrom(63, 64, 65, 5_000).chain((d) => deepText(d)), brokenJson).map((text) => ({ text })), weight: 2 },
      { arbitrary: fc.constantFrom(HUGE_BODY).map((text) => ({ text })), weight: 1 },
      { arbitrary: fc.constant(undefined), weight: 1 },
    );
  }
  return fc
    .record({
      role: fc.constantFrom<Role>('viewer', 'operator', 'admin'),
      path: pathArb,
      query: queryArb,
      body: bodyArb,
      ifMatch: strict ? fc.constant(undefined) : fc.option(fc.constantFrom('"1"', '"2"', '*', 'W/"1"', 'garbage', '"99999999999999999999"'), { nil: undefined }),
    })
    .map((r): FuzzRequest => ({ op, hostile: false, ...r }));
}

// --- The store, as a snapshot ---------------------------------------------------------------------

/** Everything the API can change, read through the Store interface (any backend). */
async function snapshot(h: ApiHarness): Promise<Record<string, unknown[]>> {
  const all = async <T>(page: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> => {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const p = await page(cursor);
      out.push(...p.items);
      cursor = p.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return out;
  };
  const s = h.store;
  return {
    tasks: await all((cursor) => s.listTasks({ namespaces: '*', limit: 1000, ...(cursor && { cursor }) })),
    runs: await all((cursor) => s.listRuns({ namespaces: '*', limit: 1000, ...(cursor && { cursor }) })),
    // lastUsedAt moves when a key is used at all, refused request or not.
    keys: (await s.listApiKeys()).map((k) => ({ ...k, lastUsedAt: null })),
    audit: await all((cursor) => s.listAudit({ namespaces: '*', limit: 1000, ...(cursor && { cursor }) })),
    channels: await all((cursor) => s.notifications.listChannels('*', 1000, cursor)),
    rules: await all((cursor) => s.alerts.listRules('*', 1000, cursor)),
  };
}

async function newestAudit(h: ApiHarness): Promise<string | undefined> {
  return (await h.store.listAudit({ namespaces: '*', limit: 1 })).items[0]?.id;
}

// --- The run --------------------------------------------------------------------------------------

let h: ApiHarness;
const tokens = {} as Record<Role, string>;
const ownKeys = new Set<string>();
const pools: Record<PoolKind, string[]> = { task: [], taskName: [], run: [], key: [], channel: [], rule: [] };

before(async () => {
  // The store's directory on tmpfs where there is one: this test is about answers, not about
  // durability, and a commit's fsync there costs nothing (still a real SQLite file).
  if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
  // Rate limits off: 20,000 requests a run with a few keys from one address is the point here;
  // the limits have their own tests (rate-limits.test.ts).
  const env = { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SHELL_TASKS: 'on', SUNDIAL_RATE_LIMIT: '0', SUNDIAL_RATE_LIMIT_ANON: '0' };
  h = await startApi({ config: resolveConfig({ env }) });
  tokens.viewer = await h.key('viewer', ['alpha']);
  tokens.operator = await h.key('operator', ['alpha']);
  tokens.admin = ADMIN_TOKEN;
  for (const k of await h.store.listApiKeys()) ownKeys.add(k.id);
  // Objects to address, in the keys' namespace and another one.
  for (const namespace of ['alpha', 'beta']) {
    const post = async (url: string, payload: object) => (await h.call({ method: 'POST', url, payload })).json() as Record<string, string>;
    await post('/v1/channels', { name: `ch-${namespace}`, namespace, type: 'webhook', url: 'https://hooks.example.com/x', secret: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4' });
    const task = await post('/v1/tasks', { name: 'fz-task', namespace, kind: 'http', spec: { url: 'https://example.com/x' }, schedule: { type: 'interval', every: '5m' } });
    await post(`/v1/tasks/${task.id}/schedule`, { at: '2026-03-02T11:00:00Z' });
    await post('/v1/alert-rules', { name: `rule-${namespace}`, namespace, kind: 'consecutive_failures', params: { task: 'fz-task', n: 3 }, channels: [`ch-${namespace}`] });
  }
  await learnObjects();
});
after(async () => {
  await h.close();
});

/** Refills the pools of real ids and names from the store (what the fuzz created or deleted since). */
async function learnObjects(): Promise<void> {
  const tasks = (await h.store.listTasks({ namespaces: '*', limit: 200 })).items;
  pools.task = tasks.map((t) => t.id);
  pools.taskName = tasks.map((t) => t.name);
  pools.run = (await h.store.listRuns({ namespaces: '*', limit: 200 })).items.map((r) => r.id);
  // Not the fuzz's own keys: revoking them would turn the rest of the run into 401s.
  pools.key = (await h.store.listApiKeys()).filter((k) => !ownKeys.has(k.id) && k.role !== 'admin').map((k) => k.id);
  pools.channel = (await h.store.notifications.listChannels('*', 200)).items.map((c) => c.name);
  pools.rule = (await h.store.alerts.listRules('*', 200)).items.map((r) => r.name);
}

function urlOf(r: FuzzRequest): string {
  let path = r.op.path;
  for (const [name, v] of Object.entries(r.path)) {
    let text: string;
    if ('pool' in v) {
      const pool = pools[v.pool];
      text = encode(pool.length === 0 ? 'none' : pool[v.pick % pool.length]!);
    } else text = v.encode ? encode(v.raw) : v.raw;
    path = path.replace(`{${name}}`, text);
  }
  return r.query === '' ? path : `${path}?${r.query}`;
}

/** Sends `r`; streams (events, followed logs) are read up to their headers and let go. */
async function send(r: FuzzRequest): Promise<{ res: LightMyRequestResponse; body: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${tokens[r.role]}` };
  if (r.ifMatch !== undefined) headers['if-match'] = r.ifMatch;
  let payload: string | undefined;
  if (r.body !== undefined) {
    payload = 'json' in r.body ? JSON.stringify(r.body.json) : r.body.text;
    headers['content-type'] = 'text' in r.body && r.body.type ? r.body.type : 'application/json';
  }
  const mayStream = r.op.path === '/v1/events' || r.op.path === '/v1/runs/{id}/logs';
  const res = await h.app.inject({ method: r.op.method as 'GET', url: urlOf(r), headers, ...(payload !== undefined && { payload }), ...(mayStream && { payloadAsStream: true }) });
  if (!mayStream) return { res, body: res.body };
  const stream = res.stream();
  if (String(res.headers['content-type']).startsWith('text/event-stream')) {
    stream.destroy();
    return { res, body: '' };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { res, body: Buffer.concat(chunks).toString('utf8') };
}

function describe(r: FuzzRequest, index: number): string {
  const body = r.body === undefined ? '' : ` body ${('json' in r.body ? JSON.stringify(r.body.json) : r.body.text).slice(0, 300)}`;
  return `#${index} ${r.op.method} ${urlOf(r).slice(0, 300)} as ${r.role}${r.ifMatch ? ` if-match ${r.ifMatch}` : ''}${body}`;
}

test(`${RUNS} requests drawn from the OpenAPI schemas: no 5xx, problems with codes, refused requests change nothing`, async () => {
  console.log(`fuzz seed ${SEED} (replay: FUZZ_SEED=${SEED} node --import tsx --test test/api/fuzz.test.ts)`);
  const doc = (await h.call({ method: 'GET', url: '/openapi.json', token: null })).json() as Parameters<typeof operationsOf>[0];
  const ops = operationsOf(doc);
  assert.ok(ops.length >= 38, `only ${ops.length} operations in the document`);
  // Batches alternate: requests that may well succeed (they create what later ones address),
  // then hostile ones, every one of which should be refused.
  // Creating requests weigh more, so there is something to address: deletes take objects away.
  const creates = (op: Operation) => (op.method === 'POST' && !op.path.includes('{') ? 6 : 1);
  const mixed = fc.oneof(...ops.flatMap((op) => [{ arbitrary: requestOf(op, 'strict')!, weight: 2 * creates(op) }, { arbitrary: requestOf(op, 'mixed')!, weight: 1 }]));
  const hostile = fc.oneof(...ops.map((op) => requestOf(op, 'hostile')).filter((a): a is fc.Arbitrary<FuzzRequest> => a !== null));
  const requests = fc.sample(fc.array(fc.tuple(mixed, hostile), { minLength: RUNS / 2, maxLength: RUNS / 2 }), { seed: SEED, numRuns: 1 })[0]!;

  const findings: string[] = [];
  const statuses = new Map<number, number>();
  const perOperation = new Map<string, number>(ops.map((op) => [`${op.method} ${op.path}`, 0]));
  let compared = 0;
  let index = 0;
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  let newest = await newestAudit(h);
  for (let b = 0; b < requests.length; b += BATCH / 2) {
    const chunk = requests.slice(b, b + BATCH / 2);
    for (const kind of [0, 1] as const) {
      const before = kind === 1 ? await snapshot(h) : undefined;
      let allRefused = true;
      for (const pair of chunk) {
        const r = pair[kind];
        index++;
        const auditBefore = newest;
        const { res, body } = await send(r);
        newest = await newestAudit(h);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        perOperation.set(`${r.op.method} ${r.op.path}`, (perOperation.get(`${r.op.method} ${r.op.path}`) ?? 0) + 1);
        if (res.statusCode >= 500) findings.push(`${res.statusCode}: ${describe(r, index)} -> ${body.slice(0, 300)}`);
        if (res.statusCode < 400 || res.statusCode >= 500) {
          allRefused = false;
          continue;
        }
        const problem = String(res.headers['content-type']).startsWith('application/problem+json') ? (JSON.parse(body) as { code?: unknown }) : null;
        if (problem === null || typeof problem.code !== 'string') findings.push(`${res.statusCode} without a problem code: ${describe(r, index)} -> ${res.headers['content-type']} ${body.slice(0, 200)}`);
        if (newest !== auditBefore) findings.push(`refused (${res.statusCode}) but audited: ${describe(r, index)}`);
      }
      if (before !== undefined && allRefused) {
        compared++;
        const now = await snapshot(h);
        for (const table of Object.keys(before)) {
          if (JSON.stringify(now[table]) !== JSON.stringify(before[table])) findings.push(`a batch of refused requests (#${index - chunk.length + 1}..#${index}) changed ${table}`);
        }
      }
    }
    await learnObjects();
  }
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // CPU seconds say what the run costs whatever else the machine does; on an idle machine wall time is about the same.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    `fuzz: ${index} requests in ${seconds.toFixed(1)} s (${Math.round(index / seconds)}/s; ${cpuSeconds.toFixed(1)} CPU s); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ` +
      `${compared} of ${requests.length / (BATCH / 2)} hostile batches all refused and compared; ${ops.length} operations, each asked at least ${Math.min(...perOperation.values())} times; ${findings.length} findings`,
  );
  assert.deepEqual(findings.slice(0, 30), [], `seed ${SEED}: replay with FUZZ_SEED=${SEED}`);
  // Every operation had its share (a route the generator could not reach would otherwise pass unseen).
  const fewest = Math.min(...perOperation.values());
  if (RUNS >= 20_000) assert.ok(fewest >= 100, `an operation got only ${fewest} requests: ${JSON.stringify([...perOperation].filter(([, n]) => n < 100))}`);
});
