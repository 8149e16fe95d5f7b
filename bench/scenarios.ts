/**
 * Scenarios 1, 2, 3 and 5 for one stack count N. driftd first (its stacks alone on the engine),
 * then its containers are removed and the naive loop deploys and measures its own copies, so
 * that neither side's inventory or Compose runs see the other's containers.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { GitServer } from '../test/support/git-server.js';
import { requestKinds } from './git-history.js';
import { agentChangeCycles, type AgentChangeRun } from './agent-change.js';
import { runAgentChild } from './agent-runner.js';
import type { AgentChildOutput } from './agent-child.js';
import type { Cleanup } from './cleanup.js';
import { ComposeSpy, type ComposeCall } from './compose-spy.js';
import { fmtMs } from './format.js';
import { DesiredRepo, stackNames } from './desired-repo.js';
import { projectPrefix, removeRunResources, runLabelValue, type BenchRun } from './docker.js';
import { countResults, driftdFlags, DIST_DIR, parseJsonOutput, runDriftd, type DriftCheckOutput, type DriftdTarget, type SyncOutput } from './driftd.js';
import { driftdParallelDeploy, type ParallelDeploy } from './deploy.js';
import type { BenchEngine } from './engines.js';
import { benchNaive, type NaiveResult } from './naive-scenario.js';
import type { Measured } from './proc.js';
import { profiled, type ProfileSummary } from './profile.js';

export interface ProcessRun {
  wallMs: number;
  cpuMs: number;
  maxRssKb: number;
  code: number;
  /** sync: outcome counts, e.g. { unchanged: 200 }; drift-check: bench stacks Synced/total. */
  check: string;
  /** Compose processes driftd started (and their wall time), from the Compose spy. */
  compose?: ComposeCall[];
  /** HTTP requests the run made to the Git server, by kind ("info/refs", "git-upload-pack fetch"). */
  gitRequests: Record<string, number>;
  /** drift-check's own phase timings (ms). */
  phases?: Record<string, number>;
}

export interface StackCountResult {
  n: number;
  /** Setup: driftd's parallel deploy (not a figure). */
  deploy: ParallelDeploy;
  noChange: { driftdSync: ProcessRun[] };
  agent: AgentChildOutput;
  oneChange: { driftdSync: ProcessRun[]; agent: AgentChangeRun[] };
  driftCheck: { driftd: ProcessRun[] };
  /** The naive loops at this N (absent above --naive-max; v1 absent when its engine is not available). */
  naive: { v2?: NaiveResult; v1?: NaiveResult };
  /** One extra run of each driftd case under node --cpu-prof (at the largest N only). */
  profiles?: { sync: ProfileSummary; driftCheck: ProfileSummary; oneChange: ProfileSummary };
}

export interface ScenarioContext {
  run: BenchRun;
  server: GitServer;
  /** driftd and the Compose v2 loop run here; the v1 loop on `legacy` (a string: why it is skipped). */
  modern: BenchEngine;
  legacy: BenchEngine | string;
  /** Temp folder of this bench run (removed at the end). */
  workDir: string;
  agentChild: string;
  env: NodeJS.ProcessEnv;
  spy: ComposeSpy;
  cleanup: Cleanup;
  reps: { fast: number; slow: number };
  agentCycles: number;
  naiveMax: number;
  deployConcurrency: number;
  /** Profile at this N (the largest of the run). */
  profileN: number;
  log: (line: string) => void;
}

function syncRun(m: Measured, calls: ComposeCall[], gitRequests: Record<string, number>): ProcessRun {
  const out = parseJsonOutput<SyncOutput>(m, 'driftd sync');
  const counts = countResults(out);
  const check = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
  return { wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKb: m.maxRssKb, code: m.code, check, compose: calls, gitRequests };
}

function driftCheckRun(m: Measured, gitRequests: Record<string, number>, stacks: readonly string[]): ProcessRun {
  const out = parseJsonOutput<DriftCheckOutput>(m, 'driftd drift-check');
  const mine = new Set(stacks);
  const synced = out.stacks.filter((s) => mine.has(s.stack) && s.sync === 'Synced' && s.health === 'Healthy').length;
  return { wallMs: m.wallMs, cpuMs: m.cpuMs, maxRssKb: m.maxRssKb, code: m.code, check: `${synced}/${stacks.length} Synced+Healthy`, gitRequests, phases: out.timings };
}

async function times<T>(count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(await fn(i));
  return out;
}

export async function benchStackCount(ctx: ScenarioContext, n: number): Promise<StackCountResult> {
  const { log } = ctx;
  const stacks = stackNames(projectPrefix(ctx.run), n);
  const repo = await DesiredRepo.create({ server: ctx.server, stacks, network: ctx.modern.network, runLabel: runLabelValue(ctx.run) });
  ctx.cleanup.add(`desired-state repo of N=${n}`, () => repo.cleanup());
  const dir = path.join(ctx.workDir, `n${n}`);
  mkdirSync(dir, { recursive: true });
  const target: DriftdTarget = { repoUrl: repo.url, dataDir: path.join(dir, 'data') };
  const composeLog = path.join(dir, 'compose.log');
  const gitRequests = async (fn: () => Promise<Measured>): Promise<[Measured, Record<string, number>]> => {
    ctx.server.resetStats();
    const m = await fn();
    return [m, requestKinds(ctx.server, repo.served.name)];
  };
  const sync = async (expect: (r: ProcessRun) => string | undefined, nodeArgs: string[] = []): Promise<ProcessRun> => {
    const [m, git] = await gitRequests(() => runDriftd('sync', target, ctx.spy.env(ctx.env, composeLog), nodeArgs));
    const r = syncRun(m, ComposeSpy.read(composeLog), git);
    const problem = expect(r);
    if (problem) throw new Error(`driftd sync (N=${n}): ${problem} (exit ${r.code}: ${r.check}); stderr: ${m.stderr.trim().slice(-2000)}`);
    return r;
  };
  const allUnchanged = (r: ProcessRun): string | undefined => (r.code === 0 && r.check === `unchanged ×${n}` ? undefined : 'expected every stack unchanged');
  const profile = n === ctx.profileN;

  log(`N=${n}: deploying with driftd sync, ${ctx.deployConcurrency} processes in parallel…`);
  const deploy = await driftdParallelDeploy({ repoUrl: repo.url, stacks, dir, concurrency: ctx.deployConcurrency, env: ctx.env });
  // The measured data dir meets running containers of its target: it records them, deploys nothing.
  await sync((r) => (r.code === 0 && !/deployed|failed|rolled/.test(r.check) ? undefined : 'expected the deployed stacks recorded, none deployed again'));
  log(`N=${n}: deployed in ${fmtMs(deploy.wallMs)}; no-change driftd sync ×${ctx.reps.fast}…`);
  const noChangeSync = await times(ctx.reps.fast, () => sync(allUnchanged));

  log(`N=${n}: driftd drift-check ×${ctx.reps.fast}…`);
  const driftCheck = async (nodeArgs: string[] = []): Promise<ProcessRun> => {
    const r = driftCheckRun(...(await gitRequests(() => runDriftd('drift-check', target, ctx.env, nodeArgs))), stacks);
    if (!r.check.startsWith(`${n}/`)) throw new Error(`driftd drift-check (N=${n}) found bench stacks out of sync: ${r.check}`);
    return r;
  };
  const driftChecks = await times(ctx.reps.fast, () => driftCheck());

  log(`N=${n}: agent in-process cycles ×${ctx.agentCycles} (child process)…`);
  const agent = await runAgentChild(ctx.agentChild, { distDir: DIST_DIR, flags: driftdFlags(target), cycles: ctx.agentCycles }, ctx.env);
  const failed = agent.cycles.filter((c) => !c.ok || c.exitCode !== 0);
  if (failed.length > 0) throw new Error(`agent cycles failed (N=${n}): ${failed[0]?.error ?? `exit ${failed[0]?.exitCode}`}`);

  log(`N=${n}: one stack changed, driftd sync ×${ctx.reps.fast}…`);
  const changeOne = async (nodeArgs: string[] = []): Promise<ProcessRun> => {
    const stack = await repo.change();
    // The other stacks get the new revision recorded (their inputs did not change): no Compose run.
    const expected = n > 1 ? `deployed ×1, recorded ×${n - 1}` : 'deployed ×1';
    return sync((r) => (r.code === 0 && r.check === expected ? undefined : `expected only ${stack} deployed`), nodeArgs);
  };
  const changeSync = await times(ctx.reps.fast, () => changeOne());
  log(`N=${n}: one stack changed, agent in-process cycle ×${ctx.reps.fast}…`);
  const changeAgent = await agentChangeCycles({
    distDir: DIST_DIR,
    flags: driftdFlags(target),
    env: ctx.spy.env(ctx.env, composeLog),
    composeLog,
    reps: ctx.reps.fast,
    change: () => repo.change(),
  });
  let profiles: StackCountResult['profiles'];
  if (profile) {
    log(`N=${n}: one driftd sync (no change, one change) and one drift-check under --cpu-prof…`);
    // The agent's change cycles above moved the deployments past the CLI's stored verdicts: one
    // plain sync records them again, so that the profiled run is the no-change sync the timed runs
    // measure (a verdict hit), not a full load.
    await sync((r) => (r.code === 0 && !/failed|rolled/.test(r.check) ? undefined : 'expected the stacks in sync'));
    profiles = {
      sync: (await profiled(dir, (nodeArgs) => sync(allUnchanged, nodeArgs))).profile,
      driftCheck: (await profiled(dir, driftCheck)).profile,
      oneChange: (await profiled(dir, changeOne)).profile,
    };
  }
  log(`N=${n}: removing driftd's containers…`);
  await removeRunResources(ctx.modern.docker, ctx.run, { stacksOnly: true });

  const naive: StackCountResult['naive'] = {};
  if (n <= ctx.naiveMax) {
    const nctx = { run: ctx.run, repo, stacks, dir, reps: ctx.reps.slow, deployConcurrency: ctx.deployConcurrency, log };
    naive.v2 = await benchNaive(nctx, ctx.modern, 'v2');
    if (typeof ctx.legacy !== 'string') naive.v1 = await benchNaive(nctx, ctx.legacy, 'v1');
  }
  return {
    n,
    deploy,
    noChange: { driftdSync: noChangeSync },
    agent,
    oneChange: { driftdSync: changeSync, agent: changeAgent },
    driftCheck: { driftd: driftChecks },
    naive,
    ...(profiles ? { profiles } : {}),
  };
}
