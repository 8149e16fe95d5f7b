/** Drift findings and per-stack status (docs/design.md §3). */
import type { Provenance, RefusalReason } from '../verify/index.js';

export type FindingKind =
  | 'stack-missing'
  | 'stack-unmanaged'
  | 'revision-behind'
  | 'config-drift'
  | 'service-missing'
  | 'service-extra'
  | 'replicas-mismatch'
  | 'image-drift'
  | 'image-outdated'
  | 'image-unpinned'
  | 'container-unhealthy'
  | 'container-not-running'
  | 'lock-stale'
  | 'policy-violation'
  | 'check-failed'
  | 'revision-unverified';

export type Severity = 'error' | 'warning' | 'info';
export type SyncStatus = 'Synced' | 'OutOfSync' | 'Unknown';
export type HealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown';

export interface Finding {
  kind: FindingKind;
  stack: string;
  service?: string;
  severity: Severity;
  message: string;
  /** For config-drift: the field ("environment.FOO", "ports", "image"…). */
  field?: string;
  desired?: unknown;
  live?: unknown;
  /** Unified diff (revision-behind, config files). */
  diff?: string;
}

export interface StackStatus {
  stack: string;
  sync: SyncStatus;
  health: HealthStatus;
  /** Why sync or health is Unknown. */
  reason?: string;
  findings: Finding[];
  deployedRevision?: string;
  targetRevision?: string;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

export interface DriftSummary {
  stacks: number;
  synced: number;
  outOfSync: number;
  unknown: number;
  findings: number;
  bySeverity: Record<Severity, number>;
}

/** The versioned result of a drift-check (drift_report.json, `drift-check --json`). */
export interface DriftReport {
  schemaVersion: 1;
  driftdVersion: string;
  host: string;
  generatedAt: string;
  repo: string;
  /** The target revision; absent when the repo could not be read (then `revisionError`). */
  revision?: { commit: string; ref?: string };
  revisionError?: string;
  /** Who signed the target revision (verification on): mode, signer, signature kind, verified object ids. */
  provenance?: Provenance;
  /** The target revision was refused by signature verification (then every stack is Unknown with a revision-unverified finding). */
  verification?: { ok: false; reason: RefusalReason; commit: string; ref?: string; fingerprint?: string; object?: string };
  summary: DriftSummary;
  stacks: StackStatus[];
  /** stack-unmanaged findings: projects live here that the repo does not declare for this host. */
  unmanaged: Finding[];
  /** Milliseconds per phase (git, load, inventory, compare, total). */
  timings: Record<string, number>;
}
