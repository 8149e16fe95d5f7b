import { setOwn } from '../util/dict.js';
import { composeError } from './errors.js';
import { extendService, isMapping, type Model } from './merge.js';

/**
 * Resolves `extends:` between services of the same file (compose-go ApplyExtends): the base is
 * resolved first (recursively), then the extending service is merged onto a copy of it.
 * `extends: {file: …}` is refused: the base would come from another file whose paths and
 * variables driftd does not track.
 */
export function applyExtends(model: Model): void {
  const services = model.services;
  if (!isMapping(services)) return;
  const done = new Set<string>();

  const resolve = (name: string, chain: string[]): Model => {
    const svc = services[name];
    if (!isMapping(svc)) throw composeError('ComposeLoadError', `services.${name} must be a mapping`, { path: ['services', name] });
    if (done.has(name) || !('extends' in svc)) return svc;
    if (chain.includes(name)) {
      throw composeError('ComposeLoadError', `services.${name}: extends cycle ${[...chain, name].join(' -> ')}`, { path: ['services', name, 'extends'] });
    }
    const ext = svc.extends;
    let base: unknown;
    if (typeof ext === 'string') base = ext;
    else if (isMapping(ext)) {
      if (ext.file !== undefined) {
        throw composeError(
          'ComposeLoadError',
          `services.${name}.extends.file is not supported by driftd; extend a service of the same file, or copy the base service into this stack's compose file`,
          { path: ['services', name, 'extends', 'file'] },
        );
      }
      base = ext.service;
    }
    if (typeof base !== 'string') {
      throw composeError('ComposeLoadError', `services.${name}.extends must name a service`, { path: ['services', name, 'extends'] });
    }
    if (!Object.hasOwn(services, base)) {
      throw composeError('ComposeLoadError', `services.${name} extends service ${JSON.stringify(base)}, which is not defined in the same file`, {
        path: ['services', name, 'extends'],
      });
    }
    const resolvedBase = resolve(base, [...chain, name]);
    const { extends: _ext, ...own } = svc;
    const merged = extendService(resolvedBase, own, name);
    setOwn<unknown>(services, name, merged);
    done.add(name);
    return merged;
  };

  for (const name of Object.keys(services)) resolve(name, []);
}
