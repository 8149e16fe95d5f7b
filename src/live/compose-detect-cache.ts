/**
 * `<cacheDir>/compose-cli.json`: the last successful Compose CLI detection and the fingerprint
 * it was made for, so that a new driftd process skips the `version` probes while nothing that
 * decides the answer changed. It is only a cache: a missing, corrupt or foreign file is a miss.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { lazy } from '../util/lazy.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { readJsonFile, writeJsonAtomic } from '../util/json-file.js';
import type { ComposeFingerprint, FileIdentity } from './compose-fingerprint.js';

export type ComposeCliName = Exclude<ResolvedConfig['composeCommand'], 'auto'>;

export interface Detection {
  name: ComposeCliName;
  /** e.g. "2.29.7" or "1.29.2". */
  version: string;
}

const fileIdentity = lazy(() =>
  z.object({
    path: z.string(),
    real: z.string(),
    size: z.number(),
    mtimeNs: z.string(),
    ino: z.string(),
  }) satisfies z.ZodType<FileIdentity>,
);

const cacheFile = lazy(() =>
  z.object({
    fingerprint: z.object({
      setting: z.string(),
      dockerHost: z.string(),
      path: z.string(),
      docker: fileIdentity().nullable(),
      dockerCompose: fileIdentity().nullable(),
      plugins: z.array(z.object({ dir: z.string(), file: fileIdentity().nullable() })),
    }) satisfies z.ZodType<ComposeFingerprint>,
    name: z.enum(['docker compose', 'docker-compose']) satisfies z.ZodType<ComposeCliName>,
    version: z.string().regex(/^\d+\.\d+\.\d+/),
  }),
);

const fileIn = (cacheDir: string): string => path.join(cacheDir, 'compose-cli.json');

/** The detection remembered for exactly this fingerprint, if any. Never throws. */
export async function readCachedDetection(cacheDir: string, fingerprint: ComposeFingerprint): Promise<Detection | undefined> {
  const cached = await readJsonFile(fileIn(cacheDir), cacheFile()).catch(() => undefined);
  if (!cached || !isDeepStrictEqual(cached.fingerprint, fingerprint)) return undefined;
  return { name: cached.name, version: cached.version };
}

export async function saveDetection(cacheDir: string, fingerprint: ComposeFingerprint, detection: Detection): Promise<void> {
  const entry: z.infer<ReturnType<typeof cacheFile>> = { fingerprint, ...detection };
  // A cache that cannot be written costs the next process one detection, not this sync.
  await writeJsonAtomic(fileIn(cacheDir), entry).catch(() => undefined);
}

/** Drops the remembered detection, so that the next process detects again. Never throws. */
export async function forgetDetection(cacheDir: string): Promise<void> {
  await rm(fileIn(cacheDir), { force: true }).catch(() => undefined);
}
