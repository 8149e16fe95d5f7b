import { dict, own } from '../util/dict.js';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { DesiredStack, DesiredState } from '../compose/model.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { computeDrift, type DeployedRevision } from '../drift/compute-drift.js';
import { policyFindings } from '../drift/policy-findings.js';
import type { DriftReport, DriftSummary, Finding, StackStatus } from '../drift/model.js';
import { DriftdError, isDriftdError, describeError, withLastKnown } from '../errors/index.js';
import { createDockerClient, pingDocker, type DockerConnection } from '../live/docker-client.js';
import { collectInventory } from '../live/inventory.js';
import type { LiveInventory } from '../live/model.js';
import { imageFindings } from '../drift/image-drift.js';
import { createCredentialSource } from '../image/docker-auth.js';
import { registryDigests } from './registry-digests.js';
import { loadStackAt } from '../sync/stack-at.js';
import { REFUSAL_REASONS } from '../verify/index.js';
import { createDigestResolver } from '../image/resolver.js';
import { buildExportFiles } from '../report/export-files.js';
import { writeRuntimeExport } from '../report/runtime-export.js';
import type { FileChange } from '../source/index.js';
import type { StateStore } from '../state/index.js';
import type { Logger } from '../util/logger.js';
import { VERSION } from '../version.js';
import { loadTarget, openSource, pinViews, type Target } from './target.js';
import { openStateForCaching } from './state-access.js';
import { checkFindings } from './check-findings.js';
import { isUnverified, targetVerifier } from './verify-target.js';
import { LABEL_STACK } from '../util/labels.js';
import { shortCommit } from '../util/text.js';
import { readSwarm } from '../swarm/engine-read.js';
import type { SwarmLive } from '../swarm/engine-model.js';

export interface DriftCheckOptions {
  config: ResolvedConfig;
  logger: Logger;
  now?: () => Date;
  docker?: DockerConnection;
  stacks?: string[];
  export?: boolean;
  /** Also run each stack's post-deploy checks once (`check-failed` findings). */
  checks?: boolean;
}

export interface DriftCheckResult {
  report: DriftReport;
  desired: DesiredState;
  inventory: LiveInventory;
  /** The Swarm's services and tasks, read when some stack has `engine: swarm` and this engine is a manager. */
  swarm?: SwarmLive;
  snapshotRoot: string;
  exportDir?: string;
  /** 0 in sync, 2 drift found, 1 some stack could not be evaluated. */
  exitCode: 0 | 1 | 2;
}

function summarize(stacks: StackStatus[], unmanaged: Finding[]): DriftSummary {
  const findings = [...stacks.flatMap((s) => s.findings), ...unmanaged];
  return {
    stacks: stacks.length,
    synced: stacks.filter((s) => s.sync === 'Synced').length,
    outOfSync: stacks.filter((s) => s.sync === 'OutOfSync').length,
    unknown: stacks.filter((s) => s.sync === 'Unknown').length,
    findings: findings.length,
    bySeverity: {
      error: findings.filter((f) => f.severity === 'error').length,
      warning: findings.filter((f) => f.severity === 'warning').length,
      info: findings.filter((f) => f.severity === 'info').length,
    },
  };
}

const HEALTH_KINDS: ReadonlySet<string> = new Set(['container-unhealthy', 'container-not-running', 'check-failed']);

/**
 * 1: a stack could not be evaluated. 2: drift — a stack OutOfSync, a container down or unhealthy
 * (error severity), a stack sync refuses under an enforced policy, or an undeclared project running here. Hygiene warnings (image-unpinned,
 * lock-stale, image-outdated) and transient states (restarting, health starting) do not count.
 */
export function exitCodeFor(report: DriftReport): 0 | 1 | 2 {
  if (report.summary.unknown > 0) return 1;
  const unmanaged = report.unmanaged.some((f) => f.severity !== 'info');
  const down = report.stacks.some((s) => s.findings.some((f) => (HEALTH_KINDS.has(f.kind) || f.kind === 'policy-violation') && f.severity === 'error'));
  return report.summary.outOfSync > 0 || unmanaged || down ? 2 : 0;
}

/** Repo unreachable: the reason, plus the last revision driftd could read, if any. */
async function explainSourceFailure(e: unknown, config: ResolvedConfig, logger: Logger): Promise<never> {
  if (!isDriftdError(e)) throw e;
  const last = await openSource(config, logger)
    .lastGood()
    .catch(() => undefined);
  const known = last ? `; last known revision ${last.revision.ref ?? ''} ${shortCommit(last.revision.commit)} (${last.at})`.replace('  ', ' ') : '';
  throw withLastKnown(e, `${e.message}${known}`, last?.revision);
}

async function revisionChanges(target: Target, deployed: Record<string, DeployedRevision>, logger: Logger): Promise<Record<string, FileChange[]>> {
  const out = dict<FileChange[]>();
  for (const t of target.targets) {
    const from = own(deployed, t.stack.name)?.revision;
    if (!from || from === t.revision.commit) continue;
    try {
      out[t.stack.name] = await target.source.changedFiles(from, t.revision.commit, t.stack.name);
    } catch (e) {
      // The deployed commit may not be in this host's mirror (state restored from elsewhere): report without a diff.
      logger.debug({ stack: t.stack.name, err: describeError(e) }, 'no diff against the deployed revision');
    }
  }
  return out;
}

/**
 * A stack behind its target is compared field by field with the revision it runs: the new tag then
 * shows as revision-behind (with the diff), and config-drift keeps meaning "changed by hand".
 */
async function withDeployedVersions(
  target: Target,
  deployed: Record<string, DeployedRevision>,
  changes: Record<string, FileChange[]>,
  config: ResolvedConfig,
  logger: Logger,
): Promise<DesiredState> {
  const stacks: DesiredStack[] = [];
  for (const stack of target.desired.stacks) {
    const from = own(deployed, stack.name)?.revision;
    if (!from || !own(changes, stack.name)?.length) {
      stacks.push(stack);
      continue;
    }
    try {
      stacks.push((await loadStackAt({ source: target.source, config }, from, stack.name, stack.policy)).stack);
    } catch (e) {
      logger.debug({ stack: stack.name, err: describeError(e) }, 'comparing with the target revision: the deployed one cannot be loaded');
      stacks.push(stack);
    }
  }
  return { ...target.desired, stacks };
}

function deployedRevisions(state: StateStore | undefined, stacks: readonly DesiredStack[]): Record<string, DeployedRevision> {
  const out = dict<DeployedRevision>();
  if (!state) return out;
  for (const s of stacks) {
    const d = state.currentDeployment(s.name);
    if (d) out[s.name] = { revision: d.revision, ...(d.ref ? { ref: d.ref } : {}) };
  }
  return out;
}

/** desired (Git) + live (Docker) → findings per stack; optionally a runtime export. */
export async function driftCheck(opts: DriftCheckOptions): Promise<DriftCheckResult> {
  const { config, logger } = opts;
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  const timings: Record<string, number> = {};
  const lap = (name: string, since: number): number => {
    timings[name] = Date.now() - since;
    return Date.now();
  };

  const conn = opts.docker ?? createDockerClient(config);
  await pingDocker(conn.docker, conn.address);
  const state = openStateForCaching(config.dataDir);
  try {
    let t = Date.now();
    const pins = state ? pinViews(state) : [];
    const source = openSource(config, logger);
    const verifier = targetVerifier({ config, logger, source, ...(state ? { state } : {}) });
    const targetLoad = loadTarget({ config, logger, pins, source, verifier, ...(opts.stacks ? { stacks: opts.stacks } : {}) }).catch((e: unknown) =>
      explainSourceFailure(e, config, logger),
    );
    // The engine lists (and, with --stack, inspects) while this process reads the repo.
    const filtered = opts.stacks !== undefined && opts.stacks.length > 0;
    // Their containers are inspected while the repo loads: the stacks this host has deployed are
    // almost always the ones it declares (any other inspect is dropped, collectInventory).
    const inventoryLoad = collectInventory(conn.docker, {
      projects: filtered ? opts.stacks : targetLoad.then((x) => [...x.desired.stacks.map((s) => s.name), ...x.desired.errors.map((e) => e.stack)]),
      ...(!filtered && state ? { prefetch: [...state.currentDeployments().keys()] } : {}),
    });
    // Awaited below; when both fail, the repo's error is the one reported.
    inventoryLoad.catch(() => undefined);
    let target: Target;
    try {
      target = await targetLoad;
    } catch (e) {
      if (!isUnverified(e)) throw e;
      return await unverifiedResult({ error: e, config, logger, state, conn, now, started, ...(opts.stacks ? { stacks: opts.stacks } : {}), ...(opts.export ? { export: true } : {}) });
    }
    for (const w of target.warnings) logger.warn(w);
    lap('desired', t);
    const inventory = await inventoryLoad;
    const swarm = await swarmFor(conn, target.desired.stacks, logger);
    t = lap('inventory', t);

    const deployed = deployedRevisions(state, target.desired.stacks);
    const changes = await revisionChanges(target, deployed, logger);
    const registry = await registryDigests({
      stacks: target.desired.stacks,
      resolver: createDigestResolver({ docker: conn.docker, credentials: createCredentialSource(), logger }),
      ...(state && !state.readonly ? { cache: state } : {}),
      intervalMs: config.outdatedCheckIntervalMs,
      logger,
    });
    for (const e of registry.errors) logger.warn({ image: e.image }, `image-outdated not checked: ${e.message}`);
    const imageChecks = dict<Finding[]>();
    for (const stack of target.desired.stacks) imageChecks[stack.name] = imageFindings({ stack, live: inventory, registryDigests: registry.digests });
    if (opts.checks) {
      const selected = target.desired.stacks.filter((s) => !opts.stacks?.length || opts.stacks.includes(s.name));
      for (const [stack, found] of Object.entries(await checkFindings(config, selected, target.revision))) imageChecks[stack] = [...(imageChecks[stack] ?? []), ...found];
    }
    const knownStacks = [...new Set(inventory.containers.map((c) => c.labels[LABEL_STACK]).filter((s): s is string => !!s))];
    const compared = await withDeployedVersions(target, deployed, changes, config, logger);
    const drift = computeDrift({
      desired: compared,
      live: inventory,
      deployed,
      revisionChanges: changes,
      imageChecks,
      policyChecks: policyFindings(config.policy, target.desired.stacks),
      knownStacks,
      ...(swarm ? { swarm } : {}),
      ...(opts.stacks && opts.stacks.length > 0 ? { stacks: opts.stacks } : {}),
    });
    lap('compare', t);
    timings.total = Date.now() - started;

    const report: DriftReport = {
      schemaVersion: 1,
      driftdVersion: VERSION,
      host: config.host,
      generatedAt: now().toISOString(),
      repo: target.source.repo,
      revision: { commit: target.revision.commit, ...(target.revision.ref ? { ref: target.revision.ref } : {}) },
      ...(target.provenance ? { provenance: target.provenance } : {}),
      summary: summarize(drift.stacks, drift.unmanaged),
      stacks: drift.stacks,
      unmanaged: drift.unmanaged,
      timings,
    };
    const result: DriftCheckResult = {
      report,
      desired: target.desired,
      inventory,
      ...(swarm ? { swarm } : {}),
      snapshotRoot: target.snapshot.dir,
      exitCode: exitCodeFor(report),
    };
    if (opts.export) {
      const skipped: { path: string; reason: string }[] = [];
      const files = await buildExportFiles({ report, inventory, ...(swarm ? { swarm } : {}), desiredStacks: target.desired.stacks, snapshotRoot: target.snapshot.dir, skipped });
      for (const s of skipped) logger.warn({ file: s.path }, s.reason);
      const written = await writeRuntimeExport({ auditDir: config.auditDir, now: now(), files, retention: config.exportRetention, mode: config.exportMode });
      result.exportDir = written.dir;
    }
    return result;
  } finally {
    state?.close();
  }
}

/**
 * One GET /services + /tasks when some stack has `engine: swarm`. An engine that cannot answer
 * (not a Swarm manager) leaves those stacks Unknown with the reason, and the rest of the report stands.
 */
async function swarmFor(conn: DockerConnection, stacks: readonly DesiredStack[], logger: Logger): Promise<SwarmLive | undefined> {
  if (!stacks.some((s) => s.policy.engine === 'swarm')) return undefined;
  try {
    return await readSwarm(conn.docker, conn.address);
  } catch (e) {
    logger.warn(`engine: swarm stacks not compared: ${describeError(e)}`);
    return undefined;
  }
}

/** The stacks a refused revision concerns: those this data dir knows, else those of the last verified revision, else "*" (all). */
async function stacksOfHost(state: StateStore | undefined, config: ResolvedConfig, logger: Logger, only?: string[]): Promise<string[]> {
  if (only && only.length > 0) return only;
  const known = state?.stackStatuses().map((s) => s.stack) ?? [];
  if (known.length > 0) return known;
  const last = await openSource(config, logger)
    .lastGood()
    .catch(() => undefined);
  const names = last ? await readdir(path.join(last.snapshot.dir, 'stacks')).catch(() => []) : [];
  return names.length > 0 ? names.sort() : ['*'];
}

/**
 * The target failed signature verification (docs/design.md §9): nothing of it was read into a snapshot,
 * so the report is every stack Unknown with a revision-unverified finding (error), exit 1.
 */
async function unverifiedResult(opts: {
  error: DriftdError<'RevisionUnverified'>;
  config: ResolvedConfig;
  logger: Logger;
  state: StateStore | undefined;
  conn: DockerConnection;
  now: () => Date;
  started: number;
  stacks?: string[];
  export?: boolean;
}): Promise<DriftCheckResult> {
  const { error, config } = opts;
  const { commit, ref, fingerprint, object } = error.data;
  // Thrown by verify-target.ts from a verdict, so always one of the reasons; 'unsupported' only for a foreign payload.
  const reason = REFUSAL_REASONS.find((r) => r === error.data.reason) ?? 'unsupported';
  const names = await stacksOfHost(opts.state, config, opts.logger, opts.stacks);
  const inventory = await collectInventory(opts.conn.docker, { projects: names.filter((n) => n !== '*') });
  const desired = { commit, ...(ref ? { ref } : {}), reason, ...(fingerprint ? { fingerprint } : {}), ...(object ? { object } : {}) };
  const stacks: StackStatus[] = names.map((stack) => {
    const deployed = opts.state?.currentDeployment(stack)?.revision;
    return {
      stack,
      sync: 'Unknown',
      health: 'Unknown',
      reason: error.message,
      findings: [{ kind: 'revision-unverified', stack, severity: 'error', message: error.message, desired, ...(deployed ? { live: { commit: deployed } } : {}) }],
      ...(deployed ? { deployedRevision: deployed } : {}),
      targetRevision: commit,
    };
  });
  const report: DriftReport = {
    schemaVersion: 1,
    driftdVersion: VERSION,
    host: config.host,
    generatedAt: opts.now().toISOString(),
    repo: openSource(config, opts.logger).repo,
    revisionError: error.message,
    verification: { ok: false, reason, commit, ...(ref ? { ref } : {}), ...(fingerprint ? { fingerprint } : {}), ...(object ? { object } : {}) },
    summary: summarize(stacks, []),
    stacks,
    unmanaged: [],
    timings: { total: Date.now() - opts.started },
  };
  const result: DriftCheckResult = { report, desired: { host: config.host, revision: { commit, ...(ref ? { ref } : {}) }, stacks: [], errors: [], allStackNames: [] }, inventory, snapshotRoot: '', exitCode: 1 };
  if (opts.export) {
    const files = await buildExportFiles({ report, inventory, desiredStacks: [], snapshotRoot: config.dataDir });
    result.exportDir = (await writeRuntimeExport({ auditDir: config.auditDir, now: opts.now(), files, retention: config.exportRetention })).dir;
  }
  return result;
}
