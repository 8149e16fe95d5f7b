/**
 * Builds driftd the way `npm run build` does — tsc, then scripts/bundle.ts joining tsc's output
 * into <outDir>/bundle/ (what bin/driftd.js runs) — into the shared dist/ or a private folder.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileCapture } from '../../src/util/exec.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Type errors elsewhere in the tree do not stop the build (tsc still emits, a warning says so);
 * a missing output or a failed bundle does.
 */
export async function buildDriftd(outDir = path.join(REPO_ROOT, 'dist')): Promise<void> {
  const tsc = await execFileCapture(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: REPO_ROOT,
    timeoutMs: 300_000,
  });
  if (!existsSync(path.join(outDir, 'cli', 'main.js'))) throw new Error(`building driftd failed (tsc -p tsconfig.build.json): ${tsc.stdout}${tsc.stderr}`);
  if (tsc.code !== 0) console.warn(`tsc reported errors (output still emitted, tests go on):\n${tsc.stdout}`);
  const bundle = await execFileCapture(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'scripts', 'bundle.ts'), outDir], {
    cwd: REPO_ROOT,
    timeoutMs: 120_000,
  });
  if (bundle.code !== 0) throw new Error(`bundling driftd failed (scripts/bundle.ts): ${bundle.stdout}${bundle.stderr}`);
}
