// The effective configuration as the `node.start` audit row records it: every option, with every
// secret removed. Secrets are found two ways, so an option added later is covered without being
// listed here: a string option whose name says it is a secret (token, password, secret, key,
// credential) is replaced by `[redacted]` (or stays `""` when unset, so the row still says whether
// it was set); and every string that is a URL loses its password and any query parameter whose
// name says it is a secret (`postgres://sundial:…@db/sundial?sslpassword=…`). Numbers and
// booleans are never secrets (`streamsPerKey` is a count).
import type { Config } from './config.js';

export const REDACTED = '[redacted]';

const SECRET_NAME = /token|password|passwd|secret|key|credential|auth/i;
/** Options whose names match SECRET_NAME but that hold a path, not a secret. */
const PATHS = /(File|Dir)$/;

/** The configuration without secrets (see the file head). */
export function configForAudit(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config) as [string, unknown][]) {
    if (typeof value === 'string') {
      out[name] = SECRET_NAME.test(name) && !PATHS.test(name) ? (value === '' ? '' : REDACTED) : withoutUrlSecrets(value);
    } else if (Array.isArray(value)) {
      out[name] = value.map((v) => (typeof v === 'string' ? withoutUrlSecrets(v) : v));
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** `text` with a URL's password and secret-named query parameters redacted; other text as it is. */
export function withoutUrlSecrets(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // A URL that does not parse cannot be cleaned with certainty: keep none of it.
    return REDACTED;
  }
  if (url.password !== '') url.password = 'redacted';
  for (const name of [...url.searchParams.keys()]) if (SECRET_NAME.test(name)) url.searchParams.set(name, 'redacted');
  return url.toString();
}
