/** `driftd history`: the operation history from the state database, newest first. */
import type { Operation } from '../state/index.js';
import type { Provenance } from '../verify/index.js';
import { openStateIfPresent } from './state-access.js';
import { provenanceOf } from './verify-target.js';

export interface HistoryOptions {
  dataDir: string;
  stack?: string;
  limit: number;
}

/** The rows, or none when nothing was ever synced with this data dir (no state database yet). */
export function history(opts: HistoryOptions): (Operation & { provenance?: Provenance })[] {
  const state = openStateIfPresent(opts.dataDir);
  try {
    // Each row carries who signed its revision, when it was verified (docs/design.md §9).
    return (state?.history({ ...(opts.stack ? { stack: opts.stack } : {}), limit: opts.limit }) ?? []).map((r) => {
      const provenance = provenanceOf(state, r.revision);
      return provenance ? { ...r, provenance } : r;
    });
  } finally {
    state?.close();
  }
}
