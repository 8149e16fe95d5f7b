/**
 * Revision selection: which commit a ref policy points at, given what the repo advertises.
 * Pure: no I/O, so every policy is covered by table-driven tests.
 */
import { own } from '../util/dict.js';
import semver from 'semver';
import type { RefPolicy } from '../config/resolve.js';
import { DriftdError } from '../errors/index.js';
import type { RefKind, RepoRefs } from './refs.js';

export interface Selection {
  commit: string;
  /** Tag or branch name, or "HEAD". */
  ref: string;
  refKind: RefKind;
  /** Full ref name to fetch ("refs/tags/v1.2.0", "refs/heads/main", "HEAD"). */
  fullRef: string;
}

/** Semantic Versioning 2.0.0, exactly (semver.org's regex): no leading "v", no leading zeros, no partial versions. */
const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Follows `git check-ref-format` for one branch or tag name, and refuses a leading "-" (option injection). */
export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 255) return 'is longer than 255 characters';
  if (name === '@') return 'is "@"';
  if ([...name].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f) || /[~^:?*[\\]/.test(name)) {
    return 'contains a space, a control character or one of ~ ^ : ? * [ \\';
  }
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name.startsWith('-')) return 'starts with "-"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.endsWith('.')) return 'ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'has a path component starting with "."';
    if (part.endsWith('.lock')) return 'has a path component ending with ".lock"';
  }
  return undefined;
}

function assertRefName(name: string, what: 'tag' | 'branch' | 'tag prefix'): void {
  // A prefix is valid when the tags it serves ("release/1.0.0") can be valid tag names.
  const problem = refNameProblem(what === 'tag prefix' ? `${name}0.0.0` : name);
  if (problem) throw new DriftdError('InvalidRef', `invalid ${what} name "${name}": it ${problem}; use a valid Git ${what} name`, { name });
}

function assertRange(range: string): void {
  try {
    new semver.Range(range);
  } catch {
    throw new DriftdError('InvalidRef', `invalid semver range "${range}"; use a range such as ">=1.0.0 <2.0.0" or "^1.4"`, { range });
  }
}

/** Checks a policy without looking at the repo, so a config mistake costs no network request. */
export function validatePolicy(policy: RefPolicy): void {
  switch (policy.kind) {
    case 'tag':
      return assertRefName(policy.tag, 'tag');
    case 'branch':
      return assertRefName(policy.branch, 'branch');
    case 'semver':
      if (policy.prefix !== undefined) assertRefName(policy.prefix, 'tag prefix');
      assertRange(policy.range);
      return;
    case 'auto':
      return;
  }
}

/** The version a tag names under `prefix`, or undefined when the tag is not `<prefix><semver>`. */
export function tagVersion(tag: string, prefix: string): semver.SemVer | undefined {
  if (!tag.startsWith(prefix)) return undefined;
  const rest = tag.slice(prefix.length);
  return SEMVER_PATTERN.test(rest) ? new semver.SemVer(rest) : undefined;
}

/**
 * Pre-releases take part only when the range itself names one (">=2.0.0-rc.0"); then every
 * pre-release inside the range counts, as in Flux, not just those of the same x.y.z. Read from
 * the range as written: node-semver's parsed form adds "-0" to upper bounds ("<2" → "<2.0.0-0").
 */
export function rangeAsksForPrerelease(range: string): boolean {
  return /\d+\.\d+\.\d+-[0-9A-Za-z]/.test(range);
}

interface Candidate {
  tag: string;
  version: semver.SemVer;
  commit: string;
}

/** Highest version first; equal versions (build metadata, "v1.0.0" vs "1.0.0") ordered by tag name so the choice is stable. */
function highest(candidates: Candidate[]): Candidate | undefined {
  return [...candidates].sort((a, b) => semver.compareBuild(b.version, a.version) || (a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0))[0];
}

function semverCandidates(refs: RepoRefs, prefixes: readonly string[], accept: (v: semver.SemVer) => boolean): Candidate[] {
  const out: Candidate[] = [];
  for (const [tag, { commit }] of Object.entries(refs.tags)) {
    for (const prefix of prefixes) {
      const version = tagVersion(tag, prefix);
      if (version && accept(version)) {
        out.push({ tag, version, commit });
        break;
      }
    }
  }
  return out;
}

/** No prefix set: "1.2.0" and "v1.2.0" both count (Flux's ref.semver, Argo CD). */
const OPTIONAL_V = ['v', ''] as const;

const semverPrefixes = (prefix: string | undefined): readonly string[] => (prefix === undefined ? OPTIONAL_V : [prefix]);

/** Splits a tag into `<prefix><semver>` with the longest version it ends in, or undefined. */
export function splitVersionTag(tag: string): { prefix: string; version: semver.SemVer } | undefined {
  for (let i = 0; i < tag.length; i++) {
    if (!/\d/.test(tag[i]!)) continue;
    const version = tagVersion(tag, tag.slice(0, i));
    if (version) return { prefix: tag.slice(0, i), version };
  }
  return undefined;
}

const NEAR_MISSES_SHOWN = 5;

function tagList(candidates: Candidate[]): string {
  const sorted = [...candidates].sort((a, b) => semver.compareBuild(b.version, a.version) || (a.tag < b.tag ? -1 : 1));
  const shown = sorted.slice(0, NEAR_MISSES_SHOWN).map((c) => c.tag);
  const more = sorted.length - shown.length;
  return `${sorted.length === 1 ? 'tag' : 'tags'} ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''} ${sorted.length === 1 ? 'exists' : 'exist'}`;
}

const shellWord = (s: string): string => (/^[\w./@+-]+$/.test(s) ? s : `'${s}'`);

/**
 * When a semver policy matches nothing, the tags that almost matched, as advice: tags in the range
 * under another prefix ("did you mean --tag-prefix v?"), pre-releases a range without one skips, or
 * tags with the right prefix outside the range. Undefined when no tag is a version at all.
 */
function nearMissHint(refs: RepoRefs, prefix: string | undefined, range: semver.Range, includePrerelease: boolean): string | undefined {
  const prefixes = semverPrefixes(prefix);
  const otherPrefix = new Map<string, Candidate[]>();
  const prerelease: Candidate[] = [];
  const outOfRange: Candidate[] = [];
  for (const [tag, { commit }] of Object.entries(refs.tags)) {
    const split = splitVersionTag(tag);
    if (!split) continue;
    const candidate = { tag, version: split.version, commit };
    const samePrefix = prefixes.some((p) => tagVersion(tag, p) !== undefined);
    if (!samePrefix) {
      if (range.test(split.version)) otherPrefix.set(split.prefix, [...(otherPrefix.get(split.prefix) ?? []), candidate]);
    } else if (!includePrerelease && split.version.prerelease.length > 0 && semver.satisfies(split.version, range, { includePrerelease: true })) {
      prerelease.push(candidate);
    } else {
      outOfRange.push(candidate);
    }
  }
  const suggestions = [...otherPrefix.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const [best] = suggestions;
  if (best) {
    const [suggested, tags] = best;
    // With no prefix set, bare versions and "v" versions both count: leaving the flag out is the advice.
    const flag = suggested === '' ? 'no --tag-prefix' : `--tag-prefix ${shellWord(suggested)}`;
    return `${tagList(tags)}: did you mean ${flag}?`;
  }
  const top = highest(prerelease);
  if (top) {
    const { major, minor, patch } = top.version;
    return `${tagList(prerelease)}: pre-releases count only when the range names one (e.g. ">=${major}.${minor}.${patch}-0")`;
  }
  if (outOfRange.length) return `${tagList(outOfRange)}, none in the range: push a matching tag or widen the range`;
  return undefined;
}

function tagSelection(tag: string, commit: string): Selection {
  return { commit, ref: tag, refKind: 'tag', fullRef: `refs/tags/${tag}` };
}

/**
 * Picks the commit `policy` points at. `where` names the repo in error messages.
 *
 * `auto` (no policy configured) is the highest release tag that is semver with an optional "v"
 * prefix ("1.4.0", "v1.4.0"; pre-releases skipped), and HEAD when the repo has no such tag: a
 * repo that tags releases is deployed by release, a repo that does not is deployed as it stands,
 * which is what `driftd drift-check` from a fresh checkout needs.
 *
 * Throws InvalidRef for a malformed name or range, GitRefNotFound when nothing matches.
 */
export function selectRevision(refs: RepoRefs, policy: RefPolicy, where: string): Selection {
  validatePolicy(policy);
  switch (policy.kind) {
    case 'tag': {
      const tag = own(refs.tags, policy.tag);
      if (!tag) {
        throw new DriftdError('GitRefNotFound', `tag "${policy.tag}" does not exist in ${where}; push the tag or choose an existing one`, {
          ref: policy.tag,
          repo: where,
        });
      }
      return tagSelection(policy.tag, tag.commit);
    }
    case 'branch': {
      const commit = own(refs.branches, policy.branch);
      if (!commit) {
        throw new DriftdError('GitRefNotFound', `branch "${policy.branch}" does not exist in ${where}; push it or choose an existing branch`, {
          ref: policy.branch,
          repo: where,
        });
      }
      return { commit, ref: policy.branch, refKind: 'branch', fullRef: `refs/heads/${policy.branch}` };
    }
    case 'semver': {
      const includePrerelease = rangeAsksForPrerelease(policy.range);
      const range = new semver.Range(policy.range, { includePrerelease });
      const best = highest(semverCandidates(refs, semverPrefixes(policy.prefix), (v) => range.test(v)));
      if (!best) {
        const prefix = policy.prefix ? ` with prefix "${policy.prefix}"` : '';
        const hint = nearMissHint(refs, policy.prefix, range, includePrerelease);
        throw new DriftdError(
          'GitRefNotFound',
          `no tag${prefix} in ${where} matches semver range "${policy.range}"; ${hint ?? 'push a matching tag or widen the range'}`,
          { range: policy.range, prefix: policy.prefix ?? null, repo: where },
        );
      }
      return tagSelection(best.tag, best.commit);
    }
    case 'auto': {
      const best = highest(semverCandidates(refs, OPTIONAL_V, (v) => v.prerelease.length === 0));
      if (best) return tagSelection(best.tag, best.commit);
      if (!refs.head) {
        throw new DriftdError('GitRefNotFound', `${where} has no commits; push a commit or a release tag`, { repo: where });
      }
      return { commit: refs.head, ref: 'HEAD', refKind: 'head', fullRef: 'HEAD' };
    }
  }
}

/**
 * The ref-name prefixes that hold every ref `policy` can select (protocol v2 ls-refs sends only
 * these): the tag or branch itself, the tags under a semver prefix, or HEAD and all tags.
 */
export function policyRefPrefixes(policy: RefPolicy): string[] {
  switch (policy.kind) {
    case 'tag':
      return [`refs/tags/${policy.tag}`];
    case 'branch':
      return [`refs/heads/${policy.branch}`];
    case 'semver':
      return [`refs/tags/${policy.prefix ?? ''}`];
    case 'auto':
      return ['HEAD', 'refs/tags/'];
  }
}
