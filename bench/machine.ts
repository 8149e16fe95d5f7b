/** What the numbers were measured on. */
import os from 'node:os';
import type { ComposeCli } from '../src/live/compose-cli.js';
import { execFileCapture } from '../src/util/exec.js';
import { REPO_ROOT } from './driftd.js';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  docker: string;
  compose: string;
  /** The Compose v1 baseline's engine and CLI, when it ran. */
  legacy?: string;
  node: string;
  git: string;
  driftdCommit: string;
}

async function firstLine(file: string, args: string[], cwd?: string): Promise<string> {
  try {
    const r = await execFileCapture(file, args, { ...(cwd ? { cwd } : {}), timeoutMs: 30_000 });
    return r.code === 0 ? (r.stdout.trim().split('\n')[0] ?? '') : `unknown (${r.stderr.trim().split('\n')[0] ?? `exit ${r.code}`})`;
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

export async function describeMachine(compose: ComposeCli): Promise<Machine> {
  const [docker, git, commit, dirty] = await Promise.all([
    firstLine('docker', ['version', '--format', 'Engine {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}']),
    firstLine('git', ['--version']),
    firstLine('git', ['rev-parse', '--short=12', 'HEAD'], REPO_ROOT),
    execFileCapture('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT }).then((r) => r.stdout.trim() !== ''),
  ]);
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    docker,
    compose: `${compose.command.join(' ')} ${compose.version} (Compose ${compose.kind})`,
    node: process.version,
    git,
    driftdCommit: `${commit}${dirty ? ' + uncommitted changes in src/' : ''}`,
  };
}

export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return [a, b, c].map((x) => Math.round(x * 100) / 100) as [number, number, number];
}
