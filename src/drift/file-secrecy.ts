/**
 * Which role a repo file plays for redaction before it is diffed (revision-behind): a Compose
 * secret file, an env_file, the stack's `.env`, or anything else. Only the classification lives
 * here; the redaction itself is util/scrub.ts `redactFileContent` (one scrubber, one set of rules).
 */
import path from 'node:path';
import type { DesiredService, DesiredStack } from '../compose/model.js';
import type { FileSecrecy } from '../util/scrub.js';
import { configFilePaths, envFilePaths, secretFilePaths } from './compose-names.js';

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
