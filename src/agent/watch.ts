import { existsSync } from 'node:fs';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';

/** The ref files of a local repo (checkout or bare) whose change means "new tag or commit". */
export function refPaths(repo: string): string[] {
  const gitDir = existsSync(path.join(repo, '.git')) ? path.join(repo, '.git') : repo;
  return ['refs/tags', 'refs/heads', 'packed-refs', 'HEAD'].map((p) => path.join(gitDir, p));
}

/** Watches a local repo's refs and calls `onChange` (debounced) when a tag or branch moves. */
export function watchRefs(repo: string, onChange: () => void, debounceMs = 500): FSWatcher {
  let timer: NodeJS.Timeout | undefined;
  const watcher = chokidar.watch(refPaths(repo), { ignoreInitial: true, depth: 8 });
  watcher.on('all', () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return watcher;
}
