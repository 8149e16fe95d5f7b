/**
 * The naive loop's figures for one stack count on one engine + Compose pair: its stacks deployed
 * in parallel (setup), the no-change loop, the drift check by hand (Compose v2 only: v1 has no
 * `ls`), and the one Compose run a one-stack change needs; then its containers are removed.
 */
import path from 'node:path';
import type { BenchEngine } from './engines.js';
import type { DesiredRepo } from './desired-repo.js';
import { removeRunResources, type BenchRun } from './docker.js';
import { fmtMs } from './format.js';
import { NaiveLoop, type LoopRun } from './naive.js';

export interface NaiveResult {
  /** "Compose v2 (2.26.1) on the modern engine" */
  label: string;
  deploy: LoopRun & { concurrency: number };
  noChange: LoopRun[];
  /** `ls` + `config --hash` per stack + `docker ps` (Compose v2 only). */
  driftCheck: LoopRun[] | null;
  /** `git pull` + `up -d` of the stack a new tag changed; upMs is the Compose run alone. */
  changedUp: (LoopRun & { upMs: number })[];
}

export interface NaiveContext {
  run: BenchRun;
  repo: DesiredRepo;
  stacks: readonly string[];
  dir: string;
  reps: number;
  deployConcurrency: number;
  log: (line: string) => void;
}

async function times<T>(count: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(await fn());
  return out;
}

export async function benchNaive(ctx: NaiveContext, engine: BenchEngine, key: string): Promise<NaiveResult> {
  const { log, stacks } = ctx;
  const n = stacks.length;
  const naive = await NaiveLoop.clone(ctx.repo.url, path.join(ctx.dir, `checkout-${key}`), stacks, engine.cli, engine.env);
  try {
    log(`N=${n} naive ${key}: deploying ×${ctx.deployConcurrency} in parallel…`);
    const deploy = { ...(await naive.deployAll(ctx.deployConcurrency)), concurrency: ctx.deployConcurrency };
    log(`N=${n} naive ${key}: deployed in ${fmtMs(deploy.wallMs)}; no-change loop ×${ctx.reps}…`);
    const noChange = await times(ctx.reps, () => naive.up());
    let driftCheck: LoopRun[] | null = null;
    if (engine.cli.kind === 'v2') {
      log(`N=${n} naive ${key}: ${fmtMs(noChange[0]?.wallMs ?? Number.NaN)} per loop; drift check by hand ×${ctx.reps}…`);
      driftCheck = await times(ctx.reps, async () => {
        const r = await naive.driftCheck();
        if (r.drifted.length > 0) throw new Error(`naive drift check (N=${n}) found ${r.drifted.length} stacks drifted, e.g. ${r.drifted[0]}`);
        return r;
      });
    }
    log(`N=${n} naive ${key}: one stack changed ×${ctx.reps}…`);
    const changedUp = await times(ctx.reps, async () => naive.upOne(await ctx.repo.change()));
    return { label: engine.label, deploy, noChange, driftCheck, changedUp };
  } finally {
    await removeRunResources(engine.docker, ctx.run, { stacksOnly: true });
  }
}
