import { DriftdError } from '../errors/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "120s", "5m", "1h30m", "250ms" or a bare number of seconds into milliseconds. */
export function parseDuration(input: string | number, what = 'duration'): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new DriftdError('UsageError', `${what}: expected a non-negative duration, got ${input}`);
    return input * 1000;
  }
  const s = input.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== s.length) {
    throw new DriftdError('UsageError', `${what}: "${input}" is not a duration (use e.g. 90s, 5m, 1h30m)`, { input });
  }
  return total;
}
