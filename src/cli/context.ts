// What every API command needs: a client built from the global options, the output mode, and
// the two output streams (results on stdout, progress and hints on stderr, so
// `$(sundial task run x)` captures only the run id).

import type { Command } from 'commander';
import { ApiClient, itemsOf, nextCursorOf, type Query } from './api-client.js';
import { UsageError } from './cli-errors.js';
import { formatTable, type Column } from './format/table.js';

/** The program-wide options (`sundial --url … --token … --json --namespace …`). */
export interface GlobalOptions {
  url: string;
  token?: string;
  json?: boolean;
  namespace?: string;
}

/** Handed to every API command. */
export interface Cli {
  client: ApiClient;
  /** `--json`: print the API's JSON instead of tables. */
  json: boolean;
  /** `--namespace`, when given. */
  namespace: string | undefined;
  /** A line of results (stdout). */
  out(text: string): void;
  /** A line for the person: progress, hints, confirmations (stderr). */
  info(text: string): void;
}

/** Builds the context from a command's options and its ancestors'. */
export function cliOf(cmd: Command): Cli {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  let parsed: URL;
  try {
    parsed = new URL(g.url);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(g.url)} is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url must be http:// or https://, not ${parsed.protocol}`);
  }
  return {
    client: new ApiClient({ baseUrl: g.url, token: g.token, namespace: g.namespace }),
    json: g.json === true,
    namespace: g.namespace === '' ? undefined : g.namespace,
    out: (text) => void process.stdout.write(`${text}\n`),
    info: (text) => void process.stderr.write(`${text}\n`),
  };
}

/** Prints a value as JSON (for `--json`). */
export function printJson(cli: Cli, body: unknown): void {
  if (body !== undefined) cli.out(JSON.stringify(body, null, 2));
}

/** Options every list command shares. */
export interface PageOptions {
  limit?: number;
  cursor?: string;
  all?: boolean;
}

/**
 * GETs a list: one page, or with `all` every page (following `nextCursor`) merged into one
 * `{ items, nextCursor: null }`, so `--json --all` is still one JSON document.
 */
export async function fetchList(cli: Cli, path: string, query: Query, page: PageOptions): Promise<unknown> {
  let body = await cli.client.get(path, { ...query, limit: page.limit, cursor: page.cursor });
  if (page.all !== true) return body;
  const items = [...itemsOf(body)];
  for (let cursor = nextCursorOf(body); cursor !== null; cursor = nextCursorOf(body)) {
    body = await cli.client.get(path, { ...query, limit: page.limit, cursor });
    items.push(...itemsOf(body));
  }
  return { items, nextCursor: null };
}

/** Prints a list: JSON as received, or a table, an empty note, and a hint when more pages exist. */
export function printList<T>(cli: Cli, body: unknown, columns: readonly Column<T>[], noun: string): void {
  if (cli.json) return printJson(cli, body);
  const items = itemsOf(body) as T[];
  if (items.length === 0) cli.info(`no ${noun}`);
  else cli.out(formatTable(columns, items));
  const next = nextCursorOf(body);
  if (next !== null) cli.info(`more ${noun}: add --all, or --cursor ${next}`);
}
