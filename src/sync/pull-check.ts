/**
 * Asks the engine (and, for tags, the registry through the engine) what `pull-decision.ts` needs
 * to know, and returns the services that must be pulled before `up`.
 */
import { z } from 'zod';
import { describeError } from '../errors/index.js';
import { callDocker, parseDockerResponse } from '../live/docker-call.js';
import type { DigestResolver } from '../image/resolver.js';
import { localLookupRef, pullAfterRegistry, pullStep, type LocalImage, type PullCandidate, type RegistryAnswer } from './pull-decision.js';

export interface PullCheckDeps {
  docker: { getImage(name: string): { inspect(): Promise<unknown> } };
  /** The engine address, for error messages. */
  address: string;
  /** Made on first use: a deploy whose images are all settled locally asks no registry. */
  resolver: () => Pick<DigestResolver, 'resolve'>;
}

export interface PullSelection {
  /** Services whose images `compose pull` must fetch, in the order given. */
  pull: string[];
  /** One line per service: pulled or not, and why (kept in the operation's output). */
  notes: string[];
}

const localImageSchema = z.object({ RepoDigests: z.array(z.string()).nullish() }).loose();

async function localImage(deps: PullCheckDeps, image: string): Promise<LocalImage> {
  try {
    const raw = await callDocker(`inspect image ${image}`, deps.address, () => deps.docker.getImage(localLookupRef(image)).inspect(), true);
    if (raw === undefined) return undefined;
    return { repoDigests: parseDockerResponse(localImageSchema, raw, 'image inspect', deps.address).RepoDigests ?? [] };
  } catch (e) {
    return { error: describeError(e) };
  }
}

async function registryAnswer(deps: PullCheckDeps, image: string): Promise<RegistryAnswer> {
  try {
    const r = await deps.resolver().resolve(image);
    return { digests: [r.digest, ...(r.indexDigest ? [r.indexDigest] : [])] };
  } catch (e) {
    return { error: describeError(e) };
  }
}

/** Never throws: whatever cannot be asked (engine or registry) means "pull", whose failure leaves the stack as it was. */
export async function servicesToPull(deps: PullCheckDeps, candidates: readonly PullCandidate[]): Promise<PullSelection> {
  const decided = await Promise.all(
    candidates.map(async (c) => {
      const step = pullStep(c, await localImage(deps, c.image));
      const verdict = step.kind === 'ask-registry' ? pullAfterRegistry(c, step.local, await registryAnswer(deps, c.image)) : step;
      return { c, verdict };
    }),
  );
  return {
    pull: decided.filter((d) => d.verdict.kind === 'pull').map((d) => d.c.service),
    notes: decided.map(({ c, verdict }) => `${c.service} (${c.image}): ${verdict.kind === 'pull' ? 'pull' : 'no pull'}: ${verdict.reason}`),
  };
}
