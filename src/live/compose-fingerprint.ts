/**
 * Everything that decides which Compose CLI detection finds on this host, read with a few
 * stat calls instead of running `version` (docker-compose v1 needs ~0.4 s to print it).
 * Two equal fingerprints mean a detection made for one holds for the other.
 */
import { realpath, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import { readJsonFile } from '../util/json-file.js';

/** Where the Docker CLI on Linux looks for plugins after its config dir and config.json's cliPluginsExtraDirs. */
export const SYSTEM_PLUGIN_DIRS: readonly string[] = [
  '/usr/local/lib/docker/cli-plugins',
  '/usr/local/libexec/docker/cli-plugins',
  '/usr/lib/docker/cli-plugins',
  '/usr/libexec/docker/cli-plugins',
];

/** The file a program name resolved to, identified well enough to notice an upgrade. */
export interface FileIdentity {
  /** Where it was found (PATH entry or plugin dir). */
  path: string;
  /** After symlinks. */
  real: string;
  size: number;
  mtimeNs: string;
  ino: string;
}

export interface ComposeFingerprint {
  /** compose.command: "auto", "docker compose" or "docker-compose". */
  setting: string;
  dockerHost: string;
  path: string;
  docker: FileIdentity | null;
  dockerCompose: FileIdentity | null;
  /** Every plugin dir the Docker CLI searches, in its order, with the Compose plugin there if any. */
  plugins: { dir: string; file: FileIdentity | null }[];
}

export interface FingerprintInput {
  setting: string;
  /** The environment Compose runs with (PATH, DOCKER_HOST, DOCKER_CONFIG, HOME). */
  env: NodeJS.ProcessEnv;
  systemPluginDirs: readonly string[];
}

// libuv searches this when the environment has no PATH.
const DEFAULT_PATH = '/usr/bin:/bin';

const dockerConfigFile = lazy(() => z.object({ cliPluginsExtraDirs: z.array(z.string()).optional() }));

/** The executable file at `file` (symlinks followed), or null when the CLI could not run it either. */
async function identify(file: string): Promise<FileIdentity | null> {
  try {
    const real = await realpath(file);
    const st = await stat(real, { bigint: true });
    if (!st.isFile() || (st.mode & 0o111n) === 0n) return null;
    return { path: file, real, size: Number(st.size), mtimeNs: String(st.mtimeNs), ino: String(st.ino) };
  } catch {
    // Missing, a dangling link, a dir in the way, no permission: nothing runnable here.
    return null;
  }
}

/** What spawn would run for `program`: the first executable in PATH order. */
async function findOnPath(program: string, searchPath: string): Promise<FileIdentity | null> {
  const dirs = searchPath.split(path.delimiter).map((dir) => path.resolve(dir || '.'));
  const found = await Promise.all(dirs.map((dir) => identify(path.join(dir, program))));
  return found.find((f) => f !== null) ?? null;
}

/** The Docker CLI's plugin search order: its config dir, config.json's extra dirs, then the system dirs. */
async function pluginDirs(env: NodeJS.ProcessEnv, systemPluginDirs: readonly string[]): Promise<string[]> {
  const configDir = path.resolve(env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker'));
  // An unreadable config.json adds no dirs; the Docker CLI itself then warns and uses its defaults.
  const config = await readJsonFile(path.join(configDir, 'config.json'), dockerConfigFile()).catch(() => undefined);
  return [path.join(configDir, 'cli-plugins'), ...(config?.cliPluginsExtraDirs ?? []).map((dir) => path.resolve(dir)), ...systemPluginDirs];
}

export async function composeFingerprint(input: FingerprintInput): Promise<ComposeFingerprint> {
  const searchPath = input.env.PATH ?? DEFAULT_PATH;
  const dirs = await pluginDirs(input.env, input.systemPluginDirs);
  const [docker, dockerCompose, plugins] = await Promise.all([
    findOnPath('docker', searchPath),
    findOnPath('docker-compose', searchPath),
    Promise.all(dirs.map(async (dir) => ({ dir, file: await identify(path.join(dir, 'docker-compose')) }))),
  ]);
  return { setting: input.setting, dockerHost: input.env.DOCKER_HOST ?? '', path: searchPath, docker, dockerCompose, plugins };
}

export function hasComposePlugin(fingerprint: ComposeFingerprint): boolean {
  return fingerprint.plugins.some((p) => p.file !== null);
}
