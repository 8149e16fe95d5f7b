/** What a repository advertises: the input of revision selection and tag-movement detection. */
import { dict } from '../util/dict.js';

export type RefKind = 'tag' | 'branch' | 'head';

export interface TagRef {
  /** The object the tag ref points at: the tag object for annotated tags, else the commit. */
  object: string;
  /** The commit the tag peels to (equal to `object` for lightweight tags). */
  commit: string;
}

export interface RepoRefs {
  /** Commit of HEAD; undefined for an empty repo or an unborn branch. */
  head?: string;
  /** Branch name → commit. */
  branches: Record<string, string>;
  /** Tag name → tag. */
  tags: Record<string, TagRef>;
  /**
   * The full ref-name prefixes this listing covers ("refs/tags/v", "HEAD"); absent when it lists
   * every ref. Tags outside it were not asked for: they are not deleted (tag memory keeps them).
   */
  scope?: readonly string[];
}

/** One advertised ref, as isomorphic-git's listServerRefs returns it (peelTags: true). */
export interface AdvertisedRef {
  ref: string;
  oid: string;
  peeled?: string;
}

/** Builds RepoRefs from a ref advertisement; refs outside HEAD, refs/heads and refs/tags are ignored. */
export function refsFromAdvertisement(advertised: readonly AdvertisedRef[], scope?: readonly string[]): RepoRefs {
  const refs: RepoRefs = { branches: dict(), tags: dict(), ...(scope ? { scope } : {}) };
  for (const { ref, oid, peeled } of advertised) {
    if (ref === 'HEAD') refs.head = oid;
    else if (ref.startsWith('refs/heads/')) refs.branches[ref.slice('refs/heads/'.length)] = oid;
    else if (ref.startsWith('refs/tags/')) refs.tags[ref.slice('refs/tags/'.length)] = { object: oid, commit: peeled ?? oid };
  }
  return refs;
}

/** Tag name → commit, the form remembered between polls. */
export function tagCommits(refs: RepoRefs): Record<string, string> {
  return Object.fromEntries(Object.entries(refs.tags).map(([name, t]) => [name, t.commit]));
}

/** Whether tag `name` is covered by a listing's scope. */
export function tagInScope(scope: readonly string[] | undefined, name: string): boolean {
  return scope === undefined || scope.some((p) => `refs/tags/${name}`.startsWith(p));
}

/** Every ref driftd reads: HEAD, branches, tags. */
export const ALL_REF_PREFIXES: readonly string[] = ['HEAD', 'refs/heads/', 'refs/tags/'];
