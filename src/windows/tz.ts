/**
 * Wall clocks in an IANA time zone, from Node's own ICU data (Intl): the offset at an instant,
 * and the instant of a wall-clock time, including the two DST cases every cron must decide.
 */
import { DriftdError } from '../errors/index.js';

export interface WallTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new DriftdError('ConfigError', `timezone "${timeZone}" is not a known IANA time zone (e.g. Europe/Berlin, UTC)`, { key: 'timezone' });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a ConfigError for an unknown zone; used when the config is read. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

/** The wall-clock time in `timeZone` at `ms` (seconds dropped). */
export function wallAt(ms: number, timeZone: string): WallTime & { second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { year: parts.year ?? 0, month: parts.month ?? 1, day: parts.day ?? 1, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

/** UTC offset (ms, east positive) of `timeZone` at the instant `ms`. */
export function offsetAt(ms: number, timeZone: string): number {
  const w = wallAt(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const DAY = 86_400_000;

/**
 * The instant a wall-clock time happens in `timeZone`. A time that happens twice (the autumn
 * hour) is its first occurrence; a time that never happens (the spring gap) is moved forward by
 * the gap's length (02:30 → 03:30 in Berlin), as Go's time.Date and so Argo CD's windows do.
 */
export function instantOf(w: WallTime, timeZone: string): number {
  const wall = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const fits = [before, after].map((o) => wall - o).filter((t) => offsetAt(t, timeZone) === wall - t);
  if (fits.length > 0) return Math.min(...fits);
  return wall - before;
}

/** The calendar day after (y, m, d), and its weekday; pure arithmetic on the proleptic calendar. */
export function nextDay(y: number, m: number, d: number): { year: number; month: number; day: number; weekday: number } {
  const t = new Date(Date.UTC(y, m - 1, d + 1));
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), weekday: t.getUTCDay() };
}

export function weekdayOf(y: number, m: number, d: number): number {
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}
