// `sundial task …`: the seed's createTask, listTasks, updateTask, deleteTask, scheduleTask and
// executeTask, plus get, pause and resume.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TERMINAL_STATUSES, type RunStatus } from '../../core/types.js';
import { isRecord, seg } from '../api-client.js';
import { RunNotSucceededError, UsageError } from '../cli-errors.js';
import { cliOf, fetchList, printJson, printList, type Cli, type PageOptions } from '../context.js';
import { formatKeyValues } from '../format/table.js';
import { fmtDuration, fmtSchedule, fmtTime, str } from '../format/values.js';
import { TASK_COLUMNS, taskDetail, type Rec } from '../format/views.js';
import { intOption, addScheduleOptions, addTaskOptions } from '../options.js';
import {
  buildCreateBody,
  buildScheduleRequest,
  buildUpdateBody,
  parseJsonFlag,
  updateNeedsCurrent,
  type Body,
  type ScheduleFlags,
  type TaskFlags,
} from '../task-input.js';

type TaskOptions = Omit<TaskFlags, 'argv'> & { codeFile?: string; fromFile?: string };

/** Adds `task` and its subcommands. */
export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('create, change, run and inspect tasks');

  addTaskOptions(
    task
      .command('create')
      .description('create a task (from flags, a JSON file, or both: flags win)')
      .option('--from-file <path>', 'read the task as JSON from a file (- for stdin)'),
  ).action(async (argv: string[], opts: TaskOptions, cmd: Command) => {
    const cli = cliOf(cmd);
    const base = opts.fromFile === undefined ? undefined : await readJsonObject(opts.fromFile);
    const flags = await withCode({ ...opts, argv });
    const body = buildCreateBody(flags, { base });
    // The namespace of a new task travels in its body; the query parameter only scopes lookups.
    if (cli.namespace !== undefined && body.namespace === undefined) body.namespace = cli.namespace;
    const created = await cli.client.post('/v1/tasks', body);
    if (cli.json) return printJson(cli, created);
    const t = asRec(created);
    cli.out(`created task ${str(t.name)} (${str(t.id)})${nextRunNote(t)}`);
  });

  task
    .command('list')
    .description('list tasks')
    .option('--status <status>', 'active or paused')
    .option('--kind <kind>', 'http, module, script or shell')
    .option('--q <text>', 'name or description contains this text')
    .addOption(intOption('--limit <n>', 'page size', 1))
    .option('--cursor <cursor>', 'start at this page')
    .option('--all', 'follow the cursors to the last page')
    .action(async (opts: { status?: string; kind?: string; q?: string } & PageOptions, cmd: Command) => {
      const cli = cliOf(cmd);
      const body = await fetchList(cli, '/v1/tasks', { status: opts.status, kind: opts.kind, q: opts.q }, opts);
      printList(cli, body, TASK_COLUMNS, 'tasks');
    });

  task
    .command('get')
    .description('show one task')
    .argument('<idOrName>', 'task id or name')
    .action(async (idOrName: string, _opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      const t = await cli.client.get(`/v1/tasks/${seg(idOrName)}`);
      if (cli.json) return printJson(cli, t);
      cli.out(formatKeyValues(taskDetail(asRec(t))));
    });

  addTaskOptions(
    task
      .command('update')
      .description('change a task: only the given flags change')
      .argument('<idOrName>', 'task id or name')
      .option('--clear-schedule', 'remove the schedule (the task then runs only when asked)'),
  ).action(async (idOrName: string, argv: string[], opts: TaskOptions, cmd: Command) => {
    const cli = cliOf(cmd);
    const flags = await withCode({ ...opts, argv });
    const path = `/v1/tasks/${seg(idOrName)}`;
    let current: Body | undefined;
    const headers: Record<string, string> = {};
    if (updateNeedsCurrent(flags)) {
      // Read-modify-write: If-Match makes the server refuse the PATCH (412) when someone else
      // changed the task between the read and the write, instead of silently undoing their change.
      const res = await cli.client.request('GET', path);
      current = asRec(res.body);
      const etag = res.headers.get('etag');
      if (etag !== null) headers['if-match'] = etag;
    }
    const body = buildUpdateBody(flags, { current });
    const updated = (await cli.client.request('PATCH', path, { body, headers })).body;
    if (cli.json) return printJson(cli, updated);
    const t = asRec(updated);
    cli.out(`updated task ${str(t.name ?? idOrName)}${nextRunNote(t)}`);
  });

  task
    .command('delete')
    .description('delete a task; its pending runs are cancelled')
    .argument('<idOrName>', 'task id or name')
    .action(async (idOrName: string, _opts: unknown, cmd: Command) => {
      const cli = cliOf(cmd);
      const res = await cli.client.request('DELETE', `/v1/tasks/${seg(idOrName)}`);
      if (cli.json) return printJson(cli, res.body);
      cli.out(`deleted task ${idOrName}`);
    });

  task
    .command('run')
    .description('run a task now; prints the run id')
    .argument('<idOrName>', 'task id or name')
    .option('--payload <json>', 'payload of this run (JSON), instead of the task\'s')
    .option('--idempotency-key <key>', 'repeating a key returns the first run instead of starting another')
    .option('--wait', 'wait for the run to end; exit 3 unless it succeeded')
    .action(async (idOrName: string, opts: { payload?: string; idempotencyKey?: string; wait?: boolean }, cmd: Command) => {
      const cli = cliOf(cmd);
      const body: Body = {};
      if (opts.payload !== undefined) body.payload = parseJsonFlag('--payload', opts.payload);
      if (opts.idempotencyKey !== undefined) body.idempotencyKey = opts.idempotencyKey;
      const run = asRec(await cli.client.post(`/v1/tasks/${seg(idOrName)}/runs`, body));
      if (opts.wait !== true) {
        if (cli.json) return printJson(cli, run);
        return cli.out(str(run.id));
      }
      if (!cli.json) cli.out(str(run.id));
      const final = await waitForRun(cli, str(run.id));
      if (cli.json) printJson(cli, final);
      reportEnd(cli, final);
    });

  addScheduleOptions(
    task
      .command('schedule')
      .description('schedule one run (--at), or give the task a recurrence (--every, --cron)')
      .argument('<idOrName>', 'task id or name'),
    'one run at this time (ISO-8601, local "2026-12-01 09:00", now, +10m)',
  ).action(async (idOrName: string, opts: ScheduleFlags, cmd: Command) => {
    const cli = cliOf(cmd);
    const request = buildScheduleRequest(opts);
    const res = asRec(await cli.client.post(`/v1/tasks/${seg(idOrName)}/schedule`, request));
    if (cli.json) return printJson(cli, res);
    if ('at' in request) {
      cli.out(str(res.id));
      cli.info(`scheduled run ${str(res.id)} for ${fmtTime(res.scheduledFor ?? request.at)}`);
    } else {
      cli.out(`scheduled task ${str(res.name ?? idOrName)}: ${fmtSchedule(res.schedule ?? request.schedule)}${nextRunNote(res)}`);
    }
  });

  for (const action of ['pause', 'resume'] as const) {
    task
      .command(action)
      .description(action === 'pause' ? 'stop scheduling new runs (pending ones wait)' : 'schedule runs again')
      .argument('<idOrName>', 'task id or name')
      .action(async (idOrName: string, _opts: unknown, cmd: Command) => {
        const cli = cliOf(cmd);
        const t = await cli.client.post(`/v1/tasks/${seg(idOrName)}/${action}`);
        if (cli.json) return printJson(cli, t);
        cli.out(`${action === 'pause' ? 'paused' : 'resumed'} task ${str(asRec(t).name ?? idOrName)}`);
      });
  }
}

/**
 * Polls a run until it reaches a final status. Polling (starting fast, backing off to 2 s)
 * rather than the SSE stream keeps this working through proxies that buffer event streams.
 */
export async function waitForRun(cli: Cli, id: string): Promise<Rec> {
  let delay = 100;
  for (;;) {
    const run = asRec(await cli.client.get(`/v1/runs/${seg(id)}`));
    if (TERMINAL_STATUSES.has(run.status as RunStatus)) return run;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(2000, Math.round(delay * 1.5));
  }
}

/** Tells how a waited-for run ended; throws RunNotSucceededError unless it succeeded. */
export function reportEnd(cli: Cli, run: Rec): void {
  const took = typeof run.durationMs === 'number' ? ` in ${fmtDuration(run.durationMs)}` : '';
  if (run.status === 'succeeded') {
    cli.info(`run ${str(run.id)} succeeded${took}`);
    return;
  }
  const why = isRecord(run.error) ? `: ${str(run.error.code)}: ${str(run.error.message)}` : run.reason ? ` (${str(run.reason)})` : '';
  throw new RunNotSucceededError(`run ${str(run.id)} ${str(run.status)}${took}${why}`);
}

function nextRunNote(t: Rec): string {
  return t.nextRunAt === undefined || t.nextRunAt === null ? '' : `; next run ${fmtTime(t.nextRunAt)}`;
}

function asRec(v: unknown): Rec {
  return isRecord(v) ? v : {};
}

async function withCode(opts: TaskOptions & { argv: string[] }): Promise<TaskFlags> {
  const { codeFile, fromFile: _fromFile, ...flags } = opts;
  if (codeFile === undefined) return flags;
  if (flags.code !== undefined) throw new UsageError('give --code or --code-file, not both');
  return { ...flags, code: await readText(codeFile, '--code-file') };
}

async function readJsonObject(path: string): Promise<Body> {
  const text = path === '-' ? await readStdin() : await readText(path, '--from-file');
  const value = parseJsonFlag(path === '-' ? '--from-file - (stdin)' : `--from-file ${path}`, text);
  if (!isRecord(value)) throw new UsageError('--from-file must hold a JSON object (one task)');
  return value;
}

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
