// Option builders shared by several commands, so `task create`, `task update`, `task schedule`
// and `schedule preview` spell and check their flags the same way.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { TASK_KINDS } from '../core/types.js';

/** An option whose value must be a whole number of at least `min`. */
export function intOption(flags: string, description: string, min = 0): Option {
  return new Option(flags, description).argParser((value: string) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`must be a whole number${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}.`);
    }
    return n;
  });
}

/** A repeatable option collecting its values in order. */
export function listOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [
    ...(previous ?? []),
    value,
  ]);
}

/** `--at | --every | --cron` and their modifiers. */
export function addScheduleOptions(cmd: Command, atHelp = 'run once at this time (ISO-8601, local "2026-12-01 09:00", now, +10m)'): Command {
  return cmd
    .addOption(new Option('--at <time>', atHelp).conflicts(['every', 'cron']))
    .addOption(new Option('--every <duration>', 'repeat at an interval (30s, 5m, PT1H)').conflicts(['cron']))
    .option('--cron <expr>', 'repeat on a cron expression (5 or 6 fields)')
    .option('--tz <zone>', 'IANA time zone of the cron expression (Europe/Berlin)')
    .option('--start <time>', 'first possible occurrence')
    .option('--end <time>', 'no occurrence after this time')
    .addOption(intOption('--max-runs <n>', 'stop after this many occurrences', 1))
    .option('--jitter <duration>', 'spread each occurrence randomly by up to this much (5s)');
}

/** Every flag that describes a task (for create and update). */
export function addTaskOptions(cmd: Command): Command {
  cmd
    .option('--name <name>', 'task name, unique in its namespace')
    .option('--description <text>', 'free text')
    .addOption(new Option('--kind <kind>', 'what the task runs').choices(TASK_KINDS))
    .option('--url-target <url>', 'http: the URL to call')
    .option('--method <method>', 'http: the method (default GET)')
    .addOption(listOption('--header <name:value>', 'http: a request header (repeatable)'))
    .option('--body <text>', 'http: the request body (JSON when it starts with { or [)')
    .option('--expect-status <codes>', 'http: status codes that count as success (200 or 200,204)')
    .option('--file <path>', 'module: file under the server\'s tasks directory')
    .option('--export <name>', 'module: export to call (default: default)')
    .option('--code <js>', 'script: inline JavaScript')
    .option('--code-file <path>', 'script: read the inline JavaScript from a local file')
    .option('--cwd <dir>', 'shell: working directory')
    .addOption(listOption('--env <NAME=value>', 'shell: an environment variable (repeatable)'));
  addScheduleOptions(cmd);
  return cmd
    .addOption(intOption('--max-attempts <n>', 'retry: attempts in all, including the first', 1))
    .addOption(new Option('--backoff <type>', 'retry: delay growth').choices(['exponential', 'fixed']))
    .option('--backoff-initial <duration>', 'retry: first delay (1s)')
    .option('--backoff-max <duration>', 'retry: longest delay (5m)')
    .option('--timeout <duration>', 'a run longer than this is killed and ends timed_out (5m)')
    .addOption(
      new Option('--overlap <policy>', 'when the previous run is still running').choices([
        'skip',
        'buffer_one',
        'buffer_all',
        'cancel_other',
        'allow_all',
      ]),
    )
    .addOption(new Option('--misfire <policy>', 'occurrences missed while no node ran').choices(['run_once', 'skip', 'run_all']))
    .option('--catchup-window <duration>', 'misfire: how far back missed occurrences count (1h)')
    .addOption(intOption('--priority <n>', 'higher runs first among runs due together', Number.MIN_SAFE_INTEGER))
    .addOption(intOption('--concurrency <n>', 'most simultaneous runs of this task', 1))
    .option('--concurrency-key <key>', 'runs of tasks sharing this key count against --concurrency together')
    .option('--payload <json>', 'default payload of each run (JSON)')
    .argument('[command...]', 'shell: the argv to run, after -- (e.g. -- /usr/bin/backup --full)');
}
