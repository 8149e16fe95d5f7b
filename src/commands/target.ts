import type { DesiredState, Revision, StackLoadError } from '../compose/model.js';
import type { RefPolicy, ResolvedConfig } from '../config/resolve.js';
import { createGitSource, type GitSource, type Snapshot } from '../source/index.js';
import type { StackTarget } from '../sync/model.js';
import type { Logger } from '../util/logger.js';
import type { StateStore } from '../state/index.js';
import { verificationEnabled, type Provenance } from '../verify/index.js';
import type { DesiredMemo } from './desired-memo.js';
import { hostInputsOf } from './verdict-cache.js';
import { targetVerifier, type TargetVerifier } from './verify-target.js';
import { describeError } from '../errors/index.js';

export interface PinView {
  stack?: string;
  tag: string;
  /** Pinned with `rollback --allow-unverified`: deployed without signature verification. */
  allowUnverified?: boolean;
}

export interface Target {
  source: GitSource;
  revision: Revision;
  snapshot: Snapshot;
  /** What this host should run, with per-stack pins already applied. */
  desired: DesiredState;
  targets: StackTarget[];
  /** Tag movements and refused files: worth a warning, not fatal. */
  warnings: string[];
  /** Who signed the target revision (verification on), as recorded in the state DB. */
  provenance?: Provenance;
}

export function openSource(config: ResolvedConfig, logger: Logger): GitSource {
  return createGitSource({
    repo: config.repo,
    dataDir: config.dataDir,
    ...(config.gitAuth ? { auth: config.gitAuth } : {}),
    timeoutMs: config.gitTimeoutMs,
    maxFileBytes: config.validate.maxFileBytes,
    fetchTagObjects: config.verify.mode === 'tag' || config.verify.mode === 'tag-and-head',
    readsObjects: verificationEnabled(config.verify),
    logger,
  });
}

/**
 * Files the snapshot refused (unsafe links, duplicates, oversized files) fail their own stack
 * alone; the stack's error names its first refused file and counts the others.
 */
export function withSnapshotProblems(desired: DesiredState, snapshot: { problems: readonly Snapshot['problems'][number][] }): DesiredState {
  const byStack = new Map<string, Snapshot['problems']>();
  for (const p of snapshot.problems) if (p.stack) byStack.set(p.stack, [...(byStack.get(p.stack) ?? []), p]);
  if (byStack.size === 0) return desired;
  const broken = new Map<string, StackLoadError>();
  for (const [stack, list] of byStack) {
    const [first, ...rest] = list as [Snapshot['problems'][number], ...Snapshot['problems']];
    const more = rest.length > 0 ? ` (also refused: ${rest.map((p) => p.file).join(', ')})` : '';
    broken.set(stack, { stack, file: first.file, code: first.code, message: `${first.message}${more}` });
  }
  const declared = new Set([...desired.stacks.map((s) => s.name), ...desired.errors.map((e) => e.stack)]);
  const extra = [...broken.values()].filter((e) => declared.has(e.stack) && !desired.errors.some((x) => x.stack === e.stack));
  return { ...desired, stacks: desired.stacks.filter((s) => !broken.has(s.name)), errors: [...desired.errors, ...extra] };
}

function loadInputs(config: ResolvedConfig) {
  return { host: config.host, envDir: config.envDir, allowProcessEnv: config.allowProcessEnv, maxFileBytes: config.validate.maxFileBytes };
}

/** The key the agent's memo keeps the desired state at `commit` under (loadAt; the stored verdict's memo builds on it). */
export function desiredMemoKey(config: ResolvedConfig, memo: DesiredMemo, commit: string, stacks?: string[]): string {
  return memo.key({ ...loadInputs(config), commit, ...(stacks ? { stacks } : {}) });
}

async function loadAt(config: ResolvedConfig, snapshot: Snapshot, revision: Revision, stacks?: string[], memo?: DesiredMemo): Promise<DesiredState> {
  const inputs = loadInputs(config);
  const privateEnvNames = config.privateEnvNames;
  const key = memo ? desiredMemoKey(config, memo, snapshot.commit, stacks) : undefined;
  const remembered = key === undefined ? undefined : memo?.get(key);
  if (remembered) return remembered;
  const stackMemo = memo?.stackMemo(hostInputsOf(config), snapshot);
  // The Compose loader (and the YAML parser) is imported by the first load: a no-change sync decided by its stored verdict loads none.
  const { loadDesiredState } = await import('../compose/index.js');
  const desired = await loadDesiredState({
    ...inputs,
    privateEnvNames,
    root: snapshot.dir,
    revision,
    ...(stacks && stacks.length > 0 ? { stacks } : {}),
    ...(stackMemo ? { stackMemo } : {}),
  });
  const loaded = withSnapshotProblems(desired, snapshot);
  if (key !== undefined) memo?.set(key, loaded);
  return loaded;
}

export interface TargetOptions {
  config: ResolvedConfig;
  logger: Logger;
  stacks?: string[];
  pins?: PinView[];
  source?: GitSource;
  policy?: RefPolicy;
  /** A long-running caller's memory of the last load (the agent); each CLI run loads afresh. */
  memo?: DesiredMemo;
  /** Signature verification with the state DB's cache; default: verify without a cache. */
  verifier?: TargetVerifier;
}

/** The target revision, verified and materialized, before any stack is loaded. */
export interface PolledTarget {
  source: GitSource;
  revision: Revision;
  snapshot: Snapshot;
  warnings: string[];
  provenance?: Provenance;
}

/** Resolves the host's target revision (a host pin wins over the ref policy), verifies and materializes it. */
/** The host's pins (driftd rollback) as a poll reads them. */
export function pinViews(state: Pick<StateStore, 'pins'>): PinView[] {
  return state.pins().map((p) => ({ ...(p.stack ? { stack: p.stack } : {}), tag: p.tag, ...(p.allowUnverified ? { allowUnverified: true } : {}) }));
}

/** The ref policy a poll follows: the host's pin (driftd rollback) when there is one, else the configured one. */
export function hostPolicy(config: Pick<ResolvedConfig, 'ref'>, pins: TargetOptions['pins']): RefPolicy {
  const hostPin = pins?.find((p) => p.stack === undefined);
  return hostPin ? { kind: 'tag', tag: hostPin.tag } : config.ref;
}

export async function pollTarget(opts: TargetOptions): Promise<PolledTarget> {
  const { config, logger } = opts;
  const source = opts.source ?? openSource(config, logger);
  const verifier = opts.verifier ?? targetVerifier({ config, logger, source });
  const hostPin = opts.pins?.find((p) => p.stack === undefined);
  const policy: RefPolicy = opts.policy ?? hostPolicy(config, opts.pins);
  let provenance: Provenance | undefined;
  // Verified before it is materialized: a refused revision is never snapshotted, loaded or applied.
  const poll = await source.poll(policy, async (resolved) => {
    provenance = await verifier.check(resolved, { allowUnverified: hostPin?.allowUnverified === true && opts.policy === undefined });
  });
  const revision: Revision = { commit: poll.revision.commit, ref: poll.revision.ref, refKind: poll.revision.refKind };
  const warnings = [...poll.warnings.map((w) => w.message), ...poll.snapshot.problems.map((p) => p.message)];
  return { source, revision, snapshot: poll.snapshot, warnings, ...(provenance ? { provenance } : {}) };
}

/** Loads what this host should run at a polled target. Stacks pinned on their own are loaded from their pinned tag. */
export async function loadPolled(opts: TargetOptions, polled: PolledTarget): Promise<Target> {
  const { config, logger } = opts;
  const { source, revision } = polled;
  const verifier = opts.verifier ?? targetVerifier({ config, logger, source });
  const hostPin = opts.pins?.find((p) => p.stack === undefined);
  const desired = await loadAt(config, polled.snapshot, revision, opts.stacks, opts.memo);

  const targets: StackTarget[] = desired.stacks.map((stack) => ({ stack, revision, root: polled.snapshot.dir, ...(hostPin ? { pinnedTag: hostPin.tag } : {}) }));
  const errors = [...desired.errors];
  for (const pin of opts.pins ?? []) {
    if (pin.stack === undefined) continue;
    const index = targets.findIndex((t) => t.stack.name === pin.stack);
    const current = targets[index];
    if (!current) continue;
    const pinned = await source.resolve({ kind: 'tag', tag: pin.tag });
    await verifier.check(pinned, { allowUnverified: pin.allowUnverified === true });
    const snap = await source.materialize(pinned.commit);
    const pinnedRevision: Revision = { commit: pinned.commit, ref: pinned.ref, refKind: pinned.refKind };
    try {
      const { loadStackIn } = await import('../sync/stack-at.js');
      const stack = await loadStackIn(config, snap.dir, pin.stack, current.stack.policy);
      targets[index] = { stack, revision: pinnedRevision, root: snap.dir, pinnedTag: pin.tag };
    } catch (e) {
      targets.splice(index, 1);
      errors.push({ stack: pin.stack, code: 'ComposeLoadError', message: `pinned tag ${pin.tag}: ${describeError(e)}` });
    }
  }
  const stacks = targets.map((t) => t.stack);
  const { warnings, provenance } = polled;
  return { source, revision, snapshot: polled.snapshot, desired: { ...desired, stacks, errors }, targets, warnings, ...(provenance ? { provenance } : {}) };
}

/** pollTarget then loadPolled: the target revision and what this host should run at it. */
export async function loadTarget(opts: TargetOptions): Promise<Target> {
  const source = opts.source ?? openSource(opts.config, opts.logger);
  const verifier = opts.verifier ?? targetVerifier({ config: opts.config, logger: opts.logger, source });
  const withSource = { ...opts, source, verifier };
  return loadPolled(withSource, await pollTarget(withSource));
}
