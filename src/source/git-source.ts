/**
 * The desired-state repo as driftd sees it: refs, the revision a policy selects, and immutable
 * snapshots of revisions. Remote repos (http/https) are mirrored into `<dataDir>/git/mirror`
 * (bare, shallow, only the refs driftd selected); local repos are read in place, read-only.
 *
 * Data dir layout: git/mirror/ (remote object store), git/seen-tags.json (tag → commit per repo,
 * for moved/deleted tag warnings), git/last-good.json (last revision polled successfully),
 * git/protocol.json (the server answered in protocol v2: ls-refs is sent without discovery),
 * snapshots/<commit>/ (materialized revisions).
 */
import path from 'node:path';
import type { Revision } from '../compose/model.js';
import type { GitAuth, RefPolicy } from '../config/resolve.js';
import { DriftdError, describeError, isDriftdError } from '../errors/index.js';
import { fileSystemError } from '../util/fs-errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { changedFiles, type FileChange } from './changes.js';
import { displayUrl, toGitError } from './git-errors.js';
import { loadLastGood, saveLastGood } from './last-good.js';
import { findGitdir, listLocalRefs } from './local.js';
import { hasCommit, hasObject, readRawObject, type ObjectStore } from './object-store.js';
import { ALL_REF_PREFIXES, refsFromAdvertisement, tagCommits, tagInScope, type RefKind, type RepoRefs } from './refs.js';
import { fetchRef, listRemoteRefs, protocolMemoryFile, type RemoteListing } from './remote.js';
import { policyRefPrefixes, selectRevision, validatePolicy } from './select.js';
import { existingSnapshot, materializeSnapshot, removeSnapshots, type Snapshot } from './snapshot.js';
import { rememberTags, tagMemoryFile, type TagWarning } from './tag-memory.js';
import { recordGitRequest, type GitRequestType } from '../util/telemetry.js';

export interface GitSourceOptions {
  /** http(s) URL or local path (a checkout or a bare repo). */
  repo: string;
  dataDir: string;
  /** Remote credentials (from config: env var or file, never argv). Sent as HTTP Basic auth, never logged. */
  auth?: GitAuth;
  /** Socket idle timeout for each HTTP request. */
  timeoutMs: number;
  /** Files larger than this are refused in snapshots and omitted from diffs. Default 1 MiB. */
  maxFileBytes?: number;
  logger?: Logger;
  now?: () => Date;
  /** Also fetch an annotated tag's tag object when its commit is already local (signature verification reads it). */
  fetchTagObjects?: boolean;
  /**
   * Signature verification reads the target's objects from the store: a poll then makes sure the
   * store holds the commit even when its snapshot exists. Without it a materialized target needs
   * no object-store read at all (and isomorphic-git is not loaded).
   */
  readsObjects?: boolean;
}

/** A revision selected by a ref policy. */
export interface ResolvedRevision {
  commit: string;
  /** Tag or branch name, or "HEAD". */
  ref: string;
  refKind: RefKind;
  /** The tag object an annotated tag ref points at (absent for lightweight tags, branches and HEAD). */
  tagObject?: string;
  /** Tags that moved or were deleted since the previous resolve (each reported once). */
  warnings: TagWarning[];
}

/** Runs after resolve and before anything is materialized: throwing leaves no snapshot and no last-good change. */
export type RevisionCheck = (revision: ResolvedRevision) => Promise<void>;

export interface PollResult {
  revision: Required<Revision>;
  warnings: TagWarning[];
  snapshot: Snapshot;
}

export interface LastGood {
  revision: Revision;
  /** When it was polled (ISO 8601). */
  at: string;
  snapshot: Snapshot;
}

export interface GitSource {
  /** The repo as shown to people and used as a state key: URL without credentials, or absolute path. */
  readonly repo: string;
  readonly isLocal: boolean;
  /** The repo's HEAD, branches and tags (peeled). Remote: exactly one HTTP request. */
  listRefs(): Promise<RepoRefs>;
  /**
   * Starts the refs request of the next resolve(policy) now (sync starts it before it checks the
   * engine and takes the host lock, so the network wait overlaps that work). resolve uses it when
   * the policy is the same and the answer is not older than 2 s; otherwise it lists again. Its
   * failure is the next resolve's.
   */
  listAhead(policy: RefPolicy): void;
  /**
   * Lists refs, selects the policy's commit, records tag movements, and makes the commit
   * available locally: no fetch when it already is, else a shallow fetch of that one ref.
   */
  resolve(policy: RefPolicy): Promise<ResolvedRevision>;
  /** The snapshot of a locally available commit (reused when it exists). */
  materialize(commit: string): Promise<Snapshot>;
  /** resolve + `check` (signature verification) + materialize, then remembers the revision as the last good one. */
  poll(policy: RefPolicy, check?: RevisionCheck): Promise<PollResult>;
  /** A raw object (the bytes after Git's "<type> <size>\0" header) from the local object store or mirror. */
  readObject(oid: string): Promise<{ type: string; content: Uint8Array }>;
  /** The last successful poll's revision and snapshot (re-materialized if it was removed); works offline. */
  lastGood(): Promise<LastGood | undefined>;
  /** Files of `stack` that differ between two locally available commits. */
  changedFiles(fromCommit: string, toCommit: string, stack: string): Promise<FileChange[]>;
  /** Removes snapshots whose commit is not in `keep` (the last good one is always kept). Returns removed commits. */
  gc(keep: Iterable<string>): Promise<string[]>;
}

const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** A listAhead answer older than this when resolve comes is not used (a sync that waited for the host lock lists again). */
const AHEAD_MAX_AGE_MS = 2000;

function isRemote(repo: string): boolean {
  return /^https?:\/\//i.test(repo);
}

export function createGitSource(opts: GitSourceOptions): GitSource {
  if (!isRemote(opts.repo) && /^[a-z][a-z0-9+.-]*:\/\/|^[^/]+@[^/]+:/i.test(opts.repo)) {
    throw new DriftdError('ConfigError', `cannot use repo ${displayUrl(opts.repo)}: only http:// and https:// URLs and local paths are supported`, {
      repo: displayUrl(opts.repo),
    });
  }
  const local = !isRemote(opts.repo);
  const repo = local ? path.resolve(opts.repo) : displayUrl(opts.repo);
  const logger = (opts.logger ?? silentLogger).child({ component: 'git', repo });
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const now = opts.now ?? (() => new Date());
  const remote = { url: opts.repo, timeoutMs: opts.timeoutMs, ...(opts.auth ? { auth: opts.auth } : {}) };
  const errorContext = { repo, authConfigured: Boolean(opts.auth?.username || opts.auth?.password) };
  const mirrorDir = path.join(opts.dataDir, 'git', 'mirror');

  /** A fresh object cache per operation: a repacked local repo must not be read through stale pack indexes. */
  const store = (): ObjectStore => ({ gitdir: local ? findGitdir(repo) : mirrorDir, cache: {} });

  async function remoteCall<T>(what: string, fn: () => Promise<T>, phase: GitRequestType = 'refs'): Promise<T> {
    const started = Date.now();
    try {
      const result = await fn();
      recordGitRequest(phase, 'ok');
      logger.debug({ ms: Date.now() - started }, what);
      return result;
    } catch (e) {
      // A full disk under the mirror is not a Git server problem: say which file and why.
      const local = fileSystemError(mirrorDir, 'write', e);
      const err = isDriftdError(local) ? local : toGitError(e, { ...errorContext, phase });
      recordGitRequest(phase, 'error');
      logger.debug({ ms: Date.now() - started, code: err.code }, `${what} failed`);
      throw err;
    }
  }

  /** The refs under `prefixes`, and (remote) the listing a fetch right after reuses instead of listing again. */
  async function listUnder(prefixes: readonly string[]): Promise<{ refs: RepoRefs; listing?: RemoteListing }> {
    if (local) return { refs: await listLocalRefs(store()) };
    const listing = await remoteCall('git list refs', () => listRemoteRefs({ ...remote, prefixes, repo, memoryFile: protocolMemoryFile(opts.dataDir) }));
    return { refs: refsFromAdvertisement(listing.refs, prefixes), listing };
  }

  async function listRefs(): Promise<RepoRefs> {
    return (await listUnder(ALL_REF_PREFIXES)).refs;
  }

  /** A listing started by listAhead: its prefixes, and when its answer came (undefined while in flight). */
  let ahead: { key: string; answeredAt?: number; listing: ReturnType<typeof listUnder> } | undefined;

  function listAhead(policy: RefPolicy): void {
    try {
      validatePolicy(policy);
    } catch {
      return; // resolve reports it
    }
    const prefixes = policyRefPrefixes(policy);
    const entry: NonNullable<typeof ahead> = { key: prefixes.join('\n'), listing: listUnder(prefixes) };
    const answered = (): void => {
      entry.answeredAt = now().getTime();
    };
    entry.listing.then(answered, answered);
    ahead = entry;
  }

  /** The listing listAhead started for these prefixes, if still fresh; taken once. */
  function takeAhead(prefixes: readonly string[]): ReturnType<typeof listUnder> | undefined {
    const entry = ahead;
    ahead = undefined;
    if (!entry || entry.key !== prefixes.join('\n')) return undefined;
    if (entry.answeredAt !== undefined && now().getTime() - entry.answeredAt > AHEAD_MAX_AGE_MS) return undefined;
    return entry.listing;
  }

  /** The snapshot of the commit the last resolve selected, when it existed (snapshots never change once written). */
  let known: Snapshot | undefined;

  async function resolve(policy: RefPolicy): Promise<ResolvedRevision> {
    validatePolicy(policy);
    const prefixes = policyRefPrefixes(policy);
    const { refs, listing } = await (takeAhead(prefixes) ?? listUnder(prefixes));
    const selected = selectRevision(refs, policy, repo);
    const objects = store();
    const tagRef = selected.refKind === 'tag' ? refs.tags[selected.ref] : undefined;
    const tagObject = tagRef && tagRef.object !== tagRef.commit ? tagRef.object : undefined;
    const missingTagObject = async (): Promise<boolean> => Boolean(opts.fetchTagObjects && tagObject && !(await hasObject(objects, tagObject)));
    // A snapshot is only written from a commit the store held, and nothing else reads the store on
    // this poll: an existing one stands for the commit (the store is read only for a revision diff,
    // which tolerates a missing commit).
    const snapshot = opts.readsObjects || opts.fetchTagObjects ? undefined : await existingSnapshot(opts.dataDir, selected.commit);
    known = snapshot;
    if (snapshot === undefined && (!(await hasCommit(objects, selected.commit)) || (!local && (await missingTagObject())))) {
      if (listing) {
        await remoteCall(`git fetch ${selected.fullRef}`, () => fetchRef({ ...remote, ...objects, fullRef: selected.fullRef, commit: selected.commit, listing }), 'fetch');
      }
      if (!(await hasCommit(objects, selected.commit))) {
        throw new DriftdError(
          'GitRefNotFound',
          `${selected.ref} in ${repo} does not lead to a commit driftd can read (it moved while fetching, or it points to a non-commit object); retry, and re-create the ref on a commit if this persists`,
          { ref: selected.ref, commit: selected.commit, repo },
        );
      }
    }
    // Remembered only once the revision is usable: a failed fetch must not swallow a moved-tag warning.
    const warnings = await rememberTags(
      tagMemoryFile(opts.dataDir),
      repo,
      tagCommits(refs),
      (reason) => logger.warn({ reason }, 'tag memory was unreadable and has been reset; moved tags are detected again from this poll on'),
      (tag) => tagInScope(refs.scope, tag),
    );
    logger.debug({ ref: selected.ref, commit: selected.commit }, 'resolved');
    return { commit: selected.commit, ref: selected.ref, refKind: selected.refKind, ...(tagObject ? { tagObject } : {}), warnings };
  }

  async function materialize(commit: string): Promise<Snapshot> {
    // Taken once, right after the resolve that found it (a later gc may remove the folder).
    const found = known;
    known = undefined;
    if (found?.commit === commit) return found;
    // The last good revision is usually the previous poll's: most of its stack folders are unchanged.
    const lastGoodSnapshot = async (): Promise<Snapshot | undefined> => {
      const good = await loadLastGood(opts.dataDir, repo);
      return good && good.commit !== commit ? existingSnapshot(opts.dataDir, good.commit) : undefined;
    };
    return materializeSnapshot(store(), opts.dataDir, commit, maxFileBytes, lastGoodSnapshot);
  }

  async function poll(policy: RefPolicy, check?: RevisionCheck): Promise<PollResult> {
    const resolved = await resolve(policy);
    const { warnings, tagObject: _tagObject, ...revision } = resolved;
    let snapshot: Snapshot;
    try {
      await check?.(resolved);
      snapshot = await materialize(revision.commit);
    } catch (e) {
      // The warnings were already remembered; log them so that a failed snapshot does not hide them.
      for (const w of warnings) logger.warn({ kind: w.kind, tag: w.tag }, w.message);
      throw e;
    }
    await saveLastGood(opts.dataDir, repo, revision, now());
    return { revision, warnings, snapshot };
  }

  async function lastGood(): Promise<LastGood | undefined> {
    const saved = await loadLastGood(opts.dataDir, repo);
    if (!saved) return undefined;
    const { at, ...revision } = saved;
    let snapshot = await existingSnapshot(opts.dataDir, revision.commit);
    if (!snapshot) {
      try {
        snapshot = await materialize(revision.commit);
      } catch (e) {
        logger.warn({ commit: revision.commit, err: describeError(e) }, 'the last good revision can no longer be materialized');
        return undefined;
      }
    }
    return { revision, at, snapshot };
  }

  async function gc(keep: Iterable<string>): Promise<string[]> {
    const kept = new Set(keep);
    const good = await loadLastGood(opts.dataDir, repo);
    if (good) kept.add(good.commit);
    const removed = await removeSnapshots(opts.dataDir, kept, now().getTime());
    if (removed.length > 0) logger.debug({ removed }, 'removed unreferenced snapshots');
    return removed;
  }

  return {
    repo,
    isLocal: local,
    listRefs,
    listAhead,
    resolve,
    materialize,
    poll,
    lastGood,
    readObject: async (oid) => readRawObject(store(), oid),
    changedFiles: async (fromCommit, toCommit, stack) => changedFiles(store(), fromCommit, toCommit, stack, maxFileBytes),
    gc,
  };
}
