import { setOwn } from '../util/dict.js';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { withoutPrivateEnv } from '../util/child-env.js';
import { sha256 } from '../util/hash.js';
import type { DesiredService, DesiredStack, InputFile, StackPolicy } from './model.js';
import type { LockFile } from '../lock/model.js';
import { composeError, withLocation, type Where } from './errors.js';
import { serviceConfigHash } from './config-hash.js';
import { discoverComposeFiles, COMPOSE_FILE_NAMES } from './discover.js';
import { buildInterpolationEnv, type EnvText } from './env-sources.js';
import { applyExtends } from './extends.js';
import { DEFAULT_POLICY } from './fleet.js';
import { castTypes, interpolateYaml } from './interpolate.js';
import { lockFilePath, parseLockFile } from '../lock/lock-file.js';
import { pinnedReference } from './lock.js';
import { canonicalize, enforceUnicity, isMapping, mergeModels, type Model } from './merge.js';
import { checkDefinitionFiles, normalizeService } from './normalize.js';
import { assertStackName, DEFAULT_MAX_FILE_BYTES, filesUnder, readRepoFile, readStackTree, type StackTree } from './safe-fs.js';
import { lineOfPath, parseYamlFile, yamlToJs, type YamlFile } from './yaml-file.js';
import { describeError, errnoCode } from '../errors/index.js';

export interface LoadStackOptions {
  /** The desired-state tree (a materialized snapshot or a checkout). */
  root: string;
  name: string;
  /** Directory of host-local env files: `<envDir>/<stack>.env` (outside Git). */
  envDir?: string;
  /** Let the process environment take part in interpolation (it wins over both env files). */
  allowProcessEnv?: boolean;
  /** The process environment to use when allowed (default: process.env). */
  processEnv?: NodeJS.ProcessEnv;
  /** Variables interpolation never reads even when allowed (driftd's credentials); DRIFTD_* never either. */
  privateEnvNames?: readonly string[];
  policy?: StackPolicy;
  /** Per-file size limit (default 1 MiB). */
  maxFileBytes?: number;
  /** Do not read `locks/<stack>.lock.json` (validate checks locks on its own, so a bad lock hides nothing else). */
  ignoreLock?: boolean;
  /**
   * Called with each compose file after interpolation and type casting, before driftd's own
   * checks (validate runs the compose-spec schema here). Synchronous: `model` is changed afterwards.
   */
  onComposeFile?: (file: YamlFile, model: Record<string, unknown>) => void;
}

const TOP_LEVEL = new Set(['version', 'name', 'services', 'networks', 'volumes', 'configs', 'secrets']);

function checkTopLevel(model: Model, stack: string): void {
  for (const key of Object.keys(model)) {
    if (TOP_LEVEL.has(key) || key.startsWith('x-')) continue;
    if (key === 'include') {
      throw composeError('ComposeLoadError', 'include: is not supported by driftd; put the included services in this stack\'s compose file, or make them a stack of their own', {
        path: ['include'],
      });
    }
    throw composeError('ComposeLoadError', `the top-level key ${JSON.stringify(key)} is not supported by driftd`, { path: [key] });
  }
  if (model.name !== undefined && model.name !== stack) {
    throw composeError('ComposeLoadError', `name: ${JSON.stringify(model.name)} differs from the stack folder name ${JSON.stringify(stack)}; the folder name is the Compose project name — remove name: or make them equal`, {
      path: ['name'],
    });
  }
}

/** Picks the file and line for a model path: the file that defines the longest prefix, later files winning ties. */
function locator(files: YamlFile[]): (p: (string | number)[]) => Where {
  return (p) => {
    let best: Where = {};
    let bestDepth = -1;
    for (const y of [...files].reverse()) {
      for (let len = p.length; len > bestDepth && len > 0; len--) {
        if (y.doc.hasIn(p.slice(0, len))) {
          const line = lineOfPath(y, p.slice(0, len));
          best = { file: y.file, ...(line !== undefined ? { line } : {}) };
          bestDepth = len;
          break;
        }
      }
    }
    if (bestDepth < 0 && files[0]) best = { file: files[0].file };
    return best;
  };
}

function readHostEnv(envDir: string | undefined, stack: string, maxBytes: number): EnvText | undefined {
  if (!envDir) return undefined;
  const file = path.join(envDir, `${stack}.env`);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw composeError('ComposeLoadError', `cannot read the host env file ${file}: ${describeError(e)}`, { file });
  }
  if (size > maxBytes) throw composeError('FileTooLarge', `${file} is ${size} bytes, over the ${maxBytes}-byte limit`, { file });
  return { text: readFileSync(file, 'utf8'), file };
}

/** `<sha256>  <name>\n` lines, as `sha256sum` prints them. */
function sumLines(entries: [string, string][]): string {
  return entries.map(([name, sum]) => `${sum}  ${name}\n`).join('');
}

/**
 * Loads one stack: discovery, interpolation, override merge, extends, env_file expansion,
 * normalization, config hashes, lock pinning. Throws a DriftdError whose message starts with
 * "file:line:" when the location is known (data: ComposeErrorData).
 */
export function loadStack(opts: LoadStackOptions): Promise<DesiredStack> {
  return new Promise((resolve) => resolve(loadStackSync(opts)));
}

/** loadStack without the promise (the work is synchronous file access and parsing). */
export function loadStackSync(opts: LoadStackOptions): DesiredStack {
  let yamls: YamlFile[] = [];
  try {
    return loadStackInner(opts, (y) => {
      yamls = y;
    });
  } catch (e) {
    throw withLocation(e, opts.name, locator(yamls));
  }
}

function loadStackInner(opts: LoadStackOptions, setYamls: (y: YamlFile[]) => void): DesiredStack {
  const { root, name } = opts;
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  assertStackName(name);
  const prefix = `stacks/${name}`;
  const stackDir = path.join(root, 'stacks', name);
  try {
    statSync(stackDir);
  } catch {
    throw composeError('NotFound', `stack ${JSON.stringify(name)} does not exist: there is no ${prefix}/ folder in the repo`, { file: prefix });
  }
  const tree: StackTree = readStackTree(stackDir, prefix, maxBytes);
  const discovery = discoverComposeFiles((n) => tree.files.has(n));
  if (!discovery) {
    throw composeError('ComposeLoadError', `${prefix}/ has no compose file; add one of ${COMPOSE_FILE_NAMES.join(', ')}`, { file: prefix });
  }
  const warnings: string[] = discovery.ignored.map((f) => `${prefix}/${f} is ignored: ${prefix}/${discovery.files.join(' and ')} take precedence`);

  const lockText = opts.ignoreLock ? undefined : readRepoFile(root, lockFilePath(name), maxBytes);
  const lock: LockFile | undefined = lockText ? parseLockFile(lockText.toString('utf8'), lockFilePath(name), name) : undefined;

  const dotenv = tree.files.get('.env');
  const hostEnv = readHostEnv(opts.envDir, name, maxBytes);
  const env = buildInterpolationEnv({
    ...(dotenv ? { dotenv: { text: dotenv.content.toString('utf8'), file: `${prefix}/.env` } } : {}),
    ...(hostEnv ? { hostEnv } : {}),
    ...(opts.allowProcessEnv ? { processEnv: withoutPrivateEnv(opts.processEnv ?? process.env, opts.privateEnvNames) } : {}),
  });
  const missing = new Set<string>();
  const onMissing = (v: string) => missing.add(v);

  const yamls: YamlFile[] = [];
  let model: Model = {};
  for (const rel of discovery.files) {
    const file = tree.files.get(rel);
    if (!file) continue;
    const y = parseYamlFile(file.content.toString('utf8'), `${prefix}/${rel}`);
    yamls.push(y);
    setYamls(yamls);
    interpolateYaml(y, env.lookup, onMissing);
    const cfg = yamlToJs(y) ?? {};
    if (!isMapping(cfg)) throw composeError('ComposeLoadError', 'the top level of a compose file must be a mapping', { file: y.file, line: 1 });
    try {
      castTypes(cfg);
      opts.onComposeFile?.(y, cfg);
      checkTopLevel(cfg, name);
      canonicalize(cfg);
      applyExtends(cfg);
    } catch (e) {
      // Problems found before merging are located in this file, not by the merged-model locator.
      throw withLocation(e, name, (p) => {
        const line = lineOfPath(y, p);
        return { file: y.file, ...(line !== undefined ? { line } : {}) };
      });
    }
    model = mergeModels(model, cfg);
  }
  enforceUnicity(model);
  checkDefinitionFiles(model);
  for (const v of [...missing].sort()) warnings.push(`the variable ${v} is not set; it was replaced by an empty string`);

  const services = model.services;
  if (!isMapping(services) || Object.keys(services).length === 0) {
    throw composeError('ComposeLoadError', `${prefix} defines no services`, { path: ['services'] });
  }
  const fileSha = (rel: string) => tree.files.get(rel)?.sha256;
  const ctx = {
    stackPrefix: prefix,
    readFile: (rel: string) => tree.files.get(rel)?.content,
    lookup: env.lookup,
    model,
    filesUnder: (rel: string) => filesUnder(tree, stackDir, rel),
  };
  const desired: DesiredService[] = [];
  for (const serviceName of Object.keys(services).sort()) {
    const { service, refs } = normalizeService(serviceName, services[serviceName], ctx);
    const pinnedImage = pinnedReference(service.image, lock);
    const configHash = serviceConfigHash(service, pinnedImage ?? service.image, refs, fileSha);
    setOwn<unknown>(services, serviceName, service.raw);
    desired.push({ ...service, ...(pinnedImage ? { pinnedImage } : {}), configHash });
  }

  const files: InputFile[] = [...tree.files.values()].map((f) => ({ path: `${prefix}/${f.rel}`, sha256: f.sha256 }));
  if (lockText) files.push({ path: lockFilePath(name), sha256: sha256(lockText) });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const extraInputs: [string, string][] = [];
  if (hostEnv) extraInputs.push([`host-env:${name}.env`, sha256(hostEnv.text)]);
  if (env.processUsed.size > 0) {
    const used = [...env.processUsed].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}\n`);
    extraInputs.push(['process-env', sha256(used.join(''))]);
  }
  const inputsHash = sha256(sumLines([...files.map((f): [string, string] => [f.path, f.sha256]), ...extraInputs]));

  // composeSha256 (recorded in locks, docs/design.md §5): sha256 of the `sha256sum`-style lines
  // "<sha256 of content>  <stack-relative name>\n" for the compose files in merge order,
  // followed by ".env" when the stack has one. Independent of the stack folder's location.
  const composeInputs = [...discovery.files, ...(dotenv ? ['.env'] : [])];
  const composeSha256 = sha256(sumLines(composeInputs.map((rel): [string, string] => [rel, fileSha(rel) ?? ''])));

  const stack: DesiredStack = {
    name,
    composeFiles: discovery.files.map((f) => `${prefix}/${f}`),
    model: Object.fromEntries(Object.entries(model).filter(([k]) => k !== 'version' && k !== 'name' && !k.startsWith('x-'))),
    services: desired,
    files,
    inputsHash,
    composeSha256,
    policy: opts.policy ?? { ...DEFAULT_POLICY },
  };
  if (lock) stack.lock = lock;
  if (warnings.length > 0) stack.warnings = warnings;
  return stack;
}

