/** Runs the built driftd CLI (bin/driftd.js, as installed: process start included) against a bench repo. */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { GlobalFlags } from '../src/config/resolve.js';
import { runMeasured, type Measured } from './proc.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST_DIR = path.join(REPO_ROOT, 'dist');
const BIN = path.join(REPO_ROOT, 'bin', 'driftd.js');

export interface DriftdTarget {
  repoUrl: string;
  dataDir: string;
}

/** The agent and the CLI get the same settings: the highest v-prefixed semver tag, warnings only. */
export function driftdFlags(t: DriftdTarget): GlobalFlags {
  return { repo: t.repoUrl, dataDir: t.dataDir, host: 'bench', logLevel: 'warn', refSemver: '>=1.0.0', tagPrefix: 'v' };
}

const CLI_FLAG: Record<keyof GlobalFlags, string> = {
  config: '--config',
  dataDir: '--data-dir',
  repo: '--repo',
  host: '--host',
  logLevel: '--log-level',
  refTag: '--ref-tag',
  refSemver: '--ref-semver',
  tagPrefix: '--tag-prefix',
  refBranch: '--ref-branch',
  auditDir: '--audit-dir',
};

export function cliArgs(flags: GlobalFlags): string[] {
  return (Object.entries(flags) as [keyof GlobalFlags, string | undefined][]).flatMap(([k, v]) => (v === undefined ? [] : [CLI_FLAG[k], v]));
}

/** The environment without DRIFTD_* settings of whoever runs the bench. */
export function cleanEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith('DRIFTD_')));
}

/**
 * Under --cpu-prof the CLI runs from tsc's output (one file per module) instead of the bundle
 * bin/driftd.js loads, so that profile frames name driftd's files and the libraries apart.
 */
const UNBUNDLED_CLI = [
  '--input-type=module',
  '-e',
  `const { main } = await import(${JSON.stringify(pathToFileURL(path.join(DIST_DIR, 'cli', 'main.js')).href)}); process.exitCode = await main(process.argv.slice(1));`,
];

/** `extra`: further arguments of the command (e.g. `--stack <name>` for each stack). */
export function runDriftd(command: 'sync' | 'drift-check', t: DriftdTarget, env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = [], extra: readonly string[] = []): Promise<Measured> {
  const entry = nodeArgs.some((a) => a.startsWith('--cpu-prof')) ? UNBUNDLED_CLI : [BIN];
  return runMeasured(process.execPath, [...nodeArgs, ...entry, command, ...cliArgs(driftdFlags(t)), ...extra, '--json'], { env });
}

export interface SyncOutput {
  exitCode: number;
  outcomes: { stack: string; result: string; message: string }[];
}

export interface DriftCheckOutput {
  summary: { stacks: number; synced: number; outOfSync: number; unknown: number; findings: number };
  stacks: { stack: string; sync: string; health: string; findings: { kind: string }[] }[];
  timings: Record<string, number>;
}

export function parseJsonOutput<T>(m: Measured, what: string): T {
  try {
    return JSON.parse(m.stdout) as T;
  } catch {
    throw new Error(`${what} printed no JSON (exit ${m.code}): ${m.stderr.trim().slice(-2000)}`);
  }
}

/** "unchanged ×200" / "deployed ×1, unchanged ×199". */
export function countResults(out: SyncOutput): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of out.outcomes) counts[o.result] = (counts[o.result] ?? 0) + 1;
  return counts;
}
