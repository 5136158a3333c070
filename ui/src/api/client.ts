// The typed API client: openapi-fetch over the types generated from the server's /openapi.json
// (schema.d.ts), with the signed-in key as bearer token. Calls resolve with the data or throw
// an ApiError; a 401 signs the user out (the key was revoked or mistyped).

import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';
import { toApiError } from './problem';

let currentKey: string | null = null;
let onUnauthenticated: () => void = () => {};

/** Sets the key sent with every call (null: none) and what to do when the server refuses it. */
export function setApiKey(key: string | null, unauthenticated?: () => void): void {
  currentKey = key;
  if (unauthenticated) onUnauthenticated = unauthenticated;
}

/** The key the client sends, for streams that cannot go through openapi-fetch. */
export function apiKey(): string | null {
  return currentKey;
}

const auth: Middleware = {
  onRequest({ request }) {
    if (currentKey !== null) request.headers.set('authorization', `Bearer ${currentKey}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && currentKey !== null) onUnauthenticated();
    return response;
  },
};

/** The raw openapi-fetch client. */
export const client = createClient<paths>({ baseUrl: window.location.origin });
client.use(auth);

/** Returns `data`, or throws the call's problem as an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw toApiError(result.response.status, result.error);
  return result.data as T;
}

// The API's bodies, named for the pages (the document inlines its schemas).
type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
export type Task = Json<paths['/v1/tasks/{idOrName}']['get']['responses'][200]>;
export type Run = Json<paths['/v1/runs/{id}']['get']['responses'][200]>;
export type TaskCreate = NonNullable<paths['/v1/tasks']['post']['requestBody']>['content']['application/json'];
export type TaskPatch = NonNullable<paths['/v1/tasks/{idOrName}']['patch']['requestBody']>['content']['application/json'];
export type Schedule = NonNullable<TaskCreate['schedule']>;
export type RunStatus = Run['status'];
export type Me = Json<paths['/v1/me']['get']['responses'][200]>;
