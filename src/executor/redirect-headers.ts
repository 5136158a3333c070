// Which request headers follow a redirect to another origin. A task's headers are meant for the
// host it names: its `authorization` and also any custom credential (`x-api-key`, `x-auth-token`,
// a signature) must not be handed to wherever that host redirects, and no deny-list can know every
// custom name. So a cross-origin hop keeps only a short list of headers that describe the request
// itself; a same-origin hop keeps them all.

/** Headers that carry no credential and still make sense at another origin. */
export const CROSS_ORIGIN_SAFE_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-language',
  'content-language',
  'content-type',
  'user-agent',
  // Sundial's own: the receiver of the final hop still needs them to drop repeated attempts.
  'idempotency-key',
  'x-sundial-run-id',
  'x-sundial-attempt',
]);

/** The headers (lower-case names) that go on to another origin. */
export function crossOriginHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (CROSS_ORIGIN_SAFE_HEADERS.has(name)) out[name] = value;
  return out;
}
