/**
 * Reads one manifest straight from a registry (Docker Registry HTTP API v2 / OCI distribution):
 * the engine's distribution endpoint names an index but does not return its entries, and the
 * platform manifest digest is one of them. Handles Basic and Bearer-token challenges and
 * verifies that the body hashes to the requested digest.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { DriftdError, describeError } from '../errors/index.js';
import type { RegistryCredentials } from './docker-auth.js';
import { DEFAULT_REGISTRY, type ImageRef } from './reference.js';
import type { IndexEntry } from './platform.js';

export const INDEX_MEDIA_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
export const MANIFEST_MEDIA_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Registries on the loopback interface speak plain HTTP, as the engine itself allows. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : (registry.split(':')[0] ?? registry);
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

export function registryBaseUrl(registry: string, plainHttp: boolean): string {
  const host = registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
  return `${plainHttp ? 'http' : 'https'}://${host}`;
}

export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"`. */
export function parseAuthChallenge(header: string): AuthChallenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m?.[1]) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    if (p[1]) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: m[1].toLowerCase(), params };
}

const tokenAnswer = z.union([z.object({ token: z.string().min(1) }), z.object({ access_token: z.string().min(1) })]);

const indexSchema = z.object({
  mediaType: z.string().optional(),
  manifests: z.array(
    z.object({
      mediaType: z.string().optional(),
      digest: z.string(),
      platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
    }),
  ),
});

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

export interface RegistryFetchOptions {
  credentials?: RegistryCredentials;
  plainHttp: boolean;
  timeoutMs?: number;
}

function registryError(image: string, reason: string, data: Record<string, unknown> = {}): DriftdError {
  return new DriftdError('RegistryError', `cannot read the manifest of ${image} from its registry: ${reason}`, { image, reason, ...data });
}

function basicHeader(creds: RegistryCredentials | undefined): string | undefined {
  if (creds?.username === undefined || creds.username === '') return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}`;
}

function digestOf(body: Buffer, algorithm: string): string | undefined {
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return undefined;
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

export async function fetchManifest(ref: ImageRef, reference: string, opts: RegistryFetchOptions): Promise<FetchedManifest> {
  const image = `${ref.registry}/${ref.repository}@${reference}`;
  const url = `${registryBaseUrl(ref.registry, opts.plainHttp)}/v2/${ref.repository}/manifests/${reference}`;
  const timeout = opts.timeoutMs ?? 30_000;
  const get = async (target: string, headers: Record<string, string>): Promise<Response> => {
    try {
      return await fetch(target, { headers, signal: AbortSignal.timeout(timeout), redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw registryError(image, cause?.code ?? cause?.message ?? describeError(e));
    }
  };
  const accept = { Accept: [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES].join(', ') };

  let res = await get(url, accept);
  if (res.status === 401) {
    const challenge = parseAuthChallenge(res.headers.get('www-authenticate') ?? '');
    await res.body?.cancel();
    const authorization = await authorize(challenge, ref, opts.credentials, get, image);
    res = await get(url, { ...accept, Authorization: authorization });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw registryError(image, `HTTP ${res.status} ${res.statusText}`.trim(), { status: res.status });
  }
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > MAX_MANIFEST_BYTES) {
    await res.body?.cancel();
    throw registryError(image, `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_MANIFEST_BYTES) throw registryError(image, `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`);
  const [algorithm] = reference.split(':');
  const isDigest = reference.includes(':');
  const computed = digestOf(body, isDigest ? (algorithm ?? '') : 'sha256');
  if (isDigest && computed !== reference) throw registryError(image, `the registry returned content that does not hash to ${reference}`);
  return {
    mediaType: (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '',
    digest: res.headers.get('docker-content-digest') ?? computed ?? reference,
    body,
  };
}

async function authorize(
  challenge: AuthChallenge | undefined,
  ref: ImageRef,
  creds: RegistryCredentials | undefined,
  get: (target: string, headers: Record<string, string>) => Promise<Response>,
  image: string,
): Promise<string> {
  const basic = basicHeader(creds);
  if (challenge?.scheme === 'basic') {
    if (basic === undefined) throw registryError(image, 'the registry requires a login (run docker login)', { status: 401 });
    return basic;
  }
  const realm = challenge?.params.realm;
  if (challenge?.scheme !== 'bearer' || realm === undefined) throw registryError(image, 'HTTP 401 without a usable authentication challenge', { status: 401 });
  const tokenUrl = new URL(realm);
  if (challenge.params.service !== undefined) tokenUrl.searchParams.set('service', challenge.params.service);
  tokenUrl.searchParams.set('scope', challenge.params.scope ?? `repository:${ref.repository}:pull`);
  const res = await get(tokenUrl.toString(), basic !== undefined ? { Authorization: basic } : {});
  if (!res.ok) {
    await res.body?.cancel();
    throw registryError(image, `the token service answered HTTP ${res.status}${basic === undefined ? ' (no credentials in the Docker config)' : ''}`, {
      status: res.status,
    });
  }
  const parsed = tokenAnswer.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) throw registryError(image, 'the token service gave no token');
  return `Bearer ${'token' in parsed.data ? parsed.data.token : parsed.data.access_token}`;
}

/** The entries of an image index; throws when the body is not an index. */
export function parseIndex(body: Buffer | string, image: string): IndexEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString());
  } catch {
    throw registryError(image, 'the index is not JSON');
  }
  const parsed = indexSchema.safeParse(raw);
  if (!parsed.success) throw registryError(image, 'the index has no manifests list');
  return parsed.data.manifests.map((m) => ({
    digest: m.digest,
    ...(m.mediaType !== undefined ? { mediaType: m.mediaType } : {}),
    ...(m.platform !== undefined ? { platform: m.platform } : {}),
  }));
}
