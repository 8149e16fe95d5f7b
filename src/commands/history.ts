/** `driftd history`: the operation history from the state database, newest first. */
import type { Operation } from '../state/index.js';
import { openStateIfPresent } from './state-access.js';

export interface HistoryOptions {
  dataDir: string;
  stack?: string;
  limit: number;
}

/** The rows, or none when nothing was ever synced with this data dir (no state database yet). */
export function history(opts: HistoryOptions): Operation[] {
  const state = openStateIfPresent(opts.dataDir);
  try {
    return state?.history({ ...(opts.stack ? { stack: opts.stack } : {}), limit: opts.limit }) ?? [];
  } finally {
    state?.close();
  }
}
