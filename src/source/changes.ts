/**
 * The files of one stack that differ between two commits (stacks/<stack>/** and
 * locks/<stack>.lock.json), with both contents: the input of `revision-behind` diffs.
 * Unchanged folders are skipped by comparing tree ids, so an untouched stack costs two lookups.
 */
import type { TreeEntry } from 'isomorphic-git';
import { DriftdError } from '../errors/index.js';
import { commitTree, entryAt, readBlobBytes, readTreeEntries, type ObjectStore } from './object-store.js';

export interface FileChange {
  /** Repo-relative path, e.g. "stacks/edge/compose.yaml". */
  path: string;
  status: 'added' | 'deleted' | 'modified';
  /** Git file modes: "100644", "100755" (executable), "120000" (symlink; content = link target). */
  oldMode?: string;
  newMode?: string;
  /** UTF-8 content; absent on the side where the file does not exist, or when `omitted`. */
  oldContent?: string;
  newContent?: string;
  omitted?: 'binary' | 'too-large';
}

const STACK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

type FileMap = Map<string, TreeEntry>;

/** Every file below `entry` (a tree or a single file) keyed by repo path. */
async function collect(store: ObjectStore, entry: TreeEntry | undefined, at: string, out: FileMap): Promise<void> {
  if (!entry) return;
  if (entry.type !== 'tree') {
    out.set(at, entry);
    return;
  }
  for (const child of await readTreeEntries(store, entry.oid)) await collect(store, child, `${at}/${child.path}`, out);
}

/** Collects only where the two sides differ: identical subtrees are skipped by id. */
async function collectDiff(store: ObjectStore, a: TreeEntry | undefined, b: TreeEntry | undefined, at: string, oldFiles: FileMap, newFiles: FileMap): Promise<void> {
  if (a?.oid === b?.oid && a?.mode === b?.mode) return;
  if (a?.type === 'tree' && b?.type === 'tree') {
    const [left, right] = await Promise.all([readTreeEntries(store, a.oid), readTreeEntries(store, b.oid)]);
    const names = new Set([...left.map((e) => e.path), ...right.map((e) => e.path)]);
    for (const name of names) {
      await collectDiff(store, left.find((e) => e.path === name), right.find((e) => e.path === name), `${at}/${name}`, oldFiles, newFiles);
    }
    return;
  }
  await collect(store, a, at, oldFiles);
  await collect(store, b, at, newFiles);
}

async function content(store: ObjectStore, entry: TreeEntry | undefined, maxBytes: number): Promise<{ text?: string; omitted?: FileChange['omitted'] }> {
  if (!entry) return {};
  if (entry.type === 'commit') return { text: `Subproject commit ${entry.oid}\n` };
  const bytes = await readBlobBytes(store, entry.oid);
  if (bytes.length > maxBytes) return { omitted: 'too-large' };
  // Git's own heuristic: a NUL byte in the first 8000 bytes means binary.
  if (bytes.subarray(0, 8000).includes(0)) return { omitted: 'binary' };
  return { text: Buffer.from(bytes).toString('utf8') };
}

/**
 * Files of `stack` that differ between `fromCommit` and `toCommit`, sorted by path. Both commits
 * must be in the store (GitRefNotFound otherwise). Content over `maxBytes` or binary is omitted.
 */
export async function changedFiles(store: ObjectStore, fromCommit: string, toCommit: string, stack: string, maxBytes: number): Promise<FileChange[]> {
  if (!STACK_NAME.test(stack)) {
    throw new DriftdError('InvalidStackName', `invalid stack name "${stack}": use lowercase letters, digits, "_" and "-" (at most 63)`, { stack });
  }
  const [fromTree, toTree] = await Promise.all([commitTree(store, fromCommit), commitTree(store, toCommit)]);
  const oldFiles: FileMap = new Map();
  const newFiles: FileMap = new Map();
  for (const p of [`stacks/${stack}`, `locks/${stack}.lock.json`]) {
    const [a, b] = await Promise.all([entryAt(store, fromTree, p), entryAt(store, toTree, p)]);
    await collectDiff(store, a, b, p, oldFiles, newFiles);
  }

  const paths = [...new Set([...oldFiles.keys(), ...newFiles.keys()])].sort();
  return Promise.all(
    paths.map(async (p): Promise<FileChange> => {
      const a = oldFiles.get(p);
      const b = newFiles.get(p);
      const [before, after] = await Promise.all([content(store, a, maxBytes), content(store, b, maxBytes)]);
      const omitted = before.omitted ?? after.omitted;
      return {
        path: p,
        status: !a ? 'added' : !b ? 'deleted' : 'modified',
        ...(a ? { oldMode: a.mode } : {}),
        ...(b ? { newMode: b.mode } : {}),
        ...(omitted ? { omitted } : { ...(before.text !== undefined ? { oldContent: before.text } : {}), ...(after.text !== undefined ? { newContent: after.text } : {}) }),
      };
    }),
  );
}
