/**
 * Every container label driftd reads or writes, in one place (docs/design.md §6). driftd's own
 * labels are written by the deployer (compose/render.ts) and read back by drift/ and sync/;
 * Compose's are read only, to find a container's project, service and number.
 */

export const LABEL_STACK = 'io.driftd.stack';
export const LABEL_REVISION = 'io.driftd.revision';
export const LABEL_REF = 'io.driftd.ref';
export const LABEL_CONFIG_HASH = 'io.driftd.config-hash';
/**
 * Set to "true" on the container the driftd agent itself runs in (deploy/agent.compose.yaml). Its
 * Compose project is the operator's, not the repo's: driftd never deploys over it, prunes it or
 * reports it as stack-unmanaged. Recreating it would stop the agent in the middle of its own run.
 */
export const LABEL_AGENT = 'io.driftd.agent';

/** True when a container's labels say it runs the driftd agent (io.driftd.agent=true). */
export function runsDriftdAgent(labels: Readonly<Record<string, string>>): boolean {
  return labels[LABEL_AGENT] === 'true';
}

/** The labels Compose (v1 and v2) puts on the containers it creates. */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
} as const;

/**
 * A replica Compose manages for its service. Compose v1 and v2 list a project's service containers
 * with the label filter `com.docker.compose.oneoff=False`; a `compose run` job (`True`) or a container
 * made by hand with the project's labels but no `oneoff` label is never recreated nor removed by
 * `compose up --remove-orphans`. Counting those as replicas would plan an apply that cannot change
 * anything, again on every poll.
 */
export function isComposeReplica(labels: Readonly<Record<string, string>>): boolean {
  return labels[COMPOSE_LABELS.oneoff]?.toLowerCase() === 'false';
}

/** Labels set by Compose, driftd or Docker Desktop, never by the user: config drift ignores them. */
export const MANAGED_LABEL_PREFIXES = ['com.docker.compose.', 'io.driftd.', 'desktop.docker.io/'] as const;
