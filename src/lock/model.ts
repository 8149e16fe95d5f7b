/** The content of `locks/<stack>.lock.json` (docs/design.md §5): what `driftd lock` pins per image. */

export interface LockEntry {
  digest: string;
  platform?: string;
  indexDigest?: string;
}

export interface LockFile {
  version: 1;
  stack: string;
  composeSha256: string;
  images: Record<string, LockEntry>;
}
