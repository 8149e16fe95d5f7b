/** What `driftd validate` reports: findings with a stable kind, a repo-relative file and (when known) a line. */

export type ValidateSeverity = 'error' | 'warning';

/** Stable names; docs/validate.md lists each with what it means and how to fix it. */
export type ValidateKind =
  // layout and loading
  | 'invalid-stack-name'
  | 'unsafe-path'
  | 'file-too-large'
  | 'yaml-error'
  | 'interpolation-error'
  | 'compose-schema'
  | 'compose-error'
  | 'compose-file-ignored'
  | 'invalid-image'
  | 'fleet-invalid'
  | 'fleet-unknown-stack'
  | 'lock-invalid'
  | 'lock-orphan'
  // policy
  | 'image-latest'
  | 'privileged'
  | 'cap-add'
  | 'host-network'
  | 'host-pid'
  | 'host-ipc'
  | 'devices'
  | 'docker-socket'
  | 'host-bind-mount'
  // conflicts between stacks of one host
  | 'port-conflict'
  | 'traefik-router-conflict'
  | 'traefik-host-conflict'
  // engine: swarm stacks
  | 'swarm-unsupported'
  | 'swarm-ignored'
  // committed secrets
  | 'secret-aws-key'
  | 'secret-private-key'
  | 'secret-env-value'
  // host config
  | 'verify-key-invalid'
  | 'notification-invalid';

export interface ValidateFinding {
  /** Repo-relative path with forward slashes ("stacks/web/compose.yaml"). */
  file: string;
  /** 1-based; undefined when the problem is the file as a whole. */
  line?: number;
  severity: ValidateSeverity;
  kind: ValidateKind;
  /** One sentence; never contains a secret value. */
  message: string;
}

export interface ValidateSummary {
  /** Folders under stacks/. */
  stacks: number;
  findings: number;
  bySeverity: Record<ValidateSeverity, number>;
}

export interface ValidateResult {
  schemaVersion: 1;
  /** Absolute path of the linted tree. */
  root: string;
  /** Sorted by file, line, kind. */
  findings: ValidateFinding[];
  summary: ValidateSummary;
  /** 0 clean, 2 findings. */
  exitCode: 0 | 2;
}
