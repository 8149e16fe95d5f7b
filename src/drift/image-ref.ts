/**
 * Image reference comparison for config drift, on top of the engine-compatible parser in
 * src/image/reference: "nginx", "nginx:latest" and "docker.io/library/nginx:latest" are one image.
 */
import { effectiveTag, parseRepoDigest, sameRepository, tryParseImageRef } from '../image/reference.js';


/** Config.Image holds an image ID when a container was created from one. */
export function isImageId(ref: string): boolean {
  return /^(sha256:)?[0-9a-f]{64}$/.test(ref);
}

/** sameImageRef's answers: a host runs few distinct references, compared again on every drift check. */
const sameRefs = new Map<string, boolean>();
const SAME_REFS_MAX = 4096;

/**
 * Same image reference, as far as both sides say: repositories must match; tags are compared
 * when both carry one; digests when both carry one (a digest on one side only is image-drift's
 * business, decided from repo digests, not from the text of the reference).
 */
export function sameImageRef(a: string, b: string): boolean {
  const key = `${a.length}:${a}${b}`;
  let same = sameRefs.get(key);
  if (same === undefined) {
    // Bounded: a flood of distinct references costs a re-parse, never memory.
    if (sameRefs.size >= SAME_REFS_MAX) sameRefs.clear();
    same = compareImageRefs(a, b);
    sameRefs.set(key, same);
  }
  return same;
}

function compareImageRefs(a: string, b: string): boolean {
  const x = tryParseImageRef(a);
  const y = tryParseImageRef(b);
  if (!x || !y) return a === b;
  if (!sameRepository(x, y)) return false;
  const tx = effectiveTag(x);
  const ty = effectiveTag(y);
  if (tx !== undefined && ty !== undefined && tx !== ty) return false;
  return x.digest === undefined || y.digest === undefined || x.digest === y.digest;
}

/** Does an image (by its repo tags and digests) answer to the reference? */
export function imageCarriesRef(ref: string, repoTags: readonly string[], repoDigests: readonly string[]): boolean {
  const r = tryParseImageRef(ref);
  if (!r) return false;
  if (r.digest !== undefined) {
    return repoDigests.some((entry) => {
      const d = parseRepoDigest(entry);
      return d !== undefined && sameRepository(d, r) && d.digest === r.digest;
    });
  }
  return repoTags.some((t) => sameImageRef(t, ref));
}
