import type { ResolvedConfig } from '../config/resolve.js';
import type { HealthStatus, SyncStatus } from '../drift/model.js';
import { describeError } from '../errors/index.js';
import { createDockerClient, pingDocker, type DockerConnection } from '../live/docker-client.js';
import { deployedStackDirs } from '../sync/deploy-dir.js';
import type { Operation, OutboxCount } from '../state/index.js';
import { scrub } from '../util/scrub.js';
import type { Logger } from '../util/logger.js';
import { openStateIfPresent } from './state-access.js';
import { openSource } from './target.js';
import { verificationEnabled, type Provenance, type RevisionVerdict } from '../verify/index.js';
import { lastRefusal, provenanceOf } from './verify-target.js';
import { shortCommit } from '../util/text.js';

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
  /** Set when Docker did not answer: nothing live is known, every stack is Unknown. */
  dockerError?: string;
  /** The target revision was refused by signature verification: why, with the key's fingerprint when it is unknown. */
  verification?: Omit<Extract<RevisionVerdict, { ok: false }>, 'ok'>;
  stacks: StackStatusView[];
  /** Problems with what status can know (e.g. a state DB that lost its deployments). */
  warnings: string[];
  /** The notification outbox per channel (docs/notifications.md): set when channels are configured or rows are queued. */
  notifications?: NotificationQueueView[];
}

/** One channel's outbox as `status` shows it: the counts, and how long the oldest pending event has waited. */
export interface NotificationQueueView extends OutboxCount {
  /** Seconds since the oldest pending event was queued. */
  oldestPendingAgeSeconds?: number;
}

/** The outbox counts with the age of each channel's oldest pending event at `now`; error texts scrubbed again (they may predate a secret's registration). */
export function notificationQueues(counts: readonly OutboxCount[], now: number): NotificationQueueView[] {
  return counts.map((c) => {
    const oldest = c.oldestPending ? Date.parse(c.oldestPending) : NaN;
    return {
      ...c,
      ...(c.lastError !== undefined ? { lastError: scrub(c.lastError) } : {}),
      ...(Number.isNaN(oldest) ? {} : { oldestPendingAgeSeconds: Math.max(0, Math.round((now - oldest) / 1000)) }),
    };
  });
}

function desiredOf(...candidates: (string | undefined)[]): { desiredRevision?: string } {
  const found = candidates.find((c) => c !== undefined);
  return found ? { desiredRevision: found } : {};
}

async function dockerProblem(conn: DockerConnection): Promise<string | undefined> {
  try {
    await pingDocker(conn.docker, conn.address, 3000);
    return undefined;
  } catch (e) {
    return describeError(e);
  }
}

/** The recorded status, corrected by what is known now: Docker down, a desired revision not deployed. */
function truthful(
  s: { sync: StackStatusView['sync']; health: StackStatusView['health']; reason?: string },
  desired: string | undefined,
  deployed: string | undefined,
  problems: { targetError?: string; dockerError?: string },
): Pick<StackStatusView, 'sync' | 'health' | 'reason'> {
  if (problems.dockerError) return { sync: 'Unknown', health: 'Unknown', reason: problems.dockerError };
  if (problems.targetError) return { sync: 'Unknown', health: s.health, reason: problems.targetError };
  if (s.sync === 'Synced' && desired && deployed !== desired) {
    // The last run that could write its status said Synced, but the desired revision is not the
    // deployed one: a run after it failed before it could record why (e.g. a full disk).
    return { sync: 'Unknown', health: s.health, reason: `desired revision ${shortCommit(desired)} is not deployed (deployed: ${deployed ? shortCommit(deployed) : 'none'}); no run has applied it yet (a newer revision not polled yet, or a run that failed before it could record why)` };
  }
  return { sync: s.sync, health: s.health, ...(s.reason ? { reason: s.reason } : {}) };
}

/** Per stack, from the state DB plus one refs request for the current target revision and a Docker ping. */
export async function status(opts: { config: ResolvedConfig; logger: Logger; docker?: DockerConnection }): Promise<StatusResult> {
  const { config } = opts;
  const state = openStateIfPresent(config.dataDir);
  const dockerError = await dockerProblem(opts.docker ?? createDockerClient(config));
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
      const desired = desiredOf(pins.find((p) => p.stack === s.stack)?.commit, target?.commit, s.revision);
      return {
        stack: s.stack,
        ...desired,
        ...(deployed ? { deployedRevision: deployed.revision, ...(deployed.ref ? { deployedRef: deployed.ref } : {}) } : {}),
        ...truthful(s, desired.desiredRevision, deployed?.revision, { ...(targetError ? { targetError } : {}), ...(dockerError ? { dockerError } : {}) }),
        ...(pin ? { pin: pin.tag } : {}),
        ...(pending ? { pending: pending.revision } : {}),
        ...(deployed && provenanceOf(state, deployed.revision) ? { provenance: provenanceOf(state, deployed.revision) } : {}),
        ...(last ? { lastOperation: { action: last.action, result: last.result, at: last.finishedAt ?? last.startedAt, ...(last.message ? { message: last.message } : {}) } } : {}),
      };
    });
    const warnings: string[] = [];
    const dirs = deployedStackDirs(config.dataDir);
    if (dirs.length > 0 && (state?.deploymentCount() ?? 0) === 0) {
      warnings.push(
        `this data dir deployed ${dirs.join(', ')} (${config.dataDir}/deploy) but the state database ${state ? 'has no deployment' : 'is missing'}: it was deleted, emptied or replaced; history is lost, the next \`driftd sync\` or agent cycle re-records the live stacks from their labels`,
      );
    }
    let notifications: NotificationQueueView[] | undefined;
    try {
      const counts = notificationQueues(state?.outboxCounts() ?? [], Date.now());
      if (counts.length > 0 || config.notifications.length > 0 || config.hub) notifications = counts;
    } catch (e) {
      warnings.push(`could not read the notification outbox: ${describeError(e)}`);
    }
    const verification = refused ? (({ ok: _ok, ...rest }) => rest)(refused) : undefined;
    return {
      host: config.host,
      ...(target ? { target } : {}),
      ...(targetError ? { targetError } : {}),
      ...(dockerError ? { dockerError } : {}),
      ...(verification ? { verification } : {}),
      stacks,
      warnings,
      ...(notifications ? { notifications } : {}),
    };
  } finally {
    state?.close();
  }
}
