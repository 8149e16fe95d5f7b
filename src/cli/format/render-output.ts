import { toComposeYaml } from '../../compose/render.js';
import type { RenderResult } from '../../commands/render.js';

/**
 * What `driftd render` prints. YAML is one document per stack (each a valid compose file, headed
 * by comments naming the stack, host and revision); JSON is `{host, revision, stacks: {name: model},
 * warnings, errors}`.
 */
export function formatRender(result: RenderResult, format: 'yaml' | 'json'): string {
  if (format === 'json') {
    const out = {
      host: result.host,
      revision: result.revision,
      stacks: Object.fromEntries(result.stacks.map((s) => [s.name, s.model])),
      warnings: Object.fromEntries(result.stacks.filter((s) => s.warnings.length > 0).map((s) => [s.name, s.warnings])),
      errors: result.errors,
    };
    return `${JSON.stringify(out, null, 2)}\n`;
  }
  const { commit, ref } = result.revision;
  const refNote = ref ? ` (${ref})` : '';
  return result.stacks
    .map(({ name, model, warnings }) => {
      const header = [`# stack ${name} for host ${result.host} at ${commit}${refNote}`, ...warnings.map((w) => `# warning: ${w}`)];
      return `${header.join('\n')}\n${toComposeYaml(model)}`;
    })
    .join('---\n');
}
