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
    .action(async (opts: { name: string; role: string; namespaces?: string }, cmd: Command) => {
      const cli = cliOf(cmd);
      const body: Record<string, unknown> = { name: opts.name, role: opts.role };
      if (opts.namespaces !== undefined) {
        body.namespaces = opts.namespaces.split(',').map((s) => s.trim()).filter((s) => s !== '');
      }
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

// The secret's field name varies between API drafts (`secret`, `key`, `token`); accepting each
// keeps a rename on the server from printing a key without its secret.
function secretOf(body: Record<string, unknown>): string {
  for (const name of ['secret', 'key', 'token']) {
    const v = body[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return '-';
}
