/**
 * Loading one stack at a revision other than the target: a `driftd rollback` pin, the revision a
 * stack still runs (drift-check's revision-behind diff), the last healthy revision a failed deploy
 * rolls back to. All three load it the same way, with the host's env settings and the policy the
 * stack has at the target (fleet.yaml of the older revision does not decide today's policy).
 */
import { loadStack } from '../compose/index.js';
import type { DesiredStack, StackPolicy } from '../compose/model.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { GitSource } from '../source/index.js';

export type StackLoadSettings = Pick<ResolvedConfig, 'envDir' | 'allowProcessEnv' | 'privateEnvNames' | 'validate'>;

/** `name` from an already materialized tree `root`. */
export function loadStackIn(config: StackLoadSettings, root: string, name: string, policy: StackPolicy): Promise<DesiredStack> {
  return loadStack({
    root,
    name,
    envDir: config.envDir,
    allowProcessEnv: config.allowProcessEnv,
    privateEnvNames: config.privateEnvNames,
    maxFileBytes: config.validate.maxFileBytes,
    policy,
  });
}

/** `name` at `commit`: its snapshot (materialized once, then reused) and the stack loaded from it. */
export async function loadStackAt(
  at: { source: Pick<GitSource, 'materialize'>; config: StackLoadSettings },
  commit: string,
  name: string,
  policy: StackPolicy,
): Promise<{ stack: DesiredStack; root: string }> {
  const snapshot = await at.source.materialize(commit);
  return { stack: await loadStackIn(at.config, snapshot.dir, name, policy), root: snapshot.dir };
}
