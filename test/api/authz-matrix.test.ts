// Issue 12: the authorization matrix. Every route the app has registered × every kind of key ×
// an object of the key's own namespace and one of another namespace, each cell asserted against
// the rules of docs/security.md ("Roles and namespaces"):
//
// - no key, or a revoked or expired one: 401 on every /v1 route; routes outside /v1
//   (health, metrics, the API description, its docs) need no key;
// - a role below the route's minimum: 403 `forbidden`, whatever the object (the role is checked
//   before anything is looked up, so a 403 says nothing about whether the object exists);
// - viewers read, operators also write, admins also manage keys, read the audit log and the
//   cluster's nodes; for a `shell` task everything that decides what it runs or when needs admin,
//   and so does defining, changing or deleting an alert rule that watches the whole installation
//   (docs/alerts.md: `node_down`, `sink_dropping`, `outbox_backlog`);
// - an object in a namespace the key does not cover answers 404 as if it did not exist;
//   creating in such a namespace is 403; listings leave its objects out; admins cover every
//   namespace.
//
// The routes come from the app itself (its route tree), not from this file: a route added later
// without a line in ROUTES fails "every registered route has a line". Adding a route is one line.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { resolveConfig } from '../../src/config/config.js';
import type { Role } from '../../src/core/types.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';
import { documentedRoutes, registeredRoutes } from '../helpers/route-table.js';

/** What a route addresses: an object of that kind, a new object in a namespace, a listing, or nothing namespaced. */
type On = 'task' | 'run' | 'channel' | 'rule' | 'secret' | 'key' | 'create' | 'list' | 'global';

/**
 * The objects one cell works on, all in namespace `ns`. `guarded`: the admin-only variant of each
 * (a shell task and its run, an installation-wide alert rule).
 */
interface Subject {
  ns: string;
  guarded: boolean;
  /** A fresh name for what the request creates. */
  fresh: string;
  task: string;
  run: string;
  channel: string;
  rule: string;
  secret: string;
  key: string;
}

interface Rule {
  /** Weakest role that may call the route. */
  role: Role;
  on: On;
  /** Status of a request that is allowed. */
  ok: number;
  /**
   * On the guarded variant (a shell task or its run, an installation-wide alert rule, or creating
   * one) keys below admin get this: 403 `forbidden`, or 400 `validation_failed` where the kind is
   * a field of the request (docs/alerts.md: "only admin keys may define them").
   */
  guarded?: 403 | 400;
  /** The request body and query string (path parameters are filled from the subject). */
  req?: (s: Subject) => { payload?: object; query?: string };
  /** A listing: whether the answer shows the subject's objects. */
  sees?: (body: never, s: Subject) => boolean;
  /** A server-sent event stream: only the status line is read. */
  stream?: true;
  /** What fills `{name}` when it is not the subject's channel, rule or secret (a new secret's name). */
  name?: (s: Subject) => string;
}

const SECRET = 'whsec_c2VjcmV0LXNpZ25pbmcta2V5LTEyMzQ1Njc4';
const ns = (s: Subject) => ({ query: `namespace=${s.ns}` });
const ids = (b: { items: { id: string }[] }) => b.items.map((i) => i.id);
const names = (b: { items: { name: string }[] }) => b.items.map((i) => i.name);
const ruleBody = (s: Subject) => ({ name: s.fresh, namespace: s.ns, ...(s.guarded ? { kind: 'node_down', for: '1m' } : { kind: 'retries_exhausted', params: {} }) });
const taskBody = (s: Subject) =>
  s.guarded
    ? { name: s.fresh, namespace: s.ns, kind: 'shell', spec: { command: ['true'] } }
    : { name: s.fresh, namespace: s.ns, kind: 'http', spec: { url: 'https://example.com/hook' } };

/** The expectation table: one line a route. HEAD routes follow their GET line. */
const ROUTES: Record<string, Rule> = {
  'POST /v1/tasks': { role: 'operator', on: 'create', ok: 201, guarded: 403, req: (s) => ({ payload: taskBody(s) }) },
  'GET /v1/tasks': { role: 'viewer', on: 'list', ok: 200, req: ns, sees: (b, s) => ids(b).includes(s.task) },
  'GET /v1/tasks/{idOrName}': { role: 'viewer', on: 'task', ok: 200 },
  'PATCH /v1/tasks/{idOrName}': { role: 'operator', on: 'task', ok: 200, guarded: 403, req: () => ({ payload: { description: 'changed' } }) },
  'DELETE /v1/tasks/{idOrName}': { role: 'operator', on: 'task', ok: 204, guarded: 403 },
  'POST /v1/tasks/{idOrName}/schedule': { role: 'operator', on: 'task', ok: 201, guarded: 403, req: () => ({ payload: { at: '2026-03-02T12:00:00Z' } }) },
  'POST /v1/tasks/{idOrName}/runs': { role: 'operator', on: 'task', ok: 201, guarded: 403, req: () => ({ payload: {} }) },
  'POST /v1/tasks/{idOrName}/pause': { role: 'operator', on: 'task', ok: 200, guarded: 403 },
  'POST /v1/tasks/{idOrName}/resume': { role: 'operator', on: 'task', ok: 200, guarded: 403 },
  'GET /v1/runs': { role: 'viewer', on: 'list', ok: 200, req: ns, sees: (b, s) => ids(b).includes(s.run) },
  'GET /v1/runs/{id}': { role: 'viewer', on: 'run', ok: 200 },
  'GET /v1/runs/{id}/logs': { role: 'viewer', on: 'run', ok: 200 },
  'GET /v1/runs/{id}/metrics': { role: 'viewer', on: 'run', ok: 200 },
  'POST /v1/runs/{id}/reschedule': { role: 'operator', on: 'run', ok: 200, guarded: 403, req: () => ({ payload: { at: '2026-03-02T13:00:00Z' } }) },
  'POST /v1/runs/{id}/cancel': { role: 'operator', on: 'run', ok: 200 },
  'POST /v1/schedules/preview': { role: 'viewer', on: 'global', ok: 200, req: () => ({ payload: { schedule: { type: 'interval', every: '5m' }, count: 2 } }) },
  'GET /v1/events': { role: 'viewer', on: 'list', ok: 200, req: ns, stream: true },
  'GET /v1/me': { role: 'viewer', on: 'global', ok: 200 },
  'POST /v1/api-keys': { role: 'admin', on: 'global', ok: 201, req: (s) => ({ payload: { name: s.fresh, role: 'viewer', namespaces: [s.ns] } }) },
  'GET /v1/api-keys': { role: 'admin', on: 'global', ok: 200 },
  'DELETE /v1/api-keys/{id}': { role: 'admin', on: 'key', ok: 200 },
  'POST /v1/api-keys/{id}/rotate': { role: 'admin', on: 'key', ok: 201, req: () => ({ payload: {} }) },
  'GET /v1/audit': { role: 'admin', on: 'global', ok: 200 },
  'GET /v1/audit/verify': { role: 'admin', on: 'global', ok: 200 },
  'GET /v1/cluster/nodes': { role: 'admin', on: 'global', ok: 200 },
  'GET /v1/stats': { role: 'viewer', on: 'list', ok: 200, req: ns, sees: (b: { tasks: { total: number } }) => b.tasks.total > 0 },
  'GET /v1/stats/runs': { role: 'viewer', on: 'list', ok: 200, req: ns },
  'POST /v1/channels': { role: 'operator', on: 'create', ok: 201, req: (s) => ({ payload: { name: s.fresh, namespace: s.ns, type: 'webhook', url: 'https://hooks.example.com/x', secret: SECRET } }) },
  'GET /v1/channels': { role: 'viewer', on: 'list', ok: 200, req: ns, sees: (b, s) => names(b).includes(s.channel) },
  'GET /v1/channels/{name}': { role: 'viewer', on: 'channel', ok: 200 },
  'PATCH /v1/channels/{name}': { role: 'operator', on: 'channel', ok: 200, req: () => ({ payload: { url: 'https://hooks.example.com/v2' } }) },
  'DELETE /v1/channels/{name}': { role: 'operator', on: 'channel', ok: 200 },
  'GET /v1/channels/{name}/deliveries': { role: 'viewer', on: 'channel', ok: 200 },
  'POST /v1/channels/{name}/test': { role: 'operator', on: 'channel', ok: 202 },
  'POST /v1/alert-rules': { role: 'operator', on: 'create', ok: 201, guarded: 400, req: (s) => ({ payload: ruleBody(s) }) },
  'GET /v1/alert-rules': { role: 'viewer', on: 'list', ok: 200, req: ns, sees: (b, s) => names(b).includes(s.rule) },
  'GET /v1/alert-rules/{name}': { role: 'viewer', on: 'rule', ok: 200 },
  'PATCH /v1/alert-rules/{name}': { role: 'operator', on: 'rule', ok: 200, guarded: 400, req: () => ({ payload: { enabled: false } }) },
  'DELETE /v1/alert-rules/{name}': { role: 'operator', on: 'rule', ok: 200, guarded: 403 },
  'GET /v1/alerts': { role: 'viewer', on: 'list', ok: 200, req: ns },
  'PUT /v1/secrets/{name}': { role: 'operator', on: 'create', ok: 201, name: (s) => s.fresh.replace(/-/g, '_'), req: (s) => ({ payload: { value: 'hunter2-but-longer', namespace: s.ns } }) },
  'GET /v1/secrets': { role: 'viewer', on: 'list', ok: 200, req: ns, sees: (b, s) => names(b).includes(s.secret) },
  'GET /v1/secrets/{name}': { role: 'viewer', on: 'secret', ok: 200 },
  'DELETE /v1/secrets/{name}': { role: 'operator', on: 'secret', ok: 204 },
};

/** Routes outside /v1 need no key (security.md "API keys"): path → a URL to ask. */
const PUBLIC: Record<string, string> = {
  '/': '/',
  '/healthz': '/healthz',
  '/readyz': '/readyz',
  '/metrics': '/metrics',
  '/openapi.json': '/openapi.json',
  '/docs': '/docs',
  '/docs/': '/docs/',
  '/docs/static/index.html': '/docs/static/index.html',
  '/docs/static/swagger-initializer.js': '/docs/static/swagger-initializer.js',
  '/docs/*': '/docs/static/swagger-ui.css',
  '/docs/json': '/docs/json',
  '/docs/yaml': '/docs/yaml',
};

/** The columns: who calls. Namespaced keys cover `alpha`; the outsider covers only `gamma`. */
interface Caller {
  name: string;
  token: string | null;
  role?: Role;
  namespaces?: string[];
  /** The code of its 401 (no role): `unauthenticated`, or `key_expired`. */
  refusedAs?: string;
}
const OWN = 'alpha';
const OTHER = 'beta';
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** What a cell must answer. */
interface Expect {
  status: number;
  code?: string;
  /** For listings: whether the subject's objects are listed. */
  sees?: boolean;
}

/** The documented answer for `caller` on `rule` with a subject in namespace `subjectNs`. */
function expected(rule: Rule, caller: Caller, subjectNs: string, guarded: boolean): Expect {
  if (caller.role === undefined) return { status: 401, code: caller.refusedAs ?? 'unauthenticated' };
  if (RANK[caller.role] < RANK[rule.role]) return { status: 403, code: 'forbidden' };
  const covered = caller.role === 'admin' || caller.namespaces!.includes(subjectNs);
  const denied: Expect | null =
    guarded && rule.guarded !== undefined && caller.role !== 'admin' ? { status: rule.guarded, code: rule.guarded === 403 ? 'forbidden' : 'validation_failed' } : null;
  switch (rule.on) {
    case 'global':
    case 'key':
      return { status: rule.ok };
    case 'list':
      return { status: rule.ok, sees: covered };
    case 'create':
      if (!covered) return { status: 403, code: 'forbidden' };
      return denied ?? { status: rule.ok };
    default:
      if (!covered) return { status: 404, code: `${rule.on === 'rule' ? 'alert_rule' : rule.on}_not_found` };
      return denied ?? { status: rule.ok };
  }
}

let h: ApiHarness;
let callers: Caller[];
let counter = 0;
/** Objects that cells which change nothing may share, by namespace and variant. */
const shared = new Map<string, Subject>();

/** Creates the objects a subject needs, as the admin (tasks, a pending run, a channel, a rule, a key). */
async function makeSubject(namespace: string, guarded: boolean): Promise<Subject> {
  const n = ++counter;
  const must = async (method: 'POST' | 'PUT', url: string, payload: object): Promise<Record<string, string>> => {
    const res = await h.call({ method, url, payload });
    assert.ok(res.statusCode === 201, `fixture ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const task = await must('POST', '/v1/tasks', taskBody({ ns: namespace, guarded, fresh: `t${n}` } as Subject));
  const run = await must('POST', `/v1/tasks/${task.id}/schedule`, { at: '2026-03-02T11:00:00Z' });
  const channel = await must('POST', '/v1/channels', { name: `c${n}`, namespace, type: 'webhook', url: 'https://hooks.example.com/x', secret: SECRET });
  const rule = await must('POST', '/v1/alert-rules', ruleBody({ ns: namespace, guarded, fresh: `r${n}` } as Subject));
  const key = await must('POST', '/v1/api-keys', { name: `k${n}`, role: 'viewer', namespaces: [namespace] });
  const secret = await must('PUT', `/v1/secrets/s${n}`, { value: `value-${n}`, namespace });
  return { ns: namespace, guarded, fresh: `new-${n}`, task: task.id!, run: run.id!, channel: channel.name!, rule: rule.name!, secret: secret.name!, key: key.id! };
}

/** The URL of `path` for `rule` on `s`. */
function urlOf(path: string, rule: Rule, s: Subject): string {
  const url = path
    .replace('{idOrName}', s.task)
    .replace('{id}', rule.on === 'key' ? s.key : s.run)
    .replace('{name}', rule.name?.(s) ?? (rule.on === 'rule' ? s.rule : rule.on === 'secret' ? s.secret : s.channel));
  const query = rule.req?.(s).query ?? (path.includes('{name}') ? `namespace=${s.ns}` : undefined);
  return query === undefined ? url : `${url}?${query}`;
}

/** The newest audit row's id: every change writes one in its own transaction. */
async function newestAudit(): Promise<string | undefined> {
  return ((await h.call({ method: 'GET', url: '/v1/audit?limit=1' })).json() as { items: { id: string }[] }).items[0]?.id;
}

before(async () => {
  // Shell tasks on, so the shell rows of the table are exercised (the sandbox is never reached:
  // nothing runs). Rate limits off: hundreds of refused requests from one address are the point
  // here, and would be 429s after the first 60 (rate-limits.test.ts tests the limits).
  const env = { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SHELL_TASKS: 'on', SUNDIAL_RATE_LIMIT: '0', SUNDIAL_RATE_LIMIT_ANON: '0' };
  h = await startApi({ config: resolveConfig({ env }) });
  const revoked = await h.key('operator', [OWN]);
  const me = (await h.call({ method: 'GET', url: '/v1/me', token: revoked })).json() as { actor: string };
  assert.equal((await h.call({ method: 'DELETE', url: `/v1/api-keys/${me.actor.replace(/^key:/, '')}` })).statusCode, 200);
  // An operator key that expires a second from now, on the harness's clock, which then moves on.
  const expiring = await h.call({ method: 'POST', url: '/v1/api-keys', payload: { name: 'expiring', role: 'operator', namespaces: [OWN], expiresIn: '1s' } });
  assert.equal(expiring.statusCode, 201, expiring.body);
  h.clock.advance(2000);
  callers = [
    { name: 'no key', token: null },
    { name: 'revoked key', token: revoked },
    { name: 'expired key', token: (expiring.json() as { secret: string }).secret, refusedAs: 'key_expired' },
    { name: 'viewer', token: await h.key('viewer', [OWN]), role: 'viewer', namespaces: [OWN] },
    { name: 'operator', token: await h.key('operator', [OWN]), role: 'operator', namespaces: [OWN] },
    { name: 'admin', token: await h.key('admin'), role: 'admin', namespaces: ['*'] },
    { name: 'operator of another namespace', token: await h.key('operator', ['gamma']), role: 'operator', namespaces: ['gamma'] },
  ];
  for (const n of [OWN, OTHER]) for (const guarded of [false, true]) shared.set(`${n}/${guarded}`, await makeSubject(n, guarded));
});
after(async () => {
  await h.close();
});

test('every registered route has a line in the expectation table, and every line a route', async () => {
  const routes = registeredRoutes(h.app);
  const missing = routes.filter((r) => (r.path.startsWith('/v1/') ? !ROUTES[r.key] && !(r.method === 'HEAD' && ROUTES[`GET ${r.path}`]) : !(r.path in PUBLIC)));
  assert.deepEqual(missing.map((r) => r.key), [], 'add a line to ROUTES (or PUBLIC) in test/api/authz-matrix.test.ts for each of these');
  const keys = new Set(routes.map((r) => r.key));
  assert.deepEqual(Object.keys(ROUTES).filter((k) => !keys.has(k)), [], 'lines for routes the app does not have');
  // The API description lists the same /v1 routes (a hidden /v1 route would escape the fuzz test).
  const doc = (await h.call({ method: 'GET', url: '/openapi.json', token: null })).json() as { paths: Record<string, Record<string, unknown>> };
  assert.deepEqual(
    documentedRoutes(doc).filter((k) => k.includes(' /v1/')).sort(),
    Object.keys(ROUTES).sort(),
  );
});

test('every cell answers as docs/security.md says', async () => {
  const routes = registeredRoutes(h.app);
  const wrong: string[] = [];
  let cells = 0;
  for (const route of routes) {
    if (!route.path.startsWith('/v1/')) {
      for (const caller of callers) {
        cells++;
        const res = await h.call({ method: route.method as 'GET', url: PUBLIC[route.path]!, token: caller.token });
        if (res.statusCode >= 400) wrong.push(`${route.key} as ${caller.name}: ${res.statusCode}, expected no key to be needed`);
      }
      continue;
    }
    const rule = ROUTES[route.key] ?? ROUTES[`GET ${route.path}`]!;
    // Routes on tasks, runs and alert rules (and creating them) also meet the admin-only variant.
    const variants = rule.on === 'task' || rule.on === 'run' || rule.on === 'rule' || rule.guarded !== undefined ? [false, true] : [false];
    for (const caller of callers) {
      for (const target of [OWN, OTHER]) {
        for (const guarded of variants) {
          cells++;
          const want = expected(rule, caller, target, guarded);
          const writes = route.method !== 'GET' && route.method !== 'HEAD';
          // A write that is allowed gets objects of its own; everything else shares them.
          const s = writes && want.status < 300 ? await makeSubject(target, guarded) : { ...shared.get(`${target}/${guarded}`)!, fresh: `new-${++counter}` };
          const auditBefore = want.status >= 400 ? await newestAudit() : undefined;
          const payload = rule.req?.(s).payload;
          // An allowed stream stays open: read its status line, then let go.
          const streamed = rule.stream === true && want.status < 300;
          const res: LightMyRequestResponse = await h.app.inject({
            method: route.method as 'GET',
            url: urlOf(route.path, rule, s),
            headers: caller.token === null ? {} : { authorization: `Bearer ${caller.token}` },
            ...(payload !== undefined && { payload }),
            ...(streamed && { payloadAsStream: true }),
          });
          const cell = `${route.key} as ${caller.name} on ${target === OWN ? 'own' : 'another'} namespace's ${guarded ? 'admin-only ' : ''}object`;
          if (streamed) res.stream().destroy();
          if (res.statusCode !== want.status) {
            wrong.push(`${cell}: ${res.statusCode}, expected ${want.status} (${streamed ? 'a stream' : res.body.slice(0, 200)})`);
            continue;
          }
          // HEAD answers have headers only.
          const hasBody = route.method !== 'HEAD';
          if (want.code !== undefined) {
            if (hasBody && (res.json() as { code?: string }).code !== want.code) wrong.push(`${cell}: code ${(res.json() as { code?: string }).code}, expected ${want.code}`);
            if (!String(res.headers['content-type']).startsWith('application/problem+json')) wrong.push(`${cell}: not a problem document`);
            if ((await newestAudit()) !== auditBefore) wrong.push(`${cell}: refused, but an audit row was written (something changed)`);
          }
          if (want.sees !== undefined && rule.sees && hasBody) {
            const sees = rule.sees(res.json() as never, s);
            if (sees !== want.sees) wrong.push(`${cell}: the listing ${sees ? 'shows' : 'hides'} the object`);
          }
        }
      }
    }
  }
  console.log(`authorization matrix: ${cells} cells over ${routes.length} routes and ${callers.length} callers`);
  assert.deepEqual(wrong, []);
});
