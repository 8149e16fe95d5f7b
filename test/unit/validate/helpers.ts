import { afterAll } from 'vitest';
import { cleanupTrees, makeTree, type Tree } from '../compose/fixture.js';
import type { ValidateFinding, ValidateResult } from '../../../src/validate/model.js';
import type { ValidateConfig } from '../../../src/validate/policy.js';
import { validateRepo } from '../../../src/validate/validate-repo.js';

export const CONFIG: ValidateConfig = { latest: true, privileged: true, hostBindMounts: true, hostNetwork: true, maxFileBytes: 1024 * 1024 };

afterAll(cleanupTrees);

/** Lints a tree built from `files` (a `stacks/` folder is always there). */
export async function lint(files: Tree, config: Partial<ValidateConfig> = {}, hostFilter?: string): Promise<ValidateResult> {
  const root = makeTree(files);
  return validateRepo({ root, config: { ...CONFIG, ...config }, ...(hostFilter !== undefined ? { hostFilter } : {}) });
}

/** "file:line kind" for compact assertions. */
export function brief(f: ValidateFinding): string {
  return `${f.file}${f.line !== undefined ? `:${f.line}` : ''} ${f.kind}`;
}

/** A compose file from lines. */
export function compose(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

export const NGINX = compose('services:', '  app:', '    image: nginx:1.27.3');
