import { isSecretKey, registerSecrets } from '../util/scrub.js';
import { dict, own as ownValue, setOwn } from '../util/dict.js';
import { composeError, formatPath } from './errors.js';
import { dotenvFailure } from './env-sources.js';
import { parseDotenv } from './dotenv.js';
import { isMapping, toKeyValueMap } from './merge.js';
import { stackRelative } from './safe-fs.js';
import type { Lookup } from './template.js';

export interface EnvFileRef {
  /** Stack-relative path. */
  rel: string;
  required: boolean;
}

export interface ResolvedEnvironment {
  environment: Record<string, string>;
  secretEnvKeys: string[];
  /** Stack-relative env_file paths that were read. */
  envFiles: string[];
}

export interface EnvironmentContext {
  /** Repo-relative stack folder, for messages ("stacks/web"). */
  stackPrefix: string;
  /** The stack's files by stack-relative path. */
  readFile: (rel: string) => Buffer | undefined;
  /** The interpolation variables (host env file, .env, process env when allowed). */
  lookup: Lookup;
}

export function envFileRefs(value: unknown, path: (string | number)[]): EnvFileRef[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((entry, i) => {
    const p = [...path, i];
    let file: unknown = entry;
    let required = true;
    if (isMapping(entry)) {
      if (entry.format !== undefined) {
        throw composeError('ComposeLoadError', `${formatPath(p)}.format is not supported by driftd; use the default .env syntax`, { path: [...p, 'format'] });
      }
      file = entry.path;
      required = entry.required !== false;
    }
    if (typeof file !== 'string' || file === '') throw composeError('ComposeLoadError', `${formatPath(p)} must be a file path`, { path: p });
    if (file.startsWith('/') || file.startsWith('~')) {
      throw composeError(
        'UnsafePath',
        `${formatPath(p)}: env_file ${JSON.stringify(file)} is outside the stack folder; commit it in the stack, or put host-local values in the host's <envDir>/<stack>.env`,
        { path: p },
      );
    }
    return { rel: stackRelative(file, { path: p }, 'env_file'), required };
  });
}

/**
 * A service's final environment, as Compose computes it: `environment` entries without a value
 * take it from the interpolation variables; env_file values come first (later files win), then
 * `environment` overrides them. Keys that stay without a value are dropped.
 */
export function resolveEnvironment(service: Record<string, unknown>, serviceName: string, ctx: EnvironmentContext): ResolvedEnvironment {
  const envPath = ['services', serviceName, 'environment'];
  const own = toKeyValueMap(service.environment, envPath);
  for (const [k, v] of Object.entries(own)) {
    if (v === null) {
      const found = ctx.lookup(k);
      if (found !== undefined) setOwn(own, k, found);
    }
  }
  const refs = envFileRefs(service.env_file, ['services', serviceName, 'env_file']);
  const fromFiles = new Map<string, string>(Object.entries(own).filter((e): e is [string, string] => e[1] !== null));
  const fileKeys = new Set<string>();
  const envFiles: string[] = [];
  for (const ref of refs) {
    const content = ctx.readFile(ref.rel);
    const shown = `${ctx.stackPrefix}/${ref.rel}`;
    if (content === undefined) {
      if (!ref.required) continue;
      throw composeError('ComposeLoadError', `env_file ${shown} of service ${serviceName} does not exist; add it or mark it required: false`, {
        path: ['services', serviceName, 'env_file'],
      });
    }
    envFiles.push(ref.rel);
    // Compose parses each env_file into the map built so far: its own earlier lines and
    // earlier files are visible, after the interpolation variables and `environment`.
    const values = new Map<string, string>();
    const lookup: Lookup = (k) => ctx.lookup(k) ?? ownValue(own, k) ?? values.get(k) ?? fromFiles.get(k);
    try {
      parseDotenv(content.toString('utf8'), lookup, values);
    } catch (e) {
      throw dotenvFailure(e, shown);
    } finally {
      // Every env_file value is a secret (DESIGN §3), also those read before a parse error.
      registerSecrets(values.values());
    }
    for (const [k, v] of values) {
      fromFiles.set(k, v);
      fileKeys.add(k);
    }
  }
  const environment = dict<string>();
  for (const [k, v] of fromFiles) environment[k] = v;
  for (const [k, v] of Object.entries(own)) {
    if (v === null) delete environment[k];
    else environment[k] = v;
  }
  const secretEnvKeys = Object.keys(environment)
    .filter((k) => fileKeys.has(k) || isSecretKey(k))
    .sort();
  registerSecrets(secretEnvKeys.map((k) => environment[k]));
  return { environment, secretEnvKeys, envFiles };
}
