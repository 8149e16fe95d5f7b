/** Median and spread of a list of samples (nearest-rank percentiles: every value is a real sample). */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p90: number;
}

function nearestRank(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length === 0 ? Number.NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN, p90: nearestRank(sorted, 90) };
}

/** Summaries of each numeric field of a list of records (e.g. wall, cpu of every run). */
export function summarizeFields<K extends string>(runs: readonly Record<K, number>[], keys: readonly K[]): Record<K, Summary> {
  return Object.fromEntries(keys.map((k) => [k, summarize(runs.map((r) => r[k]))])) as Record<K, Summary>;
}
