/**
 * The last revision that was resolved and materialized for a repo, persisted so that a driftd
 * restarted while Git is unreachable still knows what the repo last said (docs/design.md §7).
 */
import path from 'node:path';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import type { Revision } from '../compose/model.js';
import { readJsonFile, writeJsonAtomic } from '../util/json-file.js';

const lastGoodSchema = lazy(() =>
  z.object({
    version: z.literal(1),
    repo: z.string(),
    commit: z.string().regex(/^[0-9a-f]{40}$/),
    ref: z.string().optional(),
    refKind: z.enum(['tag', 'branch', 'head']).optional(),
    at: z.string(),
  }),
);

function lastGoodFile(dataDir: string): string {
  return path.join(dataDir, 'git', 'last-good.json');
}

/**
 * Records `revision` as the repo's last good one. Written only when it differs from the recorded
 * one (repo, commit, ref, ref kind): a poll that finds the same revision — every poll of an agent
 * between two tags — costs one small read, not a write and its fsync. `at` is therefore when the
 * revision became the last good one, not when it was last confirmed.
 */
export async function saveLastGood(dataDir: string, repo: string, revision: Revision, at: Date): Promise<boolean> {
  const saved = await loadLastGood(dataDir, repo);
  if (saved && saved.commit === revision.commit && saved.ref === revision.ref && saved.refKind === revision.refKind) return false;
  await writeJsonAtomic(lastGoodFile(dataDir), { version: 1, repo, commit: revision.commit, ref: revision.ref, refKind: revision.refKind, at: at.toISOString() });
  return true;
}

/** The remembered revision for `repo`; undefined when none, when it belongs to another repo, or when the file is unreadable. */
export async function loadLastGood(dataDir: string, repo: string): Promise<(Revision & { at: string }) | undefined> {
  let saved: z.infer<ReturnType<typeof lastGoodSchema>> | undefined;
  try {
    saved = await readJsonFile(lastGoodFile(dataDir), lastGoodSchema());
  } catch {
    return undefined;
  }
  if (!saved || saved.repo !== repo) return undefined;
  return { commit: saved.commit, ...(saved.ref ? { ref: saved.ref } : {}), ...(saved.refKind ? { refKind: saved.refKind } : {}), at: saved.at };
}
