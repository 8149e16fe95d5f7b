import type { ResolvedConfig } from '../config/resolve.js';
import { DriftdError } from '../errors/index.js';
import { isValidStackName } from '../compose/index.js';
import { openState, type StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import { verificationEnabled } from '../verify/index.js';
import { openSource } from './target.js';
import { isUnverified, recordRefusal, targetVerifier } from './verify-target.js';

function checkStack(stack: string | undefined): void {
  if (stack !== undefined && !isValidStackName(stack)) {
    throw new DriftdError('InvalidStackName', `"${stack}" is not a valid stack name (lowercase letters, digits, "-" and "_", at most 63 characters)`, { stack });
  }
}

function withState<T>(config: ResolvedConfig, fn: (state: StateStore) => T): T {
  const state = openState(config.dataDir);
  try {
    return fn(state);
  } finally {
    state.close();
  }
}

/**
 * `driftd rollback <tag>`: checks the tag exists and (verification on) that it verifies, then pins
 * the host (or one stack) to it. The caller applies it. `allowUnverified` skips verification for
 * this pin only, and is recorded in the audit trail.
 */
export async function pin(opts: {
  config: ResolvedConfig;
  logger: Logger;
  tag: string;
  stack?: string;
  actor: string;
  allowUnverified?: boolean;
  command?: string;
}): Promise<{ tag: string; commit: string }> {
  checkStack(opts.stack);
  const source = openSource(opts.config, opts.logger);
  const resolved = await source.resolve({ kind: 'tag', tag: opts.tag });
  const allowUnverified = opts.allowUnverified === true && verificationEnabled(opts.config.verify);
  const state = openState(opts.config.dataDir);
  try {
    if (!allowUnverified) {
      try {
        await targetVerifier({ config: opts.config, logger: opts.logger, source, state }).check(resolved);
      } catch (e) {
        // An explicit rollback to an unverified tag is always audited, even when its verdict was cached.
        if (isUnverified(e)) recordRefusal(state, e, { trigger: 'cli', actor: opts.actor, command: opts.command ?? `driftd rollback ${opts.tag}` }, { always: true });
        throw e;
      }
    }
    state.setPin({ ...(opts.stack ? { stack: opts.stack } : {}), tag: opts.tag, commit: resolved.commit, by: opts.actor, ...(allowUnverified ? { allowUnverified: true } : {}) });
    state.audit({
      actor: opts.actor,
      trigger: 'cli',
      action: 'pin',
      ...(opts.stack ? { stack: opts.stack } : {}),
      detail: { tag: opts.tag, commit: resolved.commit, ...(allowUnverified ? { allowUnverified: true } : {}) },
    });
  } finally {
    state.close();
  }
  return { tag: opts.tag, commit: resolved.commit };
}

/** `driftd resume`: removes the pin; the next reconcile tracks the ref policy again. */
export function resume(opts: { config: ResolvedConfig; stack?: string; actor: string }): { removed: boolean } {
  checkStack(opts.stack);
  return withState(opts.config, (state) => {
    const removed = state.removePin(opts.stack);
    if (removed) state.audit({ actor: opts.actor, trigger: 'cli', action: 'resume', ...(opts.stack ? { stack: opts.stack } : {}) });
    return { removed };
  });
}

/** `driftd approve <stack>`: approves one revision (the pending one unless given) of a `sync: manual` stack. */
export function approve(opts: { config: ResolvedConfig; stack: string; revision?: string; actor: string; trigger?: Trigger; state?: StateStore }): { revision: string } {
  checkStack(opts.stack);
  // The agent's status page approves through the agent's own open state (trigger "user").
  const run = (state: StateStore): { revision: string } => {
    const revision = opts.revision ?? state.pending(opts.stack)?.revision;
    if (!revision) {
      throw new DriftdError('NotFound', `stack ${opts.stack} has no revision waiting for approval; run \`driftd sync\` first or pass --revision SHA`, { stack: opts.stack });
    }
    const full = /^[0-9a-f]{40}$/.test(revision) ? revision : state.pending(opts.stack)?.revision;
    if (!full || !full.startsWith(revision)) {
      throw new DriftdError('InvalidRef', `--revision must be the full 40-character commit id waiting for approval (see \`driftd status\`)`, { revision });
    }
    state.approve(opts.stack, full, opts.actor);
    state.audit({ actor: opts.actor, trigger: opts.trigger ?? 'cli', action: 'approve', stack: opts.stack, detail: { revision: full } });
    return { revision: full };
  };
  return opts.state ? run(opts.state) : withState(opts.config, run);
}
