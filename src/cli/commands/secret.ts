// `sundial secret …`: secrets tasks reference (docs/api.md#secrets). A value is read from stdin
// (or a file), never from an argument: argv is visible to every user of the machine (`ps`) and
// lands in shell history. Nothing prints a value: the API has none to give.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isRecord, seg } from '../api-client.js';
import { UsageError } from '../cli-errors.js';
import { cliOf, printJson, printList } from '../context.js';
import { str } from '../format/values.js';
import { SECRET_COLUMNS } from '../format/views.js';

/** Adds `secret` and its subcommands. */
export function registerSecretCommands(program: Command): void {
  const secret = program.command('secret').description('manage secrets (values are write-only)');

  secret
    .command('set')
    .description('create a secret or give it a new value, read from stdin (one trailing newline is dropped)')
    .argument('<name>', 'the secret\'s name: {{secrets.NAME}} in specs, ctx.secrets.NAME in scripts')
    .option('--from-file <path>', 'read the value from a file instead of stdin (taken as it is)')
    .action(async (name: string, opts: { fromFile?: string }, cmd: Command) => {
      const cli = cliOf(cmd);
      const value = opts.fromFile === undefined ? (await readStdin()).replace(/\r?\n$/, '') : await readValueFile(opts.fromFile);
      if (value === '') throw new UsageError('the value is empty: pipe it in (printf %s "$TOKEN" | sundial secret set NAME) or give --from-file');
      const res = await cli.client.request('PUT', `/v1/secrets/${seg(name)}`, { body: { value, ...(cli.namespace !== undefined && { namespace: cli.namespace }) } });
      if (cli.json) return printJson(cli, res.body);
      const s = isRecord(res.body) ? res.body : {};
      cli.info(`${res.status === 201 ? 'created' : 'updated'} secret ${str(s.name)} in ${str(s.namespace)} (version ${str(s.version)})`);
    });

  secret
    .command('list')
    .description('list secrets: names and versions, never values')
    .action(async (_opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      printList(cli, await cli.client.get('/v1/secrets', { limit: 200 }), SECRET_COLUMNS, 'secrets');
    });

  secret
    .command('delete')
    .description('delete a secret; runs of tasks that reference it fail secret_missing')
    .argument('<name>', 'the secret\'s name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      await cli.client.request('DELETE', `/v1/secrets/${seg(name)}`);
      cli.info(`deleted secret ${name}`);
    });
}

async function readValueFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--from-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('value (end with Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
