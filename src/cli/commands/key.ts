// `sundial key …`: API keys. The secret of a new key is printed alone on stdout (everything else
// on stderr) so `export SUNDIAL_TOKEN=$(sundial key create …)` works.

import { Option, type Command } from 'commander';
import { isRecord, seg } from '../api-client.js';
import { cliOf, printJson, printList } from '../context.js';
import { str } from '../format/values.js';
import { KEY_COLUMNS } from '../format/views.js';

/** Adds `key` and its subcommands. */
export function registerKeyCommands(program: Command): void {
  const key = program.command('key').description('manage API keys (admins)');

  key
    .command('create')
    .description('create an API key; prints its secret, shown only this once')
    .requiredOption('--name <name>', 'what the key is for')
    .addOption(new Option('--role <role>', 'what the key may do').choices(['admin', 'operator', 'viewer']).default('viewer'))
    .option('--namespaces <list>', 'comma-separated namespaces the key covers, or * for all')
    .option('--expires-in <duration>', 'the key stops working after this long, e.g. 30d or 12h')
    .option('--expires-at <time>', 'the key stops working at this instant (ISO-8601)')
    .option('--scopes <list>', 'comma-separated scopes that narrow what the role may change, e.g. tasks:write:http,runs:write')
    .action(async (opts: { name: string; role: string; namespaces?: string; expiresIn?: string; expiresAt?: string; scopes?: string }, cmd: Command) => {
      const cli = cliOf(cmd);
      const body: Record<string, unknown> = { name: opts.name, role: opts.role };
      if (opts.namespaces !== undefined) body.namespaces = list(opts.namespaces);
      if (opts.expiresIn !== undefined) body.expiresIn = opts.expiresIn;
      if (opts.expiresAt !== undefined) body.expiresAt = opts.expiresAt;
      if (opts.scopes !== undefined) body.scopes = list(opts.scopes);
      const created = await cli.client.post('/v1/api-keys', body);
      if (cli.json) return printJson(cli, created);
      const rec = isRecord(created) ? created : {};
      // Either the key's fields with the secret beside them, or `{ key: {…}, secret }`.
      const meta = isRecord(rec.key) ? rec.key : isRecord(rec.apiKey) ? rec.apiKey : rec;
      cli.out(secretOf(rec));
      cli.info(`created key ${str(meta.name)} (${str(meta.id)}, ${str(meta.role)}); the secret above is shown only this once`);
    });

  key
    .command('list')
    .description('list API keys (never their secrets)')
    .action(async (_opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      printList(cli, await cli.client.get('/v1/api-keys'), KEY_COLUMNS, 'keys');
    });

  key
    .command('rotate')
    .description('replace an API key with a new one (same role, namespaces and scopes); prints the new secret, shown only this once')
    .argument('<id>', 'key id')
    .option('--grace-period <duration>', 'how long the old key keeps working (default 24h; 0s stops it now)')
    .option('--expires-in <duration>', "the new key's lifetime (default: the old key's)")
    .option('--expires-at <time>', 'when the new key stops working (ISO-8601)')
    .action(async (id: string, opts: { gracePeriod?: string; expiresIn?: string; expiresAt?: string }, cmd: Command) => {
      const cli = cliOf(cmd);
      const body: Record<string, unknown> = {};
      if (opts.gracePeriod !== undefined) body.gracePeriod = opts.gracePeriod;
      if (opts.expiresIn !== undefined) body.expiresIn = opts.expiresIn;
      if (opts.expiresAt !== undefined) body.expiresAt = opts.expiresAt;
      const rotated = await cli.client.post(`/v1/api-keys/${seg(id)}/rotate`, body);
      if (cli.json) return printJson(cli, rotated);
      const rec = isRecord(rotated) ? rotated : {};
      const previous = isRecord(rec.previous) ? rec.previous : {};
      cli.out(secretOf(rec));
      cli.info(
        `rotated key ${id} to ${str(rec.id)}; the secret above is shown only this once. The old key works until ${str(previous.expiresAt)}`,
      );
    });

  key
    .command('revoke')
    .description('revoke an API key; requests with it fail from now on')
    .argument('<id>', 'key id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      const res = await cli.client.request('DELETE', `/v1/api-keys/${seg(id)}`);
      if (cli.json) return printJson(cli, res.body);
      cli.out(`revoked key ${id}`);
    });
}

/** A comma-separated list, trimmed, without empty items. */
function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

// The secret's field name varies between API drafts (`secret`, `key`, `token`); accepting each
// keeps a rename on the server from printing a key without its secret.
function secretOf(body: Record<string, unknown>): string {
  for (const name of ['secret', 'key', 'token']) {
    const v = body[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return '-';
}
