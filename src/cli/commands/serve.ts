// `sundial serve`: resolves the configuration (flags win over environment and file), starts the
// server, and stops it cleanly on SIGTERM/SIGINT. Its flags are generated from OPTIONS, so a new
// server option is a new flag without touching this file.

import { Option, type Command } from 'commander';
import { removeSecretsFromEnv } from '../../config/secret-env.js';
import { OPTIONS, resolveConfig, type Config, type ConfigSource } from '../../config/config.js';
import { SundialError } from '../../core/errors.js';
import { isRecord } from '../api-client.js';
import { UsageError } from '../cli-errors.js';

/** What startServer hands back. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** The composition root's entry (src/server.ts). */
export type StartServer = (
  config: Config,
  opts?: { printBootstrapKey?: (key: string) => void },
) => Promise<RunningServer>;

/** The outside world of `serve`, injectable so the start and stop sequence is unit-tested. */
export interface ServeDeps {
  loadStartServer(): Promise<StartServer>;
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): void;
  out(text: string): void;
  err(text: string): void;
  env?: Record<string, string | undefined>;
}

type OptionKey = keyof typeof OPTIONS;

/** `dataDir` → `data-dir`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The config values given as flags (commander camel-cases `--data-dir` back to `dataDir`). */
export function serveFlagsToSource(opts: Record<string, unknown>): ConfigSource {
  const flags: ConfigSource = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    if (opts[key] !== undefined) flags[key] = opts[key];
  }
  return flags;
}

/** Adds `serve` with one flag per server option. */
export function registerServeCommand(program: Command, deps: ServeDeps = processDeps()): void {
  const serve = program
    .command('serve')
    .description('run the Sundial server (API, scheduler and executor)')
    .option('--config <file>', 'JSON config file (env SUNDIAL_CONFIG)');
  for (const [key, spec] of Object.entries(OPTIONS)) {
    const flag = spec.kind === 'bool' ? `--${kebab(key)} [on|off]` : `--${kebab(key)} <value>`;
    serve.addOption(new Option(flag, `${spec.doc} (env ${spec.env})`));
  }
  serve.action(async (opts: Record<string, unknown> & { config?: string }) => runServe(opts, deps));
}

/** Resolves the config, starts the server and wires the signals. */
export async function runServe(opts: Record<string, unknown> & { config?: string }, deps: ServeDeps): Promise<void> {
  let config: Config;
  try {
    config = resolveConfig({ flags: serveFlagsToSource(opts), file: opts.config, env: deps.env });
  } catch (err) {
    if (!(err instanceof SundialError)) throw err;
    const lines = err.errors?.map((e) => `  ${e.path}: ${e.message}`) ?? [];
    throw new UsageError(lines.length > 0 ? ['invalid configuration', ...lines].join('\n') : err.message);
  }
  // The config holds them now; nothing started from here on (workers, shell tools) inherits them.
  removeSecretsFromEnv(deps.env ?? process.env);
  const startServer = await deps.loadStartServer();
  const server = await startServer(config, {
    printBootstrapKey: (key) => {
      deps.out('Bootstrap admin API key (shown only this once; only its hash is kept):');
      deps.out(`  ${key}`);
    },
  });
  deps.err(`sundial listening on ${server.url} (dashboard: ${server.url}/, API docs: ${server.url}/docs)`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal means the person will not wait for the drain.
      deps.err(`${signal} again: exiting without waiting`);
      deps.exit(1);
      return;
    }
    stopping = true;
    deps.err(`${signal}: stopping (running runs get the drain grace)`);
    server.close().then(
      () => deps.exit(0),
      (e: unknown) => {
        deps.err(`error: while stopping: ${e instanceof Error ? e.message : String(e)}`);
        deps.exit(1);
      },
    );
  };
  deps.onSignal('SIGTERM', () => stop('SIGTERM'));
  deps.onSignal('SIGINT', () => stop('SIGINT'));
}

function processDeps(): ServeDeps {
  return {
    loadStartServer,
    onSignal: (signal, handler) => void process.on(signal, handler),
    exit: (code) => process.exit(code),
    out: (text) => void process.stdout.write(`${text}\n`),
    err: (text) => void process.stderr.write(`${text}\n`),
  };
}

// Imported by URL at run time, not statically, so the CLI builds and its client commands work
// in a tree where the server (another engineer's module) is missing or broken.
async function loadStartServer(): Promise<StartServer> {
  const url = new URL('../../server.js', import.meta.url).href;
  let mod: unknown;
  try {
    mod = await import(url);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes('server')) {
      throw new Error(`this build has no server module (${url}); run \`npm run build\``, { cause: err });
    }
    throw err;
  }
  const start = isRecord(mod) ? mod.startServer : undefined;
  if (typeof start !== 'function') throw new Error(`${url} does not export startServer`);
  return start as StartServer;
}
