import type { ResolvedConfig } from '../config/resolve.js';
import type { HealthStatus, SyncStatus } from '../drift/model.js';
import { describeError } from '../errors/index.js';
import type { Operation } from '../state/index.js';
import type { Logger } from '../util/logger.js';
import { openStateIfPresent } from './state-access.js';
import { openSource } from './target.js';
import { verificationEnabled, type Provenance, type RevisionVerdict } from '../verify/index.js';
import { lastRefusal, provenanceOf } from './verify-target.js';

export interface StackStatusView {
  stack: string;
  desiredRevision?: string;
  deployedRevision?: string;
  deployedRef?: string;
  sync: SyncStatus;
  health: HealthStatus;
  reason?: string;
  pin?: string;
  pending?: string;
  lastOperation?: { action: string; result: string; at: string; message?: string };
  /** Who signed the deployed revision (verification on). */
  provenance?: Provenance;
}

export interface StatusResult {
  host: string;
  target?: { commit: string; ref?: string };
  targetError?: string;
  /** The target revision was refused by signature verification: why, with the key's fingerprint when it is unknown. */
  verification?: Omit<Extract<RevisionVerdict, { ok: false }>, 'ok'>;
  stacks: StackStatusView[];
}

function desiredOf(...candidates: (string | undefined)[]): { desiredRevision?: string } {
  const found = candidates.find((c) => c !== undefined);
  return found ? { desiredRevision: found } : {};
}

/** Per stack, from the state DB plus one refs request for the current target revision. */
export async function status(opts: { config: ResolvedConfig; logger: Logger }): Promise<StatusResult> {
  const { config } = opts;
  const state = openStateIfPresent(config.dataDir);
  try {
    const pins = state?.pins() ?? [];
    const hostPin = pins.find((p) => !p.stack);
    let target: StatusResult['target'];
    let targetError: string | undefined;
    try {
      const r = await openSource(config, opts.logger).resolve(hostPin ? { kind: 'tag', tag: hostPin.tag } : config.ref);
      target = { commit: r.commit, ...(r.ref ? { ref: r.ref } : {}) };
    } catch (e) {
      targetError = describeError(e);
    }
    // The last sync/agent run's verdict on this same target (status itself does not verify: it stays one refs request).
    const refusal = lastRefusal(state, openSource(config, opts.logger).repo);
    const refused = verificationEnabled(config.verify) && refusal && target && refusal.commit === target.commit ? refusal : undefined;
    if (refused && !targetError) targetError = refused.message;
    const stacks = (state?.stackStatuses() ?? []).map((s): StackStatusView => {
      const deployed = state?.currentDeployment(s.stack);
      const pin = pins.find((p) => p.stack === s.stack) ?? hostPin;
      const last: Operation | undefined = state?.history({ stack: s.stack, limit: 1 })[0];
      const pending = state?.pending(s.stack);
      return {
        stack: s.stack,
        ...(desiredOf(pins.find((p) => p.stack === s.stack)?.commit, target?.commit, s.revision)),
        ...(deployed ? { deployedRevision: deployed.revision, ...(deployed.ref ? { deployedRef: deployed.ref } : {}) } : {}),
        sync: targetError ? 'Unknown' : s.sync,
        health: s.health,
        ...(targetError ? { reason: targetError } : s.reason ? { reason: s.reason } : {}),
        ...(pin ? { pin: pin.tag } : {}),
        ...(pending ? { pending: pending.revision } : {}),
        ...(deployed && provenanceOf(state, deployed.revision) ? { provenance: provenanceOf(state, deployed.revision) } : {}),
        ...(last ? { lastOperation: { action: last.action, result: last.result, at: last.finishedAt ?? last.startedAt, ...(last.message ? { message: last.message } : {}) } } : {}),
      };
    });
    const verification = refused ? (({ ok: _ok, ...rest }) => rest)(refused) : undefined;
    return { host: config.host, ...(target ? { target } : {}), ...(targetError ? { targetError } : {}), ...(verification ? { verification } : {}), stacks };
  } finally {
    state?.close();
  }
}
