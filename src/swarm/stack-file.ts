/**
 * The stack file driftd hands to `docker stack deploy` (pure). It starts from the same rendered
 * model as a Compose stack (resolved, `$` escaped, images `name:tag@digest` from the lock), and
 * differs in two places:
 *
 * - driftd's labels go to `deploy.labels` (the *service's* labels, read back from one
 *   `GET /services`), not to the containers: a task's container labels are part of the task
 *   spec, and stamping a new revision there would restart every task of every service. A
 *   service whose config hash is unchanged keeps its revision label (serviceRevisions), so
 *   Swarm leaves it alone.
 * - Swarm configs and secrets are immutable: one whose file changed under the same name makes
 *   `docker stack deploy` fail. Each file-based one is named `<name>_<12 hex of sha256(content)>`
 *   so that a changed file is a new object (the services using it roll to it), and the old one is
 *   removed once no service uses it (staleSwarmObjects).
 */
import { own, setOwn } from '../util/dict.js';
import { sha256 } from '../util/hash.js';
import { LABEL_CONFIG_HASH, LABEL_REF, LABEL_REVISION, LABEL_STACK } from '../util/labels.js';
import { renderStack, type RenderStackOptions } from '../compose/render.js';
import { isMapping, type Model } from '../compose/merge.js';
import type { DesiredStack } from '../compose/model.js';

/** Label docker stack deploy puts on every service, network, config and secret of a stack. */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';
/** Label driftd puts on the configs and secrets it names: the content hash in the name. */
export const LABEL_CONTENT_HASH = 'io.driftd.content-hash';

const DRIFTD_LABELS = [LABEL_STACK, LABEL_REVISION, LABEL_REF, LABEL_CONFIG_HASH] as const;
const HASH_CHARS = 12;

export type SwarmObjectKind = 'configs' | 'secrets';

export interface SwarmStackFile {
  /** The stack file's model (write it with toComposeYaml). */
  model: Model;
  /** Names of the configs and secrets this revision uses, as Swarm will know them. */
  objects: Record<SwarmObjectKind, string[]>;
}

export interface RenderSwarmOptions extends Omit<RenderStackOptions, 'redact'> {
  /** Content of a stack-relative file (`conf/app.conf`), undefined when it cannot be read. */
  readFile: (rel: string) => Uint8Array | undefined;
}

function stackRelative(file: string): string | undefined {
  if (file.startsWith('/') || file.startsWith('~')) return undefined;
  const rel = file.replace(/^(\.\/)+/, '');
  return rel === '' || rel.split('/').includes('..') ? undefined : rel;
}

/** `<stack>_<key>` as docker stack deploy names an object without `name:`. */
function defaultName(stack: string, key: string): string {
  return `${stack}_${key}`;
}

/** Renames each file-based config/secret by its content hash; external ones are the operator's and stay. */
function rotateObjects(stack: DesiredStack, model: Model, kind: SwarmObjectKind, readFile: RenderSwarmOptions['readFile']): string[] {
  const defs = model[kind];
  if (!isMapping(defs)) return [];
  const names: string[] = [];
  for (const key of Object.keys(defs).sort()) {
    const def = own(defs, key);
    if (!isMapping(def)) continue;
    const base = typeof def.name === 'string' && def.name !== '' ? def.name : defaultName(stack.name, key);
    if (def.external === true || isMapping(def.external)) {
      names.push(base);
      continue;
    }
    const rel = typeof def.file === 'string' ? stackRelative(def.file) : undefined;
    const content = rel === undefined ? undefined : readFile(rel);
    if (content === undefined) {
      names.push(base);
      continue;
    }
    const hash = sha256(content).slice(0, HASH_CHARS);
    const labels = isMapping(def.labels) ? def.labels : {};
    setOwn<unknown>(defs, key, { ...def, name: `${base}_${hash}`, labels: { ...labels, [LABEL_CONTENT_HASH]: hash } });
    names.push(`${base}_${hash}`);
  }
  return names;
}

/** Moves driftd's labels from the containers (`labels`) to the service (`deploy.labels`). */
function serviceLabels(svc: Model): Model {
  const containerLabels = isMapping(svc.labels) ? { ...svc.labels } : {};
  const driftd: Record<string, unknown> = {};
  for (const key of DRIFTD_LABELS) {
    if (Object.prototype.hasOwnProperty.call(containerLabels, key)) driftd[key] = containerLabels[key];
    delete containerLabels[key];
  }
  const deploy = isMapping(svc.deploy) ? svc.deploy : {};
  const deployLabels = isMapping(deploy.labels) ? deploy.labels : {};
  const out: Model = { ...svc, deploy: { ...deploy, labels: { ...deployLabels, ...driftd } } };
  if (Object.keys(containerLabels).length > 0) out.labels = containerLabels;
  else delete out.labels;
  return out;
}

/** The stack file for `docker stack deploy` and the config/secret names it uses. */
export function renderSwarmStack(stack: DesiredStack, opts: RenderSwarmOptions): SwarmStackFile {
  const { readFile, ...render } = opts;
  const model = renderStack(stack, { ...render, redact: false });
  const services = isMapping(model.services) ? model.services : {};
  const out: Model = {};
  for (const name of Object.keys(services)) {
    const svc = own(services, name);
    if (isMapping(svc)) setOwn<unknown>(out, name, serviceLabels(svc));
  }
  model.services = out;
  const objects = { configs: rotateObjects(stack, model, 'configs', readFile), secrets: rotateObjects(stack, model, 'secrets', readFile) };
  return { model, objects };
}

export interface LiveSwarmObject {
  id: string;
  name: string;
  labels: Record<string, string>;
}

/**
 * Configs/secrets of `stack` (by docker stack deploy's namespace label) that driftd named by content
 * hash and this revision no longer uses: removed after a converged deploy. The engine refuses to
 * remove one a service still uses, so an object some task still needs stays until the next run.
 */
export function staleSwarmObjects(stack: string, live: readonly LiveSwarmObject[], keep: readonly string[]): LiveSwarmObject[] {
  const wanted = new Set(keep);
  return live
    .filter((o) => o.labels[STACK_NAMESPACE_LABEL] === stack && o.labels[LABEL_CONTENT_HASH] !== undefined && !wanted.has(o.name))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** `docker stack deploy` argv (never a shell): prune services no longer declared, pull only changed images. */
export function stackDeployArgs(file: string, stack: string): string[] {
  return ['stack', 'deploy', '--prune', '--resolve-image', 'changed', '--with-registry-auth', '--detach=true', '-c', file, stack];
}

/** `docker stack rm` argv, for a Swarm stack that left the fleet with `prune: true`. */
export function stackRmArgs(stack: string): string[] {
  return ['stack', 'rm', stack];
}
