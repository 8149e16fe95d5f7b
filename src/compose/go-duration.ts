/** Compose durations use Go's time.ParseDuration syntax ("1m30s", "1.5s", "500ms", "0"); Docker stores nanoseconds. */
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function parseGoDurationNs(input: string): number | undefined {
  const s = input.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/u.exec(s);
  if (!m) return undefined;
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gu)) {
    total += Number(part[1]) * (UNIT_NS[part[2] ?? 's'] ?? 1e9);
  }
  return Math.round(m[1] === '-' ? -total : total);
}
