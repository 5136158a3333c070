// `sundial audit list`, `sundial audit verify`, `sundial nodes`, `sundial stats`: the admin views.

import type { Command } from 'commander';
import { isRecord } from '../api-client.js';
import { AuditBrokenError, UsageError } from '../cli-errors.js';
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

/** `--expect 1841:5b0c…` → the query of GET /v1/audit/verify. */
function parseExpect(text: string): { seq: string; hash: string } {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text.trim());
  if (!m) throw new UsageError('--expect must be <seq>:<hash>, as `audit verify` prints them (e.g. 1841:5b0c…, 64 hex digits)');
  return { seq: m[1]!, hash: m[2]! };
}

/** A verification as lines for people. */
function formatVerification(body: unknown): string {
  if (!isRecord(body)) return JSON.stringify(body);
  const lines: string[] = [];
  const from = isRecord(body.from) ? body.from : {};
  const head = isRecord(body.head) ? body.head : {};
  const start = from.checkpoint === true ? `the signed checkpoint at seq ${String(from.seq)}` : 'the start';
  if (body.ok === true) lines.push(`OK: ${String(body.count)} audit rows verified from ${start}`);
  else lines.push(`BROKEN after ${String(body.count)} good rows from ${start}`);
  lines.push(`head: seq ${String(head.seq)} hash ${String(head.hash)}`);
  const signed = isRecord(body.lastSignedHead) ? body.lastSignedHead : null;
  lines.push(signed === null ? 'signed heads: none matched' : `signed heads: ${String(body.signedHeads)} matched, the last at seq ${String(signed.seq)} (${String(signed.at)})`);
  if (Array.isArray(body.warnings)) for (const w of body.warnings) lines.push(`warning: ${String(w)}`);
  return lines.join('\n');
}

/** Adds `audit`, `nodes` and `stats`. */
export function registerAdminCommands(program: Command): void {
  const audit = program.command('audit').description('the audit log');
  audit
    .command('verify')
    .description('check the audit hash chain: names the first changed, deleted, inserted or rewritten row (exit 4), or prints the count and head hash')
    .option('--expect <seq:hash>', 'a head an earlier verify printed: the row at that seq must still have that hash')
    .action(async (opts: { expect?: string }, cmd: Command) => {
      const cli = cliOf(cmd);
      const expect = opts.expect === undefined ? undefined : parseExpect(opts.expect);
      const body = await cli.client.get('/v1/audit/verify', expect);
      if (cli.json) printJson(cli, body);
      else cli.out(formatVerification(body));
      if (!isRecord(body) || body.ok !== true) {
        const broken = isRecord(body) && isRecord(body.broken) ? body.broken : null;
        throw new AuditBrokenError(broken === null ? 'the audit chain did not verify' : `the audit chain is broken at row ${String(broken.seq)} (${String(broken.reason)}): ${String(broken.message)}`);
      }
    });
  audit
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
