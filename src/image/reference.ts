/**
 * Image references (`[registry/]path[:tag][@digest]`) parsed and normalized the way the Docker
 * engine does (distribution/reference): docker.io is the default registry, single-component
 * Docker Hub names live under `library/`, and a reference with neither tag nor digest means `:latest`.
 */
import { DriftdError } from '../errors/index.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageRef {
  /** "docker.io", "ghcr.io", "127.0.0.1:5000", "[::1]:5000". */
  registry: string;
  /** Full repository path inside the registry: "library/nginx", "driftd/app". */
  repository: string;
  /** The tag as written; undefined when the reference has none. */
  tag?: string;
  /** "sha256:<hex>" when the reference is pinned. */
  digest?: string;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
export const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const MAX_NAME_LENGTH = 255;

function invalid(ref: string, reason: string): DriftdError {
  return new DriftdError('InvalidImageRef', `invalid image reference "${ref}": ${reason}; fix the image in the compose file`, {
    ref,
    reason,
  });
}

/** The first path component is a registry when it looks like a host (has "." or ":", is "localhost" or has capitals). */
function splitRegistry(name: string): [string | undefined, string] {
  const slash = name.indexOf('/');
  if (slash < 0) return [undefined, name];
  const first = name.slice(0, slash);
  const looksLikeHost = /[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase();
  return looksLikeHost ? [first, name.slice(slash + 1)] : [undefined, name];
}

/** Parses any reference Docker accepts. Throws `InvalidImageRef` naming the reference and the reason. */
export function parseImageRef(ref: string): ImageRef {
  if (ref.trim() !== ref || ref === '') throw invalid(ref, 'empty or surrounded by spaces');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, `"${digest}" is not a digest (expected algorithm:hex)`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw invalid(ref, `"${tag}" is not a valid tag`);
  }
  if (rest.length > MAX_NAME_LENGTH) throw invalid(ref, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  const [domain, path] = splitRegistry(rest);
  if (domain !== undefined && !DOMAIN.test(domain)) throw invalid(ref, `"${domain}" is not a valid registry host`);
  const components = path.split('/');
  for (const c of components) {
    if (!PATH_COMPONENT.test(c)) {
      throw invalid(ref, c !== c.toLowerCase() ? 'repository names must be lowercase' : `"${c}" is not a valid name component`);
    }
  }
  let registry = domain ?? DEFAULT_REGISTRY;
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  const repository = registry === DEFAULT_REGISTRY && components.length === 1 ? `library/${path}` : path;
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** parseImageRef for callers that treat an unparseable reference as "no evidence" rather than an error. */
export function tryParseImageRef(ref: string): ImageRef | undefined {
  try {
    return parseImageRef(ref);
  } catch {
    return undefined;
  }
}

/** "docker.io/library/nginx", "127.0.0.1:5000/driftd/app": the repository with its registry. */
export function fullName(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The short name people write: "nginx", "user/app", "127.0.0.1:5000/driftd/app". */
export function familiarName(ref: ImageRef): string {
  if (ref.registry !== DEFAULT_REGISTRY) return fullName(ref);
  return ref.repository.startsWith('library/') && ref.repository.split('/').length === 2 ? ref.repository.slice('library/'.length) : ref.repository;
}

/** The tag the engine would pull: the written one, "latest" when neither tag nor digest is given. */
export function effectiveTag(ref: ImageRef): string | undefined {
  return ref.tag ?? (ref.digest === undefined ? DEFAULT_TAG : undefined);
}

function suffix(ref: ImageRef): string {
  const tag = effectiveTag(ref);
  return `${tag !== undefined ? `:${tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** Fully qualified, with the default tag made explicit: "docker.io/library/nginx:latest". */
export function formatFull(ref: ImageRef): string {
  return fullName(ref) + suffix(ref);
}

/** Familiar form with the default tag made explicit: "nginx:latest", "127.0.0.1:5000/driftd/app:1.0@sha256:…". */
export function formatFamiliar(ref: ImageRef): string {
  return familiarName(ref) + suffix(ref);
}

/** The canonical key of a reference: two spellings of the same image give the same key. */
export function normalizeImageRef(ref: string): string {
  return formatFull(parseImageRef(ref));
}

/** normalizeImageRef, or undefined for a reference that does not parse. */
export function tryNormalizeImageRef(ref: string): string | undefined {
  const parsed = tryParseImageRef(ref);
  return parsed && formatFull(parsed);
}

/** True for `:latest` and for references with neither tag nor digest (docs/design.md §3 image-unpinned). */
export function isFloatingRef(ref: ImageRef): boolean {
  return ref.digest === undefined && effectiveTag(ref) === DEFAULT_TAG;
}

export function sameRepository(a: ImageRef, b: ImageRef): boolean {
  return a.registry === b.registry && a.repository === b.repository;
}

/** Parses a `RepoDigests` entry ("nginx@sha256:…"); undefined for anything else. */
export function parseRepoDigest(entry: string): (ImageRef & { digest: string }) | undefined {
  try {
    const parsed = parseImageRef(entry);
    return parsed.digest !== undefined ? { ...parsed, digest: parsed.digest } : undefined;
  } catch {
    return undefined;
  }
}
