/**
 * `npm run bench:agent -- --stacks 10 [--cycles 100] [--change-reps 3]`: the agent's figures of
 * `npm run bench` (no-change cycles and memory in a child process, one-stack change cycles) at one
 * stack count up to 200, without the CLI runs, the naive loops, Git history or the fleet: the loop to
 * iterate on the agent with. Deploys N ≤ 200 stacks on the modern engine (issue 20 sets agent
 * targets at 200) and removes them after.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomName } from '../test/support/docker-resources.js';
import { GitServer } from '../test/support/git-server.js';
import { agentChangeCycles } from './agent-change.js';
import { runAgentChild, writeAgentChild } from './agent-runner.js';
import { Cleanup } from './cleanup.js';
import { ComposeSpy } from './compose-spy.js';
import { driftdParallelDeploy } from './deploy.js';
import { DesiredRepo, stackNames } from './desired-repo.js';
import { projectPrefix, runLabelValue, type BenchRun } from './docker.js';
import { cleanEnv, DIST_DIR, driftdFlags, runDriftd, type DriftdTarget } from './driftd.js';
import { modernEngine } from './engines.js';
import { fmtMs } from './format.js';
import { summarize } from './stats.js';

const MAX_STACKS = 200;
const log = (line: string): void => console.error(`[bench:agent ${new Date().toISOString().slice(11, 19)}] ${line}`);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({ args: argv, options: { stacks: { type: 'string' }, cycles: { type: 'string' }, 'change-reps': { type: 'string' }, hold: { type: 'boolean' } }, strict: true });
  const n = Number(v.stacks ?? 10);
  if (!Number.isInteger(n) || n < 1 || n > MAX_STACKS) throw new Error(`--stacks must be 1…${MAX_STACKS} (200 is where issue 20 sets the agent's targets; npm run bench goes to 1,000)`);
  const cycles = Math.max(2, Number(v.cycles ?? 100));
  const changeReps = Number(v['change-reps'] ?? 3);
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const run: BenchRun = { tag: randomName(4), pid: process.pid };
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-agent-'));
    cleanup.add(`temp folder ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }));
    const server = await GitServer.start();
    cleanup.add('loopback Git server', () => server.close());
    const modern = await modernEngine(run, cleanup, log);
    const env = cleanEnv(modern.env);
    const stacks = stackNames(projectPrefix(run), n);
    const repo = await DesiredRepo.create({ server, stacks, network: modern.network, runLabel: runLabelValue(run) });
    cleanup.add('desired-state repo', () => repo.cleanup());
    const dir = path.join(workDir, `n${n}`);
    mkdirSync(dir, { recursive: true });
    const target: DriftdTarget = { repoUrl: repo.url, dataDir: path.join(dir, 'data') };
    log(`N=${n}: deploying…`);
    await driftdParallelDeploy({ repoUrl: repo.url, stacks, dir, concurrency: 4, env });
    const first = await runDriftd('sync', target, env);
    if (first.code !== 0) throw new Error(`recording sync exited ${first.code}: ${first.stderr.slice(-2000)}`);

    if (v.hold) {
      // Keeps the stacks deployed for runs of the child by hand: `node --expose-gc <child> '<input>'`.
      const child = writeAgentChild(workDir);
      console.log(`node --expose-gc ${child} '${JSON.stringify({ distDir: DIST_DIR, flags: driftdFlags(target), cycles })}'`);
      log('holding the deployment until Ctrl-C…');
      await new Promise(() => undefined);
    }
    log(`N=${n}: ${cycles} no-change agent cycles in a child process…`);
    const out = await runAgentChild(writeAgentChild(workDir), { distDir: DIST_DIR, flags: driftdFlags(target), cycles }, env);
    const failed = out.cycles.filter((c) => !c.ok || c.exitCode !== 0);
    if (failed.length > 0) throw new Error(`agent cycles failed: ${failed[0]?.error ?? `exit ${failed[0]?.exitCode}`}`);
    const rest = out.cycles.slice(1);
    const wall = rest.map((c) => c.wallMs);
    const cpu = rest.map((c) => c.cpuMs);
    const m = out.memory;
    const own = rest.map((c) => c.wallMs - c.gitWaitMs);
    console.log(
      `no-change cycle (2…${cycles}): wall median ${fmtMs(summarize(wall).median)} (p90 ${fmtMs(summarize(wall).p90)}), CPU median ${fmtMs(summarize(cpu).median)}, ` +
        `without the wait for the Git server median ${fmtMs(summarize(own).median)}; first cycle ${fmtMs(out.cycles[0]?.wallMs ?? 0)}`,
    );
    console.log(
      `RSS: before start ${mb(m.beforeStart.rssBytes)}, after start ${mb(m.afterStart.rssBytes)}, after 1st ${mb(m.afterFirstCycle.rssBytes)}, after last ${mb(m.afterLastCycle.rssBytes)} ` +
        `(growth from 1st ${(((m.afterLastCycle.rssBytes - m.afterFirstCycle.rssBytes) / m.afterFirstCycle.rssBytes) * 100).toFixed(1)} %); heap used ${mb(m.afterFirstCycle.heapUsedBytes)} → ${mb(m.afterLastCycle.heapUsedBytes)}, reserved ${mb(m.afterFirstCycle.heapTotalBytes)} → ${mb(m.afterLastCycle.heapTotalBytes)}`,
    );
    console.log(`RSS trace: ${out.trace.map((t) => `${t.cycle}: ${mb(t.rssBytes)}`).join(', ')}`);

    if (changeReps > 0) {
      log(`N=${n}: one stack changed, agent cycle ×${changeReps}…`);
      const spy = ComposeSpy.create(workDir);
      const composeLog = path.join(dir, 'compose.log');
      const runs = await agentChangeCycles({ distDir: DIST_DIR, flags: driftdFlags(target), env: spy.env(env, composeLog), composeLog, reps: changeReps, change: () => repo.change() });
      const own = runs.map((r) => r.wallMs - r.compose.reduce((a, c) => a + c.wallMs, 0));
      console.log(`one-stack change: wall ${runs.map((r) => fmtMs(r.wallMs)).join(', ')}; minus its Compose runs median ${fmtMs(summarize(own).median)} (${runs.map((r) => r.compose.map((c) => c.command).join(' + ')).join(' | ')})`);
    }
  } finally {
    await cleanup.run();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`bench:agent failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
