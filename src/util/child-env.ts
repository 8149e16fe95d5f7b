/**
 * The environment driftd hands to the programs it runs (Compose, the Docker CLI). A repo may
 * name any variable (`secrets: {t: {environment: X}}`, `${X}` where Compose interpolates), so
 * children get an allowlist, never driftd's whole environment: a `DRIFTD_*` variable or a Git
 * credential must not reach a container (docs/design.md §8).
 */

/** Always passed when set: what the Docker CLI and Compose need to find the engine and registries. */
const FIXED = new Set(['PATH', 'HOME', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy']);
const PREFIXES = ['DOCKER_'];

/** driftd's own variables: its configuration and credentials (DRIFTD_GIT_TOKEN, …). */
export function isDriftdEnvName(name: string): boolean {
  return name.toUpperCase().startsWith('DRIFTD_');
}

export interface ChildEnvOptions {
  /** Extra variables the operator listed (`compose.passEnv`). */
  passEnv?: readonly string[];
  /** Names never passed whatever the lists say (the configured Git/webhook credential variables). */
  privateNames?: readonly string[];
}

/** The allowlisted part of `base`: PATH, HOME, DOCKER_*, proxy variables, `passEnv`; never DRIFTD_* or `privateNames`. */
export function allowlistedEnv(base: NodeJS.ProcessEnv, opts: ChildEnvOptions = {}): NodeJS.ProcessEnv {
  const extra = new Set(opts.passEnv ?? []);
  const denied = new Set(opts.privateNames ?? []);
  const out: NodeJS.ProcessEnv = Object.create(null) as NodeJS.ProcessEnv;
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined || isDriftdEnvName(name) || denied.has(name)) continue;
    if (FIXED.has(name) || extra.has(name) || PREFIXES.some((p) => name.startsWith(p))) out[name] = value;
  }
  return out;
}

/** `env` without driftd's own and the private variables: what interpolation may read under `allowProcessEnv`. */
export function withoutPrivateEnv(env: NodeJS.ProcessEnv, privateNames: readonly string[] = []): NodeJS.ProcessEnv {
  const denied = new Set(privateNames);
  const out: NodeJS.ProcessEnv = Object.create(null) as NodeJS.ProcessEnv;
  for (const [name, value] of Object.entries(env)) if (!isDriftdEnvName(name) && !denied.has(name)) out[name] = value;
  return out;
}
