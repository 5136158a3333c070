// `sundial audit verify` end to end: a real server (SQLite) writes its node.start row (version,
// roles, configuration without secrets) and signs the chain's head at start; the CLI says OK
// with the count and head hash; someone edits one audit row in the database file while the server
// is stopped; after a restart the CLI names that row and exits 4.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteDatabase as Database } from '../../src/store/sqlite/sqlite-driver.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { ADMIN_TOKEN, makeDirs, startServerProcess, type ServerProcess } from './server-process.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const DB_PASSWORD = 'e2e-db-password-never-recorded';
const dirs = makeDirs();
let server: ServerProcess | null = null;
after(async () => {
  await server?.kill('SIGTERM');
});

// A PostgreSQL-looking URL would switch the backend; the SMTP URL carries a password instead.
const start = () => startServerProcess({ ...dirs, env: { SUNDIAL_SMTP_URL: `smtp://mailer:${DB_PASSWORD}@127.0.0.1:2525` } });

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, SUNDIAL_URL: server!.url, SUNDIAL_TOKEN: ADMIN_TOKEN },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface AuditItem {
  seq: number;
  action: string;
  targetId: string;
  detail: { version?: string; nodeId?: string; roles?: string[]; config?: Record<string, unknown> };
}

describe('sundial audit verify against a running server', () => {
  it('records the start, verifies OK, then names a row edited in the database file', async () => {
    server = await start();
    for (const name of ['first', 'second']) {
      const res: { status: number; body: unknown } = await server.api('POST', '/v1/tasks', { name, kind: 'http', spec: { url: 'https://example.com/' } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    // The start is on record, with the configuration but none of its secrets.
    const raw = await fetch(`${server.url}/v1/audit?action=node.start`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await raw.text();
    assert.ok(!text.includes(ADMIN_TOKEN) && !text.includes(DB_PASSWORD), 'a secret is in the node.start row');
    const starts = (JSON.parse(text) as { items: AuditItem[] }).items;
    assert.equal(starts.length, 1);
    const detail = starts[0]!.detail;
    assert.match(detail.version ?? '', /^\d+\.\d+\.\d+/);
    assert.deepEqual(detail.roles, ['api', 'executor', 'scheduler']);
    assert.equal(detail.config?.adminToken, '[redacted]');
    assert.equal(detail.config?.smtpUrl, 'smtp://mailer:redacted@127.0.0.1:2525');
    assert.equal(detail.config?.dataDir, dirs.dataDir);
    // The generated key is the server's own file.
    assert.equal(statSync(join(dirs.dataDir, 'audit.key')).mode & 0o777, 0o600);

    const ok = await cli('audit', 'verify');
    assert.equal(ok.code, 0, ok.stderr);
    // The bootstrap key, the start, two tasks.
    assert.match(ok.stdout, /^OK: 4 audit rows verified from the start$/m);
    assert.match(ok.stdout, /^head: seq 4 hash [0-9a-f]{64}$/m);
    assert.match(ok.stdout, /^signed heads: 1 matched, the last at seq 2 /m);
    const json = JSON.parse((await cli('--json', 'audit', 'verify')).stdout) as { ok: boolean; count: number };
    assert.deepEqual([json.ok, json.count], [true, 4]);

    const tasks = (await server.api<{ items: AuditItem[] }>('GET', '/v1/audit?action=task.create')).body.items;
    const victim = tasks.find((t) => t.seq === 3)!;
    await server.kill('SIGTERM');
    server = null;
    // Someone with the file edits who did it.
    const db = new Database(join(dirs.dataDir, 'sundial.db'));
    assert.equal(db.prepare("UPDATE audit SET actor = 'key:someone-else' WHERE seq = 3").run().changes, 1);
    db.close();

    server = await start();
    const broken = await cli('audit', 'verify');
    assert.equal(broken.code, 4, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /^BROKEN after 2 good rows from the start$/m);
    assert.match(broken.stderr, new RegExp(`the audit chain is broken at row 3 \\(changed\\): row 3 \\(id [^)]+\\) does not match its hash`));
    assert.equal(victim.action, 'task.create');
  });

  it('on PostgreSQL with an audit key: two nodes record their starts, sign the head, and the chain verifies', async () => {
    const db = await createTestDatabase('sundial_e2e_audit');
    const key = 'e2e-cluster-audit-key-0123456789-abcdefgh';
    const nodes: ServerProcess[] = [];
    try {
      for (const id of ['node-a', 'node-b']) {
        nodes.push(await startServerProcess({ ...makeDirs(), env: { SUNDIAL_DATABASE_URL: db.url, SUNDIAL_NODE_ID: id, SUNDIAL_AUDIT_KEY: key } }));
      }
      await Promise.all(nodes.map((n, i) => n.api('POST', '/v1/tasks', { name: `from-${i}`, kind: 'http', spec: { url: 'https://example.com/' } })));
      const starts = (await nodes[1]!.api<{ items: AuditItem[] }>('GET', '/v1/audit?action=node.start')).body.items;
      assert.deepEqual(starts.map((s) => s.targetId).sort(), ['node-a', 'node-b']);
      assert.ok(!JSON.stringify(starts).includes(key), 'the audit key is in a node.start row');
      const prev = server;
      server = nodes[0]!;
      try {
        const out = await cli('--json', 'audit', 'verify');
        assert.equal(out.code, 0, out.stderr);
        const v = JSON.parse(out.stdout) as { ok: boolean; count: number; signedHeads: number; keyConfigured: boolean };
        // The bootstrap key, two starts, two tasks; each node signed the head at its start.
        assert.deepEqual([v.ok, v.count, v.keyConfigured], [true, 5, true]);
        assert.ok(v.signedHeads >= 1);
      } finally {
        server = prev;
      }
    } finally {
      await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
      await db.drop();
    }
  });
});
