import { loadDesiredState } from '../compose/load-desired-state.js';
import type { Revision, StackLoadError } from '../compose/model.js';
import { renderStack } from '../compose/render.js';
import type { Model } from '../compose/merge.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { SnapshotProblem } from '../source/index.js';
import type { Logger } from '../util/logger.js';
import { openSource, withSnapshotProblems } from './target.js';

export interface RenderCommandOptions {
  /** The desired-state tree at the revision (materialized snapshot or checkout). */
  root: string;
  host: string;
  revision: Revision;
  envDir?: string;
  stacks?: string[];
  allowProcessEnv?: boolean;
  privateEnvNames?: readonly string[];
  maxFileBytes?: number;
  /** Files the snapshot refused: their stacks fail (as in drift-check and sync). */
  snapshotProblems?: readonly SnapshotProblem[];
}

/** One stack as this host would deploy it: its compose model (secrets redacted) and load warnings. */
export interface RenderedStack {
  name: string;
  model: Model;
  warnings: string[];
}

export interface RenderResult {
  host: string;
  revision: Revision;
  stacks: RenderedStack[];
  /** Stacks that could not be loaded; the CLI exits 1 when there is any, after printing the rest. */
  errors: StackLoadError[];
}

/**
 * `driftd render`: what this host would deploy, stack by stack, secrets redacted (the CLI prints
 * it as YAML or JSON: src/cli/format/render-output.ts).
 */
export async function render(opts: RenderCommandOptions): Promise<RenderResult> {
  const loaded = await loadDesiredState({
    root: opts.root,
    host: opts.host,
    revision: opts.revision,
    ...(opts.envDir !== undefined ? { envDir: opts.envDir } : {}),
    ...(opts.stacks ? { stacks: opts.stacks } : {}),
    ...(opts.allowProcessEnv ? { allowProcessEnv: true } : {}),
    ...(opts.privateEnvNames ? { privateEnvNames: opts.privateEnvNames } : {}),
    ...(opts.maxFileBytes !== undefined ? { maxFileBytes: opts.maxFileBytes } : {}),
  });
  // A stack with files the snapshot refused fails here too: rendering it without them would hide that.
  const state = opts.snapshotProblems ? withSnapshotProblems(loaded, { problems: opts.snapshotProblems }) : loaded;
  const renderOpts = { revision: opts.revision.commit, ...(opts.revision.ref !== undefined ? { ref: opts.revision.ref } : {}), redact: true };
  const stacks = state.stacks.map((s) => ({ name: s.name, model: renderStack(s, renderOpts), warnings: s.warnings ?? [] }));
  return { host: state.host, revision: state.revision, stacks, errors: state.errors };
}

/** `driftd render` against the configured repo: polls the ref, then renders that snapshot. */
export async function renderTarget(opts: { config: ResolvedConfig; logger: Logger; stacks?: string[] }): Promise<RenderResult> {
  const { config } = opts;
  const poll = await openSource(config, opts.logger).poll(config.ref);
  return render({
    root: poll.snapshot.dir,
    host: config.host,
    revision: { commit: poll.revision.commit, ref: poll.revision.ref, refKind: poll.revision.refKind },
    envDir: config.envDir,
    allowProcessEnv: config.allowProcessEnv,
    privateEnvNames: config.privateEnvNames,
    maxFileBytes: config.validate.maxFileBytes,
    snapshotProblems: poll.snapshot.problems,
    ...(opts.stacks && opts.stacks.length > 0 ? { stacks: opts.stacks } : {}),
  });
}
