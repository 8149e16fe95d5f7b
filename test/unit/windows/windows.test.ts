import { describe, expect, it } from 'vitest';
import { evaluateWindows, isActive, openingsBetween, parseCron, syncAllowed, toSyncWindow, waitingReason, windowsFor, type SyncWindow } from '../../../src/windows/index.js';
import { instantOf, offsetAt } from '../../../src/windows/tz.js';

const at = (iso: string): number => Date.parse(iso);
const w = (input: Partial<Parameters<typeof toSyncWindow>[0]> & { kind: 'allow' | 'deny'; schedule: string }): SyncWindow =>
  toSyncWindow({ duration: '1h', timezone: 'Europe/Berlin', ...input }, 'windows[0]');

describe('parseCron', () => {
  it.each([
    ['0 8 * * 1-5', { minutes: [0], hours: [8], weekdays: [1, 2, 3, 4, 5] }],
    ['*/15 2 * * *', { minutes: [0, 15, 30, 45], hours: [2] }],
    ['30 22 * * sun,SAT', { weekdays: [0, 6] }],
    ['0 0 1 jan-mar *', { months: [1, 2, 3] }],
    ['0 0 * * 7', { weekdays: [0, 7] }],
    ['@daily', { minutes: [0], hours: [0] }],
    ['5-20/5 * * * *', { minutes: [5, 10, 15, 20] }],
    ['10/20 * * * *', { minutes: [10, 30, 50] }],
  ])('%s', (expr, expected) => {
    const c = parseCron(expr);
    for (const [k, v] of Object.entries(expected)) expect([...(c[k as keyof typeof c] as Set<number>)].sort((a, b) => a - b)).toEqual(v);
  });
  it.each(['', '* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '5-1 * * * *', '*/0 * * * *', 'a * * * *', '* * * * * *', '1,,2 * * * *'])(
    'refuses %j',
    (expr) => expect(() => parseCron(expr)).toThrow(/not a valid cron expression/),
  );
});

describe('time zone arithmetic', () => {
  it('knows Berlin offsets on both sides of each DST change (2026: 29 Mar, 25 Oct)', () => {
    expect(offsetAt(at('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(offsetAt(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(offsetAt(at('2026-10-25T00:59:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(offsetAt(at('2026-10-25T01:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
  });
  it.each([
    // ordinary winter and summer days
    [{ year: 2026, month: 1, day: 15, hour: 8, minute: 0 }, '2026-01-15T07:00:00Z'],
    [{ year: 2026, month: 7, day: 15, hour: 8, minute: 0 }, '2026-07-15T06:00:00Z'],
    // spring gap: 02:30 does not exist → moved forward by the gap (03:30 CEST)
    [{ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, '2026-03-29T01:30:00Z'],
    // autumn: 02:30 happens twice → the first (CEST) one
    [{ year: 2026, month: 10, day: 25, hour: 2, minute: 30 }, '2026-10-25T00:30:00Z'],
    [{ year: 2026, month: 10, day: 25, hour: 3, minute: 0 }, '2026-10-25T02:00:00Z'],
  ])('instantOf %j in Berlin', (wall, iso) => expect(new Date(instantOf(wall, 'Europe/Berlin')).toISOString()).toBe(new Date(iso).toISOString()));
});

describe('isActive', () => {
  const workdays = w({ kind: 'deny', schedule: '0 8 * * 1-5', duration: '10h' });
  it.each([
    // Friday 4 Dec 2026 (CET, +1)
    ['2026-12-04T06:59:59Z', false],
    ['2026-12-04T07:00:00Z', true],
    ['2026-12-04T16:59:59Z', true],
    ['2026-12-04T17:00:00Z', false],
    // Saturday: no opening
    ['2026-12-05T10:00:00Z', false],
    // Monday in summer (CEST, +2): 08:00 local is 06:00Z
    ['2026-07-06T06:00:00Z', true],
    ['2026-07-06T05:59:00Z', false],
    ['2026-07-06T15:59:00Z', true],
    ['2026-07-06T16:00:00Z', false],
  ])('deny 08:00-18:00 Mon-Fri Berlin at %s → %s', (iso, expected) => expect(isActive(workdays, at(iso))).toBe(expected));

  it('a window spanning midnight belongs to the day it opened', () => {
    const night = w({ kind: 'allow', schedule: '0 22 * * 5', duration: '4h' }); // Friday 22:00 → Saturday 02:00
    expect(isActive(night, at('2026-12-05T00:30:00Z'))).toBe(true); // Sat 01:30 local
    expect(isActive(night, at('2026-12-05T01:00:00Z'))).toBe(false); // Sat 02:00 local
    expect(isActive(night, at('2026-12-03T22:00:00Z'))).toBe(false); // Thu 23:00 local
  });

  it('spring forward: a 02:30 opening happens at 03:30 CEST and lasts its elapsed duration', () => {
    const win = w({ kind: 'allow', schedule: '30 2 * * *', duration: '1h' });
    expect(openingsBetween(win, at('2026-03-28T12:00:00Z'), at('2026-03-30T12:00:00Z')).map((t) => new Date(t).toISOString())).toEqual([
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    expect(isActive(win, at('2026-03-29T01:29:00Z'))).toBe(false);
    expect(isActive(win, at('2026-03-29T02:29:00Z'))).toBe(true);
    expect(isActive(win, at('2026-03-29T02:30:00Z'))).toBe(false);
  });

  it('fall back: a 02:30 opening opens once (at its first occurrence), for 1 h of elapsed time', () => {
    const win = w({ kind: 'allow', schedule: '30 2 * * *', duration: '1h' });
    expect(openingsBetween(win, at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z')).map((t) => new Date(t).toISOString())).toEqual(['2026-10-25T00:30:00.000Z']);
    expect(isActive(win, at('2026-10-25T01:29:00Z'))).toBe(true); // second 02:29 CEST→CET? no: 02:29 CET is 01:29Z, still within 1h of 00:30Z
    expect(isActive(win, at('2026-10-25T01:30:00Z'))).toBe(false); // the second 02:30 (CET) opens nothing
  });

  it('a window across the spring change lasts its duration in elapsed time (8 h from 22:00 CET ends 07:00 CEST)', () => {
    const win = w({ kind: 'deny', schedule: '0 22 * * *', duration: '8h' });
    expect(isActive(win, at('2026-03-29T04:59:00Z'))).toBe(true); // 06:59 CEST
    expect(isActive(win, at('2026-03-29T05:00:00Z'))).toBe(false); // 07:00 CEST
  });

  it('UTC by default', () => {
    const utc = toSyncWindow({ kind: 'deny', schedule: '0 12 * * *', duration: '30m' }, 'windows[0]');
    expect(isActive(utc, at('2026-12-04T12:10:00Z'))).toBe(true);
    expect(isActive(utc, at('2026-12-04T12:30:00Z'))).toBe(false);
  });
});

describe('syncAllowed and evaluateWindows', () => {
  const deny = w({ kind: 'deny', schedule: '0 8 * * 1-5', duration: '10h' });
  const allowNight = w({ kind: 'allow', schedule: '0 2 * * *', duration: '2h' });
  const denyManual = w({ kind: 'deny', schedule: '0 8 * * 1-5', duration: '10h', manualSync: true });
  const allowManual = w({ kind: 'allow', schedule: '0 2 * * *', duration: '2h', manualSync: true });
  const friday10 = at('2026-12-04T09:00:00Z'); // Fri 10:00 Berlin
  const friday20 = at('2026-12-04T19:00:00Z'); // Fri 20:00 Berlin
  const friday0230 = at('2026-12-04T01:30:00Z'); // Fri 02:30 Berlin

  it.each([
    ['no windows', [], friday10, false, true],
    ['inside a deny', [deny], friday10, false, false],
    ['outside a deny', [deny], friday20, false, true],
    ['inside a deny, manual, manualSync off', [deny], friday10, true, false],
    ['inside a deny, manual, manualSync on', [denyManual], friday10, true, true],
    ['inside a deny, automatic, manualSync on', [denyManual], friday10, false, false],
    ['outside the only allow', [allowNight], friday10, false, false],
    ['inside the allow', [allowNight], friday0230, false, true],
    ['outside the allow, manual, manualSync on', [allowManual], friday10, true, true],
    ['outside the allow, manual, manualSync off', [allowNight], friday10, true, false],
    ['deny wins over an open allow', [w({ kind: 'allow', schedule: '0 9 * * *', duration: '3h' }), deny], friday10, false, false],
  ])('%s', (_name, windows, now, manual, expected) => expect(syncAllowed(windows, now, manual)).toBe(expected));

  it('names the next opening: the end of the deny window', () => {
    const v = evaluateWindows([deny], friday10);
    expect(v).toEqual({ allowed: false, nextOpenMs: at('2026-12-04T17:00:00Z') });
    expect(waitingReason(v)).toBe('waiting for sync window (opens at 2026-12-04T17:00:00Z)');
  });
  it('names the next opening: the next allow start (tomorrow 02:00 Berlin)', () => {
    expect(evaluateWindows([allowNight], friday10)).toEqual({ allowed: false, nextOpenMs: at('2026-12-05T01:00:00Z') });
  });
  it('an allow that opens inside a deny is not an opening: the next one after the deny closes is', () => {
    const allowMorning = w({ kind: 'allow', schedule: '0 9 * * *', duration: '1h' }); // daily 09:00-10:00
    // Fri 09:30 inside deny; allow Sat 09:00 is the next time both agree.
    expect(evaluateWindows([allowMorning, deny], at('2026-12-04T08:30:00Z')).nextOpenMs).toBe(at('2026-12-05T08:00:00Z'));
  });
  it('over a weekend: Friday evening deny → Monday allowed at 18:00, next opening is deny end', () => {
    expect(evaluateWindows([deny], at('2026-12-07T08:00:00Z')).nextOpenMs).toBe(at('2026-12-07T17:00:00Z'));
  });
  it('next opening across the autumn change (deny until 18:00 CET on Mon 26 Oct)', () => {
    expect(evaluateWindows([deny], at('2026-10-26T10:00:00Z')).nextOpenMs).toBe(at('2026-10-26T17:00:00Z'));
    // the Friday before, still CEST
    expect(evaluateWindows([deny], at('2026-10-23T10:00:00Z')).nextOpenMs).toBe(at('2026-10-23T16:00:00Z'));
  });
  it('a deny that never closes reports no opening, quickly', () => {
    const always = w({ kind: 'deny', schedule: '* * * * *', duration: '2m' });
    const started = Date.now();
    const v = evaluateWindows([always], friday10);
    expect(v).toEqual({ allowed: false });
    expect(waitingReason(v)).toBe('waiting for sync window (no opening within a year)');
    expect(Date.now() - started).toBeLessThan(60_000);
  });
  it('allowed now has no next opening', () => expect(evaluateWindows([deny], friday20)).toEqual({ allowed: true }));
});

describe('windowsFor and toSyncWindow', () => {
  const everyStack = w({ kind: 'deny', schedule: '0 8 * * *' });
  const webOnly = w({ kind: 'deny', schedule: '0 9 * * *', stacks: ['web-*', 'db'] });
  it('filters host-wide windows by glob, adds the stack own ones', () => {
    const own = w({ kind: 'allow', schedule: '0 1 * * *' });
    expect(windowsFor('web-front', [everyStack, webOnly])).toEqual([everyStack, webOnly]);
    expect(windowsFor('db', [webOnly])).toEqual([webOnly]);
    expect(windowsFor('dbx', [webOnly])).toEqual([]);
    expect(windowsFor('api', [webOnly], [own])).toEqual([own]);
    // regex characters in a pattern are literal
    expect(windowsFor('aXb', [w({ kind: 'deny', schedule: '0 9 * * *', stacks: ['a.b'] })])).toEqual([]);
  });
  it('refuses unknown zones, bad crons and tiny durations', () => {
    expect(() => w({ kind: 'deny', schedule: '0 8 * * *', timezone: 'Mars/Olympus' })).toThrow(/not a known IANA time zone/);
    expect(() => w({ kind: 'deny', schedule: '0 8 * *' })).toThrow(/cron/);
    expect(() => w({ kind: 'deny', schedule: '0 8 * * *', duration: '10s' })).toThrow(/at least 1m/);
  });
});
