import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { describeError } from '../errors/index.js';
import { fileSystemError } from '../util/fs-errors.js';
import { detectComposeCli, type ComposeCli } from '../live/compose-cli.js';
import { createDockerClient, pingDocker, type DockerConnection } from '../live/docker-client.js';
import type { ReconcileDeps, ReconcileResult } from '../sync/reconcile.js';
import { recoverInterruptedApplies } from '../sync/recover.js';
import type { LiveInventory } from '../live/model.js';
import type { ListingCache } from '../live/engine-watch.js';
import type { Listing } from '../live/inventory.js';
import { listComposeContainers } from '../live/project-containers.js';
import type { DriftResult } from '../drift/compute-drift.js';
import { removeStaleTempFiles } from '../util/json-file.js';
import { addTelemetrySink } from '../util/telemetry.js';
import { acquireHostMutex, openState, statePath, type StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import type { DesiredMemo } from './desired-memo.js';
import { desiredMemoKey, hostPolicy, loadPolled, openSource, pinViews, pollTarget, type PolledTarget, type Target, type TargetOptions } from './target.js';
import { noChangeRun, partialRun, recordVerdicts, type NoChangeRun, type PartialRun } from './verdict-cache.js';
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
  /** The agent's cache of the engine's list calls, kept while its event stream shows no change (live/engine-watch.ts). */
  listing?: ListingCache<Listing>;
  /** `--no-cache`: forget the stored no-change verdicts and load and plan every stack. */
  noCache?: boolean;
}

export interface SyncResult extends ReconcileResult {
  revision: { commit: string; ref?: string; refKind?: 'tag' | 'branch' | 'head' };
  warnings: string[];
  /**
   * Whether the stored no-change verdict decided this run (docs/performance.md); on a miss why, and
   * which stacks' inputs changed. Absent when the run cannot use one (--stack, --dry-run, --force, pins).
   */
  verdict?: { hit: boolean; reason?: string; changed?: string[]; loaded?: string[] };
  /** YAML documents parsed during the run (compose files, fleet.yaml): 0 when a verdict decided it. */
  yamlParses: number;
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

/**
 * A plain run whose stored verdicts still hold for most stacks: only the others are loaded and
 * planned (reconcile with `only`, so that the stacks not loaded are neither planned nor pruned);
 * the known ones are recorded at this revision as a full plan would. docs/performance.md.
 */
async function syncPartial(
  opts: SyncOptions,
  run: {
    state: StateStore;
    conn: DockerConnection;
    source: GitSource;
    recovering: Set<string>;
    targetOpts: TargetOptions;
    polled: PolledTarget;
    partial: PartialRun;
    stored: NonNullable<NoChangeRun['stored']>;
    targetFailed: (e: unknown) => unknown;
  },
): Promise<Omit<SyncResult, 'yamlParses' | 'verdict'> & { changed: string[] }> {
  const { state, conn, source, recovering, polled, partial } = run;
  const { config, logger } = opts;
  logger.debug({ load: partial.changed }, 'stored verdicts hold for the other stacks; loading only these');
  let result: ReconcileResult = { plan: { stacks: [], warnings: [] }, outcomes: [], exitCode: 0 };
  let target: Target | undefined;
  if (partial.changed.length > 0) {
    try {
      target = await loadPolled({ ...run.targetOpts, stacks: partial.changed }, polled);
    } catch (e) {
      throw run.targetFailed(e);
    }
    for (const w of target.warnings) logger.warn(w);
    const { reconcile } = await import('../sync/reconcile.js');
    result = await reconcile(reconcileDeps(opts, { state, docker: conn, source, recovering }), {
      desired: target.desired,
      targets: target.targets,
      only: partial.changed,
      dryRun: false,
      force: false,
      allowMassPrune: opts.allowMassPrune ?? false,
      drift: false,
      windows: { manual: opts.trigger === 'cli' || opts.trigger === 'user', ignore: opts.ignoreWindows ?? false },
    });
  } else {
    for (const w of polled.warnings) logger.warn(w);
  }
  const known = partial.recordUnchanged();
  const changed = target ? recordVerdicts({ config, state, snapshot: target.snapshot, desired: target.desired, result, logger, stored: run.stored, partial: true }) : [];
  const byStack = <T extends { stack: string }>(a: T, b: T): number => a.stack.localeCompare(b.stack);
  return {
    plan: { ...result.plan, stacks: [...result.plan.stacks, ...known.plan].sort(byStack) },
    outcomes: [...result.outcomes, ...known.outcomes].sort(byStack),
    exitCode: result.exitCode,
    revision: revisionOf(target ?? polled),
    warnings: target?.warnings ?? polled.warnings,
    changed,
  };
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

function revisionOf(t: Pick<PolledTarget, 'revision'>): SyncResult['revision'] {
  return { commit: t.revision.commit, ...(t.revision.ref ? { ref: t.revision.ref, refKind: t.revision.refKind } : {}) };
}

function reconcileDeps(opts: SyncOptions, parts: Pick<ReconcileDeps, 'state' | 'docker' | 'source' | 'recovering'>): ReconcileDeps {
  return {
    config: opts.config,
    logger: opts.logger,
    ...parts,
    compose: composeDetector(opts.config),
    trigger: opts.trigger,
    actor: opts.actor,
    command: opts.command,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.listing ? { listing: opts.listing } : {}),
  };
}

/**
 * The agent's comparison of desired and live after a run the stored verdict decided: the desired
 * state comes from the agent's memo (no YAML parse while the commit and host inputs stay the
 * same), the live side from the inventory the verdict was checked against.
 */
async function driftOnHit(
  opts: SyncOptions,
  run: Pick<ReconcileDeps, 'state' | 'docker' | 'source'> & { targetOpts: TargetOptions; polled: PolledTarget; inventory: LiveInventory; deployments: NoChangeRun['deployments'] },
): Promise<DriftResult> {
  const target = await loadPolled(run.targetOpts, run.polled);
  const { driftOfUnchanged } = await import('../sync/reconcile.js');
  const deps = reconcileDeps(opts, { state: run.state, docker: run.docker, source: run.source });
  return driftOfUnchanged(deps, { desired: target.desired, targets: target.targets }, run.inventory, run.deployments);
}

/**
 * Starts the listing of every container now and hands it over later. A rejection is held until
 * inventory() is called, so that a listing nobody asks for (the poll failed) is no unhandled rejection.
 */
function listEveryContainer(conn: DockerConnection, listing: ListingCache<Listing> | undefined): { inventory(): Promise<LiveInventory> } {
  const started = import('../live/inventory.js').then(({ collectInventory }) => collectInventory(conn.docker, { inspect: 'none', ...(listing ? { listing } : {}) }));
  const settled = started.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return {
    async inventory() {
      const r = await settled;
      if (r.ok) return r.value;
      throw r.error;
    },
  };
}

/** One reconcile now, under the host's reconcile lock (a second sync waits, never runs in parallel). */
export async function sync(opts: SyncOptions): Promise<SyncResult> {
  let yamlParses = 0;
  const unsubscribe = addTelemetrySink({ yamlParse: () => (yamlParses += 1) });
  try {
    return { ...(await syncCounted(opts)), yamlParses };
  } finally {
    unsubscribe();
  }
}

async function syncCounted(opts: SyncOptions): Promise<Omit<SyncResult, 'yamlParses'>> {
  const { config, logger } = opts;
  const conn = opts.docker ?? createDockerClient(config);
  // The refs request goes out first and is answered while the engine is checked and the lock taken
  // (the agent passes its state and source; the CLI opens them after the engine answered).
  const listAhead = (source: GitSource, state: StateStore): void => {
    try {
      source.listAhead(hostPolicy(config, pinViews(state)));
    } catch {
      // Only a head start: a state DB that cannot give the pins fails below, where it did before.
    }
  };
  if (opts.state && opts.source) listAhead(opts.source, opts.state);
  try {
    await pingDocker(conn.docker, conn.address);
  } catch (e) {
    // Nothing is known about the live stacks while Docker does not answer: status must not keep saying Synced/Healthy.
    markUnknown(opts, describeError(e));
    throw e;
  }
  const state = opts.state ?? openState(config.dataDir);
  const source = opts.source ?? openSource(config, logger);
  if (!(opts.state && opts.source)) listAhead(source, state);
  const release = opts.dryRun
    ? undefined
    : await acquireHostMutex(config.dataDir, 'reconcile', { wait: opts.waitForLock ?? true, timeoutMs: config.composeTimeoutMs * 2 });
  try {
    if (!opts.dryRun) {
      // Temp files of writes that a full disk or a kill interrupted; then a DB that lost its
      // deployments under stacks this data dir runs gets them back from the labels.
      for (const dir of ['git', 'cache']) await removeStaleTempFiles(path.join(config.dataDir, dir));
      // A DB with deployments (every run but the first after a loss) needs none of the relabelling code.
      if (state.deploymentCount() === 0) await (await import('../sync/relabel.js')).recordLiveStacks({ state, docker: conn, dataDir: config.dataDir, logger, trigger: opts.trigger, actor: opts.actor, command: opts.command });
    }
    const recovering = new Set(opts.dryRun ? [] : await recoverInterruptedApplies(state, logger, opts.trigger, opts.actor, config.composeTimeoutMs));
    const pins = pinViews(state);
    const targetOpts: TargetOptions = {
      config,
      logger,
      source,
      pins,
      ...(opts.stacks?.length ? { stacks: opts.stacks } : {}),
      ...(opts.desiredMemo ? { memo: opts.desiredMemo } : {}),
      verifier: targetVerifier({ config, logger, source, state }),
    };
    const targetFailed = (e: unknown): unknown => {
      // Git down, auth refused, tag missing, a full disk under the snapshots, a signature refused:
      // nothing is applied or removed; status says why (best effort: the DB may be on the full disk too).
      const err = fileSystemError(config.dataDir, 'write under', e);
      const reason = describeError(err);
      markUnknown({ ...opts, state }, reason, true);
      if (isUnverified(err) && !opts.dryRun) recordRefusal(state, err, { trigger: opts.trigger, actor: opts.actor, command: opts.command });
      return err;
    };
    // The stored verdict covers a plain run over every declared stack at the host's target.
    const plain = !opts.dryRun && !opts.force && !opts.stacks?.length && recovering.size === 0 && pins.every((p) => p.stack === undefined);
    // The agent compares desired and live after every run: one listing of every container serves the
    // verdict and that comparison. It is taken while the refs request is in flight (two waits
    // overlapped, not one after the other); a poll that fails leaves it unused.
    const listing = plain && !opts.noCache && opts.drift ? listEveryContainer(conn, opts.listing) : undefined;
    // The CLI's plain run asks for the verdict's Compose container list the same way; noChangeRun
    // awaits it only where it needs it, so a Docker error surfaces where it did.
    const composeListing = plain && !opts.noCache && !opts.drift ? listComposeContainers(conn.docker) : undefined;
    composeListing?.catch(() => undefined);
    let polled: PolledTarget;
    try {
      polled = await pollTarget(targetOpts);
    } catch (e) {
      throw targetFailed(e);
    }
    let verdict: SyncResult['verdict'];
    let stored: NoChangeRun['stored'];
    if (plain && opts.noCache) state.clearSyncVerdicts();
    else if (plain) {
      const inventory = listing ? await listing.inventory() : undefined;
      const memo = opts.desiredMemo ? { holder: opts.desiredMemo, desiredKey: desiredMemoKey(config, opts.desiredMemo, polled.revision.commit) } : undefined;
      const fast = await noChangeRun({
        config,
        state,
        docker: conn,
        snapshot: polled.snapshot,
        revision: polled.revision,
        logger,
        ...(inventory ? { containers: inventory.containers } : composeListing ? { containers: composeListing } : {}),
        ...(memo ? { memo } : {}),
      });
      if (fast.result) {
        for (const w of polled.warnings) logger.warn(w);
        logger.debug({ stacks: fast.result.outcomes.length }, 'no change: every stack matches its stored verdict');
        const drift = inventory ? await driftOnHit(opts, { state, docker: conn, source, targetOpts, polled, inventory, deployments: fast.deployments }) : undefined;
        return { ...fast.result, ...(drift ? { drift } : {}), revision: revisionOf(polled), warnings: polled.warnings, verdict: { hit: true } };
      }
      stored = fast.stored;
      if (!fast.decision.hit) verdict = { hit: false, reason: fast.decision.reason };
      // The agent compares every stack's desired state with live after the run (drift), so it loads them all (its memo keeps unchanged stacks parsed).
      const partial =
        stored && !opts.drift && !opts.desiredMemo
          ? await partialRun({ config, state, docker: conn, snapshot: polled.snapshot, revision: polled.revision, stored, ...(composeListing ? { containers: composeListing } : {}) })
          : undefined;
      if (partial && stored) {
        const { changed, ...done } = await syncPartial(opts, { state, conn, source, recovering, targetOpts, polled, partial, stored, targetFailed });
        return { ...done, verdict: { hit: false, ...(verdict?.reason ? { reason: verdict.reason } : {}), changed, loaded: partial.changed } };
      }
      logger.debug({ reason: verdict?.reason }, 'no stored verdict decides this run; loading every stack');
    }
    let target: Target;
    try {
      target = await loadPolled(targetOpts, polled);
    } catch (e) {
      throw targetFailed(e);
    }
    for (const w of target.warnings) logger.warn(w);
    // The planner and everything it uses are loaded only by a run that plans: a verdict hit never does (docs/performance.md).
    const { reconcile } = await import('../sync/reconcile.js');
    const result = await reconcile(
      reconcileDeps(opts, { state, docker: conn, source, recovering }),
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
    if (plain) {
      const changed = recordVerdicts({ config, state, snapshot: target.snapshot, desired: target.desired, result, logger, ...(stored ? { stored } : {}) });
      if (verdict) verdict = { ...verdict, changed };
    }
    return { ...result, revision: revisionOf(target), warnings: target.warnings, ...(verdict ? { verdict } : {}) };
  } finally {
    release?.();
    if (!opts.state) state.close();
  }
}
