/** Number and count formatting shared by the report and the target checks. */

export const fmtMs = (ms: number): string => (!Number.isFinite(ms) ? '–' : Math.abs(ms) >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
/** "+412 ms" / "−1.20 s": a difference. */
export const fmtDeltaMs = (ms: number): string => `${ms < 0 ? '−' : '+'}${fmtMs(Math.abs(ms))}`;
export const fmtMb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
export const fmtPct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export function countBy(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** "1× info/refs" — the distinct patterns of a list of counts, "none" for an empty one. */
export function kindsText(samples: readonly Record<string, number>[]): string {
  const patterns = new Set(samples.map((k) => Object.entries(k).map(([kind, count]) => `${count}× ${kind}`).join(', ') || 'none'));
  return [...patterns].join(' / ');
}

/** Ref listings among a poll's requests: GET info/refs (v0, or v2 discovery) plus v2 ls-refs POSTs. */
export const refsRequests = (byKind: Readonly<Record<string, number>>): number => (byKind['info/refs'] ?? 0) + (byKind['git-upload-pack ls-refs'] ?? 0);
