import { loadDesiredState } from '../compose/load-desired-state.js';
import type { Revision, StackLoadError } from '../compose/model.js';
import { renderStack, toComposeYaml } from '../compose/render.js';
import type { Model } from '../compose/merge.js';
import type { SnapshotProblem } from '../source/index.js';
import { withSnapshotProblems } from './target.js';

export interface RenderCommandOptions {
  /** The desired-state tree at the revision (materialized snapshot or checkout). */
  root: string;
  host: string;
  revision: Revision;
  envDir?: string;
  stacks?: string[];
  format?: 'yaml' | 'json';
  allowProcessEnv?: boolean;
  privateEnvNames?: readonly string[];
  maxFileBytes?: number;
  /** Files the snapshot refused: their stacks fail (as in drift-check and sync). */
  snapshotProblems?: readonly SnapshotProblem[];
}

export interface RenderResult {
  text: string;
  /** Stacks that could not be loaded; the CLI exits 1 when there is any, after printing the rest. */
  errors: StackLoadError[];
}

/**
 * `driftd render`: what this host would deploy, stack by stack, secrets redacted. YAML is one
 * document per stack (each a valid compose file); JSON is `{host, revision, stacks: {name: model},
 * warnings, errors}`.
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
  const rendered: [string, Model, string[]][] = state.stacks.map((s) => [s.name, renderStack(s, renderOpts), s.warnings ?? []]);

  if (opts.format === 'json') {
    const out = {
      host: state.host,
      revision: state.revision,
      stacks: Object.fromEntries(rendered.map(([name, model]) => [name, model])),
      warnings: Object.fromEntries(rendered.filter(([, , w]) => w.length > 0).map(([name, , w]) => [name, w])),
      errors: state.errors,
    };
    return { text: `${JSON.stringify(out, null, 2)}\n`, errors: state.errors };
  }
  const ref = opts.revision.ref ? ` (${opts.revision.ref})` : '';
  const text = rendered
    .map(([name, model, warnings]) => {
      const header = [`# stack ${name} for host ${state.host} at ${opts.revision.commit}${ref}`, ...warnings.map((w) => `# warning: ${w}`)];
      return `${header.join('\n')}\n${toComposeYaml(model)}`;
    })
    .join('---\n');
  return { text, errors: state.errors };
}
