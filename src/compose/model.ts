/**
 * The desired-state model: what the repo says this host should run, after discovery,
 * interpolation, override merge, env_file expansion and (when a lock exists) digest pinning.
 * Produced by src/compose, consumed by src/drift, src/sync, src/report.
 */
import type { CheckSpec } from '../checks/model.js';
import type { SyncWindow } from '../windows/model.js';
import type { SecurityPolicyInput } from '../policy/schema.js';
import type { LockFile } from '../lock/model.js';

export interface PortMapping {
  /** Container port. */
  target: number;
  /** Host port or range as text ("8080", "8000-8010"); undefined = ephemeral / not published. */
  published?: string;
  /** Host IP; undefined means all interfaces (0.0.0.0 / ::). */
  hostIp?: string;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /**
   * bind: a stack-relative path starting with "./" when the source lies inside the stack
   * folder (it is deployed from driftd's deploy dir), else the absolute host path.
   * volume: the volume name as declared in the compose file (unprefixed), or undefined (anonymous).
   */
  source?: string;
  target: string;
  readOnly: boolean;
}

export interface HealthcheckSpec {
  disable?: boolean;
  /** Normalized to Docker's form: ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]. */
  test?: string[];
  /** Durations in nanoseconds, as Docker stores them. */
  intervalNs?: number;
  timeoutNs?: number;
  startPeriodNs?: number;
  retries?: number;
}

export interface DesiredService {
  name: string;
  /** Image reference after interpolation, as written (e.g. "nginx:1.27"), without a lock pin. */
  image: string;
  /** `name:tag@sha256:…` when the stack's lock has an entry for `image`. */
  pinnedImage?: string;
  /** undefined = the image's default. Shell-form strings are split like Compose does. */
  command?: string[];
  entrypoint?: string[];
  /** Merged environment (env_file first, then `environment`), fully resolved. */
  environment: Record<string, string>;
  /** Keys whose values must be redacted: secret-looking keys and every key that came from an env_file. */
  secretEnvKeys: string[];
  ports: PortMapping[];
  mounts: MountSpec[];
  /** The user's labels only (driftd's io.driftd.* labels are added by the deployer). */
  labels: Record<string, string>;
  restart?: string;
  healthcheck?: HealthcheckSpec;
  /** Network names as declared in the compose file (unprefixed); ["default"] when none given. */
  networks: string[];
  networkMode?: string;
  privileged: boolean;
  user?: string;
  workingDir?: string;
  replicas: number;
  /** Stack-relative paths ("conf/nginx.conf") of repo files this service mounts or reads (env_file, configs, secrets, binds). */
  mountedFiles: string[];
  /** driftd's per-service config hash (docs/design.md §6): resolved config + content of mountedFiles. */
  configHash: string;
  /** The resolved service mapping as it will be written to the deployed compose file. */
  raw: Record<string, unknown>;
}

export interface StackPolicy {
  sync: 'auto' | 'manual' | 'off';
  prune: boolean;
  selfHeal: boolean;
  healthTimeoutMs: number;
  rollbackOnFailure: boolean;
  /** The stack's own sync windows (fleet.yaml `stacks.<s>.windows`), besides the config's host-wide ones. */
  windows?: SyncWindow[];
  /** Post-deploy checks run after Docker health, as part of the health gate. */
  checks?: CheckSpec[];
  /** How long the checks may keep failing before the gate fails (default 2m). */
  checksTimeoutMs?: number;
  /** fleet.yaml `policy:` for this stack: may tighten the host's policy, never loosen it. */
  security?: SecurityPolicyInput;
  /** fleet.yaml `engine: swarm` (absent: Compose). */
  engine?: 'swarm';
}

export interface InputFile {
  /** Repo-relative path with forward slashes, e.g. "stacks/edge/compose.yaml". */
  path: string;
  sha256: string;
}

export interface DesiredStack {
  name: string;
  /** Repo-relative paths of the compose files in merge order. */
  composeFiles: string[];
  /** The resolved Compose model (top-level mapping: services, networks, volumes, configs, secrets). */
  model: Record<string, unknown>;
  services: DesiredService[];
  /** Every input file of the stack (compose, .env, every file in the stack folder), sorted by path. */
  files: InputFile[];
  /** Hash over `files` (and the host-local env file): changes exactly when the stack's inputs change. */
  inputsHash: string;
  /** sha256 of the compose inputs as recorded in locks (docs/design.md §5). */
  composeSha256: string;
  policy: StackPolicy;
  /** Lock content when `locks/<stack>.lock.json` exists. */
  lock?: LockFile;
  /** Things worth telling the operator that do not stop the stack (unset variables, ignored compose files). */
  warnings?: string[];
}

export interface StackLoadError {
  stack: string;
  /** Repo-relative file, when known. */
  file?: string;
  line?: number;
  code: string;
  message: string;
}

export interface Revision {
  commit: string;
  /** The tag (or branch) that selected this commit. */
  ref?: string;
  refKind?: 'tag' | 'branch' | 'head';
}

export interface DesiredState {
  host: string;
  revision: Revision;
  /** Stacks this host should run, sorted by name. */
  stacks: DesiredStack[];
  /** Stacks declared for this host that failed to load: they fail alone. */
  errors: StackLoadError[];
  /** Every stack in the repo (for stack-unmanaged vs "declared for another host"). */
  allStackNames: string[];
  /** fleet.yaml policy of every stack it names, also those not for this host (prune needs them). */
  policies?: Record<string, StackPolicy>;
}
