import { dict } from '../util/dict.js';
import type { DesiredStack } from '../compose/model.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Finding } from '../drift/model.js';
import { describeFailures, runChecksOnce } from '../checks/run.js';
import { secretIndexFromStacks } from '../report/secrets.js';
import { execInService } from '../sync/apply.js';
import { scrubText } from '../util/scrub.js';
import { composeDetector } from './sync.js';

/**
 * `drift-check --checks`: each stack's post-deploy checks, run once against what is live now,
 * as `check-failed` findings (error). The variables are those of the target revision, so a check
 * on `${DRIFTD_TAG}` fails while an older release still answers.
 */
export async function checkFindings(config: ResolvedConfig, stacks: readonly DesiredStack[], revision: { commit: string; ref?: string }): Promise<Record<string, Finding[]>> {
  const secrets = secretIndexFromStacks(stacks).values;
  const scrub = (t: string): string => scrubText(t, secrets);
  const compose = composeDetector(config);
  const out = dict<Finding[]>();
  for (const stack of stacks) {
    const checks = stack.policy.checks ?? [];
    if (checks.length === 0) continue;
    const results = await runChecksOnce(checks, {
      vars: { DRIFTD_TAG: revision.ref ?? '', DRIFTD_REVISION: revision.commit, DRIFTD_STACK: stack.name },
      exec: async (service, command, timeoutMs) => execInService({ compose: await compose(), dataDir: config.dataDir, timeoutMs: config.composeTimeoutMs }, stack.name, service, command, timeoutMs),
      scrub,
    });
    out[stack.name] = describeFailures(results).map((message) => ({ kind: 'check-failed', stack: stack.name, severity: 'error', message }));
  }
  return out;
}
