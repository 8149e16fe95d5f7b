/**
 * Registry credentials from the operator's Docker config (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`): `auths` entries (base64 `user:pass` or username/password, identity
 * tokens) and credential helpers (`credHelpers`, `credsStore`), as the docker CLI reads them.
 * Credentials only ever leave this module as an engine AuthConfig or an Authorization header:
 * never in a log line or an error message.
 */
import { registerSecrets } from '../util/scrub.js';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DriftdError, errnoCode } from '../errors/index.js';
import type { AuthConfig } from '../live/engine-api.js';
import { execFileCapture } from '../util/exec.js';
import { DEFAULT_REGISTRY } from './reference.js';

export interface RegistryCredentials {
  /** The address the engine expects in `serveraddress`. */
  serverAddress: string;
  username?: string;
  password?: string;
  /** An OAuth refresh token (docker login with an identity provider). */
  identityToken?: string;
}

/** The engine's `X-Registry-Auth` payload (the engine client encodes it). */
export function toAuthConfig(creds: RegistryCredentials): AuthConfig {
  if (creds.identityToken !== undefined) return { identitytoken: creds.identityToken, serveraddress: creds.serverAddress };
  return { username: creds.username ?? '', password: creds.password ?? '', serveraddress: creds.serverAddress };
}

const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const dockerConfigSchema = z.looseObject({
  auths: z
    .record(
      z.string(),
      z.looseObject({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
      }),
    )
    .optional(),
  credHelpers: z.record(z.string(), z.string().regex(/^[\w.-]+$/)).optional(),
  credsStore: z.string().regex(/^[\w.-]+$/).optional(),
});
type DockerConfig = z.infer<typeof dockerConfigSchema>;

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== '' ? env.DOCKER_CONFIG : path.join(env.HOME ?? os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** "https://ghcr.io/v2/" → "ghcr.io" (the docker CLI's convertToHostname). */
function hostnameOfKey(key: string): string {
  const noScheme = key.replace(/^[a-z]+:\/\//i, '');
  return noScheme.split('/')[0] ?? noScheme;
}

function keyMatches(key: string, registry: string): boolean {
  const host = hostnameOfKey(key);
  if (registry === DEFAULT_REGISTRY) return DOCKER_HUB_HOSTS.has(host);
  return host === registry;
}

function serverAddressFor(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_AUTH_KEY : registry;
}

function badConfig(file: string, reason: string): DriftdError {
  return new DriftdError('ConfigError', `Docker config ${file}: ${reason}; fix it or run docker login again`, { file });
}

function decodeBasic(file: string, key: string, auth: string): { username: string; password: string } {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw badConfig(file, `auths."${key}".auth is not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export type HelperRunner = (helper: string, serverAddress: string) => Promise<{ code: number; stdout: string; stderr: string }>;

const runHelper: HelperRunner = (helper, serverAddress) =>
  execFileCapture(`docker-credential-${helper}`, ['get'], { input: serverAddress, timeoutMs: 15_000 });

const helperAnswer = z.object({ Username: z.string(), Secret: z.string() });

export interface CredentialSource {
  /** Credentials for a registry host ("docker.io", "127.0.0.1:5000"), or undefined for anonymous access. */
  credentialsFor(registry: string): Promise<RegistryCredentials | undefined>;
  /** Where credentials come from, for messages ("/root/.docker/config.json"). */
  readonly configFile: string;
}

export interface CredentialSourceOptions {
  env?: NodeJS.ProcessEnv;
  /** Runs `docker-credential-<helper> get`; replaceable so tests can supply a helper. */
  runHelper?: HelperRunner;
}

export function createCredentialSource(opts: CredentialSourceOptions = {}): CredentialSource {
  const file = dockerConfigPath(opts.env);
  const run = opts.runHelper ?? runHelper;
  let config: Promise<DockerConfig> | undefined;
  const memo = new Map<string, Promise<RegistryCredentials | undefined>>();

  const load = async (): Promise<DockerConfig> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return {};
      throw badConfig(file, `cannot be read (${errnoCode(e) ?? 'error'})`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw badConfig(file, 'is not valid JSON');
    }
    const parsed = dockerConfigSchema.safeParse(raw);
    if (!parsed.success) throw badConfig(file, `${parsed.error.issues[0]?.path.join('.') ?? '(root)'} has an unexpected shape`);
    // Registry credentials are secrets for every output (util/scrub.ts): the base64 pair and what it holds.
    for (const a of Object.values(parsed.data.auths ?? {})) {
      const pair = a.auth ? Buffer.from(a.auth, 'base64').toString('utf8') : '';
      registerSecrets([a.auth, a.password, a.identitytoken, pair, pair.slice(pair.indexOf(':') + 1)]);
    }
    return parsed.data;
  };

  const fromHelper = async (helper: string, registry: string): Promise<RegistryCredentials | undefined> => {
    const serverAddress = serverAddressFor(registry);
    let result: Awaited<ReturnType<HelperRunner>>;
    try {
      result = await run(helper, serverAddress);
    } catch (e) {
      throw badConfig(file, `credential helper docker-credential-${helper} cannot be run (${errnoCode(e) ?? 'error'})`);
    }
    if (result.code !== 0) {
      // The helper's documented answer for "no credentials stored": anonymous access.
      if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
      throw badConfig(file, `credential helper docker-credential-${helper} failed for ${registry} (exit ${result.code})`);
    }
    let answer: z.infer<typeof helperAnswer>;
    try {
      answer = helperAnswer.parse(JSON.parse(result.stdout));
    } catch {
      throw badConfig(file, `credential helper docker-credential-${helper} gave an unreadable answer for ${registry}`);
    }
    registerSecrets([answer.Secret]);
    if (answer.Username === '<token>') return { serverAddress, identityToken: answer.Secret };
    return { serverAddress, username: answer.Username, password: answer.Secret };
  };

  const resolve = async (registry: string): Promise<RegistryCredentials | undefined> => {
    config ??= load();
    const cfg = await config;
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([key]) => keyMatches(key, registry))?.[1];
    if (helper !== undefined) return fromHelper(helper, registry);
    if (cfg.credsStore !== undefined) return fromHelper(cfg.credsStore, registry);
    const entry = Object.entries(cfg.auths ?? {}).find(([key]) => keyMatches(key, registry));
    if (!entry) return undefined;
    const [key, value] = entry;
    const serverAddress = serverAddressFor(registry);
    if (value.identitytoken !== undefined && value.identitytoken !== '') return { serverAddress, identityToken: value.identitytoken };
    if (value.auth !== undefined && value.auth !== '') return { serverAddress, ...decodeBasic(file, key, value.auth) };
    if (value.username !== undefined) return { serverAddress, username: value.username, password: value.password ?? '' };
    return undefined;
  };

  return {
    configFile: file,
    credentialsFor(registry) {
      let hit = memo.get(registry);
      if (!hit) {
        hit = resolve(registry);
        memo.set(registry, hit);
      }
      return hit;
    },
  };
}
