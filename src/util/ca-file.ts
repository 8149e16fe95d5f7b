import { readFileSync } from 'node:fs';
import { DriftdError } from '../errors/index.js';

/** A PEM CA file to trust for an https hub (`hub.caFile`, `--ca-file`); unreadable or not PEM: a ConfigError naming `key`. */
export function readCaFile(file: string, key: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DriftdError('ConfigError', `${key} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { key });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new DriftdError('ConfigError', `${key} ${file} holds no PEM certificate`, { key });
  return pem;
}
