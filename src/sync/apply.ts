import path from 'node:path';
import { renderStack, toComposeYaml } from '../compose/index.js';
import type { DesiredService, DesiredStack } from '../compose/model.js';
import { assertComposeOk, composeDownArgs, composePullArgs, composeUpArgs, type ComposeCli } from '../live/compose-cli.js';
import { DEPLOY_COMPOSE_FILE, deployDirFor, ensureDeployCompose, removeDeployDir, syncDeployDir } from './deploy-dir.js';
import type { StackTarget } from './model.js';
import type { PullSelection } from './pull-check.js';
import type { PullCandidate } from './pull-decision.js';

export interface ApplyDeps {
  compose: ComposeCli;
  dataDir: string;
  timeoutMs: number;
  /** Which of the changed services need `compose pull` (pull-check.ts); the rest are already here. */
  choosePulls: (candidates: readonly PullCandidate[]) => Promise<PullSelection>;
}

export interface ComposeLog {
  /** Compose's stdout+stderr of every step, for history (the caller redacts it). */
  output: string;
}

type ComposeDeps = Pick<ApplyDeps, 'compose' | 'dataDir' | 'timeoutMs'>;

function runOptions(deps: ComposeDeps, stack: string) {
  return { cwd: deployDirFor(deps.dataDir, stack), projectName: stack, files: [DEPLOY_COMPOSE_FILE], timeoutMs: deps.timeoutMs };
}

/**
 * Writes the stack's deploy dir, pulls the images of `changed` services that need it, then
 * `up -d --remove-orphans`. A failed pull throws before any container is touched.
 * `serviceRevisions` keeps the revision labels of services whose config did not change, so that
 * Compose leaves their containers alone.
 */
export async function applyStack(
  deps: ApplyDeps,
  target: StackTarget,
  serviceRevisions: Record<string, { revision: string; ref?: string }>,
  changed: readonly string[],
  log: ComposeLog,
): Promise<void> {
  const stack: DesiredStack = target.stack;
  const model = renderStack(stack, {
    revision: target.revision.commit,
    ref: target.revision.ref ?? '',
    redact: false,
    serviceRevisions,
  });
  syncDeployDir({
    dataDir: deps.dataDir,
    stack: stack.name,
    stackDir: path.join(target.root, 'stacks', stack.name),
    composeYaml: toComposeYaml(model),
  });
  const opts = runOptions(deps, stack.name);
  // Only changed services pull: a tag that moved under an unchanged service must not recreate it.
  const candidates = stack.services
    .filter((s) => changed.includes(s.name))
    .map((s) => ({ service: s.name, image: s.pinnedImage ?? s.image, ...pullPolicyOf(s) }));
  const pulls = await deps.choosePulls(candidates);
  if (pulls.notes.length > 0) log.output += `driftd: ${pulls.notes.join('\ndriftd: ')}\n`;
  if (pulls.pull.length > 0) {
    const pull = await deps.compose.run(composePullArgs({ services: pulls.pull }), opts);
    log.output += pull.stdout + pull.stderr;
    assertComposeOk(pull, 'pull', stack.name);
  }
  const up = await deps.compose.run(composeUpArgs(), opts);
  log.output += up.stdout + up.stderr;
  assertComposeOk(up, 'up', stack.name);
}

function pullPolicyOf(s: DesiredService): { pullPolicy?: string } {
  const policy = s.raw.pull_policy;
  return typeof policy === 'string' ? { pullPolicy: policy } : {};
}

/** Removes a stack that left this host: `compose down` from its deploy dir, then the dir. */
export async function pruneStack(deps: ComposeDeps, stack: string, log: ComposeLog): Promise<void> {
  const opts = runOptions(deps, stack);
  // When the deploy dir is gone (data dir wiped), an empty model makes every container an orphan to remove.
  ensureDeployCompose(deps.dataDir, stack);
  const down = await deps.compose.run(composeDownArgs(), opts);
  log.output += down.stdout + down.stderr;
  assertComposeOk(down, 'down', stack);
  removeDeployDir(deps.dataDir, stack);
}

/** `compose exec -T <service> <command…>` in the stack's deploy dir: a post-deploy `exec` check. */
export async function execInService(deps: ComposeDeps, stack: string, service: string, command: readonly string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const r = await deps.compose.run(['exec', '-T', service, ...command], { ...runOptions(deps, stack), timeoutMs });
  if (r.timedOut) throw new Error(`no exit within ${Math.round(timeoutMs / 1000)} s`);
  return { code: r.code, output: r.stdout + r.stderr };
}
