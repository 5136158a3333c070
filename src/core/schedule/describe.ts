// A schedule in words, for views and the CLI: "every 5 minutes", "at 09:00 on Monday (Europe/Berlin)".
import { formatDuration, parseDuration } from '../duration.js';
import type { Schedule } from '../types.js';
import { DEFAULT_TIMEZONE } from './cron.js';
import { iso, parseInstant } from './instant.js';

function human(isoText: string): string {
  const ms = parseInstant(isoText);
  if (ms === null) return isoText;
  const s = iso(ms);
  const secs = s.slice(17, 19) === '00' && s.endsWith('.000Z') ? '' : s.slice(16, 23).replace(/\.000$/, '');
  return `${s.slice(0, 10)} ${s.slice(11, 16)}${secs} UTC`;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** A few common cron shapes in words; null for the rest (they are shown as written). */
function cronWords(expression: string): string | null {
  const f = expression.split(' ');
  if (f.length !== 5) return null;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const num = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null);
  const everyDay = dom === '*' && mon === '*';
  if (min === '*' && hour === '*' && everyDay && dow === '*') return 'every minute';
  const step = /^\*\/(\d+)$/.exec(min);
  if (step && hour === '*' && everyDay && dow === '*') return `every ${step[1]} minutes`;
  const m = num(min);
  if (m !== null && hour === '*' && everyDay && dow === '*') return `every hour at :${String(m).padStart(2, '0')}`;
  const h = num(hour);
  if (m === null || h === null || !everyDay) return null;
  const at = `at ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
  if (dow === '*') return `${at} every day`;
  if (dow === '1-5') return `${at} on weekdays`;
  const d = num(dow);
  if (d !== null && d <= 7) return `${at} on ${DAYS[d % 7]}`;
  return null;
}

/** The schedule in words, e.g. "every 5 minutes", "at 09:00 on Monday (Europe/Berlin)". */
export function describeSchedule(schedule: Schedule): string {
  let text: string;
  if (schedule.type === 'once') {
    text = `once at ${human(schedule.at)}`;
  } else {
    if (schedule.type === 'interval') {
      const ms = parseDuration(schedule.every);
      text = `every ${ms === null ? schedule.every : formatDuration(ms)}`;
    } else {
      const words = cronWords(schedule.expression);
      text = `${words ?? `cron \`${schedule.expression}\``} (${schedule.timezone ?? DEFAULT_TIMEZONE})`;
    }
    if (schedule.startAt !== undefined) text += `, from ${human(schedule.startAt)}`;
    if (schedule.endAt !== undefined) text += `, until ${human(schedule.endAt)}`;
  }
  if (schedule.maxRuns !== undefined) text += `, at most ${schedule.maxRuns} run${schedule.maxRuns === 1 ? '' : 's'}`;
  if (schedule.jitter !== undefined) text += `, jitter ${schedule.jitter}`;
  return text;
}
