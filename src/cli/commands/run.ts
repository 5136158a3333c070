// `sundial run …`: monitor runs (the seed's task monitoring), reschedule and cancel them.

import type { Command } from 'commander';
import { TERMINAL_STATUSES, type RunStatus } from '../../core/types.js';
import { ApiError, isRecord, itemsOf, seg } from '../api-client.js';
import { cliOf, fetchList, printJson, printList, type Cli, type PageOptions } from '../context.js';
import { cleanText, formatKeyValues } from '../format/table.js';
import { fmtTime, str } from '../format/values.js';
import { RUN_COLUMNS, runDetail } from '../format/views.js';
import { intOption } from '../options.js';
import { parseTimeFlag } from '../task-input.js';

interface RunListOptions extends PageOptions {
  task?: string;
  status?: string;
  from?: string;
  to?: string;
}

/** Adds `run` and its subcommands. */
export function registerRunCommands(program: Command): void {
  const run = program.command('run').description('inspect, reschedule and cancel runs');

  run
    .command('list')
    .description('list runs, newest first')
    .option('--task <idOrName>', 'runs of this task')
    .option('--status <status>', 'runs in this status (or a comma-separated list)')
    .option('--from <time>', 'scheduled at or after this time')
    .option('--to <time>', 'scheduled before this time')
    .addOption(intOption('--limit <n>', 'page size', 1))
    .option('--cursor <cursor>', 'start at this page')
    .option('--all', 'follow the cursors to the last page')
    .action(async (opts: RunListOptions, cmd: Command) => {
      const cli = cliOf(cmd);
      const now = new Date();
      const query = {
        task: opts.task,
        status: opts.status,
        from: opts.from === undefined ? undefined : parseTimeFlag('--from', opts.from, now),
        to: opts.to === undefined ? undefined : parseTimeFlag('--to', opts.to, now),
      };
      printList(cli, await fetchList(cli, '/v1/runs', query, opts), RUN_COLUMNS, 'runs');
    });

  run
    .command('get')
    .description('show one run: timings, result, error, resource use')
    .argument('<id>', 'run id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      const r = await cli.client.get(`/v1/runs/${seg(id)}`);
      if (cli.json) return printJson(cli, r);
      cli.out(formatKeyValues(runDetail(isRecord(r) ? r : {})));
    });

  run
    .command('logs')
    .description('print a run\'s log lines')
    .argument('<id>', 'run id')
    .option('-f, --follow', 'keep printing new lines until the run ends')
    .action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
      const cli = cliOf(cmd);
      if (opts.follow === true) return followLogs(cli, id);
      const body = await cli.client.get(`/v1/runs/${seg(id)}/logs`);
      // The API answers JSON lines; --json passes them through untouched.
      if (cli.json) return typeof body === 'string' ? void process.stdout.write(body) : printJson(cli, body);
      for (const line of logLinesOf(body)) cli.out(fmtLogLine(line));
    });

  run
    .command('reschedule')
    .description('move a scheduled or queued run to another time')
    .argument('<id>', 'run id')
    .requiredOption('--at <time>', 'new due time (ISO-8601, local "2026-12-01 09:00", now, +10m)')
    .action(async (id: string, opts: { at: string }, cmd: Command) => {
      const cli = cliOf(cmd);
      const r = await cli.client.post(`/v1/runs/${seg(id)}/reschedule`, { at: parseTimeFlag('--at', opts.at, new Date()) });
      if (cli.json) return printJson(cli, r);
      cli.out(`rescheduled run ${id} for ${fmtTime(isRecord(r) ? r.scheduledFor : undefined)}`);
    });

  run
    .command('cancel')
    .description('cancel a run; a running run is stopped')
    .argument('<id>', 'run id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      const r = await cli.client.post(`/v1/runs/${seg(id)}/cancel`);
      if (cli.json) return printJson(cli, r);
      cli.out(`cancelled run ${id}${isRecord(r) && r.status !== 'cancelled' ? ` (now ${str(r.status)}; it stops shortly)` : ''}`);
    });
}

/** One log line as `YYYY-MM-DD HH:MM:SS.mmm LEVEL message`. */
export function fmtLogLine(line: unknown): string {
  if (!isRecord(line)) return cleanText(str(line));
  const at = line.at;
  const ms = typeof at === 'string' || typeof at === 'number' ? new Date(at).getTime() : NaN;
  const stamp = Number.isNaN(ms) ? '-' : `${fmtTime(ms)}.${String(ms % 1000).padStart(3, '0')}`;
  return `${stamp} ${str(line.level).toUpperCase().padEnd(5)} ${cleanText(str(line.message))}`;
}

/** The log lines of a logs answer: JSON lines (what the API sends), a list, or `{ items }`. */
export function logLinesOf(body: unknown): unknown[] {
  if (typeof body !== 'string') return isRecord(body) && Array.isArray(body.lines) ? body.lines : itemsOf(body);
  return body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        return line;
      }
    });
}

/** Streams a run's log: server-sent events where the server has them, polling where it answers 501. */
async function followLogs(cli: Cli, id: string): Promise<void> {
  try {
    await streamLogs(cli, id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 501) return pollLogs(cli, id);
    throw err;
  }
}

// The run's status is read before its log, so the last read after the run ended holds every line.
async function pollLogs(cli: Cli, id: string): Promise<void> {
  let printed = 0;
  let delay = 200;
  for (;;) {
    const run = await cli.client.get(`/v1/runs/${seg(id)}`);
    const done = isRecord(run) && TERMINAL_STATUSES.has(run.status as RunStatus);
    const lines = logLinesOf(await cli.client.get(`/v1/runs/${seg(id)}/logs`));
    for (const line of lines.slice(printed)) printLogLine(cli, line);
    printed = Math.max(printed, lines.length);
    if (done) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(1000, delay * 2);
  }
}

function printLogLine(cli: Cli, line: unknown): void {
  cli.out(cli.json ? JSON.stringify(line) : fmtLogLine(line));
}

// Server-sent events: each `data:` block is one JSON log line; an `end` event (or the server
// closing the stream) means the run is over.
async function streamLogs(cli: Cli, id: string): Promise<void> {
  const res = await cli.client.openStream(`/v1/runs/${seg(id)}/logs`, { follow: 1 });
  if (res.body === null) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let sep: number;
    while ((sep = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, sep);
      buffer = buffer.slice(sep).replace(/^\r?\n\r?\n/, '');
      if (handleEvent(cli, block) === 'end') return;
    }
  }
}

function handleEvent(cli: Cli, block: string): 'end' | 'more' {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (event === 'end') return 'end';
  if (data.length === 0) return 'more';
  const text = data.join('\n');
  let value: unknown = text;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    // Not JSON: print the text as it came.
  }
  printLogLine(cli, value);
  return 'more';
}
