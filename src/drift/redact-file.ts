/**
 * Redaction of repo file content before it is diffed (revision-behind), so that a diff shows
 * *that* a secret changed (its short hash changes) but never the secret itself.
 */
import path from 'node:path';
import type { DesiredService, DesiredStack } from '../compose/model.js';
import { redactValue } from '../util/redact.js';
import { configFilePaths, envFilePaths, secretFilePaths } from './compose-names.js';
import type { StackSecrets } from './stack-secrets.js';

/**
 * - `secret-file`: a file-based Compose secret: every line is secret.
 * - `env-file`: an `env_file:` of some service (or named like one): every value is secret.
 * - `dotenv`: the stack's `.env` (interpolation): values of secret keys (secret-looking, or from an env_file).
 * - `plain`: anything else: `key: value` / `KEY=value` lines with such keys.
 */
export type FileSecrecy = 'secret-file' | 'env-file' | 'dotenv' | 'plain';

function clean(p: string): string {
  return path.posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\//, '');
}

function refersTo(ref: string, stackRelPath: string): boolean {
  const r = clean(ref);
  return r === stackRelPath || r.endsWith(`/${stackRelPath}`);
}

function isUnder(rel: string, dir: string): boolean {
  return dir === '.' || rel === dir || rel.startsWith(`${dir}/`);
}

/**
 * Is `rel` an `env_file:` of the service? The loader lists env files among `mountedFiles` together
 * with the files under bind sources and the files of configs/secrets; what is left is an env file.
 */
function isEnvFileOf(service: DesiredService, rel: string, definitionFiles: readonly string[]): boolean {
  if (envFilePaths(service).some((f) => refersTo(f, rel))) return true;
  if (!service.mountedFiles.some((f) => clean(f) === rel)) return false;
  const bindDirs = service.mounts.filter((m) => m.type === 'bind' && m.source !== undefined && !path.posix.isAbsolute(m.source)).map((m) => clean(m.source ?? '.'));
  return !bindDirs.some((dir) => isUnder(rel, dir)) && !definitionFiles.some((f) => refersTo(f, rel));
}

/** `repoPath` is repo-relative ("stacks/edge/app.env"). */
export function classifyFile(repoPath: string, stack: DesiredStack | undefined): FileSecrecy {
  const p = clean(repoPath);
  const prefix = stack ? `stacks/${stack.name}/` : undefined;
  const rel = prefix !== undefined && p.startsWith(prefix) ? p.slice(prefix.length) : p;
  if (stack && secretFilePaths(stack).some((f) => refersTo(f, rel))) return 'secret-file';
  const definitionFiles = stack ? [...secretFilePaths(stack), ...configFilePaths(stack)] : [];
  if (stack?.services.some((s) => isEnvFileOf(s, rel, definitionFiles))) return 'env-file';
  const base = path.posix.basename(p);
  if (base === '.env') return 'dotenv';
  if (base.endsWith('.env') || base.startsWith('.env.')) return 'env-file';
  return 'plain';
}

const ENV_LINE = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.-]*)(\s*=\s*)(.*?)(\s*)$/;
/** YAML `key: value`, `- KEY=value`, INI `key = value`, optionally quoted keys. */
const KV_LINE = /^(\s*(?:-\s+)?["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?\s*[:=]\s*)(\S.*?)(\s*)$/;

function redactLine(line: string, pattern: RegExp, secret: (key: string) => boolean): string {
  const m = pattern.exec(line);
  if (!m) return line;
  const [, lead = '', key = '', sep = '', value = '', trail = ''] = m;
  if (value === '' || !secret(key)) return line;
  return `${lead}${key}${sep}${redactValue(value)}${trail}`;
}

export function redactFileContent(content: string, secrecy: FileSecrecy, secrets: StackSecrets): string {
  const lines = content.split('\n');
  const redacted = lines.map((line) => {
    if (line.trim() === '') return line;
    if (secrecy === 'secret-file') return redactValue(line);
    if (line.trimStart().startsWith('#')) return line;
    switch (secrecy) {
      case 'env-file':
        return redactLine(line, ENV_LINE, () => true);
      case 'dotenv':
        return redactLine(line, ENV_LINE, (k) => secrets.isSecretEnv(k));
      case 'plain':
        return redactLine(line, KV_LINE, (k) => secrets.isSecretEnv(k));
    }
  });
  return secrets.scrub(redacted.join('\n'));
}
