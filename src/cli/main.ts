// The `sundial` command: global options, the command tree, and the one place where errors become
// messages and exit codes (0 done, 1 refused or unreachable, 2 usage, 3 waited-for run failed,
// 4 audit chain broken).

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ApiError, ConnectionError } from './api-client.js';
import { AuditBrokenError, EXIT, RunNotSucceededError, UsageError } from './cli-errors.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerKeyCommands } from './commands/key.js';
import { registerRunCommands } from './commands/run.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerSecretCommands } from './commands/secret.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStoreCommands } from './commands/store.js';
import { registerTaskCommands } from './commands/task.js';

/** Builds the command tree (without parsing anything). */
export function buildProgram(): Command {
  const program = new Command('sundial')
    .description('Sundial: a task scheduler. `serve` runs the server; the other commands talk to one.')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--url <url>', 'server URL').env('SUNDIAL_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <key>', 'API key (sent as Authorization: Bearer)').env('SUNDIAL_TOKEN'))
    .option('--json', 'print the API\'s JSON instead of tables')
    .addOption(new Option('--namespace <name>', 'namespace to work in (default: the server\'s)').env('SUNDIAL_NAMESPACE'))
    // Set before the subcommands are added: commander copies these settings into each of them.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  registerServeCommand(program);
  registerTaskCommands(program);
  registerRunCommands(program);
  registerScheduleCommands(program);
  registerKeyCommands(program);
  registerSecretCommands(program);
  registerAdminCommands(program);
  registerStoreCommands(program);
  return program;
}

/** Runs the CLI on `argv`; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    return report(err);
  }
}

/** Prints an error the way people and scripts expect and returns its exit code. */
export function report(err: unknown): number {
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  // Commander has already printed its message (or the help); only the code is left to choose.
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (err instanceof UsageError) {
    say(`error: ${err.message}`);
    return EXIT.usage;
  }
  if (err instanceof ApiError) {
    const p = err.problem;
    if (p === null) {
      say(`error: HTTP ${err.status} ${err.statusText}`.trimEnd());
      const excerpt = err.bodyText.trim().split('\n')[0]?.slice(0, 200);
      if (excerpt) say(`  ${excerpt}`);
    } else {
      const parts = [p.title, p.detail !== p.title ? p.detail : undefined].filter((s) => s !== undefined && s !== '');
      say(`error: ${parts.join(': ')}`);
      // A single field error is often the detail itself; saying it twice reads like two errors.
      const fields = (p.errors ?? []).map((e) => `${e.path}: ${e.message}`).filter((line) => line !== p.detail);
      for (const line of fields) say(`  ${line}`);
    }
    if (err.status === 401) say('hint: give an API key with --token or SUNDIAL_TOKEN');
    return EXIT.failure;
  }
  if (err instanceof ConnectionError) {
    say(`error: ${err.message}`);
    say('hint: is the server running? Point the CLI at it with --url or SUNDIAL_URL');
    return EXIT.failure;
  }
  if (err instanceof AuditBrokenError) {
    say(`error: ${err.message}`);
    return EXIT.auditBroken;
  }
  if (err instanceof RunNotSucceededError) {
    say(`error: ${err.message}`);
    return EXIT.runNotSucceeded;
  }
  // A server-side error value (e.g. from `serve`: node_id_taken) carries a stable code worth
  // showing: it is what the docs (errors.md) and scripts look for.
  const raw = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  const code = typeof raw === 'string' ? raw : null;
  say(`error: ${err instanceof Error ? err.message : String(err)}${code !== null && /^[a-z_]+$/.test(code) ? ` [${code}]` : ''}`);
  return EXIT.failure;
}

function packageVersion(): string {
  // Walks up because the depth differs between src/cli (tsx) and dist/src/cli (built).
  for (let up = 1; up <= 4; up++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${'../'.repeat(up)}package.json`, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'sundial' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not at this level; look higher.
    }
  }
  return '0.0.0';
}

// A reader that quits early (`sundial run list | head`) is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

process.exitCode = await main();
