/** One stack row of a hub status document, synced and healthy at `commit` unless overridden. */
import type { ReportStack } from '../../src/hub/report.js';

export const reportStack = (name: string, commit: string, over: Partial<ReportStack> = {}): ReportStack => ({
  name,
  desired: { commit, ref: 'v2.0.0' },
  deployed: { commit, ref: 'v2.0.0' },
  sync: 'Synced',
  health: 'Healthy',
  findings: 0,
  ...over,
});
