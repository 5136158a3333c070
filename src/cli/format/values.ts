// Cell formatting shared by the commands. The API sends times as ISO strings (milliseconds are
// accepted too, so a change on the server side does not print garbage) and durations as numbers
// of milliseconds (`lateMs`, `durationMs`).

import { isRecord } from '../api-client.js';

/** Text of a value, or `-` for nothing. */
export function str(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Compact JSON, or `-` for nothing. */
export function fmtJson(v: unknown): string {
  return v === undefined || v === null ? '-' : JSON.stringify(v);
}

/** A time as `YYYY-MM-DD HH:MM:SS` in a zone (default: this machine's), or `-`. */
export function fmtTime(v: unknown, timeZone?: string): string {
  const d = toDate(v);
  if (d === null) return v === undefined || v === null ? '-' : str(v);
  const p = dateParts(d, timeZone);
  return `${p.date} ${p.time}`;
}

/** A time with its UTC offset, e.g. `2026-03-29 03:00:00 +02:00`. */
export function fmtTimeWithOffset(v: unknown, timeZone?: string): string {
  const d = toDate(v);
  if (d === null) return str(v);
  const p = dateParts(d, timeZone);
  return `${p.date} ${p.time} ${p.offset}`;
}

/** A time as ISO-8601 UTC, or `-`. */
export function fmtUtc(v: unknown): string {
  const d = toDate(v);
  return d === null ? str(v) : d.toISOString();
}

/** Milliseconds as `850ms`, `1.2s`, `42s`, `3m05s`, `2h10m`; `-` when not a number. */
export function fmtDuration(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '-';
  if (v < 0) return `-${fmtDuration(-v)}`;
  const ms = Math.round(v);
  if (ms < 1000) return `${ms}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.floor(s / 60);
  if (m < 24 * 60) return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(m / 1440)}d${String(Math.floor((m % 1440) / 60)).padStart(2, '0')}h`;
}

/** A schedule in a few words: `once 2026-12-01 09:00:00`, `every 5m`, `cron 0 9 * * 1 Europe/Berlin`. */
export function fmtSchedule(s: unknown): string {
  if (!isRecord(s)) return '-';
  switch (s.type) {
    case 'once':
      return `once ${fmtTime(s.at)}`;
    case 'interval':
      return `every ${str(s.every)}`;
    case 'cron':
      return `cron ${str(s.expression)}${typeof s.timezone === 'string' && s.timezone !== '' ? ` ${s.timezone}` : ''}`;
    default:
      return fmtJson(s);
  }
}

function toDate(v: unknown): Date | null {
  if (typeof v !== 'string' && typeof v !== 'number') return null;
  if (typeof v === 'string' && v.trim() === '') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function dateParts(d: Date, timeZone: string | undefined): { date: string; time: string; offset: string } {
  const key = timeZone ?? '';
  let f = formatters.get(key);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(key, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(d)) p[part.type] = part.value;
  // longOffset is `GMT+01:00`, or plain `GMT` at offset zero.
  const offset = (p.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}`, offset };
}
