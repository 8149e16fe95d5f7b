/**
 * A/B of driftd builds on one deployed stack count (not part of `npm run bench`): deploys N bench
 * stacks once, then for each build (a path to its bin/driftd.js, e.g. a copy of main's build) runs
 * one warm-up sync and `reps` no-change syncs and drift-checks in a data dir of its own, and prints
 * CPU (user + system) and wall medians with the verdict and YAML parse count. CPU is the figure to
 * compare on a shared machine. AB_HOLD=1 keeps the stacks up for manual runs (SIGUSR2 releases a
 * tag that changes one stack, SIGTERM measures and cleans up).
 *
 * Usage: node --import tsx bench/ab-dev.ts N reps /path/to/base/bin/driftd.js bin/driftd.js
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomName } from '../test/support/docker-resources.js';
import { GitServer } from '../test/support/git-server.js';
import { Cleanup } from './cleanup.js';
import { projectPrefix, runLabelValue, type BenchRun } from './docker.js';
import { DesiredRepo, stackNames } from './desired-repo.js';
import { driftdParallelDeploy } from './deploy.js';
import { cleanEnv, cliArgs, driftdFlags } from './driftd.js';
import { modernEngine } from './engines.js';
import { runMeasured } from './proc.js';

const [nArg, repsArg, ...bins] = process.argv.slice(2);
const n = Number(nArg);
const reps = Number(repsArg);
const cleanup = new Cleanup();
cleanup.onSignals();
const log = (l: string) => console.error(l);
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const run: BenchRun = { tag: randomName(4), pid: process.pid };
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-ab-'));
  cleanup.add('tmp', () => rmSync(workDir, { recursive: true, force: true }));
  const server = await GitServer.start();
  cleanup.add('git', () => server.close());
  const modern = await modernEngine(run, cleanup, log);
  const stacks = stackNames(projectPrefix(run), n);
  const repo = await DesiredRepo.create({ server, stacks, network: modern.network, runLabel: runLabelValue(run) });
  cleanup.add('repo', () => repo.cleanup());
  const env = cleanEnv();
  await driftdParallelDeploy({ repoUrl: repo.url, stacks, dir: workDir, concurrency: 4, env });
  if (process.env.AB_HOLD) {
    console.log(JSON.stringify({ repo: repo.url, workDir, change: 'kill -USR2' }));
    process.on('SIGUSR2', () => void repo.change().then((s) => console.log(`changed ${s}`)));
    await new Promise((resolve) => process.once('SIGTERM', resolve));
  }
  for (const cmd of ['sync', 'drift-check'] as const) {
    for (const bin of bins) {
      const dataDir = path.join(workDir, `data-${bins.indexOf(bin)}`);
      mkdirSync(dataDir, { recursive: true });
      const args = [bin, cmd, ...cliArgs(driftdFlags({ repoUrl: repo.url, dataDir })), '--json'];
      await runMeasured(process.execPath, [bin, 'sync', ...cliArgs(driftdFlags({ repoUrl: repo.url, dataDir })), '--json'], { env });
      const cpu: number[] = [];
      const wall: number[] = [];
      let extra = '';
      for (let i = 0; i < reps; i++) {
        const m = await runMeasured(process.execPath, args, { env });
        cpu.push(m.cpuMs);
        wall.push(m.wallMs);
        const out = JSON.parse(m.stdout) as { verdict?: unknown; yamlParses?: number; exitCode?: number; summary?: unknown };
        extra = cmd === 'sync' ? `exit ${m.code} verdict ${JSON.stringify(out.verdict)} yaml ${out.yamlParses}` : `exit ${m.code} ${JSON.stringify(out.summary)}`;
      }
      console.log(`N=${n} ${cmd} ${bin}: cpu median ${med(cpu)} ms [${cpu.join(' ')}], wall median ${Math.round(med(wall))} ms; ${extra}`);
    }
  }
} finally {
  await cleanup.run();
}
