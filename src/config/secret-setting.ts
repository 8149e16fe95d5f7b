import { readFileSync } from 'node:fs';
import { errnoCode } from '../errors/index.js';

/**
 * A secret named in the config by an environment variable (`<key>Env`) or a file (`<key>File`).
 * Resolving never throws: every command resolves the config, but only the one that needs the
 * secret (the agent, for its HTTP API) refuses to start on `problem`, with that one sentence.
 */
export interface SecretSetting {
  /** The config key without its suffix, e.g. `http.readToken`. */
  key: string;
  value?: string;
  /** Why there is no usable value: a variable not set or empty, a file unreadable or empty. */
  problem?: string;
}

/** Reads `<key>Env` or `<key>File`; undefined when neither is configured. */
export function secretSetting(key: string, env: NodeJS.ProcessEnv, envName: string | undefined, file: string | undefined): SecretSetting | undefined {
  if (envName === undefined && file === undefined) return undefined;
  if (envName !== undefined && file !== undefined) return { key, problem: `set only one of ${key}Env and ${key}File` };
  if (envName !== undefined) {
    const value = env[envName];
    if (value === undefined) return { key, problem: `${key}Env names the environment variable ${envName}, which is not set` };
    if (value.trim() === '') return { key, problem: `${key}Env names the environment variable ${envName}, which is empty` };
    return { key, value };
  }
  let text: string;
  try {
    text = readFileSync(file as string, 'utf8');
  } catch (e) {
    const code = errnoCode(e) ?? 'error';
    return { key, problem: `${key}File ${file} cannot be read (${code})` };
  }
  // A trailing newline from `echo … > file` is not part of the secret.
  const value = text.trim();
  if (value === '') return { key, problem: `${key}File ${file} is empty` };
  return { key, value };
}
