/**
 * The compose file driftd deploys for a stack: the resolved model (interpolated, merged,
 * env_file expanded into environment), images pinned to their locked digest, driftd's labels on
 * every service. Every `$` in a value is written as `$$` so that Compose, which interpolates the
 * file again, reads exactly the resolved value. The output is valid for docker-compose 1.29 and
 * Compose v2: no `version:`/`name:` (the project name is passed with -p), ports in the short
 * syntax, and YAML that a YAML 1.1 reader (PyYAML) cannot misread.
 */
import { own, setOwn } from '../util/dict.js';
import { Document, visit } from 'yaml';
import { LABEL_CONFIG_HASH, LABEL_REF, LABEL_REVISION, LABEL_STACK } from '../util/labels.js';
import { redactEnv } from '../util/scrub.js';
import type { DesiredStack } from './model.js';
import { isMapping, type Model } from './merge.js';

export interface RenderStackOptions {
  /** Commit that is being deployed (io.driftd.revision). */
  revision: string;
  /** Tag or branch that selected it (io.driftd.ref); "" when none. */
  ref?: string;
  /** Replace secret environment values by `sha256:<12 hex>` (for printing; never for deploying). */
  redact: boolean;
  /**
   * Per service, the revision/ref to label it with instead (e.g. the revision it already runs
   * when its config hash is unchanged), so that a new tag does not recreate unchanged services.
   */
  serviceRevisions?: Record<string, { revision: string; ref?: string }>;
}

function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', () => '$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  return value;
}

export function renderStack(stack: DesiredStack, opts: RenderStackOptions): Model {
  const model = structuredClone(stack.model);
  const services: Record<string, unknown> = {};
  for (const svc of stack.services) {
    const raw = structuredClone(svc.raw);
    const labelRev = own(opts.serviceRevisions, svc.name) ?? { revision: opts.revision, ...(opts.ref !== undefined ? { ref: opts.ref } : {}) };
    const out: Model = { ...raw, image: svc.pinnedImage ?? svc.image };
    if (opts.redact && isMapping(raw.environment)) {
      out.environment = redactEnv(raw.environment as Record<string, string>, svc.secretEnvKeys);
    }
    out.labels = {
      ...svc.labels, // own keys, `__proto__` included: spreading defines properties
      [LABEL_STACK]: stack.name,
      [LABEL_REVISION]: labelRev.revision,
      [LABEL_REF]: labelRev.ref ?? '',
      [LABEL_CONFIG_HASH]: svc.configHash,
    };
    setOwn(services, svc.name, out);
  }
  model.services = services;
  return escapeDollars(model) as Model;
}

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;

/**
 * YAML both Compose versions read the same way: string values double-quoted (PyYAML would take
 * `yes`, `22:22` or `=` for something else), keys plain when safe, no line folding.
 */
export function toComposeYaml(model: Model): string {
  const doc = new Document(model, { version: '1.1' });
  visit(doc, {
    Scalar(key, node) {
      if (typeof node.value !== 'string') return;
      node.type = key === 'key' && PLAIN_KEY.test(node.value) ? 'PLAIN' : 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ lineWidth: 0 });
}
