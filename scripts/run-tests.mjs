#!/usr/bin/env node
// Runs the whole suite with Node's own test runner, one process per file, in parallel.
// Usage: npm test [-- <file or folder> ...]
// Node 20's --test does not expand globs, so the files are found here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['test'];

/** Lists `*.test.ts` files under a path, sorted for a stable order. */
function findTests(path) {
  const st = statSync(path);
  if (st.isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => (name === 'node_modules' || name === 'fixtures' ? [] : findTests(join(path, name))));
}

const files = roots.flatMap((r) => findTests(join(root, r))).map((f) => relative(root, f));
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}
const concurrency = Number(process.env.SUNDIAL_TEST_CONCURRENCY ?? Math.max(2, availableParallelism()));
const env = { ...process.env, NODE_ENV: 'test' };

// `*.netns.test.ts` files send traffic that must never leave the machine (the outbound guard, the
// sandbox escape suite): they run in a network namespace of their own with only a loopback
// interface, so even a broken guard has no route out. Everything else runs as usual (it needs
// the machine's services, e.g. PostgreSQL on 127.0.0.1, which a new namespace would hide).
const isolated = files.filter((f) => f.endsWith('.netns.test.ts'));
const plain = files.filter((f) => !f.endsWith('.netns.test.ts'));

/** Runs node --test on `list`, optionally wrapped; resolves with the exit code. */
function runNodeTest(list, wrap = []) {
  if (list.length === 0) return Promise.resolve(0);
  const argv = [process.execPath, '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...list];
  const [cmd, ...args] = [...wrap, ...argv];
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env });
  return new Promise((resolve) => {
    child.on('error', (err) => {
      console.error(`cannot start ${cmd}: ${err.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const NETNS = ['unshare', '--net', '--', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"'];
if (isolated.length > 0) {
  const probe = spawnSync(NETNS[0], [...NETNS.slice(1), 'true'], { stdio: 'pipe' });
  if (probe.status !== 0) {
    console.error(
      `these tests must run in a network namespace with no route out, and \`unshare --net\` failed here ` +
        `(${String(probe.stderr ?? probe.error ?? '').trim() || `exit ${probe.status}`}); run the suite as root or with CAP_SYS_ADMIN:\n  ${isolated.join('\n  ')}`,
    );
    process.exit(1);
  }
}
// The two groups run one after the other: together they would double the parallelism.
const codes = [await runNodeTest(plain), await runNodeTest(isolated, NETNS)];
process.exit(Math.max(...codes));
