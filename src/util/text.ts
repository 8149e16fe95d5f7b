/** Small wording helpers every message shares, so a commit or a count reads the same everywhere. */

/** A commit as people see it: its first 12 hex digits (what `git log --abbrev=12` prints). */
export function shortCommit(commit: string): string {
  return commit.slice(0, 12);
}

/** "1 file", "3 files": English plural by `s`, enough for driftd's nouns. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
