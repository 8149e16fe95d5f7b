/**
 * What process start costs: each runtime dependency and each driftd entry point imported alone
 * in a fresh `node` (import wall time, RSS after a GC), next to bare node. A driftd command pays
 * for everything its entry point imports, whether the run needs it or not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execFileCapture } from '../src/util/exec.js';
import { REPO_ROOT } from './driftd.js';
import { summarize } from './stats.js';

export interface ImportCost {
  module: string;
  importMs: number;
  rssBytes: number;
}

const PROBE = `
const spec = process.argv[1];
const t0 = performance.now();
if (spec) await import(spec);
const ms = performance.now() - t0;
globalThis.gc();
process.stdout.write(JSON.stringify({ ms, rss: process.memoryUsage().rss }));
`;

/**
 * driftd's entry points: the bundle the CLI and the agent load (every command starts with
 * main.js; agent.js holds the agent and everything a reconcile runs), then tsc's unbundled
 * output of the same code for comparison.
 */
export const ENTRY_POINTS = [
  'dist/bundle/main.js',
  'dist/bundle/agent.js',
  'dist/cli/main.js',
  'dist/cli/handlers/sync-handler.js',
  'dist/cli/handlers/drift-check-handler.js',
  'dist/agent/daemon.js',
];

function runtimeDependencies(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {}).sort();
}

async function probe(spec: string): Promise<{ ms: number; rss: number }> {
  const r = await execFileCapture(process.execPath, ['--expose-gc', '--input-type=module', '-e', PROBE, spec], { cwd: REPO_ROOT });
  if (r.code !== 0) throw new Error(`importing ${spec || '(nothing)'} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return JSON.parse(r.stdout) as { ms: number; rss: number };
}

export async function measureImportCosts(reps: number): Promise<ImportCost[]> {
  const modules = ['', ...ENTRY_POINTS.map((e) => path.join(REPO_ROOT, e)), ...runtimeDependencies()];
  const out: ImportCost[] = [];
  for (const spec of modules) {
    const samples: { ms: number; rss: number }[] = [];
    for (let i = 0; i < reps; i++) samples.push(await probe(spec));
    out.push({
      module: spec === '' ? '(bare node)' : spec.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, spec) : spec,
      importMs: summarize(samples.map((s) => s.ms)).median,
      rssBytes: summarize(samples.map((s) => s.rss)).median,
    });
  }
  return out;
}
