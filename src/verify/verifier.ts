/**
 * Verifies a resolved target revision before anything of it is snapshotted or applied. Each
 * object's verdict is cached by object id (plus the key set's digest, and for tags the ref
 * name) in the state DB: a revision is verified once, and a poll that finds the same target
 * reads one cached row instead of parsing keys and checking signatures.
 */
import { silentLogger, type Logger } from '../util/logger.js';
import { keyringDigest, parseKeyring, readKeyFiles, type Keyring } from './keys.js';
import { ObjectVerdict, type RevisionVerdict, type VerifyMode } from './model.js';
import { verifyObject } from './object.js';
import { decideRevision, needsHead, needsTag, type VerdictInput } from './verdict.js';
import { shortCommit } from '../util/text.js';

export interface VerifySettings {
  mode: VerifyMode;
  keys: readonly string[];
  refuseMovedTags: boolean;
}

export interface VerifyTarget {
  commit: string;
  ref?: string;
  refKind: 'tag' | 'branch' | 'head';
  /** The object the tag ref points at (a tag object for an annotated tag, the commit for a lightweight one). */
  tagObject?: string;
  /** Set when this poll saw the selected tag move (from that commit). */
  movedFrom?: string;
}

/** Where verdicts are kept between runs (the state DB); JSON values, parsed back here. */
export interface VerdictStore {
  getVerdict(objectId: string, scope: string): unknown;
  putVerdict(objectId: string, scope: string, verdict: unknown): void;
}

export interface RawObject {
  type: string;
  content: Uint8Array;
}

export interface VerifyDeps {
  readObject(oid: string): Promise<RawObject>;
  store?: VerdictStore;
  logger?: Logger;
}

export interface VerifyOutcome {
  verdict: RevisionVerdict;
  /** True when an object verdict was computed now (not read from the cache). Whether a refusal was already recorded in history is the recorder's business (commands/verify-target.ts). */
  fresh: boolean;
}

export const verificationEnabled = (s: VerifySettings): boolean => s.mode !== 'off' || s.refuseMovedTags;

const MOVED_SCOPE = (ref: string): string => `moved-tag:${ref}`;

function cached(store: VerdictStore | undefined, oid: string, scope: string): ObjectVerdict | undefined {
  const raw = store?.getVerdict(oid, scope);
  if (raw === undefined) return undefined;
  const parsed = ObjectVerdict().safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/** The tag object must name this ref and point straight at this commit: a signed tag is not reusable under another name. */
function tagMismatch(headers: Record<string, string>, target: VerifyTarget): string | undefined {
  if (headers.type !== 'commit' || headers.object !== target.commit) return `it points at ${headers.type ?? '?'} ${(headers.object ? shortCommit(headers.object) : '?')}, not at commit ${shortCommit(target.commit)}`;
  if (headers.tag !== target.ref) return `it was signed as tag "${headers.tag ?? ''}", not "${target.ref ?? ''}"; a signed tag cannot be re-used under another name`;
  return undefined;
}

export async function verifyRevision(settings: VerifySettings, target: VerifyTarget, deps: VerifyDeps): Promise<VerifyOutcome> {
  const logger = deps.logger ?? silentLogger;
  const input: VerdictInput = {
    mode: settings.mode,
    commit: target.commit,
    ...(target.ref ? { ref: target.ref } : {}),
    refKind: target.refKind,
    ...(target.refKind === 'tag' && target.tagObject && target.tagObject !== target.commit ? { tagObject: target.tagObject } : {}),
    refuseMovedTags: settings.refuseMovedTags,
  };
  let fresh = false;

  // A refused move is remembered: the warning that reported it is shown once, the refusal lasts.
  if (settings.mode === 'off' && settings.refuseMovedTags && target.refKind === 'tag' && target.ref) {
    const scope = MOVED_SCOPE(target.ref);
    if (target.movedFrom) {
      deps.store?.putVerdict(target.commit, scope, { ok: false, reason: 'moved-tag', message: `moved from ${target.movedFrom}` });
      input.moved = { from: target.movedFrom };
      fresh = true;
    } else if (cached(deps.store, target.commit, scope)) {
      input.moved = {};
    }
  }
  if (settings.mode === 'off') return { verdict: decideRevision(input), fresh };

  const files = readKeyFiles(settings.keys);
  const digest = keyringDigest(files.files);
  let keyring: Keyring | undefined;
  const keys = async (): Promise<Keyring> => {
    if (!keyring) {
      keyring = await parseKeyring(files.files, files.problems);
      for (const p of keyring.problems) logger.warn({ file: p.file, line: p.line }, `verify.keys: ${p.message}`);
    }
    return keyring;
  };

  if (needsTag(settings.mode) && input.tagObject) {
    const scope = `${digest}:${target.ref ?? ''}`;
    let verdict = cached(deps.store, input.tagObject, scope);
    if (!verdict) {
      const raw = await deps.readObject(input.tagObject);
      if (raw.type !== 'tag') {
        verdict = { ok: false, reason: 'tag-mismatch', message: `object ${shortCommit(input.tagObject)} is a ${raw.type}, not a tag object` };
      } else {
        const result = await verifyObject('tag', raw.content, await keys());
        const mismatch = tagMismatch(result.signed.headers, target);
        verdict = mismatch && result.verdict.ok ? { ok: false, reason: 'tag-mismatch', kind: result.verdict.kind, message: `the signed tag does not match the ref: ${mismatch}` } : result.verdict;
      }
      deps.store?.putVerdict(input.tagObject, scope, verdict);
      fresh = true;
    }
    input.tag = verdict;
  }
  if (needsHead(settings.mode)) {
    let verdict = cached(deps.store, target.commit, digest);
    if (!verdict) {
      const raw = await deps.readObject(target.commit);
      verdict = raw.type === 'commit' ? (await verifyObject('commit', raw.content, await keys())).verdict : { ok: false, reason: 'unsigned', message: `object ${shortCommit(target.commit)} is not a commit` };
      deps.store?.putVerdict(target.commit, digest, verdict);
      fresh = true;
    }
    input.head = verdict;
  }
  const verdict = decideRevision(input);
  return { verdict, fresh };
}
