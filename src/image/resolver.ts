/**
 * Resolves image references to digests through the Docker engine's distribution endpoint
 * (with the operator's registry credentials), reading the index from the registry when the
 * tag is multi-platform. One request per distinct image per resolver: create one per run.
 */
import { z } from 'zod';
import { DriftdError, isDriftdError } from '../errors/index.js';
import { dockerAddress, dockerErrorReason, parseDockerResponse, toDockerError } from '../live/docker-call.js';
import type { EngineApi } from '../live/engine-api.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { toAuthConfig, type CredentialSource } from './docker-auth.js';
import {
  distributionSchema,
  indexOnlyResolution,
  interpretDistribution,
  noPlatformError,
  resolveFromIndex,
  type Resolution,
} from './distribution.js';
import { formatFamiliar, normalizeImageRef, parseImageRef, parseRepoDigest, sameRepository, type ImageRef } from './reference.js';
import { enginePlatform, formatPlatform, normalizePlatform, selectPlatformManifest, type IndexEntry, type Platform } from './platform.js';
import { fetchManifest, isLoopbackRegistry, parseIndex } from './registry-http.js';

export interface ResolvedImage extends Resolution {
  /** "registry": answered by the registry now; "local": the local image's repo digest (offline fallback). */
  source: 'registry' | 'local';
  /** Set when the answer is weaker than a full registry resolution, and why. */
  warning?: string;
}

export interface DigestResolver {
  /** The host platform digests are resolved for. */
  platform(): Promise<Platform>;
  /** Throws `RegistryError` naming the image when it cannot be resolved (and, offline, has no local copy). */
  resolve(ref: string): Promise<ResolvedImage>;
}

export interface ResolverOptions {
  docker: EngineApi;
  /** Registry credentials; anonymous access when absent. */
  credentials?: CredentialSource;
  /** When the registry cannot answer, fall back to the local image's repo digests. */
  offline?: boolean;
  logger?: Logger;
  /** Resolve for this platform instead of the engine's. */
  platform?: Platform;
}

const engineFactsSchema = z.object({
  version: z.object({ Os: z.string().optional(), Arch: z.string().optional() }).loose(),
  info: z
    .object({
      OSType: z.string().optional(),
      Architecture: z.string().optional(),
      RegistryConfig: z
        .object({ IndexConfigs: z.record(z.string(), z.object({ Secure: z.boolean().optional() }).loose()).nullish() })
        .loose()
        .nullish(),
    })
    .loose(),
});

interface EngineFacts {
  platform: Platform;
  /** Registries the engine talks to over plain HTTP (its insecure-registries setting). */
  insecure: Set<string>;
}

const localImageSchema = z
  .object({
    RepoDigests: z.array(z.string()).nullish(),
    Os: z.string().optional(),
    Architecture: z.string().optional(),
    Variant: z.string().optional(),
  })
  .loose();

const NEXT_STEP = 'check that the registry is reachable and the tag exists, or use --offline to lock from local images';

export function createDigestResolver(opts: ResolverOptions): DigestResolver {
  const { docker } = opts;
  const logger = opts.logger ?? silentLogger;
  const address = dockerAddress(docker);
  const memo = new Map<string, Promise<ResolvedImage>>();
  let facts: Promise<EngineFacts> | undefined;

  const engineFacts = (): Promise<EngineFacts> => {
    facts ??= (async () => {
      let raw: { version: unknown; info: unknown };
      try {
        raw = { version: await docker.version(), info: await docker.info() };
      } catch (e) {
        throw toDockerError(e, 'version/info', address);
      }
      const parsed = parseDockerResponse(engineFactsSchema, raw, 'version/info', address);
      const insecure = new Set(
        Object.entries(parsed.info.RegistryConfig?.IndexConfigs ?? {})
          .filter(([, c]) => c.Secure === false)
          .map(([name]) => name),
      );
      return { platform: opts.platform ? normalizePlatform(opts.platform) : enginePlatform(parsed.version, parsed.info), insecure };
    })();
    return facts;
  };

  /** One sentence: which image, which registry, the engine's reason, what to do next. */
  const registryFailure = async (ref: ImageRef, image: string, reason: string, next: string, cause?: unknown): Promise<DriftdError> => {
    const creds = await opts.credentials?.credentialsFor(ref.registry).catch(() => undefined);
    const hint =
      creds === undefined && opts.credentials !== undefined && /unauthori[sz]ed|denied|401|403|no basic auth credentials|authentication required/i.test(reason)
        ? `; there are no credentials for ${ref.registry} in ${opts.credentials.configFile} (run docker login ${ref.registry})`
        : '';
    return new DriftdError(
      'RegistryError',
      `cannot resolve image ${image} through registry ${ref.registry}: ${reason}${hint}; ${next}`,
      { image, registry: ref.registry, reason },
      cause === undefined ? {} : { cause },
    );
  };

  const readIndex = async (ref: ImageRef, image: string, indexDigest: string, offered: Platform[], host: Platform, insecure: Set<string>): Promise<ResolvedImage> => {
    if (offered.length > 0 && !selectPlatformManifest(offered.map((platform) => ({ digest: indexDigest, platform })), host)) {
      throw noPlatformError(image, host, offered);
    }
    let entries: IndexEntry[];
    try {
      const credentials = await opts.credentials?.credentialsFor(ref.registry);
      const fetched = await fetchManifest(ref, indexDigest, {
        plainHttp: isLoopbackRegistry(ref.registry) || insecure.has(ref.registry),
        ...(credentials ? { credentials } : {}),
      });
      entries = parseIndex(fetched.body, image);
    } catch (e) {
      const reason = isDriftdError(e) && 'reason' in e.data && typeof e.data.reason === 'string' ? e.data.reason : dockerErrorReason(e);
      const warning = `the index of ${image} could not be read from the registry (${reason}); recorded the index digest as the platform digest too`;
      logger.warn({ image }, warning);
      return { source: 'registry', warning, ...indexOnlyResolution(indexDigest, host) };
    }
    return { source: 'registry', ...resolveFromIndex(image, indexDigest, entries, host) };
  };

  const fromLocalImage = async (ref: ImageRef, image: string, reason: string): Promise<ResolvedImage> => {
    let raw: unknown;
    try {
      raw = await docker.getImage(image).inspect();
    } catch (e) {
      const dockerError = toDockerError(e, 'image inspect', address);
      if (dockerError.code === 'DockerUnreachable') throw dockerError;
      throw await registryFailure(ref, image, reason, `there is no local copy of ${image} to lock offline either; pull it first`, e);
    }
    const local = parseDockerResponse(localImageSchema, raw, 'image inspect', address);
    const repoDigests = (local.RepoDigests ?? []).map(parseRepoDigest).filter((d) => d !== undefined && sameRepository(d, ref));
    const digest = ref.digest ?? repoDigests[0]?.digest;
    if (digest === undefined) {
      throw await registryFailure(ref, image, reason, `the local image ${image} has no repo digest to lock offline (it was built here or never pushed); push or pull it first`);
    }
    const platform = formatPlatform({ os: local.Os ?? 'linux', architecture: local.Architecture ?? 'amd64', ...(local.Variant ? { variant: local.Variant } : {}) });
    const warning = `registry unreachable for ${image} (${reason}); locked from the local image's repo digest, not checked against the registry`;
    logger.warn({ image }, warning);
    return { source: 'local', digest, platform, warning };
  };

  const resolveOnce = async (image: string): Promise<ResolvedImage> => {
    const ref = parseImageRef(image);
    const { platform: host, insecure } = await engineFacts();
    const name = formatFamiliar(ref);
    let raw: unknown;
    try {
      const credentials = await opts.credentials?.credentialsFor(ref.registry);
      raw = await docker.getImage(name).distribution(credentials ? { authconfig: toAuthConfig(credentials) } : {});
    } catch (e) {
      if (isDriftdError(e)) throw e;
      const dockerError = toDockerError(e, 'distribution', address);
      if (dockerError.code === 'DockerUnreachable') throw dockerError;
      if (opts.offline) return fromLocalImage(ref, image, dockerErrorReason(e));
      throw await registryFailure(ref, image, dockerErrorReason(e), NEXT_STEP, e);
    }
    const parsed = distributionSchema.safeParse(raw);
    if (!parsed.success) throw await registryFailure(ref, image, 'the engine gave an unexpected distribution answer', NEXT_STEP);
    const answer = interpretDistribution(parsed.data, host);
    if (answer.kind === 'manifest') return { source: 'registry', ...answer.resolution };
    return readIndex(ref, image, answer.indexDigest, answer.platforms, host, insecure);
  };

  return {
    async platform() {
      return (await engineFacts()).platform;
    },
    async resolve(image) {
      const key = normalizeImageRef(image);
      let hit = memo.get(key);
      if (!hit) {
        hit = resolveOnce(image);
        memo.set(key, hit);
      }
      return hit;
    },
  };
}
