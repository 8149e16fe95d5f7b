/**
 * Where registry answers are kept between runs, so that `image-outdated` asks a registry at
 * most once per interval. The state store (src/state/store.ts) satisfies this interface;
 * MemoryDigestCache serves tests and one-shot commands without a state DB.
 */

export interface CachedRegistryDigest {
  digest: string;
  indexDigest?: string | undefined;
}

export interface DigestCacheInput {
  /** The normalized reference (normalizeImageRef): one key per image whatever its spelling. */
  imageRef: string;
  /** "linux/amd64": answers depend on the platform. */
  platform: string;
  digest: string;
  indexDigest?: string;
}

export interface DigestCache {
  /** The answer stored for image+platform, unless older than maxAgeMs. */
  getCachedDigest(imageRef: string, platform: string, maxAgeMs: number, now?: Date): CachedRegistryDigest | undefined;
  putCachedDigest(input: DigestCacheInput): void;
}

export class MemoryDigestCache implements DigestCache {
  readonly #entries = new Map<string, CachedRegistryDigest & { checkedAt: number }>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  getCachedDigest(imageRef: string, platform: string, maxAgeMs: number, now: Date = this.#now()): CachedRegistryDigest | undefined {
    const hit = this.#entries.get(`${imageRef}\n${platform}`);
    if (!hit) return undefined;
    const age = now.getTime() - hit.checkedAt;
    return age >= 0 && age <= maxAgeMs ? { digest: hit.digest, indexDigest: hit.indexDigest } : undefined;
  }

  putCachedDigest(input: DigestCacheInput): void {
    this.#entries.set(`${input.imageRef}\n${input.platform}`, {
      digest: input.digest,
      indexDigest: input.indexDigest,
      checkedAt: this.#now().getTime(),
    });
  }
}
