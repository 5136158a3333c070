// `npm start`: builds what is stale (scripts/build-if-stale.mjs; nothing after `npm ci`), then
// serves from this same process, which saves a second Node.js start-up on the way to /healthz.
await import('./build-if-stale.mjs');
process.argv = [process.argv[0], new URL('../bin/sundial.js', import.meta.url).pathname, 'serve', ...process.argv.slice(2)];
await import('../bin/sundial.js');
