// `sundial schedule preview`: asks the server (the one source of schedule math) when a schedule
// would fire, so what a person previews is exactly what the scheduler will do.

import type { Command } from 'commander';
import { isRecord, itemsOf } from '../api-client.js';
import { UsageError } from '../cli-errors.js';
import { cliOf, printJson } from '../context.js';
import { formatTable } from '../format/table.js';
import { fmtTimeWithOffset, fmtUtc } from '../format/values.js';
import { addScheduleOptions, intOption } from '../options.js';
import { parseTimeFlag, scheduleFromFlags, type ScheduleFlags } from '../task-input.js';

/** Adds `schedule` and its subcommands. */
export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('work with schedules');
  addScheduleOptions(
    schedule
      .command('preview')
      .description('print the next fire times of a schedule, in local time and UTC')
      .addOption(intOption('--count <n>', 'how many fire times', 1).default(10))
      .option('--from <time>', 'first possible time (default: now)'),
  ).action(async (opts: ScheduleFlags & { count: number; from?: string }, cmd: Command) => {
    const cli = cliOf(cmd);
    const now = new Date();
    const sched = scheduleFromFlags(opts, now);
    if (sched === undefined) throw new UsageError('give a schedule: --at, --every or --cron');
    const request: Record<string, unknown> = { schedule: sched, count: opts.count };
    if (opts.from !== undefined) request.from = parseTimeFlag('--from', opts.from, now);
    const body = await cli.client.post('/v1/schedules/preview', request);
    if (cli.json) return printJson(cli, body);
    if (isRecord(body) && typeof body.description === 'string') cli.out(body.description);
    // The cron's own zone is the local time that matters; otherwise this machine's.
    const zone = opts.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    const times = previewTimes(body);
    if (times.length === 0) return cli.info('the schedule never fires (after now)');
    cli.out(
      formatTable(
        [
          { header: '#', value: (r: { i: number; t: unknown }) => String(r.i), align: 'right' },
          { header: `LOCAL (${zone})`, value: (r) => fmtTimeWithOffset(r.t, zone) },
          { header: 'UTC', value: (r) => fmtUtc(r.t) },
        ],
        times.map((t, i) => ({ i: i + 1, t })),
      ),
    );
  });
}

/** The fire times of a preview answer (a list of times, or of objects holding `at`). */
export function previewTimes(body: unknown): unknown[] {
  let list = itemsOf(body);
  if (list.length === 0 && isRecord(body)) {
    const named = body.times ?? body.occurrences;
    if (Array.isArray(named)) list = named;
  }
  return list.map((x) => (isRecord(x) ? (x.at ?? x.time ?? x.scheduledFor) : x));
}
