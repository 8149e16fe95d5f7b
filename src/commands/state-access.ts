import { isDriftdError } from '../errors/index.js';
import { openState, type StateStore } from '../state/index.js';

/**
 * Read-only commands (drift-check, status) must work on a host that driftd never deployed:
 * no state.db yet simply means "nothing recorded".
 */
export function openStateIfPresent(dataDir: string): StateStore | undefined {
  try {
    return openState(dataDir, { readonly: true });
  } catch (e) {
    if (isDriftdError(e) && e.code === 'StateError' && e.data.reason === 'missing') return undefined;
    throw e;
  }
}

/**
 * drift-check writes only caches (registry answers): open read-write when the data dir allows it,
 * else fall back to read-only (or nothing) so a read-only data dir never breaks a report.
 */
export function openStateForCaching(dataDir: string): StateStore | undefined {
  try {
    return openState(dataDir);
  } catch {
    return openStateIfPresent(dataDir);
  }
}
