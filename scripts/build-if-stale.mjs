// Builds the server (tsc) and the dashboard (vite) only when their sources are newer than the
// last build, so `npm start` of an installed checkout starts in about a second instead of
// rebuilding for ~14 s every time. `npm ci` builds once through the `prepare` script.
//
//   node scripts/build-if-stale.mjs            # server and dashboard
//   node scripts/build-if-stale.mjs --ui       # the dashboard only (what the tests need)
//   node scripts/build-if-stale.mjs --force    # build even when nothing changed (`npm run build`)
//
// A part is stale when any file under its inputs has a later mtime than its stamp file, or the
// stamp is missing. The stamp is written only after a successful build.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const parts = {
  server: {
    inputs: ['src', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'],
    stamp: 'dist/.server-build-stamp',
    command: ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
  },
  ui: {
    inputs: ['ui', 'package-lock.json'],
    stamp: 'dist/.ui-build-stamp',
    command: ['node_modules/vite/bin/vite.js', 'build', '--config', 'ui/vite.config.ts'],
  },
};

/** The latest mtime (ms) of any file under `path`, skipping build output and dependencies. */
function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs; // a deleted file shows only as a newer directory mtime
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

function stampMtime(stamp) {
  try {
    return statSync(join(root, stamp)).mtimeMs;
  } catch {
    return -1;
  }
}

const force = process.argv.includes('--force');
const wanted = process.argv.includes('--ui') ? ['ui'] : ['server', 'ui'];
for (const name of wanted) {
  const part = parts[name];
  const newest = Math.max(...part.inputs.map((p) => newestMtime(join(root, p))));
  if (!force && stampMtime(part.stamp) >= newest) continue;
  if (!force) console.error(`sundial: building the ${name === 'ui' ? 'dashboard' : 'server'} (sources changed)`);
  const r = spawnSync(process.execPath, part.command, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  mkdirSync(dirname(join(root, part.stamp)), { recursive: true });
  writeFileSync(join(root, part.stamp), `${new Date().toISOString()}\n`);
}
