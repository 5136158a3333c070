// /v1/secrets: set (create or new version), list, get and delete within a key's namespaces;
// values are never returned to any role, audit rows carry the name and version only, the stored
// row is sealed; tasks that reference unknown secrets are refused with secret_unknown; without a
// key-encryption key, writes answer 501 secrets_key_missing. The suite runs on SQLite and on
// PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { resolveConfig } from '../../src/config/config.js';
import { generateKekText, Keyring, parseKek, type Kek } from '../../src/core/secrets/envelope.js';
import { ensureBootstrapAdmin } from '../../src/auth/bootstrap.js';
import { ManualClock } from '../../src/core/clock.js';
import { openPostgresStore } from '../../src/store/postgres/pg-store.js';
import type { Store } from '../../src/store/store.js';
import { ADMIN_TOKEN, startApi, type ApiHarness } from '../helpers/api-harness.js';
import { createTestDatabase } from '../helpers/postgres.js';

const VALUE = 'pa55-w0rd/very+secret==';
const kek = parseKek(generateKekText()) as Kek;
const keyring = new Keyring(kek);

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`/v1/secrets on ${backend}`, () => {
    let h: ApiHarness;
    /** The store the API runs on (the harness's own SQLite store is unused on PostgreSQL). */
    let store: Store;
    let pgDrop: (() => Promise<void>) | null = null;
    let operator: string;
    let viewer: string;
    let teamOperator: string;

    /** Every response body of the suite, to check no value ever appears in one. */
    const bodies: string[] = [];

    async function call(opts: Parameters<ApiHarness['call']>[0]) {
      const res = await h.call(opts);
      bodies.push(res.body, JSON.stringify(res.headers));
      return res;
    }

    before(async () => {
      const config = resolveConfig({ env: { SUNDIAL_ADMIN_TOKEN: ADMIN_TOKEN, SUNDIAL_NODE_ID: 'test-node', SUNDIAL_SHELL_TASKS: 'on' } });
      let override: { store?: Store } = {};
      if (backend === 'postgres') {
        const db = await createTestDatabase('sundial_api_secrets');
        const pgStore = await openPostgresStore({ url: db.url, poolSize: 4 });
        await pgStore.migrate();
        await ensureBootstrapAdmin(pgStore, ADMIN_TOKEN, new ManualClock('2026-03-02T10:00:00Z'));
        override = { store: pgStore };
        pgDrop = async () => {
          await pgStore.close();
          await db.drop();
        };
      }
      h = await startApi({ config, secretsKeyring: keyring, checkScriptSyntax: () => null, ...override });
      store = override.store ?? h.store;
      operator = await h.key('operator', ['default']);
      viewer = await h.key('viewer', ['default']);
      teamOperator = await h.key('operator', ['team']);
    });
    after(async () => {
      await h.close();
      await pgDrop?.();
    });

    it('PUT creates (201, version 1), then sets new versions (200); no answer holds the value', async () => {
      const created = await call({ method: 'PUT', url: '/v1/secrets/API_TOKEN', token: operator, payload: { value: VALUE } });
      assert.equal(created.statusCode, 201, created.body);
      const view = created.json() as Record<string, unknown>;
      assert.deepEqual(Object.keys(view).sort(), ['createdAt', 'createdBy', 'name', 'namespace', 'updatedAt', 'updatedBy', 'version']);
      assert.equal(view.version, 1);
      assert.equal(view.namespace, 'default');
      assert.equal(created.headers.location, '/v1/secrets/API_TOKEN?namespace=default');
      const again = await call({ method: 'PUT', url: '/v1/secrets/API_TOKEN', payload: { value: `${VALUE}-2`, namespace: 'default' } });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal((again.json() as { version: number }).version, 2);
      assert.equal((again.json() as { createdBy: string }).createdBy, view.createdBy);
    });

    it('the stored row is sealed: it opens with the keyring, and holds no plaintext', async () => {
      const row = await store.secrets.getSecret('default', 'API_TOKEN');
      assert.ok(row);
      assert.equal(keyring.open({ namespace: 'default', name: 'API_TOKEN' }, row), `${VALUE}-2`);
      assert.equal(row.kekId, kek.id);
      assert.ok(!JSON.stringify(row).includes(VALUE));
    });

    it('lists and gets metadata for viewers; other namespaces answer 404 and are left out', async () => {
      await call({ method: 'PUT', url: '/v1/secrets/TEAM_ONLY', token: teamOperator, payload: { value: 'team-value-123', namespace: 'team' } });
      const list = await call({ method: 'GET', url: '/v1/secrets', token: viewer });
      assert.equal(list.statusCode, 200);
      assert.deepEqual((list.json() as { items: { name: string }[] }).items.map((s) => s.name), ['API_TOKEN']);
      const all = await call({ method: 'GET', url: '/v1/secrets' });
      assert.deepEqual((all.json() as { items: { namespace: string; name: string }[] }).items.map((s) => `${s.namespace}/${s.name}`), ['default/API_TOKEN', 'team/TEAM_ONLY']);
      const one = await call({ method: 'GET', url: '/v1/secrets/API_TOKEN', token: viewer });
      assert.equal(one.statusCode, 200);
      assert.equal((one.json() as { version: number }).version, 2);
      for (const [url, token] of [
        ['/v1/secrets/TEAM_ONLY?namespace=team', viewer],
        ['/v1/secrets/TEAM_ONLY', viewer],
        ['/v1/secrets/API_TOKEN', teamOperator],
        ['/v1/secrets/NOPE', viewer],
      ] as const) {
        const res = await call({ method: 'GET', url, token });
        assert.equal(res.statusCode, 404, url);
        assert.equal((res.json() as { type: string }).type, 'https://sundial.dev/problems/secret_not_found');
      }
      const del = await call({ method: 'DELETE', url: '/v1/secrets/API_TOKEN', token: teamOperator });
      assert.equal(del.statusCode, 404);
      const put = await call({ method: 'PUT', url: '/v1/secrets/X', token: teamOperator, payload: { value: 'v', namespace: 'default' } });
      assert.equal(put.statusCode, 403);
      assert.equal(await store.secrets.getSecret('default', 'X'), null);
    });

    it('viewers may not write; bad input is a 400 that changes nothing', async () => {
      const res = await call({ method: 'PUT', url: '/v1/secrets/VIEWER_TRY', token: viewer, payload: { value: 'x' } });
      assert.equal(res.statusCode, 403);
      assert.equal((await call({ method: 'DELETE', url: '/v1/secrets/API_TOKEN', token: viewer })).statusCode, 403);
      for (const [url, payload] of [
        ['/v1/secrets/1BAD', { value: 'x' }],
        ['/v1/secrets/bad-name', { value: 'x' }],
        ['/v1/secrets/OK', { value: '' }],
        ['/v1/secrets/OK', { value: 5 }],
        ['/v1/secrets/OK', { value: 'x', extra: 1 }],
        ['/v1/secrets/OK', { value: 'x'.repeat(65_537) }],
        ['/v1/secrets/OK', { value: 'é'.repeat(40_000) }],
        ['/v1/secrets/OK', {}],
      ] as const) {
        const r = await call({ method: 'PUT', url, token: operator, payload });
        assert.equal(r.statusCode, 400, `${url} ${JSON.stringify(payload).slice(0, 40)}: ${r.body.slice(0, 200)}`);
      }
      assert.equal(await store.secrets.getSecret('default', 'OK'), null);
    });

    it('tasks referencing unknown secrets are refused with secret_unknown; known ones are accepted', async () => {
      const http = (name: string, ref: string) => ({
        name,
        kind: 'http',
        spec: { url: `https://example.com/hook?k={{secrets.${ref}}}`, method: 'POST', headers: { authorization: `Bearer {{secrets.${ref}}}` } },
      });
      const refused = await call({ method: 'POST', url: '/v1/tasks', token: operator, payload: http('t1', 'MISSING_ONE') });
      assert.equal(refused.statusCode, 400, refused.body);
      const problem = refused.json() as { type: string; errors: { path: string; message: string }[] };
      assert.equal(problem.type, 'https://sundial.dev/problems/secret_unknown');
      assert.match(problem.errors[0]!.message, /MISSING_ONE/);
      assert.equal((await store.listTasks({ namespaces: '*', limit: 10 })).items.length, 0);

      const ok = await call({ method: 'POST', url: '/v1/tasks', token: operator, payload: http('t1', 'API_TOKEN') });
      assert.equal(ok.statusCode, 201, ok.body);
      // The stored spec keeps the reference, never a value.
      assert.match(JSON.stringify(ok.json()), /\{\{secrets\.API_TOKEN\}\}/);
      // Another namespace's secret of that name does not count.
      const team = await call({ method: 'POST', url: '/v1/tasks', token: operator, payload: http('t2', 'TEAM_ONLY') });
      assert.equal(team.statusCode, 400);

      const inHost = await call({ method: 'POST', url: '/v1/tasks', token: operator, payload: { name: 't3', kind: 'http', spec: { url: 'https://{{secrets.API_TOKEN}}.example.com/' } } });
      assert.equal(inHost.statusCode, 400, inHost.body);
      assert.match(inHost.body, /not in its host/);

      const script = { name: 's1', kind: 'script', spec: { code: 'export default async (ctx) => 1', secrets: ['API_TOKEN', 'NOT_THERE'] } };
      const s = await call({ method: 'POST', url: '/v1/tasks', token: operator, payload: script });
      assert.equal(s.statusCode, 400, s.body);
      assert.equal((s.json() as { type: string }).type, 'https://sundial.dev/problems/secret_unknown');
      const badName = await call({ method: 'POST', url: '/v1/tasks', token: operator, payload: { ...script, spec: { code: 'x', secrets: ['no-dash'] } } });
      assert.equal(badName.statusCode, 400);
      assert.equal((badName.json() as { type: string }).type, 'https://sundial.dev/problems/validation_failed');

      const shell = { name: 'sh1', kind: 'shell', spec: { command: ['env'], env: { TOKEN: '{{secrets.NOPE}}' } } };
      const sh = await call({ method: 'POST', url: '/v1/tasks', payload: shell });
      assert.equal(sh.statusCode, 400);
      assert.equal((sh.json() as { type: string }).type, 'https://sundial.dev/problems/secret_unknown');

      // PATCH is checked the same way, and a refused PATCH changes nothing.
      const patch = await call({ method: 'PATCH', url: '/v1/tasks/t1', token: operator, payload: { spec: { url: 'https://example.com/{{secrets.GONE}}', method: 'GET' } } });
      assert.equal(patch.statusCode, 400, patch.body);
      assert.equal((patch.json() as { type: string }).type, 'https://sundial.dev/problems/secret_unknown');
      const still = await call({ method: 'GET', url: '/v1/tasks/t1', token: operator });
      assert.match(JSON.stringify(still.json()), /API_TOKEN/);
    });

    it('DELETE answers 204, then the secret is gone; audit rows carry name and version, never the value or its digest', async () => {
      await call({ method: 'PUT', url: '/v1/secrets/SHORT', token: operator, payload: { value: 'abc' } });
      const del = await call({ method: 'DELETE', url: '/v1/secrets/SHORT', token: operator });
      assert.equal(del.statusCode, 204);
      assert.equal((await call({ method: 'GET', url: '/v1/secrets/SHORT', token: operator })).statusCode, 404);
      assert.equal((await call({ method: 'DELETE', url: '/v1/secrets/SHORT', token: operator })).statusCode, 404);
      const audit = await call({ method: 'GET', url: '/v1/audit?limit=200' });
      const rows = (audit.json() as { items: { action: string; detail: unknown }[] }).items.filter((a) => a.action.startsWith('secret.'));
      assert.deepEqual(
        rows.map((a) => `${a.action} ${JSON.stringify(a.detail)}`).sort(),
        [
          'secret.create {"name":"API_TOKEN","version":1}',
          'secret.create {"name":"SHORT","version":1}',
          'secret.create {"name":"TEAM_ONLY","version":1}',
          'secret.delete {"name":"SHORT","version":1}',
          'secret.update {"name":"API_TOKEN","version":2}',
        ],
      );
      // The secrets' audit rows are links of the audit hash chain like every other row.
      const verified = (await call({ method: 'GET', url: '/v1/audit/verify' })).json() as { ok: boolean; broken: unknown };
      assert.deepEqual([verified.ok, verified.broken], [true, null]);
    });

    it('PUT takes the namespace from ?namespace= too; two different ones are a 400', async () => {
      const q = await call({ method: 'PUT', url: '/v1/secrets/VIA_QUERY?namespace=team', token: teamOperator, payload: { value: 'team-value-123' } });
      assert.equal(q.statusCode, 201, q.body);
      assert.equal((q.json() as { namespace: string }).namespace, 'team');
      const both = await call({ method: 'PUT', url: '/v1/secrets/VIA_QUERY?namespace=team', payload: { value: 'x', namespace: 'default' } });
      assert.equal(both.statusCode, 400);
      assert.equal(await store.secrets.getSecret('default', 'VIA_QUERY'), null);
    });

    it('no answer of this suite held a value or a digest of one', () => {
      const all = bodies.join('\n');
      for (const v of [VALUE, `${VALUE}-2`, 'team-value-123']) {
        assert.ok(!all.includes(v), v);
        assert.ok(!all.includes(Buffer.from(v).toString('base64')), v);
        assert.ok(!all.includes(createHash('sha256').update(v).digest('hex')), v);
      }
    });
  });
}

describe('/v1/secrets without a key-encryption key', () => {
  let bare: ApiHarness;
  before(async () => {
    bare = await startApi({ secretsKeyring: null, secretsKeyProblem: 'set SUNDIAL_SECRETS_KEY on every node' });
  });
  after(async () => bare.close());

  it('writes answer 501 secrets_key_missing with the reason; reads still work', async () => {
    const res = await bare.call({ method: 'PUT', url: '/v1/secrets/A', payload: { value: 'x' } });
    assert.equal(res.statusCode, 501, res.body);
    assert.equal(res.headers['retry-after'], undefined, 'not a passing condition');
    const p = res.json() as { type: string; detail: string };
    assert.equal(p.type, 'https://sundial.dev/problems/secrets_key_missing');
    assert.match(p.detail, /SUNDIAL_SECRETS_KEY on every node/);
    assert.equal((await bare.call({ method: 'GET', url: '/v1/secrets' })).statusCode, 200);
  });
});
