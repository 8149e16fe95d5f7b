/**
 * `driftd lock [--stack S]… [--check] [--offline]`: resolves every image of the selected stacks
 * to digests and writes `locks/<stack>.lock.json`, or (--check) reports stale and outdated
 * locks without writing. Every image is resolved before anything is written, so a registry
 * failure leaves every lock file as it was.
 */
import { setOwn } from '../util/dict.js';
import type { DesiredStack } from '../compose/model.js';
import { loadStack, stackFolders } from '../compose/index.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { createDockerClient, pingDocker } from '../live/docker-client.js';
import { openStateForCaching } from './state-access.js';
import { describeError, DriftdError, isDriftdError } from '../errors/index.js';
import type { LockFile } from '../lock/model.js';
import type { Finding } from '../drift/model.js';
import type { EngineApi } from '../live/engine-api.js';
import type { Logger } from '../util/logger.js';
import { createCredentialSource, type CredentialSource } from '../image/docker-auth.js';
import type { DigestCache } from '../image/digest-cache.js';
import { outdatedFindings, stackImages, staleLockFindings, unpinnedFindings } from '../drift/lock-findings.js';
import { registryDigestOf, type RegistryDigest } from '../image/digest.js';
import { normalizeImageRef } from '../image/reference.js';
import { findLockEntry, lockFilePath, readLockFile, writeLockFile } from '../lock/lock-file.js';
import { formatPlatform } from '../image/platform.js';
import { createDigestResolver, type DigestResolver, type ResolvedImage } from '../image/resolver.js';

export type LockStackStatus = 'written' | 'unchanged' | 'current' | 'stale' | 'outdated' | 'error';

export interface LockStackResult {
  stack: string;
  status: LockStackStatus;
  /** lock-stale / image-unpinned / image-outdated (check mode). */
  findings: Finding[];
  /** What the user should know that is not a finding: offline fallbacks, unchecked images. */
  warnings: string[];
  /** Repo-relative path of the lock file. */
  file: string;
  /** Why the stack could not be evaluated (status "error"). */
  error?: string;
}

export interface LockCommandResult {
  results: LockStackResult[];
  /** 0 ok, 2 stale/outdated locks (check), 1 a stack could not be evaluated. */
  exitCode: 0 | 1 | 2;
}

export interface LockOptions {
  /** The working directory whose `locks/` is read (check) and written. */
  root: string;
  /** The selected stacks, already loaded (and filtered by --stack) by the caller. */
  desired: DesiredStack[];
  docker: EngineApi;
  check: boolean;
  /** Registry unreachable: lock from the local images' repo digests (write) or skip the outdated check (check), with a warning. */
  offline: boolean;
  logger: Logger;
  /** Refreshed with every registry answer, so drift-check's image-outdated starts from fresh data. */
  cache?: DigestCache;
  /** Registry credentials; the operator's Docker config by default. */
  credentials?: CredentialSource;
  /** Replaces the engine-backed resolver (one per run: it caches every answer). */
  resolver?: DigestResolver;
}

/** Resolves each distinct image once, in order; the first failure propagates unless `tolerate` takes it. */
async function resolveAll(
  resolver: DigestResolver,
  images: Iterable<string>,
  tolerate?: (image: string, error: unknown) => boolean,
): Promise<Map<string, ResolvedImage>> {
  const out = new Map<string, ResolvedImage>();
  for (const image of images) {
    if (out.has(image)) continue;
    try {
      out.set(image, await resolver.resolve(image));
    } catch (e) {
      if (!tolerate?.(image, e)) throw e;
    }
  }
  return out;
}

async function remember(resolver: DigestResolver, cache: DigestCache | undefined, resolved: Map<string, ResolvedImage>): Promise<void> {
  if (!cache) return;
  const platform = formatPlatform(await resolver.platform());
  for (const [image, r] of resolved) {
    if (r.source !== 'registry') continue;
    cache.putCachedDigest({ imageRef: normalizeImageRef(image), platform, ...registryDigestOf(r) });
  }
}

function buildLock(stack: DesiredStack, resolved: Map<string, ResolvedImage>): LockFile {
  const images: LockFile['images'] = {};
  for (const [image] of stackImages(stack)) {
    const r = resolved.get(image);
    if (!r) continue;
    setOwn(images, image, { ...registryDigestOf(r), platform: r.platform });
  }
  return { version: 1, stack: stack.name, composeSha256: stack.composeSha256, images };
}

async function writeLocks(opts: LockOptions, resolver: DigestResolver): Promise<LockStackResult[]> {
  const resolved = await resolveAll(
    resolver,
    opts.desired.flatMap((s) => stackImages(s).map(([image]) => image)),
  );
  const results: LockStackResult[] = [];
  for (const stack of opts.desired) {
    const lock = buildLock(stack, resolved);
    const status = await writeLockFile(opts.root, lock);
    const warnings = Object.keys(lock.images).flatMap((image) => {
      const w = resolved.get(image)?.warning;
      return w !== undefined ? [w] : [];
    });
    opts.logger.info({ stack: stack.name, file: lockFilePath(stack.name), images: Object.keys(lock.images).length }, `lock ${status}`);
    results.push({ stack: stack.name, status, findings: [], warnings, file: lockFilePath(stack.name) });
  }
  await remember(resolver, opts.cache, resolved);
  return results;
}

function noLockFinding(stack: DesiredStack): Finding {
  return {
    kind: 'lock-stale',
    stack: stack.name,
    severity: 'warning',
    message: `${lockFilePath(stack.name)} does not exist; run driftd lock`,
  };
}

async function checkLocks(opts: LockOptions, resolver: DigestResolver): Promise<LockStackResult[]> {
  const locks = new Map<string, LockFile | undefined>();
  const failed = new Map<string, string>();
  for (const stack of opts.desired) {
    try {
      locks.set(stack.name, await readLockFile(opts.root, stack.name));
    } catch (e) {
      if (!isDriftdError(e)) throw e;
      failed.set(stack.name, describeError(e));
    }
  }
  const unchecked = new Map<string, string>();
  const toResolve = opts.desired.flatMap((s) => stackImages(s).map(([image]) => image).filter((image) => findLockEntry(locks.get(s.name), image)));
  const resolved = await resolveAll(resolver, toResolve, (image, e) => {
    if (!opts.offline || !isDriftdError(e) || e.code !== 'RegistryError') return false;
    unchecked.set(image, `${describeError(e)} (offline: not checked for a newer digest)`);
    return true;
  });
  await remember(resolver, opts.cache, resolved);
  const now = new Map<string, RegistryDigest>([...resolved].map(([image, r]) => [image, registryDigestOf(r)]));

  return opts.desired.map((stack): LockStackResult => {
    const file = lockFilePath(stack.name);
    const error = failed.get(stack.name);
    if (error !== undefined) return { stack: stack.name, status: 'error', findings: [], warnings: [], file, error };
    const lock = locks.get(stack.name);
    const images = stackImages(stack);
    if (!lock) {
      const findings = images.length > 0 ? [noLockFinding(stack)] : [];
      return { stack: stack.name, status: findings.length > 0 ? 'stale' : 'current', findings, warnings: [], file };
    }
    const stale = [...staleLockFindings(stack, lock), ...unpinnedFindings(stack, lock, { floating: false })];
    const outdated = outdatedFindings(stack, lock, now);
    const warnings = images.flatMap(([image]) => {
      const w = unchecked.get(image) ?? resolved.get(image)?.warning;
      return w !== undefined ? [w] : [];
    });
    const status = stale.length > 0 ? 'stale' : outdated.length > 0 ? 'outdated' : 'current';
    return { stack: stack.name, status, findings: [...stale, ...outdated], warnings, file };
  });
}

export async function lock(opts: LockOptions): Promise<LockCommandResult> {
  const credentials = opts.credentials ?? createCredentialSource();
  // In check mode --offline never substitutes local digests for registry answers: it only
  // tolerates an unreachable registry.
  const resolver =
    opts.resolver ?? createDigestResolver({ docker: opts.docker, credentials, offline: opts.offline && !opts.check, logger: opts.logger });
  const results = opts.check ? await checkLocks(opts, resolver) : await writeLocks(opts, resolver);
  const exitCode = results.some((r) => r.status === 'error') ? 1 : results.some((r) => r.status === 'stale' || r.status === 'outdated') ? 2 : 0;
  return { results, exitCode };
}

export interface LockRepoOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** --stack: these stacks only (default: every stack folder of the checkout). */
  stacks: readonly string[];
  check: boolean;
  offline: boolean;
  /** Told about each stack that could not be loaded as soon as it fails (before Docker is asked). */
  onLoadError?: (stack: string, message: string) => void;
}

export interface LockRepoResult {
  /** What `lock` did, stack by stack (what `--json` prints). */
  result: LockCommandResult;
  /** Stacks whose compose files could not be loaded: not locked. */
  loadErrors: { stack: string; message: string }[];
  /** The result's exit code, or 1 when a stack could not be loaded. */
  exitCode: 0 | 1 | 2;
}

/**
 * `driftd lock` on a checkout's working tree: the operator locks the compose files they are about
 * to commit, so the stacks are read from disk (every stack, whatever host it is for).
 */
export async function lockRepo(opts: LockRepoOptions): Promise<LockRepoResult> {
  const { config } = opts;
  if (!config.repoIsLocal) {
    throw new DriftdError('UsageError', 'driftd lock writes locks/ into a checkout: run it inside the desired-state checkout or pass --repo <path>');
  }
  const names = opts.stacks.length > 0 ? opts.stacks : stackFolders(config.repo);
  const stacks: DesiredStack[] = [];
  const loadErrors: LockRepoResult['loadErrors'] = [];
  for (const name of names) {
    try {
      stacks.push(await loadStack({ root: config.repo, name, envDir: config.envDir, maxFileBytes: config.validate.maxFileBytes }));
    } catch (e) {
      loadErrors.push({ stack: name, message: describeError(e) });
      opts.onLoadError?.(name, describeError(e));
    }
  }
  const conn = createDockerClient(config);
  await pingDocker(conn.docker, conn.address);
  const state = openStateForCaching(config.dataDir);
  try {
    const result = await lock({
      root: config.repo,
      desired: stacks,
      docker: conn.docker,
      check: opts.check,
      offline: opts.offline,
      logger: opts.logger,
      ...(state && !state.readonly ? { cache: state } : {}),
    });
    return { result, loadErrors, exitCode: loadErrors.length > 0 ? 1 : result.exitCode };
  } finally {
    state?.close();
  }
}
