// The web dashboard's static files (the Vite build in dist/ui), served on the API's port.
// The dashboard routes on the client (/tasks/…, /runs/…), so a page load of any such URL gets
// index.html; API paths keep answering problem documents, never the page.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PAGE_HEADERS } from './page-headers.js';

/** Paths owned by the server or the build; a miss under them is a 404, not a dashboard page. */
const SERVER_PATHS = ['/v1', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz', '/assets'];


/** True when `request` is a browser asking for a page (not an API call or an asset). */
function wantsPage(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0] ?? '/';
  if (SERVER_PATHS.some((p) => path === p || path.startsWith(`${p}/`))) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * Serves the dashboard from `dir` when it holds a build; otherwise `/` explains how to build it.
 * Returns a not-found hook for the caller's not-found handler: it answers page loads of
 * client-side routes with index.html and returns false for everything else.
 */
export async function installUi(app: FastifyInstance, dir: string | undefined): Promise<(request: FastifyRequest, reply: FastifyReply) => boolean> {
  const index = dir === undefined ? undefined : join(dir, 'index.html');
  if (dir === undefined || index === undefined || !existsSync(index)) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send('Sundial is running. The web dashboard is not built: run `npm run build` (or `npm start`). API: /v1, docs: /docs\n'),
    );
    return () => false;
  }
  const html = readFileSync(index);
  const sendPage = (reply: FastifyReply): FastifyReply =>
    reply.headers({ ...PAGE_HEADERS, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(html);

  await app.register(fastifyStatic, {
    root: dir,
    // Only files that exist at start-up get routes, so unknown paths fall through to the
    // not-found handler (which keeps API 404s as problem documents).
    wildcard: false,
    index: false,
    setHeaders(res, path) {
      // Vite names assets by content hash: they never change under their name.
      res.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      res.setHeader('x-content-type-options', 'nosniff');
      // /index.html itself is the page too: the same policy as on any client route.
      if (path.endsWith('/index.html')) for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    },
    schemaHide: true,
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => sendPage(reply));
  return (request, reply) => {
    if (!wantsPage(request)) return false;
    void sendPage(reply);
    return true;
  };
}
