/**
 * Tag movement detection. A release tag that later points at another commit means the content
 * behind a name changed after the fact (a supply-chain red flag); a deleted tag may strand a
 * pinned host. driftd remembers tag → commit per repo and reports each change once, as a warning
 * returned to the caller (the revision is still resolved: the caller decides what to do).
 */
import path from 'node:path';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { dictOf } from '../util/dict-schema.js';
import { readJsonFile, writeJsonAtomic } from '../util/json-file.js';
import { describeError } from '../errors/index.js';
import { shortCommit } from '../util/text.js';
import { dict, own, setOwn } from '../util/dict.js';

export type TagWarning =
  | { kind: 'tag-moved'; tag: string; from: string; to: string; message: string }
  | { kind: 'tag-deleted'; tag: string; commit: string; message: string };

/**
 * Compares the tags seen at the previous poll with the current ones. `previous` undefined means
 * the repo was never polled: nothing to compare, no warning. Sorted by tag name.
 */
export function compareTags(
  previous: Readonly<Record<string, string>> | undefined,
  current: Readonly<Record<string, string>>,
  where: string,
  inScope: (tag: string) => boolean = () => true,
): TagWarning[] {
  if (!previous) return [];
  const warnings: TagWarning[] = [];
  for (const tag of Object.keys(previous).sort()) {
    if (!inScope(tag)) continue;
    const from = previous[tag];
    const to = current[tag];
    if (from === undefined || from === to) continue;
    if (to === undefined) {
      warnings.push({
        kind: 'tag-deleted',
        tag,
        commit: from,
        message: `tag "${tag}" (commit ${shortCommit(from)}) was deleted from ${where}; hosts pinned to it cannot re-fetch it`,
      });
    } else {
      warnings.push({
        kind: 'tag-moved',
        tag,
        from,
        to,
        message: `tag "${tag}" in ${where} moved from commit ${shortCommit(from)} to ${shortCommit(to)}; a release tag should never change, check who re-tagged it`,
      });
    }
  }
  return warnings;
}

const memorySchema = lazy(() =>
  z.object({
    version: z.literal(1),
    repos: dictOf(z.string(), dictOf(z.string(), z.string().regex(/^[0-9a-f]{40}$/))),
  }),
);

type TagMemoryFile = z.infer<ReturnType<typeof memorySchema>>;

/** `<dataDir>/git/seen-tags.json`: `{ version: 1, repos: { <repo>: { <tag>: <commit> } } }`. */
export function tagMemoryFile(dataDir: string): string {
  return path.join(dataDir, 'git', 'seen-tags.json');
}

/**
 * Compares `current` with what was remembered for `repo`, remembers `current`, and returns the
 * changes. An unreadable memory file is replaced (`onReset` says so): movement detection then
 * restarts from this poll rather than blocking it.
 */
export async function rememberTags(
  file: string,
  repo: string,
  current: Record<string, string>,
  onReset: (reason: string) => void,
  inScope: (tag: string) => boolean = () => true,
): Promise<TagWarning[]> {
  let memory: TagMemoryFile = { version: 1, repos: {} };
  try {
    memory = (await readJsonFile(file, memorySchema())) ?? memory;
  } catch (e) {
    onReset(describeError(e));
  }
  const previous = own(memory.repos, repo);
  const warnings = compareTags(previous, current, repo, inScope);
  // Tags the listing did not cover (another policy's prefix) are remembered as they were.
  const next = dict([...Object.entries(previous ?? {}).filter(([tag]) => !inScope(tag)), ...Object.entries(current)]);
  const unchanged = previous !== undefined && warnings.length === 0 && Object.keys(previous).length === Object.keys(next).length;
  if (!unchanged) {
    setOwn(memory.repos, repo, next);
    await writeJsonAtomic(file, memory);
  }
  return warnings;
}
