// The routes a Fastify app has registered, read back from the app itself, so tests that must
// cover "every route" (the authorization matrix, the fuzz test) notice a route added later.
//
// Two sources, because neither is complete alone: `printRoutes` lists every route, including
// ones hidden from the API description and the HEAD twins Fastify adds to GET routes;
// `/openapi.json` has the schemas but only the routes that are described.
import type { FastifyInstance } from 'fastify';

/** One registered route: `GET /v1/tasks/{idOrName}` (path parameters written as OpenAPI does). */
export interface RegisteredRoute {
  method: string;
  path: string;
  /** `METHOD path`, the key of expectation tables. */
  key: string;
}

/**
 * Every method and path `app` answers, from its route tree. Lines look like
 * `│   ├── /:idOrName (GET, HEAD, PATCH)`: the depth is where the branch mark starts (four
 * characters a level) and a node's path is its parent's plus its own text.
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const out: RegisteredRoute[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      out.push({ method, path, key: `${method} ${path}` });
    }
  }
  return out;
}

/** The operations of an OpenAPI document, as `METHOD path` keys. */
export function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
}
