/**
 * Scenarios 1, 2, 3 and 5 for one stack count N. driftd first (its stacks alone on the engine),
 * then its containers are removed and the naive loop deploys and measures its own copies, so
 * that neither side's inventory or Compose runs see the other's containers.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import type { ComposeCli } from '../src/live/compose-cli.js';
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
import { NaiveLoop, type LoopRun } from './naive.js';
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
  initialDeploy: { driftd: ProcessRun; naive: LoopRun };
  noChange: { driftdSync: ProcessRun[]; naive: LoopRun[] };
  agent: AgentChildOutput;
  /** naive runs carry the wall time of the changed stack's Compose run. */
  oneChange: { driftdSync: ProcessRun[]; agent: AgentChangeRun[]; naive: (LoopRun & { changedStackMs: number })[] };
  driftCheck: { driftd: ProcessRun[]; naive: LoopRun[] };
  /** One extra run of each driftd case under node --cpu-prof. */
  profiles: { sync: ProfileSummary; driftCheck: ProfileSummary; oneChange: ProfileSummary };
}

export interface ScenarioContext {
  run: BenchRun;
  docker: Docker;
  server: GitServer;
  compose: ComposeCli;
  network: string;
  /** Temp folder of this bench run (removed at the end). */
  workDir: string;
  agentChild: string;
  env: NodeJS.ProcessEnv;
  spy: ComposeSpy;
  cleanup: Cleanup;
  reps: { fast: number; slow: number };
  agentCycles: number;
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
  const repo = await DesiredRepo.create({ server: ctx.server, stacks, network: ctx.network, runLabel: runLabelValue(ctx.run) });
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

  log(`N=${n}: initial deploy with driftd sync…`);
  const initialDriftd = await sync((r) => (r.code === 0 && r.check === `deployed ×${n}` ? undefined : 'expected every stack deployed'));
  log(`N=${n}: initial deploy ${fmtMs(initialDriftd.wallMs)}; no-change driftd sync ×${ctx.reps.fast}…`);
  const noChangeSync = await times(ctx.reps.fast, () => sync(allUnchanged));

  log(`N=${n}: driftd drift-check ×${ctx.reps.fast}…`);
  const driftCheck = async (nodeArgs: string[] = []): Promise<ProcessRun> => {
    const r = driftCheckRun(...(await gitRequests(() => runDriftd('drift-check', target, ctx.env, nodeArgs))), stacks);
    if (!r.check.startsWith(`${n}/`)) throw new Error(`driftd drift-check (N=${n}) found bench stacks out of sync: ${r.check}`);
    return r;
  };
  const driftChecks = await times(ctx.reps.fast, () => driftCheck());

  log(`N=${n}: one driftd sync and one drift-check under --cpu-prof…`);
  const syncProfile = (await profiled(dir, (nodeArgs) => sync(allUnchanged, nodeArgs))).profile;
  const driftCheckProfile = (await profiled(dir, driftCheck)).profile;

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
  const oneChangeProfile = (await profiled(dir, changeOne)).profile;

  log(`N=${n}: removing driftd's containers; naive loop deploys its own…`);
  await removeRunResources(ctx.docker, ctx.run, { stacksOnly: true });
  const naive = await NaiveLoop.clone(repo.url, path.join(dir, 'checkout'), stacks, ctx.compose);
  const naiveInitial = await naive.up();
  log(`N=${n}: naive initial deploy ${fmtMs(naiveInitial.wallMs)}; naive no-change loop ×${ctx.reps.slow}…`);
  const naiveNoChange = await times(ctx.reps.slow, () => naive.up());
  log(`N=${n}: naive ps+config ×${ctx.reps.slow}…`);
  const naiveCheck = await times(ctx.reps.slow, () => naive.psAndConfig());
  log(`N=${n}: naive one stack changed ×${ctx.reps.slow}…`);
  const naiveChange = await times(ctx.reps.slow, async () => {
    const stack = await repo.change();
    const run = await naive.up();
    return { ...run, changedStackMs: run.perStackMs[stacks.indexOf(stack)] ?? Number.NaN };
  });
  await removeRunResources(ctx.docker, ctx.run, { stacksOnly: true });

  return {
    n,
    initialDeploy: { driftd: initialDriftd, naive: naiveInitial },
    noChange: { driftdSync: noChangeSync, naive: naiveNoChange },
    agent,
    oneChange: { driftdSync: changeSync, agent: changeAgent, naive: naiveChange },
    driftCheck: { driftd: driftChecks, naive: naiveCheck },
    profiles: { sync: syncProfile, driftCheck: driftCheckProfile, oneChange: oneChangeProfile },
  };
}
