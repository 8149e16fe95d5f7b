/**
 * Pure interpretation of the engine's `GET /distribution/{name}/json` answer and of an image
 * index: which digest is the index, which is the platform manifest for this host.
 */
import { z } from 'zod';
import { DriftdError } from '../errors/index.js';
import { DIGEST } from './reference.js';
import { formatPlatform, normalizePlatform, selectPlatformManifest, type IndexEntry, type Platform } from './platform.js';
import { isIndexMediaType } from './registry-http.js';

export const distributionSchema = z.object({
  Descriptor: z.object({ mediaType: z.string(), digest: z.string().regex(DIGEST), size: z.number().optional() }),
  Platforms: z
    .array(z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).loose())
    .nullish()
    .transform((p) => p ?? []),
});
export type DistributionInfo = z.infer<typeof distributionSchema>;

/** What a tag resolves to for one platform: the lock entry's fields. */
export interface Resolution {
  /** The platform manifest digest; the index digest when the index could not be read (see `warning`). */
  digest: string;
  /** The index (manifest list) digest when the reference names an index. */
  indexDigest?: string;
  /** "linux/amd64". */
  platform: string;
}

export type DistributionAnswer =
  | { kind: 'manifest'; resolution: Resolution }
  | { kind: 'index'; indexDigest: string; platforms: Platform[] };

/**
 * A single manifest resolves at once (its platform is the one the engine read from its config);
 * an index needs its entries, which the caller fetches from the registry.
 */
export function interpretDistribution(info: DistributionInfo, host: Platform): DistributionAnswer {
  const platforms = info.Platforms.map((p) => normalizePlatform({ os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }));
  if (isIndexMediaType(info.Descriptor.mediaType)) return { kind: 'index', indexDigest: info.Descriptor.digest, platforms };
  const platform = platforms[0] ?? normalizePlatform(host);
  return { kind: 'manifest', resolution: { digest: info.Descriptor.digest, platform: formatPlatform(platform) } };
}

/** The index has nothing for this host: deploying it would fail, so locking it is refused. */
export function noPlatformError(image: string, host: Platform, offered: Platform[]): DriftdError {
  const list = offered.map(formatPlatform).filter((p) => p !== 'unknown/unknown');
  return new DriftdError(
    'RegistryError',
    `image ${image} has no variant for this host's platform ${formatPlatform(host)} (it offers ${list.join(', ') || 'none'}); use an image built for ${formatPlatform(host)}`,
    { image, platform: formatPlatform(host), offered: list },
  );
}

/** Picks this host's manifest out of an index's entries. */
export function resolveFromIndex(image: string, indexDigest: string, entries: readonly IndexEntry[], host: Platform): Resolution {
  const chosen = selectPlatformManifest(entries, host);
  if (!chosen?.platform) throw noPlatformError(image, host, entries.flatMap((e) => (e.platform ? [e.platform] : [])));
  return { digest: chosen.digest, indexDigest, platform: formatPlatform(chosen.platform) };
}

/** When the index cannot be read, the index digest stands in for the platform digest too. */
export function indexOnlyResolution(indexDigest: string, host: Platform): Resolution {
  return { digest: indexDigest, indexDigest, platform: formatPlatform(host) };
}
