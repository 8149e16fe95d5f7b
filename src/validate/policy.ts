/**
 * Policy warnings on a loaded stack, each one switchable in the config (validate.*): floating
 * image tags, privileged containers, bind mounts of host paths, host networking. An image
 * reference Docker would refuse is an error whatever the config says.
 */
import type { MountSpec } from '../compose/model.js';
import { parseVolume } from '../compose/volumes.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { isFloatingRef, parseImageRef, type ImageRef } from '../lock/image-ref.js';
import { finding } from './finding.js';
import { findingFromError } from './load-errors.js';
import type { ValidateFinding } from './model.js';
import type { LoadedStack } from './stack-check.js';
import { locate, locateItem, type Location } from './yaml-location.js';

export type ValidateConfig = ResolvedConfig['validate'];

function at(loc: Location | undefined, fallback: string): { file: string; line: number | undefined } {
  return { file: loc?.file ?? fallback, line: loc?.line };
}

function imageFinding(loaded: LoadedStack, service: string, image: string, config: ValidateConfig): ValidateFinding | undefined {
  const { file, line } = at(locate(loaded.files, ['services', service, 'image']), loaded.stack.composeFiles[0] ?? `stacks/${loaded.stack.name}`);
  let ref: ImageRef;
  try {
    ref = parseImageRef(image);
  } catch (e) {
    return { ...findingFromError(e, file), file, ...(line !== undefined ? { line } : {}) };
  }
  if (!config.latest || !isFloatingRef(ref)) return undefined;
  const why = ref.tag === undefined ? `${JSON.stringify(image)} has no tag, which means :latest` : `${JSON.stringify(image)} uses the :latest tag`;
  return finding('image-latest', 'warning', file, line, `services.${service}.image: ${why}; pin a version tag (and lock it with driftd lock) so every host runs the same image`);
}

function isHostPathBind(m: MountSpec): m is MountSpec & { source: string } {
  // The loader keeps stack-relative sources as "./…" (or "."), and refuses "../…" outright.
  return m.type === 'bind' && m.source !== undefined && m.source !== '.' && !m.source.startsWith('./');
}

export function policyFindings(loaded: LoadedStack, config: ValidateConfig): ValidateFinding[] {
  const out: ValidateFinding[] = [];
  const fallback = loaded.stack.composeFiles[0] ?? `stacks/${loaded.stack.name}`;
  for (const svc of loaded.stack.services) {
    const base = ['services', svc.name];
    const image = imageFinding(loaded, svc.name, svc.image, config);
    if (image) out.push(image);
    if (config.privileged && svc.privileged) {
      const { file, line } = at(locate(loaded.files, [...base, 'privileged']), fallback);
      out.push(finding('privileged', 'warning', file, line, `services.${svc.name} runs privileged: it has every capability and device of the host; grant only the capabilities it needs (cap_add)`));
    }
    if (config.hostNetwork && svc.networkMode === 'host') {
      const { file, line } = at(locate(loaded.files, [...base, 'network_mode']), fallback);
      out.push(finding('host-network', 'warning', file, line, `services.${svc.name} uses network_mode: host, so its ports bypass Docker's port mapping and isolation; publish ports instead`));
    }
    if (config.hostBindMounts) {
      for (const m of svc.mounts.filter(isHostPathBind)) {
        const matches = (item: unknown) => {
          const v = parseVolume(item, []);
          return v.type === 'bind' && v.source === m.source && v.target === m.target;
        };
        const { file, line } = at(locateItem(loaded.files, [...base, 'volumes'], matches), fallback);
        out.push(
          finding(
            'host-bind-mount',
            'warning',
            file,
            line,
            `services.${svc.name} bind-mounts the host path ${m.source} (outside the stack folder): the stack then depends on that host's files; keep the files in the stack folder or use a named volume`,
          ),
        );
      }
    }
  }
  return out;
}
