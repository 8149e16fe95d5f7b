/**
 * Sync windows (Argo CD style), pure: given the windows, a stack, an instant and whether the sync
 * is manual, may driftd apply — and if not, when may it next? Each cron firing (in the window's
 * time zone) opens the window for `duration` of elapsed time: [start, start + duration).
 */
import { DriftdError } from '../errors/index.js';
import { parseDuration } from '../util/duration.js';
import { dayMatches, parseCron, type CronFields } from './cron.js';
import type { SyncWindow, SyncWindowInput } from './model.js';
import { assertTimeZone, instantOf, nextDay, offsetAt, wallAt, weekdayOf } from './tz.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

interface Compiled extends SyncWindow {
  cron: CronFields;
  hours: number[];
  minutes: number[];
}

const compiledCache = new WeakMap<SyncWindow, Compiled>();

/** Validates and normalizes one window from a config file; throws a ConfigError naming `where`. */
export function toSyncWindow(input: SyncWindowInput, where: string): SyncWindow {
  parseCron(input.schedule);
  assertTimeZone(input.timezone ?? 'UTC');
  const durationMs = parseDuration(input.duration, `${where}.duration`);
  if (durationMs < 60_000) throw new DriftdError('ConfigError', `${where}.duration must be at least 1m`, { key: `${where}.duration` });
  return {
    kind: input.kind,
    schedule: input.schedule,
    durationMs,
    timezone: input.timezone ?? 'UTC',
    stacks: input.stacks ?? ['*'],
    manualSync: input.manualSync ?? false,
  };
}

function compile(w: SyncWindow): Compiled {
  let c = compiledCache.get(w);
  if (!c) {
    const cron = parseCron(w.schedule);
    c = { ...w, cron, hours: [...cron.hours].sort((a, b) => b - a), minutes: [...cron.minutes].sort((a, b) => b - a) };
    compiledCache.set(w, c);
  }
  return c;
}

function globMatches(pattern: string, stack: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(stack);
}

/** The windows that govern `stack`: host-wide ones whose `stacks` match, plus the stack's own. */
export function windowsFor(stack: string, hostWide: readonly SyncWindow[], own: readonly SyncWindow[] = []): SyncWindow[] {
  return [...hostWide.filter((w) => w.stacks.some((p) => globMatches(p, stack))), ...own];
}

/**
 * Calls `visit` with every opening of `w` whose instant lies in (fromMs, toMs], latest local day
 * first; stops when `visit` returns true. Days are walked in the window's own calendar.
 */
function visitStarts(w: Compiled, fromMs: number, toMs: number, visit: (start: number) => boolean): boolean {
  const first = wallAt(fromMs - DAY, w.timezone);
  const last = wallAt(toMs + DAY, w.timezone);
  const days: { year: number; month: number; day: number; weekday: number }[] = [];
  let d = { year: first.year, month: first.month, day: first.day, weekday: weekdayOf(first.year, first.month, first.day) };
  for (;;) {
    days.push(d);
    if (d.year === last.year && d.month === last.month && d.day === last.day) break;
    d = nextDay(d.year, d.month, d.day);
  }
  for (const day of days.reverse()) {
    if (!dayMatches(w.cron, day.day, day.month, day.weekday)) continue;
    const midnight = Date.UTC(day.year, day.month - 1, day.day);
    // Skip a day whose every wall time lies outside the range (offsets stay within ±14 h).
    if (midnight - 14 * HOUR > toMs || midnight + DAY + 14 * HOUR <= fromMs) continue;
    // A day with no offset change (all but two a year) needs no per-time zone lookup.
    const early = offsetAt(midnight - 14 * HOUR, w.timezone);
    const stable = early === offsetAt(midnight + DAY + 14 * HOUR, w.timezone) ? early : undefined;
    for (const hour of w.hours) {
      const hourWall = midnight + hour * HOUR;
      if (stable !== undefined && (hourWall - stable > toMs || hourWall + HOUR - stable <= fromMs)) continue;
      for (const minute of w.minutes) {
        const t = stable !== undefined ? hourWall + minute * 60_000 - stable : instantOf({ year: day.year, month: day.month, day: day.day, hour, minute }, w.timezone);
        if (t > fromMs && t <= toMs && visit(t)) return true;
      }
    }
  }
  return false;
}

/** Is the window open at `atMs` (some opening in (at - duration, at])? */
export function isActive(window: SyncWindow, atMs: number): boolean {
  const w = compile(window);
  return visitStarts(w, atMs - w.durationMs, atMs, () => true);
}

/** Every opening of `window` in (fromMs, toMs], ascending. */
export function openingsBetween(window: SyncWindow, fromMs: number, toMs: number): number[] {
  const out = new Set<number>();
  visitStarts(compile(window), fromMs, toMs, (t) => {
    out.add(t);
    return false;
  });
  return [...out].sort((a, b) => a - b);
}

/**
 * May a sync of a stack governed by `windows` run at `atMs`? A deny window that is open blocks;
 * allow windows, when there are any, block while none of them is open. A manual sync passes a
 * block when every blocking window says `manualSync: true` (Argo CD's rule).
 */
export function syncAllowed(windows: readonly SyncWindow[], atMs: number, manual: boolean): boolean {
  const open = windows.filter((w) => isActive(w, atMs));
  const denying = open.filter((w) => w.kind === 'deny');
  if (denying.length > 0) return manual && denying.every((w) => w.manualSync);
  const allows = windows.filter((w) => w.kind === 'allow');
  if (allows.length > 0 && !open.some((w) => w.kind === 'allow')) return manual && allows.some((w) => w.manualSync);
  return true;
}

export interface WindowVerdict {
  allowed: boolean;
  /** When blocked: the next instant a sync may run, within a year; undefined if none was found. */
  nextOpenMs?: number;
}

const HORIZON_DAYS = 400;
const MAX_CANDIDATES = 5000;

/** The verdict now, and when blocked, the next opening (the end of a deny or the start of an allow). */
export function evaluateWindows(windows: readonly SyncWindow[], nowMs: number, manual = false): WindowVerdict {
  if (windows.length === 0 || syncAllowed(windows, nowMs, manual)) return { allowed: true };
  let checked = 0;
  for (let day = 0; day < HORIZON_DAYS && checked < MAX_CANDIDATES; day += 1) {
    const from = nowMs + day * DAY;
    const to = from + DAY;
    const candidates = new Set<number>();
    for (const w of windows) {
      if (w.kind === 'allow') for (const t of openingsBetween(w, from, to)) candidates.add(t);
      else for (const t of openingsBetween(w, from - w.durationMs, to - w.durationMs)) candidates.add(t + w.durationMs);
    }
    for (const t of [...candidates].sort((a, b) => a - b)) {
      if (t <= nowMs) continue;
      checked += 1;
      if (syncAllowed(windows, t, manual)) return { allowed: false, nextOpenMs: t };
      if (checked >= MAX_CANDIDATES) break;
    }
  }
  return { allowed: false };
}

/** The reason `status` shows for a stack held back by its windows. */
export function waitingReason(verdict: WindowVerdict): string {
  const when = verdict.nextOpenMs === undefined ? 'no opening within a year' : `opens at ${new Date(verdict.nextOpenMs).toISOString().replace('.000Z', 'Z')}`;
  return `waiting for sync window (${when})`;
}
