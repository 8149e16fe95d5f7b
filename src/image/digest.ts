/** Registry digests: what a tag resolves to, how it is shown, how answers are looked up. */
import { tryNormalizeImageRef } from './reference.js';

/** What a registry says a tag resolves to now. */
export interface RegistryDigest {
  digest: string;
  indexDigest?: string | undefined;
}

/** The part of a resolution that says what the tag points at. */
export function registryDigestOf(r: RegistryDigest): RegistryDigest {
  return { digest: r.digest, ...(r.indexDigest ? { indexDigest: r.indexDigest } : {}) };
}

/** Registry answers by image reference (any spelling of the reference finds its answer). */
export type RegistryDigests = ReadonlyMap<string, RegistryDigest>;

export function shortDigest(digest: string): string {
  const [algo, hex] = digest.split(':');
  return hex === undefined ? digest : `${algo}:${hex.slice(0, 12)}`;
}

export function lookupRegistryDigest(digests: RegistryDigests | undefined, ref: string): RegistryDigest | undefined {
  if (!digests) return undefined;
  const exact = digests.get(ref);
  if (exact) return exact;
  const wanted = tryNormalizeImageRef(ref);
  if (wanted === undefined) return undefined;
  for (const [key, value] of digests) if (tryNormalizeImageRef(key) === wanted) return value;
  return undefined;
}

/** What the tag points at: the index when there is one, else the manifest. */
export function topDigest(entry: { digest: string; indexDigest?: string | undefined }): string {
  return entry.indexDigest ?? entry.digest;
}
