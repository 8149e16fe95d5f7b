/** Durable state (docs/design.md §6): `<data-dir>/state.db` and the host's cross-process locks. */
export { moveStateAside, openState, statePath, STATE_FILE, type OpenStateOptions } from './open.js';
export { StateStore, MAX_OUTPUT_CHARS, type IntegrityResult } from './store.js';
export { acquireHostMutex, mutexPath, type MutexOptions, type ReleaseMutex } from './host-mutex.js';
export { isProcessAlive, pidExists, processIdentity } from './process-identity.js';
export { SCHEMA_VERSION } from './migrations.js';
export {
  ACTIONS,
  DEPLOYMENT_STATUSES,
  JOURNAL_RESULTS,
  OPERATION_RESULTS,
  TRIGGERS,
  type Action,
  type Approval,
  type AuditEntry,
  type AuditInput,
  type CachedDigest,
  type CachedDigestInput,
  type Deployment,
  type DeploymentInput,
  type DeploymentStatus,
  type FailedRevision,
  type JournalEntry,
  type JournalInput,
  type JournalResult,
  type Operation,
  type OperationFinish,
  type OperationResult,
  type OperationStart,
  type Pending,
  type Pin,
  type PinInput,
  type OutboxCount,
  type OutboxEntry,
  type OutboxInput,
  type StackStatusInput,
  type StackStatusRecord,
  type Trigger,
} from './schema.js';
