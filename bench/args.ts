/** `npm run bench -- [--stacks 10,50,200] [--reps N] [--agent-cycles N] [--skip-git] [--note TEXT]` */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  stacks: number[];
  reps: { fast: number; slow: number };
  agentCycles: number;
  git: { commits: number; tags: number; stacks: number } | null;
  note?: string;
  /** Rewrite BENCHMARKS.md (default only when every default stack count was measured). */
  writeBenchmarks: boolean;
}

export const DEFAULT_STACKS = [10, 50, 200];

function positiveInt(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got "${value}"`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      stacks: { type: 'string' },
      reps: { type: 'string' },
      'agent-cycles': { type: 'string' },
      'git-commits': { type: 'string' },
      'git-tags': { type: 'string' },
      'skip-git': { type: 'boolean' },
      note: { type: 'string' },
      'write-benchmarks': { type: 'boolean' },
      'no-write-benchmarks': { type: 'boolean' },
    },
    strict: true,
  });
  const stacks = values.stacks ? values.stacks.split(',').map((s) => positiveInt(s.trim(), '--stacks')) : DEFAULT_STACKS;
  const reps = values.reps ? positiveInt(values.reps, '--reps') : undefined;
  const allDefaults = DEFAULT_STACKS.every((n) => stacks.includes(n));
  return {
    stacks,
    reps: { fast: reps ?? 5, slow: reps ?? 3 },
    agentCycles: Math.max(2, values['agent-cycles'] ? positiveInt(values['agent-cycles'], '--agent-cycles') : 100),
    git: values['skip-git']
      ? null
      : {
          commits: values['git-commits'] ? positiveInt(values['git-commits'], '--git-commits') : 5000,
          tags: values['git-tags'] ? positiveInt(values['git-tags'], '--git-tags') : 500,
          stacks: 20,
        },
    ...(values.note ? { note: values.note } : {}),
    writeBenchmarks: values['no-write-benchmarks'] ? false : (values['write-benchmarks'] ?? allDefaults),
  };
}
