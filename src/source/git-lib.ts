/**
 * isomorphic-git, loaded on first use (~110 ms and ~20 MB to import): a poll whose target commit
 * is already materialized reads no Git object, so a no-change `driftd sync` never loads it
 * (docs/performance.md). scripts/bundle.ts keeps dynamically imported packages in chunks of their own.
 */
import type { HttpClient } from 'isomorphic-git';

type IsomorphicGit = typeof import('isomorphic-git').default;

let git: Promise<IsomorphicGit> | undefined;
let http: Promise<HttpClient> | undefined;

export function isoGit(): Promise<IsomorphicGit> {
  return (git ??= import('isomorphic-git').then((m) => m.default));
}

/** isomorphic-git's HTTP client for Node (only a fetch needs it). */
export function isoGitHttp(): Promise<HttpClient> {
  return (http ??= import('isomorphic-git/http/node').then((m) => m.default));
}
