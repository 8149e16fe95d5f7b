/**
 * A five-field cron expression (minute hour day-of-month month day-of-week), parsed into the
 * sets of values each field allows. Pure: no clock, no time zone (see tz.ts for wall clocks).
 */
import { DriftdError } from '../errors/index.js';

export interface CronFields {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Vixie cron: when both day fields are restricted, a day matches either of them. */
  dayOr: boolean;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesFrom?: number;
}

const SPECS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  // 7 is Sunday too, as in every cron.
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

function bad(expression: string, why: string): DriftdError {
  return new DriftdError('ConfigError', `schedule "${expression}" is not a valid cron expression: ${why}`, { key: 'schedule' });
}

function value(text: string, spec: FieldSpec, expression: string): number {
  const lower = text.toLowerCase();
  const named = spec.names?.indexOf(lower) ?? -1;
  if (named >= 0) return named + (spec.namesFrom ?? 0);
  if (!/^\d{1,2}$/.test(text)) throw bad(expression, `"${text}" is not a ${spec.name}`);
  const n = Number(text);
  if (n < spec.min || n > spec.max) throw bad(expression, `${spec.name} ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m?.[1]) throw bad(expression, `"${part}" is not a ${spec.name} list item`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw bad(expression, `step 0 in "${part}"`);
    let lo: number;
    let hi: number;
    if (m[1] === '*') {
      lo = spec.min;
      hi = spec.max;
    } else {
      const [a, b, ...rest] = m[1].split('-');
      if (a === undefined || rest.length > 0) throw bad(expression, `"${part}" is not a range`);
      lo = value(a, spec, expression);
      hi = b === undefined ? (m[2] === undefined ? lo : spec.max) : value(b, spec, expression);
      if (hi < lo) throw bad(expression, `range "${m[1]}" runs backwards`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Parses `m h dom mon dow` (lists, ranges, steps, JAN-DEC, SUN-SAT, 7 = Sunday) or an @macro. */
export function parseCron(expression: string): CronFields {
  const expanded = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw bad(expression, `expected 5 fields (minute hour day month weekday), got ${parts.length}`);
  const [mi, h, d, mo, wd] = parts.map((p, i) => parseField(p, SPECS[i] as FieldSpec, expression)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (wd.has(7)) wd.add(0);
  const restricted = (s: string | undefined): boolean => s !== undefined && !s.startsWith('*');
  return { minutes: mi, hours: h, days: d, months: mo, weekdays: wd, dayOr: restricted(parts[2]) && restricted(parts[4]) };
}

/** Does a calendar day (month 1-12, weekday 0 = Sunday) match the day fields? */
export function dayMatches(c: CronFields, day: number, month: number, weekday: number): boolean {
  if (!c.months.has(month)) return false;
  if (c.dayOr) return c.days.has(day) || c.weekdays.has(weekday);
  return c.days.has(day) && c.weekdays.has(weekday);
}
