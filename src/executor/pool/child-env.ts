// The environment of worker children, spelled out instead of inherited. The server's own
// environment may hold secrets (and the operator's shell exports whatever it likes), and a
// `module` task is code that can read process.env: it gets what a program needs to behave
// (PATH, HOME, locale, time zone, temp dir) plus what the operator names in SUNDIAL_MODULE_ENV.
// NODE_OPTIONS is never passed: it could preload code into every worker; the workers' Node flags
// come from the parent's execArgv.

/** What every module worker gets when the server has it. */
export const MODULE_BASE_ENV: readonly string[] = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/** Never passed, whatever the allow-list says: Sundial's own settings and Node's preload hook. */
const NEVER = /^(SUNDIAL_|NODE_OPTIONS$)/;

/** The listed variables of `from` that are set, minus the never-passed ones; PATH always. */
export function childEnvironment(names: readonly string[], from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of names) {
    const value = from[name];
    if (value !== undefined && !NEVER.test(name)) env[name] = value;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}
