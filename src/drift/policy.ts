/** Severities and which findings move the sync axis (documented in docs/drift-model.md). */
import type { FindingKind, Severity } from './model.js';

/**
 * Findings that say "the host does not run what the repo says": they make a stack OutOfSync.
 * Health findings move the health axis; repo hygiene (unpinned images, stale locks) and a
 * registry that moved a tag (image-outdated) move neither.
 */
export const SYNC_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'stack-missing',
  'revision-behind',
  'config-drift',
  'service-missing',
  'service-extra',
  'replicas-mismatch',
  'image-drift',
]);

/** A different image or a privileged flip changes what runs or what it may do: an error; the rest warns. */
export function configDriftSeverity(field: string): Severity {
  return field === 'image' || field === 'privileged' ? 'error' : 'warning';
}
