/** Small wording helpers every message shares, so a commit or a count reads the same everywhere. */

/** A commit as people see it: its first 12 hex digits (what `git log --abbrev=12` prints). */
export function shortCommit(commit: string): string {
  return commit.slice(0, 12);
}

/** "v1.4.2 (4f1c…)" or "(4f1c…)": a revision in messages and history. */
export function describeRevision(revision: { commit: string; ref?: string | undefined }): string {
  return `${revision.ref ? `${revision.ref} ` : ''}(${shortCommit(revision.commit)})`;
}

/** The outcome of a stack whose inputs a new revision left alone: recorded, nothing run. */
export function recordedMessage(revision: { commit: string; ref?: string | undefined }): string {
  return `now at ${describeRevision(revision)}; no service changed, Compose not run`;
}

/** "1 file", "3 files": English plural by `s`, enough for driftd's nouns. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** 36000000 → "10h", 5400000 → "1h30m", 90000 → "1m30s". */
export function shortDuration(ms: number): string {
  const parts: string[] = [];
  let s = Math.round(ms / 1000);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(s / size);
    if (n > 0) parts.push(`${n}${unit}`);
    s -= n * size;
  }
  return parts.join('') || '0s';
}
