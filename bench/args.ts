/** `npm run bench -- [options]`: see BENCH_USAGE (also printed by `--help`). */
import { parseArgs } from 'node:util';

export interface FleetOptions {
  /** Simulated agents polling one repo. */
  agents: number;
  /** How many seconds of the simulation stand for one hour (the agents' interval). */
  hourSeconds: number;
  stacks: number;
  tags: number;
}

export interface BenchOptions {
  /** Stack counts driftd is measured at. */
  stacks: number[];
  /** The naive loops run only at stack counts up to this (they cost ~0.25 s (v2) / ~0.6 s (v1) per stack per loop). */
  naiveMax: number;
  /** driftd runs per figure (fast) and naive loop runs per figure (slow). */
  reps: { fast: number; slow: number };
  agentCycles: number;
  /** Parallel Compose/driftd processes that deploy a stack count's stacks (not a measured figure). */
  deployConcurrency: number;
  /** The Compose v1 baseline: docker-compose on the legacy engine (null: skipped). */
  v1: { dockerHost: string } | null;
  git: { commits: number; tags: number; stacks: number } | null;
  fleet: FleetOptions | null;
  note?: string;
  /** Rewrite BENCHMARKS.md (default only when every default stack count was measured). */
  writeBenchmarks: boolean;
}

export const DEFAULT_STACKS = [10, 50, 200, 1000];
/** scripts/test-matrix.env LEGACY_DOCKER_HOST: Engine 20.10 + Compose v1, provisioned by `DRIFTD_TEST_ENGINE=legacy bash scripts/test-env.sh`. */
export const LEGACY_DOCKER_HOST = 'unix:///run/driftd-test/legacy/docker.sock';

export const BENCH_USAGE = `npm run bench -- [options]
  --stacks 10,50,200,1000   stack counts driftd is measured at (BENCHMARKS.md is rewritten only when all four are)
  --naive-max 200           run the naive loops (Compose v2 and v1) only at stack counts up to this
  --reps 5                  driftd runs per figure          --naive-reps 3   naive loop runs per figure
  --agent-cycles 100        in-process agent cycles per stack count
  --deploy-concurrency 4    parallel processes deploying each stack count (setup, not measured)
  --legacy-docker-host URL  the Compose v1 baseline's engine (default ${LEGACY_DOCKER_HOST})
  --skip-v1                 no Compose v1 baseline
  --git-commits 5000 --git-tags 500 | --skip-git      the Git history poll scenario
  --fleet-agents 1000 --fleet-hour 60 | --skip-fleet  the fleet simulation (one hour lasts --fleet-hour seconds)
  --note TEXT  --[no-]write-benchmarks`;

function positiveInt(value: string | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got "${value}"`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values: v } = parseArgs({
    args: [...argv],
    options: {
      stacks: { type: 'string' },
      'naive-max': { type: 'string' },
      reps: { type: 'string' },
      'naive-reps': { type: 'string' },
      'agent-cycles': { type: 'string' },
      'deploy-concurrency': { type: 'string' },
      'legacy-docker-host': { type: 'string' },
      'skip-v1': { type: 'boolean' },
      'git-commits': { type: 'string' },
      'git-tags': { type: 'string' },
      'skip-git': { type: 'boolean' },
      'fleet-agents': { type: 'string' },
      'fleet-hour': { type: 'string' },
      'skip-fleet': { type: 'boolean' },
      note: { type: 'string' },
      'write-benchmarks': { type: 'boolean' },
      'no-write-benchmarks': { type: 'boolean' },
    },
    strict: true,
  });
  const stacks = v.stacks ? [...new Set(v.stacks.split(',').map((s) => positiveInt(s.trim(), '--stacks', 0)))].sort((a, b) => a - b) : DEFAULT_STACKS;
  const allDefaults = DEFAULT_STACKS.every((n) => stacks.includes(n));
  return {
    stacks,
    naiveMax: positiveInt(v['naive-max'], '--naive-max', 200),
    reps: { fast: positiveInt(v.reps, '--reps', 5), slow: positiveInt(v['naive-reps'], '--naive-reps', 3) },
    agentCycles: Math.max(2, positiveInt(v['agent-cycles'], '--agent-cycles', 100)),
    deployConcurrency: positiveInt(v['deploy-concurrency'], '--deploy-concurrency', 4),
    v1: v['skip-v1'] ? null : { dockerHost: v['legacy-docker-host'] ?? LEGACY_DOCKER_HOST },
    git: v['skip-git'] ? null : { commits: positiveInt(v['git-commits'], '--git-commits', 5000), tags: positiveInt(v['git-tags'], '--git-tags', 500), stacks: 20 },
    fleet: v['skip-fleet'] ? null : { agents: positiveInt(v['fleet-agents'], '--fleet-agents', 1000), hourSeconds: positiveInt(v['fleet-hour'], '--fleet-hour', 60), stacks: 200, tags: 500 },
    ...(v.note ? { note: v.note } : {}),
    writeBenchmarks: v['no-write-benchmarks'] ? false : (v['write-benchmarks'] ?? allDefaults),
  };
}
