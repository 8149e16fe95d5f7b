/**
 * Setup, not a figure: deploys a stack count's stacks with driftd itself, `concurrency` `driftd
 * sync --stack …` processes at once, each on a disjoint slice of the stacks and a data dir of its
 * own (the host's reconcile mutex lives in the data dir, so they do not wait for each other).
 * driftd's containers carry its labels, so the measured data dir's first sync finds them running
 * its target and only records them. One process deploying 1,000 stacks one after the other
 * would take a quarter of an hour.
 */
import path from 'node:path';
import { countResults, parseJsonOutput, runDriftd, type DriftdTarget, type SyncOutput } from './driftd.js';

export interface ParallelDeploy {
  wallMs: number;
  processes: number;
  /** Compose `up` runs per process are serial; this is the total across processes. */
  deployed: number;
}

export function slices<T>(items: readonly T[], count: number): T[][] {
  const out: T[][] = Array.from({ length: Math.max(1, Math.min(count, items.length)) }, () => []);
  items.forEach((item, i) => out[i % out.length]!.push(item));
  return out;
}

export async function driftdParallelDeploy(opts: { repoUrl: string; stacks: readonly string[]; dir: string; concurrency: number; env: NodeJS.ProcessEnv }): Promise<ParallelDeploy> {
  const started = process.hrtime.bigint();
  const parts = slices(opts.stacks, opts.concurrency);
  const runs = await Promise.all(
    parts.map(async (part, i) => {
      const target: DriftdTarget = { repoUrl: opts.repoUrl, dataDir: path.join(opts.dir, `deploy-${i}`) };
      const m = await runDriftd('sync', target, opts.env, [], part.flatMap((s) => ['--stack', s]));
      const counts = countResults(parseJsonOutput<SyncOutput>(m, 'driftd sync (parallel deploy)'));
      if (m.code !== 0 || counts.deployed !== part.length) {
        throw new Error(`parallel deploy: driftd sync of ${part.length} stacks exited ${m.code} with ${JSON.stringify(counts)}: ${m.stderr.trim().slice(-1500)}`);
      }
      return part.length;
    }),
  );
  return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, processes: parts.length, deployed: runs.reduce((a, b) => a + b, 0) };
}
