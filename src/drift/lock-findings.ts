/**
 * Pure lock findings shared by `driftd lock --check` and `drift-check`: a lock made for other
 * compose inputs (lock-stale), images without a lock entry (image-unpinned), and tags the
 * registry now resolves elsewhere (image-outdated).
 */
import type { DesiredService, DesiredStack } from '../compose/model.js';
import type { LockEntry, LockFile } from '../lock/model.js';
import type { Finding } from './model.js';
import { findLockEntry, lockFilePath } from '../lock/lock-file.js';
import { effectiveTag, isFloatingRef, tryNormalizeImageRef, tryParseImageRef } from '../image/reference.js';
import { lookupRegistryDigest, shortDigest, topDigest, type RegistryDigest, type RegistryDigests } from '../image/digest.js';

/** The registry serves other content for the locked tag than the lock records. */
export function isOutdated(entry: LockEntry, now: RegistryDigest): boolean {
  return topDigest(entry) !== topDigest(now);
}

/** Images with a usable reference, in service order, each once: [image, services using it]. */
export function stackImages(stack: DesiredStack): [string, DesiredService[]][] {
  const byImage = new Map<string, DesiredService[]>();
  for (const service of stack.services) {
    if (service.image === '') continue;
    const list = byImage.get(service.image) ?? [];
    list.push(service);
    byImage.set(service.image, list);
  }
  return [...byImage];
}

/** The entry that governs a service's image: the lock's, else the digest written in the compose file. */
export function governingEntry(lock: LockFile | undefined, image: string): LockEntry | undefined {
  const entry = findLockEntry(lock, image);
  if (entry) return entry;
  const digest = tryParseImageRef(image)?.digest;
  return digest !== undefined ? { digest } : undefined;
}

/** lock-stale: compose inputs changed since locking, or the lock pins images no service uses. */
export function staleLockFindings(stack: DesiredStack, lock: LockFile): Finding[] {
  const file = lockFilePath(stack.name);
  const findings: Finding[] = [];
  if (lock.composeSha256 !== stack.composeSha256) {
    findings.push({
      kind: 'lock-stale',
      stack: stack.name,
      severity: 'warning',
      message: `${file} was made for other compose inputs (composeSha256 ${lock.composeSha256.slice(0, 12)}…, now ${stack.composeSha256.slice(0, 12)}…); run driftd lock`,
      field: 'composeSha256',
      desired: stack.composeSha256,
      live: lock.composeSha256,
    });
  }
  const used = new Set(stack.services.map((s) => tryNormalizeImageRef(s.image) ?? s.image));
  const unused = Object.keys(lock.images)
    .filter((key) => !used.has(tryNormalizeImageRef(key) ?? key))
    .sort();
  if (unused.length > 0) {
    findings.push({
      kind: 'lock-stale',
      stack: stack.name,
      severity: 'warning',
      message: `${file} pins ${unused.join(', ')}, which no service of the stack uses; run driftd lock`,
      field: 'images',
      live: unused,
    });
  }
  return findings;
}

export interface UnpinnedOptions {
  /** Also flag `:latest` and tagless references that are locked (drift-check does; lock --check does not). */
  floating: boolean;
}

/** image-unpinned, one per service: no lock entry (and no digest in the reference), or a floating tag. */
export function unpinnedFindings(stack: DesiredStack, lock: LockFile | undefined, opts: UnpinnedOptions): Finding[] {
  const findings: Finding[] = [];
  for (const service of stack.services) {
    if (service.image === '') continue;
    const parsed = tryParseImageRef(service.image);
    const reasons: string[] = [];
    if (!governingEntry(lock, service.image)) {
      reasons.push(lock ? `has no entry in ${lockFilePath(stack.name)}` : `is not locked (no ${lockFilePath(stack.name)})`);
    }
    if (opts.floating && parsed && isFloatingRef(parsed)) {
      reasons.push(parsed.tag === undefined ? 'has no tag (means :latest)' : `uses the floating tag :${effectiveTag(parsed)}`);
    }
    if (reasons.length === 0) continue;
    findings.push({
      kind: 'image-unpinned',
      stack: stack.name,
      service: service.name,
      severity: 'warning',
      message: `image ${service.image} of service ${service.name} ${reasons.join(' and ')}; pin a version tag and run driftd lock`,
      field: 'image',
      desired: service.image,
    });
  }
  return findings;
}

/** image-outdated, one per locked image the registry now resolves to other content. */
export function outdatedFindings(stack: DesiredStack, lock: LockFile | undefined, registry: RegistryDigests | undefined): Finding[] {
  const findings: Finding[] = [];
  for (const [image, services] of stackImages(stack)) {
    const entry = findLockEntry(lock, image);
    const now = lookupRegistryDigest(registry, image);
    if (!entry || !now || !isOutdated(entry, now)) continue;
    const names = services.map((s) => s.name);
    findings.push({
      kind: 'image-outdated',
      stack: stack.name,
      ...(names.length === 1 ? { service: names[0] } : {}),
      severity: 'warning',
      message: `the registry now serves ${shortDigest(topDigest(now))} for ${image} (locked: ${shortDigest(topDigest(entry))}, used by ${names.join(', ')}); run driftd lock to take it`,
      field: 'image',
      desired: { image, ...entry },
      live: { image, ...now },
    });
  }
  return findings;
}
