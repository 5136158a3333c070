// Builds the dashboard into dist/ui, which the API server serves on its own port.
// `npx vite --config ui/vite.config.ts` serves it with hot reload, proxying the API to :8080.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    // The size report is what docs/benchmarks.md records; keep it honest.
    reportCompressedSize: true,
    sourcemap: false,
    // CodeMirror is one ~500 kB chunk (170 kB gzipped), loaded only when a script task is
    // edited; the pages everyone loads stay far below this.
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8080', '/openapi.json': 'http://127.0.0.1:8080' },
  },
});
