// Security headers of every page a browser renders from this server: the dashboard and the API
// docs (/docs, Swagger UI). Both talk only to their own origin, load scripts only from it, and
// may not be framed (clickjacking: a page that frames /docs or the dashboard could trick a
// signed-in user into clicks).

import type { FastifyInstance } from 'fastify';

/**
 * Scripts and styles come only from this server ('unsafe-inline' for styles only: CodeMirror
 * and Swagger UI write style attributes and <style> elements); frames never.
 */
export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** Everything Swagger UI serves lives under this prefix (see build-app.ts). */
export const DOCS_PREFIX = '/docs';

/** Adds PAGE_HEADERS to every answer under /docs (the page, its scripts, its JSON). */
export function installDocsHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const url = request.url;
    if (url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`) || url.startsWith(`${DOCS_PREFIX}?`)) reply.headers(PAGE_HEADERS);
    return payload;
  });
}
