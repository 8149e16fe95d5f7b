/**
 * Platform-aware comparison of running images with the lock (pure, for the drift engine).
 * A tag's index digest and its platform manifest digest name the same image for this host:
 * a container created from either matches a lock that records either.
 */
import { own } from '../util/dict.js';
import type { DesiredStack } from '../compose/model.js';
import type { LockEntry } from '../lock/model.js';
import type { Finding } from './model.js';
import type { LiveContainer, LiveImageDefaults, LiveInventory } from '../live/model.js';
import { governingEntry, outdatedFindings, stackImages } from './lock-findings.js';
import { shortDigest, type RegistryDigests } from '../image/digest.js';
import { familiarName, parseRepoDigest, sameRepository, tryParseImageRef } from '../image/reference.js';
import { formatPlatform } from '../image/platform.js';

export type ImageComparison = 'match' | 'drift' | 'unknown';

export interface CompareImageInput {
  lockEntry: LockEntry;
  /** The image the container runs (by its ID in the inventory); undefined when it is gone. */
  liveImage: Pick<LiveImageDefaults, 'repoDigests' | 'os' | 'architecture' | 'variant'> | undefined;
  /** The reference the container was created from (Config.Image). */
  containerImageRef: string;
  /** The locked reference (the service's image); defaults to containerImageRef's repository. */
  image?: string;
}


/**
 * match: the container's image carries the lock's platform digest or index digest for the locked
 * repository, in its RepoDigests or in the reference it was created from. drift: there are
 * registry digests, none of them the locked ones (another image, another build). unknown: no
 * evidence either way (the image is gone, or was built or loaded here without a registry digest).
 */
export function compareImage(input: CompareImageInput): ImageComparison {
  const locked = new Set([input.lockEntry.digest, ...(input.lockEntry.indexDigest ? [input.lockEntry.indexDigest] : [])]);
  const container = tryParseImageRef(input.containerImageRef);
  const repo = (input.image !== undefined ? tryParseImageRef(input.image) : undefined) ?? container;
  if (!repo) return 'unknown';
  const all = input.liveImage?.repoDigests ?? [];
  const evidence = all.map(parseRepoDigest).flatMap((d) => (d !== undefined && sameRepository(d, repo) ? [d.digest] : []));
  if (container?.digest !== undefined && sameRepository(container, repo)) evidence.push(container.digest);
  if (evidence.some((d) => locked.has(d))) return 'match';
  return evidence.length > 0 || all.length > 0 ? 'drift' : 'unknown';
}

function liveDescription(container: LiveContainer, image: LiveImageDefaults | undefined): string {
  const digests = (image?.repoDigests ?? []).map((entry) => {
    const d = parseRepoDigest(entry);
    return d ? `${familiarName(d)}@${shortDigest(d.digest)}` : entry;
  });
  const platform = image?.os && image.architecture ? ` ${formatPlatform({ os: image.os, architecture: image.architecture, ...(image.variant ? { variant: image.variant } : {}) })}` : '';
  return `${container.name} runs ${container.image}${digests.length > 0 ? ` (${digests.join(', ')})` : ''}${platform}`;
}

/** image-drift, one per service whose containers run something other than the locked digest. */
export function imageDriftFindings(stack: DesiredStack, live: LiveInventory): Finding[] {
  const findings: Finding[] = [];
  for (const [image, services] of stackImages(stack)) {
    const entry = governingEntry(stack.lock, image);
    if (!entry) continue;
    for (const service of services) {
      const containers = live.containers.filter((c) => c.project === stack.name && c.service === service.name);
      const drifted = containers.filter(
        (c) => compareImage({ lockEntry: entry, liveImage: own(live.images, c.imageId), containerImageRef: c.image, image }) === 'drift',
      );
      if (drifted.length === 0) continue;
      const pinned = `${image}@${shortDigest(entry.digest)}${entry.indexDigest && entry.indexDigest !== entry.digest ? ` (index ${shortDigest(entry.indexDigest)})` : ''}`;
      findings.push({
        kind: 'image-drift',
        stack: stack.name,
        service: service.name,
        severity: 'error',
        message: `${drifted.map((c) => liveDescription(c, own(live.images, c.imageId))).join('; ')}; the lock pins ${pinned}`,
        field: 'image',
        desired: { image, ...entry },
        live: drifted.map((c) => ({ container: c.name, image: c.image, repoDigests: own(live.images, c.imageId)?.repoDigests ?? [] })),
      });
    }
  }
  return findings;
}

export interface ImageFindingsInput {
  stack: DesiredStack;
  live: LiveInventory;
  /** Registry answers for the locked tags (see registryDigests()); no image-outdated without them. */
  registryDigests?: RegistryDigests;
}

/**
 * The image findings drift-check takes from the lock side (computeDrift's `imageChecks`):
 * image-drift and image-outdated. lock-stale and image-unpinned are computeDrift's own.
 */
export function imageFindings(input: ImageFindingsInput): Finding[] {
  return [...imageDriftFindings(input.stack, input.live), ...outdatedFindings(input.stack, input.stack.lock, input.registryDigests)];
}
