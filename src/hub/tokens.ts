/**
 * The hub's agent tokens (`hubServer.agentTokensFile`, a YAML map `<host>: <token>`): which token
 * may write which host's status. A token is looked up by its SHA-256 digest (tokens are long
 * random strings, so the lookup's timing says nothing useful), and the host it belongs to is
 * the only host it may report for. Kept in a Map, so a host named `constructor` is just a key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument } from 'yaml';
import { DriftdError } from '../errors/index.js';
import { HOST_NAME_RE } from './report.js';

/** Shorter tokens are refused: an agent token is the only thing between a network and a host's status. */
export const MIN_TOKEN_LENGTH = 16;
const MAX_FILE_BYTES = 4 * 1024 * 1024;

export interface AgentTokens {
  /** The host this token belongs to, if any. */
  hostOf(token: string): string | undefined;
  hosts: readonly string[];
  /** Every token (for the scrubber). */
  values: readonly string[];
}

const digest = (s: string): string => createHash('sha256').update(s).digest('hex');

export function agentTokens(map: ReadonlyMap<string, string>): AgentTokens {
  const byDigest = new Map<string, string>();
  for (const [host, token] of map) byDigest.set(digest(token), host);
  return { hostOf: (token) => byDigest.get(digest(token)), hosts: [...map.keys()].sort(), values: [...map.values()] };
}

/** Parses the tokens file's text; every problem is a ConfigError naming the file (never the token). */
export function parseAgentTokens(text: string, file: string): Map<string, string> {
  const bad = (why: string): DriftdError => new DriftdError('ConfigError', `hubServer.agentTokensFile ${file}: ${why}`, { key: 'hubServer.agentTokensFile', file });
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw bad(`not valid YAML (${doc.errors[0]?.message.split('\n')[0] ?? 'parse error'})`);
  const out = new Map<string, string>();
  if (doc.contents === null) return out;
  if (!isMap(doc.contents)) throw bad('must be a map of <host>: <token>');
  const seen = new Set<string>();
  for (const pair of doc.contents.items) {
    const host = isScalar(pair.key) ? pair.key.value : undefined;
    const token = isScalar(pair.value) ? pair.value.value : undefined;
    if (typeof host !== 'string' || !HOST_NAME_RE.test(host)) throw bad(`"${String(host)}" is not a host name`);
    if (typeof token !== 'string' || token.trim().length < MIN_TOKEN_LENGTH) throw bad(`the token of ${host} must be a string of at least ${MIN_TOKEN_LENGTH} characters`);
    const t = token.trim();
    if (seen.has(t)) throw bad(`the token of ${host} is also another host's token (each host needs its own)`);
    seen.add(t);
    out.set(host, t);
  }
  return out;
}

export function readAgentTokens(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DriftdError('ConfigError', `hubServer.agentTokensFile ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { key: 'hubServer.agentTokensFile', file });
  }
  if (text.length > MAX_FILE_BYTES) throw new DriftdError('ConfigError', `hubServer.agentTokensFile ${file} is over ${MAX_FILE_BYTES} bytes`, { key: 'hubServer.agentTokensFile', file });
  return parseAgentTokens(text, file);
}
