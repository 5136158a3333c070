// A `shell` task's spec and limits as the runner may trust them. Its type (ShellSpec) may not
// declare every field yet, so the stored spec is read defensively, once, into plain values; a
// run's limits are settled here too, so that no task can ask for more than the operator's ceilings.

import type { ResourceLimits } from './shell-sandbox.js';

/** Per-task resource limits, as a task spec or the operator gives them. */
export type ShellLimits = Partial<ResourceLimits>;

export interface ParsedSpec {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  limits: ShellLimits;
}

const BUILTIN_LIMITS = { processes: 64, openFiles: 256, fileSizeBytes: 100 * 1024 * 1024 };
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LIMIT_KEYS = ['processes', 'openFiles', 'fileSizeBytes', 'cpuSeconds'] as const;

/** Reads a shell spec defensively (ShellSpec may not declare every field yet). */
export function parseShellSpec(raw: unknown): { spec: ParsedSpec; problems: [] } | { spec: null; problems: string[] } {
  const problems: string[] = [];
  const s = (raw ?? {}) as Record<string, unknown>;
  const noNul = (v: string): boolean => !v.includes('\0');
  const command = s.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string' && noNul(a))) {
    problems.push('command: must be a non-empty array of strings without NUL characters');
  } else if (command[0] === '' || (command[0] as string).includes('=')) {
    problems.push("command[0]: the program must be a non-empty name without '='");
  }
  if (s.cwd !== undefined && (typeof s.cwd !== 'string' || !noNul(s.cwd))) problems.push('cwd: must be a string');
  const env: Record<string, string> = {};
  if (s.env !== undefined) {
    if (typeof s.env !== 'object' || s.env === null || Array.isArray(s.env)) problems.push('env: must be an object of strings');
    else {
      for (const [k, v] of Object.entries(s.env as Record<string, unknown>)) {
        if (!ENV_NAME_RE.test(k)) problems.push(`env.${k}: names must match ${ENV_NAME_RE.source}`);
        else if (k.startsWith('SUNDIAL_')) problems.push(`env.${k}: SUNDIAL_* variables are set by Sundial`);
        else if (typeof v !== 'string' || !noNul(v)) problems.push(`env.${k}: must be a string without NUL characters`);
        else env[k] = v;
      }
    }
  }
  const limits: ShellLimits = {};
  if (s.limits !== undefined) {
    if (typeof s.limits !== 'object' || s.limits === null) problems.push('limits: must be an object');
    else {
      for (const [k, v] of Object.entries(s.limits as Record<string, unknown>)) {
        if (!(LIMIT_KEYS as readonly string[]).includes(k)) problems.push(`limits.${k}: unknown limit`);
        else if (!Number.isSafeInteger(v) || (v as number) <= 0) problems.push(`limits.${k}: must be a positive integer`);
        else limits[k as (typeof LIMIT_KEYS)[number]] = v as number;
      }
    }
  }
  if (problems.length > 0) return { spec: null, problems };
  return { spec: { command: command as string[], cwd: (s.cwd as string | undefined) ?? '', env, limits }, problems: [] };
}

/** A task's limits: its own, else the operator's defaults, else built-in; never above the ceilings. */
export function effectiveLimits(own: ShellLimits, defaults: ShellLimits, max: ShellLimits, timeoutMs: number): ResourceLimits {
  const builtin: ResourceLimits = { ...BUILTIN_LIMITS, cpuSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) };
  const out = { ...builtin };
  for (const k of LIMIT_KEYS) out[k] = Math.min(own[k] ?? defaults[k] ?? builtin[k], max[k] ?? Infinity);
  return out;
}
