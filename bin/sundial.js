#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (`npm run build` makes dist/).
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('sundial: not built yet; run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
