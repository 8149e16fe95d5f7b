/** Public API of the Git source; the rest of driftd imports from here. */
export { createGitSource, type GitSource, type GitSourceOptions, type LastGood, type PollResult, type ResolvedRevision, type RevisionCheck } from './git-source.js';
export type { FileChange } from './changes.js';
export type { RefKind, RepoRefs, TagRef } from './refs.js';
export type { Snapshot, SnapshotProblem } from './snapshot.js';
export type { TagWarning } from './tag-memory.js';
