// Secrets leave the environment once the configuration has read them. Every process Sundial
// starts inherits the environment unless told otherwise, and so does anything that reads
// /proc/<pid>/environ as the server's user, or a crash reporter, or a library that dumps
// process.env into an error: the admin token, the database URL with its password and the sink
// and mail credentials should be in the frozen Config and nowhere else.

/**
 * Variables that hold secrets: the options marked `secret` in the option table, and those of
 * settings other parts add (SMTP) or that only clients use (the CLI's key), named here so they
 * are removed even before their option exists.
 */
export const SECRET_ENV_NAMES: readonly string[] = [
  'SUNDIAL_ADMIN_TOKEN',
  'SUNDIAL_DATABASE_URL',
  'SUNDIAL_INFLUX_TOKEN',
  'SUNDIAL_INFLUX_PASSWORD',
  'SUNDIAL_SMTP_URL',
  'SUNDIAL_SMTP_PASSWORD',
  'SUNDIAL_SECRETS_KEY',
  'SUNDIAL_SECRETS_KEY_PREVIOUS',
  'SUNDIAL_TOKEN',
];

/** Any other SUNDIAL_ variable whose name says it is a secret. */
const SECRET_NAME = /^SUNDIAL_\w*(TOKEN|PASSWORD|SECRET|KEY)\w*$/;

/** Removes secret variables from `env` (process.env by default); returns the names removed. */
export function removeSecretsFromEnv(env: Record<string, string | undefined> = process.env, extra: readonly string[] = []): string[] {
  const removed: string[] = [];
  for (const name of Object.keys(env)) {
    if (SECRET_ENV_NAMES.includes(name) || extra.includes(name) || SECRET_NAME.test(name)) {
      delete env[name];
      removed.push(name);
    }
  }
  return removed.sort();
}
