import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderStack, toComposeYaml } from '../compose/index.js';
import type { DesiredStack } from '../compose/model.js';
import { assertComposeOk, composeDownArgs, composePullArgs, composeUpArgs, type ComposeCli } from '../live/compose-cli.js';
import { DEPLOY_COMPOSE_FILE, deployDirFor, removeDeployDir, syncDeployDir } from './deploy-dir.js';
import type { StackTarget } from './model.js';

export interface ApplyDeps {
  compose: ComposeCli;
  dataDir: string;
  timeoutMs: number;
}

export interface ComposeLog {
  /** Compose's stdout+stderr of every step, for history (the caller redacts it). */
  output: string;
}

function runOptions(deps: ApplyDeps, stack: string) {
  return { cwd: deployDirFor(deps.dataDir, stack), projectName: stack, files: [DEPLOY_COMPOSE_FILE], timeoutMs: deps.timeoutMs };
}

/**
 * Writes the stack's deploy dir, pulls every image, then `up -d --remove-orphans`. A failed pull
 * throws before any container is touched. Only `changed` services are pulled. `serviceRevisions` keeps the revision labels of services
 * whose config did not change, so that Compose leaves their containers alone.
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
  if (changed.length > 0) {
    const pull = await deps.compose.run(composePullArgs({ services: changed }), opts);
    log.output += pull.stdout + pull.stderr;
    assertComposeOk(pull, 'pull', stack.name);
  }
  const up = await deps.compose.run(composeUpArgs(), opts);
  log.output += up.stdout + up.stderr;
  assertComposeOk(up, 'up', stack.name);
}

/** Removes a stack that left this host: `compose down` from its deploy dir, then the dir. */
export async function pruneStack(deps: ApplyDeps, stack: string, log: ComposeLog): Promise<void> {
  const opts = runOptions(deps, stack);
  if (!existsSync(path.join(opts.cwd, DEPLOY_COMPOSE_FILE))) {
    // The deploy dir is gone (data dir wiped): an empty model makes every container an orphan to remove.
    mkdirSync(opts.cwd, { recursive: true });
    writeFileSync(path.join(opts.cwd, DEPLOY_COMPOSE_FILE), 'services: {}\n');
  }
  const down = await deps.compose.run(composeDownArgs(), opts);
  log.output += down.stdout + down.stderr;
  assertComposeOk(down, 'down', stack);
  removeDeployDir(deps.dataDir, stack);
}
