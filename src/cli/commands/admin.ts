// `sundial audit list`, `sundial nodes`, `sundial stats`: the admin views.

import type { Command } from 'commander';
import { isRecord } from '../api-client.js';
import { cliOf, fetchList, printJson, printList, type PageOptions } from '../context.js';
import { formatKeyValues } from '../format/table.js';
import { AUDIT_COLUMNS, NODE_COLUMNS, flatten } from '../format/views.js';
import { intOption } from '../options.js';
import { parseTimeFlag } from '../task-input.js';

interface AuditOptions extends PageOptions {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
}

/** Adds `audit`, `nodes` and `stats`. */
export function registerAdminCommands(program: Command): void {
  program
    .command('audit')
    .description('the audit log')
    .command('list')
    .description('list audit entries, newest first')
    .option('--actor <id>', 'entries by this actor (key:<id>, system)')
    .option('--action <action>', 'entries of this action (task.create, run.cancel…)')
    .option('--target <id>', 'entries about this task, run or key id')
    .option('--from <time>', 'at or after this time')
    .option('--to <time>', 'before this time')
    .addOption(intOption('--limit <n>', 'page size', 1))
    .option('--cursor <cursor>', 'start at this page')
    .option('--all', 'follow the cursors to the last page')
    .action(async (opts: AuditOptions, cmd: Command) => {
      const cli = cliOf(cmd);
      const now = new Date();
      const query = {
        actor: opts.actor,
        action: opts.action,
        target: opts.target,
        from: opts.from === undefined ? undefined : parseTimeFlag('--from', opts.from, now),
        to: opts.to === undefined ? undefined : parseTimeFlag('--to', opts.to, now),
      };
      printList(cli, await fetchList(cli, '/v1/audit', query, opts), AUDIT_COLUMNS, 'audit entries');
    });

  program
    .command('nodes')
    .description('the nodes of the cluster and their heartbeats')
    .action(async (_opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      printList(cli, await cli.client.get('/v1/cluster/nodes'), NODE_COLUMNS, 'nodes');
    });

  program
    .command('stats')
    .description('counts of runs by status, backlog and other server figures')
    .action(async (_opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      const body = await cli.client.get('/v1/stats');
      if (cli.json) return printJson(cli, body);
      cli.out(formatKeyValues(isRecord(body) ? flatten('', body) : [['stats', JSON.stringify(body)]]));
    });
}
