// Lint: the recommended rules of ESLint and typescript-eslint; type checking is `tsc --noEmit`.
// The layers of src/ (docs/architecture.md, "Layers") are kept here too, by no-restricted-imports.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import { posix } from 'node:path';
import tseslint from 'typescript-eslint';

// ---- layers -----------------------------------------------------------------------------------
// Bottom to top. A folder of src/ may import its own files, src/version.ts, and the folders of
// the layers below its own; nothing beside or above it, except what ALSO grants.
const LAYERS = [
  ['core'],
  ['config', 'observability', 'store', 'executor'],
  ['scheduler', 'cluster', 'auth', 'notify', 'alerts'],
  ['services'],
  ['api', 'cli'],
  // src/server.ts, the composition root, may import everything and is not restricted.
];
/** Single files beside a folder's layer that it may import: cluster drives the scheduler through its control interface. */
const ALSO = { cluster: ['scheduler/scheduler-control.js'] };
/** Folders (under src/) that must not import one another although they share a parent. */
const APART = {
  store: ['store/sqlite', 'store/postgres', 'store/copy'], // the shared store code names no implementation
  'store/sqlite': ['store/postgres', 'store/copy'],
  'store/postgres': ['store/sqlite', 'store/copy'],
};
/** How deep below a folder the rules reach (src/store/sqlite/a/b/c.ts is 3 below store/sqlite). */
const MAX_DEPTH = 4;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ups = (n) => `(?:\\.\\./){${n}}`;

/** What `folder` may import besides itself, as paths under src/ (folders, or files ending in .js). */
function allowedFor(folder) {
  const layer = LAYERS.findIndex((l) => l.includes(folder));
  return [...LAYERS.slice(0, layer).flat(), ...(ALSO[folder] ?? []), 'version.js', folder];
}

/**
 * The pattern for a file `depth` folders below src/ in `folder`: an import climbing to src/
 * (`depth` times `../`) must land in an allowed folder; climbing past src/ is refused as well.
 */
function layerPattern(folder, depth) {
  const allowed = allowedFor(folder)
    .map((a) => (a.endsWith('.js') ? `${escape(a)}$` : `${escape(a)}/`))
    .join('|');
  const others = allowedFor(folder).filter((a) => a !== folder && a !== 'version.js');
  return {
    regex: `^${ups(depth)}(?!${allowed})`,
    caseSensitive: true,
    message: `src/${folder} may import only ${others.length ? `${others.join(', ')}, ` : ''}src/version.ts and its own files (docs/architecture.md, "Layers").`,
  };
}

/** Patterns that keep a file in `dir` (under src/) out of each folder in `targets`, written either way round. */
function apartPatterns(dir, targets) {
  const depth = dir.split('/').length;
  return targets.map((target) => {
    const rel = posix.relative(`src/${dir}`, `src/${target}`);
    const near = rel.startsWith('..') ? escape(rel) : `\\./${escape(rel)}`;
    return {
      regex: `^(?:${near}|${ups(depth)}${escape(target)})/`,
      caseSensitive: true,
      message: `src/${dir.split('/').slice(0, 2).join('/')} must not import src/${target} (docs/architecture.md, "Layers").`,
    };
  });
}

/** One config block per folder and depth: a file gets the rule from exactly the last block matching it. */
function layerBlocks() {
  const blocks = [];
  const block = (glob, patterns) => blocks.push({ files: [glob], rules: { 'no-restricted-imports': ['error', { patterns }] } });
  const below = (j) => '*/'.repeat(j);
  for (const folder of LAYERS.flat()) {
    for (let j = 0; j < MAX_DEPTH; j++) {
      const patterns = [layerPattern(folder, 1 + j)];
      if (j === 0 && APART[folder]) patterns.push(...apartPatterns(folder, APART[folder]));
      block(`src/${folder}/${below(j)}*.ts`, patterns);
    }
  }
  // Sub-folders with rules of their own come after their parent's blocks, so they win.
  for (const [dir, targets] of Object.entries(APART).filter(([d]) => d.includes('/'))) {
    const top = dir.split('/')[0];
    const depth = dir.split('/').length;
    for (let j = 0; j < MAX_DEPTH - 1; j++) {
      const subdir = `${dir}${'/x'.repeat(j)}`;
      block(`src/${dir}/${below(j)}*.ts`, [layerPattern(top, depth + j), ...apartPatterns(subdir, targets)]);
    }
  }
  // src/version.ts sits with core at the bottom.
  block('src/version.ts', [
    { regex: '^(?:\\.\\./|\\./(?!core/))', caseSensitive: true, message: 'src/version.ts may import only src/core (docs/architecture.md, "Layers").' },
  ]);
  return blocks;
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'ui/dist/**', '.test-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layerBlocks(),
  {
    // The dashboard: the rules of hooks and complete effect dependencies.
    files: ['ui/src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
