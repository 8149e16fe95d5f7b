import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { describeError } from '../errors/index.js';
import { fileSystemError } from '../util/fs-errors.js';
import { detectComposeCli, type ComposeCli } from '../live/compose-cli.js';
import { createDockerClient, pingDocker, type DockerConnection } from '../live/docker-client.js';
import { reconcile, recoverInterruptedApplies, type ReconcileResult } from '../sync/reconcile.js';
import { recordLiveStacks } from '../sync/relabel.js';
import { removeStaleTempFiles } from '../util/json-file.js';
import { acquireHostMutex, openState, statePath, type StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import type { DesiredMemo } from './desired-memo.js';
import { loadTarget, openSource } from './target.js';
import { isUnverified, recordRefusal, targetVerifier } from './verify-target.js';
import type { GitSource } from '../source/index.js';

export interface SyncOptions {
  config: ResolvedConfig;
  logger: Logger;
  trigger: Trigger;
  actor: string;
  command: string;
  stacks?: string[];
  dryRun?: boolean;
  force?: boolean;
  allowMassPrune?: boolean;
  /** `--ignore-windows`: apply even when a sync window forbids it (each such apply is audited). */
  ignoreWindows?: boolean;
  docker?: DockerConnection;
  source?: GitSource;
  state?: StateStore;
  signal?: AbortSignal;
  /** Wait for a reconcile already running on this host (default) or fail with LockBusy. */
  waitForLock?: boolean;
  /** The agent's memory of the last desired state, reused while the commit and host inputs stay the same. */
  desiredMemo?: DesiredMemo;
  /** Compare desired and live after the run (the agent's metrics and notifications). */
  drift?: boolean;
}

export interface SyncResult extends ReconcileResult {
  revision: { commit: string; ref?: string; refKind?: 'tag' | 'branch' | 'head' };
  warnings: string[];
}

/** Detects Compose only when a stack needs it, reusing the data dir's remembered detection. */
export function composeDetector(config: ResolvedConfig): () => Promise<ComposeCli> {
  return () =>
    detectComposeCli({
      command: config.composeCommand,
      ...(config.dockerHost ? { dockerHost: config.dockerHost } : {}),
      passEnv: config.composePassEnv,
      privateEnvNames: config.privateEnvNames,
      timeoutMs: 30_000,
      cacheDir: path.join(config.dataDir, 'cache'),
    });
}

/** Every known stack's status → Unknown with `reason` (best effort: the state DB may be the thing that failed). */
function markUnknown(opts: SyncOptions, reason: string, keepHealth = false): void {
  try {
    if (!opts.state && !existsSync(statePath(opts.config.dataDir))) return;
    const state = opts.state ?? openState(opts.config.dataDir);
    try {
      for (const s of state.stackStatuses()) {
        state.setStackStatus({ stack: s.stack, sync: 'Unknown', health: keepHealth ? s.health : 'Unknown', reason, ...(s.revision ? { revision: s.revision } : {}) });
      }
    } finally {
      if (!opts.state) state.close();
    }
  } catch (e) {
    opts.logger.debug({ err: describeError(e) }, 'could not record the Unknown status');
  }
}

/** One reconcile now, under the host's reconcile lock (a second sync waits, never runs in parallel). */
export async function sync(opts: SyncOptions): Promise<SyncResult> {
  const { config, logger } = opts;
  const conn = opts.docker ?? createDockerClient(config);
  try {
    await pingDocker(conn.docker, conn.address);
  } catch (e) {
    // Nothing is known about the live stacks while Docker does not answer: status must not keep saying Synced/Healthy.
    markUnknown(opts, describeError(e));
    throw e;
  }
  const state = opts.state ?? openState(config.dataDir);
  const release = opts.dryRun
    ? undefined
    : await acquireHostMutex(config.dataDir, 'reconcile', { wait: opts.waitForLock ?? true, timeoutMs: config.composeTimeoutMs * 2 });
  try {
    if (!opts.dryRun) {
      // Temp files of writes that a full disk or a kill interrupted; then a DB that lost its
      // deployments under stacks this data dir runs gets them back from the labels.
      for (const dir of ['git', 'cache']) await removeStaleTempFiles(path.join(config.dataDir, dir));
      await recordLiveStacks({ state, docker: conn, dataDir: config.dataDir, logger, trigger: opts.trigger, actor: opts.actor, command: opts.command });
    }
    const recovering = new Set(opts.dryRun ? [] : await recoverInterruptedApplies(state, logger, opts.trigger, opts.actor, config.composeTimeoutMs));
    const source = opts.source ?? openSource(config, logger);
    const pins = state.pins().map((p) => ({ ...(p.stack ? { stack: p.stack } : {}), tag: p.tag, ...(p.allowUnverified ? { allowUnverified: true } : {}) }));
    let target;
    try {
      target = await loadTarget({
        config,
        logger,
        source,
        pins,
        ...(opts.stacks?.length ? { stacks: opts.stacks } : {}),
        ...(opts.desiredMemo ? { memo: opts.desiredMemo } : {}),
        verifier: targetVerifier({ config, logger, source, state }),
      });
    } catch (e) {
      // Git down, auth refused, tag missing, a full disk under the snapshots, a signature refused:
      // nothing is applied or removed; status says why (best effort: the DB may be on the full disk too).
      const err = fileSystemError(config.dataDir, 'write under', e);
      const reason = describeError(err);
      markUnknown({ ...opts, state }, reason, true);
      if (isUnverified(err) && !opts.dryRun) recordRefusal(state, err, { trigger: opts.trigger, actor: opts.actor, command: opts.command });
      throw err;
    }
    for (const w of target.warnings) logger.warn(w);
    const result = await reconcile(
      {
        config,
        logger,
        state,
        docker: conn,
        source,
        compose: composeDetector(config),
        trigger: opts.trigger,
        actor: opts.actor,
        command: opts.command,
        recovering,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      {
        desired: target.desired,
        targets: target.targets,
        only: opts.stacks ?? [],
        dryRun: opts.dryRun ?? false,
        force: opts.force ?? false,
        allowMassPrune: opts.allowMassPrune ?? false,
        drift: opts.drift ?? false,
        // The agent's triggers are automatic; a person at the CLI is a manual sync (Argo CD's manualSync).
        windows: { manual: opts.trigger === 'cli' || opts.trigger === 'user', ignore: opts.ignoreWindows ?? false },
      },
    );
    return { ...result, revision: { commit: target.revision.commit, ...(target.revision.ref ? { ref: target.revision.ref, refKind: target.revision.refKind } : {}) }, warnings: target.warnings };
  } finally {
    release?.();
    if (!opts.state) state.close();
  }
}
