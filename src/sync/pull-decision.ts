/**
 * Whether a changed service's image must be pulled before `compose up` — pure. Pulling is what
 * makes a failed download harmless (it happens before any container is touched), but a pull
 * that cannot bring anything new only costs a Compose process and a registry round trip. So:
 *
 * - `pull_policy: never` / `build`: never pulled (Compose would not either).
 * - not on the host: pulled.
 * - `pull_policy: missing` / `if_not_present`: present is enough.
 * - pinned by digest (a lock entry or `@sha256:` in the file) and present: the content is fixed.
 * - otherwise (a tag; `always`, `daily`, `weekly`, `every_…` or no policy): pulled unless the
 *   registry's current digest for the tag is one the local image was pulled or pushed by. When the
 *   registry cannot say, the pull runs and reports the failure the way it always did.
 */
import { parseImageRef, parseRepoDigest, sameRepository, type ImageRef } from '../image/reference.js';

export interface PullCandidate {
  service: string;
  /** The reference `up` will run: the lock pin when there is one. */
  image: string;
  /** The service's `pull_policy`, as written. */
  pullPolicy?: string;
}

/** What the engine has: the local image's RepoDigests, undefined when it has no such image, or why it could not say. */
export type LocalImage = { repoDigests: readonly string[] } | { error: string } | undefined;
type PresentImage = { repoDigests: readonly string[] };

/** The registry's answer for a tag: its index and platform digests, or why it could not answer. */
export type RegistryAnswer = { digests: readonly string[] } | { error: string };

export type PullVerdict = { kind: 'pull' | 'skip'; reason: string };
/** `ask-registry` carries the local image the registry's answer is compared with. */
export type PullStep = PullVerdict | { kind: 'ask-registry'; local: PresentImage };

const NEVER = new Set(['never', 'build']);
const WHEN_MISSING = new Set(['missing', 'if_not_present']);

/** The reference to inspect on the engine: `repo@digest` for a pinned one (the tag adds nothing). */
export function localLookupRef(image: string): string {
  const ref = parseImageRef(image);
  return ref.digest ? `${ref.registry}/${ref.repository}@${ref.digest}` : image;
}

/** Decides from the service and the local image alone; `ask-registry` when only the registry can tell. */
export function pullStep(c: PullCandidate, local: LocalImage): PullStep {
  const policy = c.pullPolicy?.toLowerCase();
  if (policy !== undefined && NEVER.has(policy)) return { kind: 'skip', reason: `pull_policy: ${policy}` };
  if (local === undefined) return { kind: 'pull', reason: 'not on this host' };
  // The pull then runs and fails (or not) before any container is touched, as it always did.
  if ('error' in local) return { kind: 'pull', reason: `the local image could not be inspected (${local.error})` };
  if (policy !== undefined && WHEN_MISSING.has(policy)) return { kind: 'skip', reason: `pull_policy: ${policy} and present on this host` };
  if (parseImageRef(c.image).digest !== undefined) return { kind: 'skip', reason: 'pinned by digest and present on this host' };
  return { kind: 'ask-registry', local };
}

function pulledBy(ref: ImageRef, local: PresentImage, digests: readonly string[]): boolean {
  return local.repoDigests.some((entry) => {
    const d = parseRepoDigest(entry);
    return d !== undefined && sameRepository(d, ref) && digests.includes(d.digest);
  });
}

/** The decision once the registry has answered for a tag `pullStep` could not settle. */
export function pullAfterRegistry(c: PullCandidate, local: PresentImage, answer: RegistryAnswer): PullVerdict {
  if ('error' in answer) return { kind: 'pull', reason: `the registry could not be asked (${answer.error})` };
  if (pulledBy(parseImageRef(c.image), local, answer.digests)) return { kind: 'skip', reason: "the local image is the registry's current one" };
  return { kind: 'pull', reason: 'the registry has a newer image for the tag' };
}
