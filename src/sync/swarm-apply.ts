/**
 * The executor for `engine: swarm` stacks: writes the stack file into the stack's deploy dir
 * (the same safe writer and folder as a Compose stack: driftd's own, umask 077), runs
 * `docker stack deploy` (argv, DOCKER_HOST of the configured engine), waits until every service
 * converged, and then removes the configs/secrets a rotation left unused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { toComposeYaml } from '../compose/index.js';
import type { DesiredStack } from '../compose/model.js';
import { assertComposeOk } from '../live/compose-cli.js';
import type { EngineApi } from '../live/engine-api.js';
import { readStackObjects } from '../swarm/engine-read.js';
import type { SwarmLive } from '../swarm/engine-model.js';
import { evaluateSwarmHealth } from '../swarm/live.js';
import { renderSwarmStack, stackDeployArgs, staleSwarmObjects, type SwarmObjectKind } from '../swarm/stack-file.js';
import { allowlistedEnv } from '../util/child-env.js';
import { callDocker, parseDockerResponse } from '../live/docker-call.js';
import { z } from 'zod';
import { execFileCapture } from '../util/exec.js';
import type { ComposeLog } from './apply.js';
import { DEPLOY_COMPOSE_FILE, deployDirFor, removeDeployDir, syncDeployDir } from './deploy-dir.js';
import { waitForVerdict, type HealthGateResult } from './health-gate.js';
import type { StackTarget } from './model.js';

const containerIdsSchema = z.array(z.object({ Id: z.string() }).passthrough());

export interface SwarmDeps {
  docker: EngineApi;
  /** DOCKER_HOST-style address of the engine (a Swarm manager). */
  address: string;
  dataDir: string;
  timeoutMs: number;
}

function dockerEnv(address: string): NodeJS.ProcessEnv {
  return { ...allowlistedEnv(process.env), DOCKER_HOST: address };
}

/** Runs the docker CLI (argv, never a shell) against the configured engine. */
async function docker(deps: SwarmDeps, args: readonly string[], cwd: string, log: ComposeLog, action: string, stack: string): Promise<void> {
  const r = await execFileCapture('docker', args, { cwd, env: dockerEnv(deps.address), timeoutMs: deps.timeoutMs });
  log.output += r.stdout + r.stderr;
  assertComposeOk(r, action, stack);
}

/** The stack file and the config/secret names this revision uses. */
export function writeSwarmStack(deps: Pick<SwarmDeps, 'dataDir'>, target: StackTarget, serviceRevisions: Record<string, { revision: string; ref?: string }>): Record<SwarmObjectKind, string[]> {
  const stackDir = path.join(target.root, 'stacks', target.stack.name);
  const file = renderSwarmStack(target.stack, {
    revision: target.revision.commit,
    ref: target.revision.ref ?? '',
    serviceRevisions,
    readFile: (rel) => {
      try {
        return readFileSync(path.join(stackDir, rel));
      } catch {
        return undefined;
      }
    },
  });
  syncDeployDir({ dataDir: deps.dataDir, stack: target.stack.name, stackDir, composeYaml: toComposeYaml(file.model) });
  return file.objects;
}

/** `docker stack deploy --prune --resolve-image changed --with-registry-auth` of the target. */
export async function applySwarmStack(
  deps: SwarmDeps,
  target: StackTarget,
  serviceRevisions: Record<string, { revision: string; ref?: string }>,
  log: ComposeLog,
): Promise<Record<SwarmObjectKind, string[]>> {
  const objects = writeSwarmStack(deps, target, serviceRevisions);
  const dir = deployDirFor(deps.dataDir, target.stack.name);
  await docker(deps, stackDeployArgs(DEPLOY_COMPOSE_FILE, target.stack.name), dir, log, 'stack deploy', target.stack.name);
  return objects;
}

/**
 * Removes the stack's configs/secrets named by an older content hash. The engine refuses to
 * remove one a task still uses; that one stays and goes at a later converged deploy.
 */
export async function removeRotatedObjects(deps: SwarmDeps, stack: string, keep: Record<SwarmObjectKind, string[]>, log: ComposeLog): Promise<string[]> {
  const removed: string[] = [];
  for (const kind of ['configs', 'secrets'] as const) {
    const stale = staleSwarmObjects(stack, await readStackObjects(deps.docker, deps.address, kind, stack), keep[kind]);
    for (const o of stale) {
      const r = await execFileCapture('docker', [kind === 'configs' ? 'config' : 'secret', 'rm', o.id], { env: dockerEnv(deps.address), timeoutMs: deps.timeoutMs });
      if (r.code === 0) removed.push(o.name);
      else log.output += `driftd: ${o.name} not removed yet: ${r.stderr.trim()}\n`;
    }
  }
  if (removed.length > 0) log.output += `driftd: removed rotated ${removed.join(', ')}\n`;
  return removed;
}

/** Docker's label on a Swarm task's container: the service it belongs to. */
const TASK_SERVICE_LABEL = 'com.docker.swarm.service.name';

/**
 * An `exec` check of a Swarm stack: `docker exec` (argv) in a running task container of
 * `<stack>_<service>` on this node (the leader's: the engine driftd talks to), the first by
 * container id. A Swarm may place every task elsewhere; then there is nothing to exec into here and
 * the check fails saying so (use an http/tcp check, or a placement constraint, for such a service).
 */
export async function execInSwarmTask(deps: SwarmDeps, stack: string, service: string, command: readonly string[], timeoutMs: number): Promise<{ code: number; output: string }> {
  const name = `${stack}_${service}`;
  const answer = await callDocker('container list', deps.address, () =>
    deps.docker.listContainers({ filters: { label: [`${TASK_SERVICE_LABEL}=${name}`], status: ['running'] } }),
  );
  const ids = parseDockerResponse(containerIdsSchema, answer, 'container list', deps.address)
    .map((c) => c.Id)
    .sort();
  const id = ids[0];
  if (id === undefined) throw new Error(`no running task of Swarm service ${name} on this node to exec into`);
  const r = await execFileCapture('docker', ['exec', id, ...command], { env: dockerEnv(deps.address), timeoutMs });
  if (r.timedOut) throw new Error(`no exit within ${Math.round(timeoutMs / 1000)} s`);
  return { code: r.code, output: r.stdout + r.stderr };
}

/**
 * `docker stack rm`: a Swarm stack that left the fleet with prune: true. It removes the stack's
 * services, networks, configs and secrets (namespace label); then its deploy dir goes.
 */
export async function removeSwarmStack(deps: SwarmDeps, stack: string, log: ComposeLog): Promise<void> {
  await docker(deps, ['stack', 'rm', stack], deps.dataDir, log, 'stack rm', stack);
  removeDeployDir(deps.dataDir, stack);
}

/**
 * The Swarm health gate: polls one /services + /tasks until every service converged (update
 * completed or none, its tasks running — healthy where it has a health check), or `timeoutMs`, or
 * Swarm paused or rolled back an update (waiting longer will not help).
 */
export function waitSwarmHealthy(opts: { stack: DesiredStack; read: () => Promise<SwarmLive>; timeoutMs: number; pollMs?: number; signal?: AbortSignal }): Promise<HealthGateResult> {
  return waitForVerdict(async () => evaluateSwarmHealth(opts.stack, await opts.read()), opts);
}
