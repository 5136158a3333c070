// Times in a named zone, and that zone's UTC offset at an instant (to mark daylight-saving
// changes between two fire times).

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `iso` as "UTC+02:00" (zero: "UTC+00:00"). */
export function utcOffset(iso: string, zone: string): string {
  let f = offsetFormats.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormats.set(zone, f);
  }
  const name = f.formatToParts(new Date(iso)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  // "GMT+02:00", or a bare "GMT" at offset zero.
  return name === 'GMT' ? 'UTC+00:00' : name.replace('GMT', 'UTC');
}

/** Minutes east of UTC of an offset written as utcOffset writes it. */
export function offsetMinutes(offset: string): number {
  const m = /^UTC([+-])(\d{2}):(\d{2})$/.exec(offset);
  if (m === null) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  return sign * (Number(m[2]) * 60 + Number(m[3]));
}

/** A fire time's date ("Sun, Mar 28, 2027") and time ("09:00 AM") in `zone`, in the browser's locale. */
export function zonedParts(iso: string, zone: string, withSeconds: boolean, withYear = true): { day: string; time: string; key: string } {
  const d = new Date(iso);
  const day = new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: 'short', month: 'short', day: 'numeric', ...(withYear ? { year: 'numeric' } : {}) }).format(d);
  const time = new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: '2-digit', minute: '2-digit', ...(withSeconds ? { second: '2-digit' } : {}) }).format(d);
  // The calendar day in that zone, to tell whether two zones agree on the date.
  const key = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  return { day, time, key };
}

/**
 * `zone` if this browser knows it, else UTC: the server may accept a zone (a newer or alias
 * name) that the browser's own time zone data lacks, and Intl would throw on every format.
 */
export function knownZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

/** The browser's own zone ("Europe/Paris"). */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** A fire time with its offset, and the offset change since the previous time, if any. */
export interface FireTime {
  iso: string;
  offset: string;
  /** Set when the zone's offset differs from the previous fire time's. */
  change: { from: string; to: string } | null;
}

/** The fire times with their offsets in `zone`, each offset change marked where it happens. */
export function withOffsets(times: readonly string[], zone: string): FireTime[] {
  let prev: string | null = null;
  return times.map((iso) => {
    const offset = utcOffset(iso, zone);
    const change = prev !== null && prev !== offset ? { from: prev, to: offset } : null;
    prev = offset;
    return { iso, offset, change };
  });
}
