/**
 * Registry answers for the locked tags, for `image-outdated` in drift-check: served from the
 * digest cache while younger than the interval (default 6 h), so an hourly fleet asks each
 * registry at most once per interval per image.
 */
import type { DesiredStack } from '../compose/model.js';
import { describeError, isDriftdError } from '../errors/index.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { DigestCache } from '../image/digest-cache.js';
import { stackImages } from '../drift/lock-findings.js';
import { registryDigestOf, type RegistryDigest } from '../image/digest.js';
import { findLockEntry } from '../lock/lock-file.js';
import { normalizeImageRef } from '../image/reference.js';
import { formatPlatform } from '../image/platform.js';
import type { DigestResolver } from '../image/resolver.js';

export const DEFAULT_OUTDATED_INTERVAL_MS = 6 * 60 * 60 * 1000;

export interface RegistryDigestsOptions {
  /** Stacks whose locked images are looked up (images without a lock entry are skipped). */
  stacks: readonly DesiredStack[];
  resolver: DigestResolver;
  cache?: DigestCache;
  /** How long a registry answer is trusted; DEFAULT_OUTDATED_INTERVAL_MS when absent. */
  intervalMs?: number;
  now?: () => Date;
  logger?: Logger;
}

export interface RegistryDigestsResult {
  /** Answers by the image reference as written in the compose file. */
  digests: Map<string, RegistryDigest>;
  /** Images the registry could not answer for (no image-outdated finding is possible for them). */
  errors: { image: string; message: string }[];
  /** How many answers came from the cache, and how many from the registry. */
  cached: number;
  fetched: number;
}

export async function registryDigests(opts: RegistryDigestsOptions): Promise<RegistryDigestsResult> {
  const logger = opts.logger ?? silentLogger;
  const intervalMs = opts.intervalMs ?? DEFAULT_OUTDATED_INTERVAL_MS;
  const now = opts.now ?? (() => new Date());
  const result: RegistryDigestsResult = { digests: new Map(), errors: [], cached: 0, fetched: 0 };
  const images = new Set<string>();
  for (const stack of opts.stacks) {
    for (const [image] of stackImages(stack)) if (findLockEntry(stack.lock, image)) images.add(image);
  }
  if (images.size === 0) return result;
  const platform = formatPlatform(await opts.resolver.platform());
  for (const image of images) {
    const key = normalizeImageRef(image);
    const hit = opts.cache?.getCachedDigest(key, platform, intervalMs, now());
    if (hit) {
      result.digests.set(image, registryDigestOf(hit));
      result.cached += 1;
      continue;
    }
    try {
      const resolved = await opts.resolver.resolve(image);
      if (resolved.source !== 'registry') continue;
      const answer = registryDigestOf(resolved);
      result.digests.set(image, answer);
      result.fetched += 1;
      opts.cache?.putCachedDigest({ imageRef: key, platform, ...answer });
    } catch (e) {
      // A registry that cannot answer makes image-outdated unknowable, not the whole check.
      if (!isDriftdError(e) || e.code !== 'RegistryError') throw e;
      logger.warn({ image }, `image-outdated check skipped: ${describeError(e)}`);
      result.errors.push({ image, message: describeError(e) });
    }
  }
  return result;
}
