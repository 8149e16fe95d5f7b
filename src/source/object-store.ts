/**
 * Read-only access to a Git object store (the mirror, or a local repo's .git / bare dir).
 * Nothing here writes: a local repo's working tree, index and refs are never touched.
 */
import fs from 'node:fs';
import type { TagObject, TreeEntry } from 'isomorphic-git';
import { DriftdError } from '../errors/index.js';
import { isoGit } from './git-lib.js';

export interface ObjectStore {
  gitdir: string;
  /** isomorphic-git's object cache (parsed pack indexes); share it across reads of one operation. */
  cache: object;
}

export async function hasCommit(store: ObjectStore, oid: string): Promise<boolean> {
  try {
    await (await isoGit()).readCommit({ fs, gitdir: store.gitdir, oid, cache: store.cache });
    return true;
  } catch {
    return false;
  }
}

export async function hasObject(store: ObjectStore, oid: string): Promise<boolean> {
  try {
    await (await isoGit()).readObject({ fs, gitdir: store.gitdir, oid, cache: store.cache, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}

/** The object's type and raw content, byte for byte (signature verification cuts its payload from these bytes). */
export async function readRawObject(store: ObjectStore, oid: string): Promise<{ type: string; content: Uint8Array }> {
  try {
    const obj = await (await isoGit()).readObject({ fs, gitdir: store.gitdir, oid, cache: store.cache, format: 'content' });
    return { type: obj.type, content: obj.object as Uint8Array };
  } catch (e) {
    throw new DriftdError('GitRefNotFound', `object ${oid} is not available locally; poll again to fetch it`, { oid }, { cause: e });
  }
}

/** The commit's root tree. Throws GitRefNotFound when the commit is not in the store. */
export async function commitTree(store: ObjectStore, commit: string): Promise<string> {
  try {
    const { commit: parsed } = await (await isoGit()).readCommit({ fs, gitdir: store.gitdir, oid: commit, cache: store.cache });
    return parsed.tree;
  } catch (e) {
    throw new DriftdError(
      'GitRefNotFound',
      `commit ${commit} is not available locally; resolve a ref that points to it first (driftd fetches only what a ref needs)`,
      { commit },
      { cause: e },
    );
  }
}

export async function readTreeEntries(store: ObjectStore, tree: string): Promise<TreeEntry[]> {
  const { tree: entries } = await (await isoGit()).readTree({ fs, gitdir: store.gitdir, oid: tree, cache: store.cache });
  return entries;
}

export async function readBlobBytes(store: ObjectStore, oid: string): Promise<Uint8Array> {
  const { blob } = await (await isoGit()).readBlob({ fs, gitdir: store.gitdir, oid, cache: store.cache });
  return blob;
}

/** The entry at a slash-separated path below `tree`, or undefined when any part is missing or not a folder. */
export async function entryAt(store: ObjectStore, tree: string, filepath: string): Promise<TreeEntry | undefined> {
  let entry: TreeEntry | undefined = { mode: '040000', path: '', oid: tree, type: 'tree' };
  for (const part of filepath.split('/')) {
    if (entry?.type !== 'tree') return undefined;
    entry = (await readTreeEntries(store, entry.oid)).find((e) => e.path === part);
  }
  return entry;
}

/** Follows annotated tags (possibly nested) to the object they finally point at. */
export async function peel(store: ObjectStore, oid: string): Promise<string> {
  let current = oid;
  for (let depth = 0; depth < 10; depth++) {
    const obj = await (await isoGit()).readObject({ fs, gitdir: store.gitdir, oid: current, cache: store.cache, format: 'parsed' });
    if (obj.type !== 'tag') return current;
    current = (obj.object as TagObject).object;
  }
  throw new DriftdError('InvalidRef', `tag object ${oid} is nested more than 10 levels deep; re-create the tag on a commit`, { oid });
}
