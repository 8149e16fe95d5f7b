/**
 * Wall-clock budgets for performance claims ("drift-check of 200 stacks in under 2 s"). Such a
 * figure is driftd's own cost on a quiet machine; on a busy one (a CI box running other suites,
 * `stress-ng --cpu 4` on 2 cores) the scheduler adds a share that grows with the number of
 * runnable processes per core. So the budget is multiplied by the machine's load per core when
 * that is above 1: a quiet machine checks the claim as stated, a loaded one still catches an
 * order-of-magnitude regression, and neither turns CI red because a neighbour was busy.
 * No vitest import (usable from globalSetup and helpers alike).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Runnable processes per core: the larger of the 1-minute load average and the runnable count now. */
export function loadPerCore(): number {
  let runnableNow = 0;
  try {
    // "0.52 0.58 0.59 3/712 12345": field 4 is runnable/total scheduling entities right now (this process included).
    runnableNow = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[3]?.split('/')[0] ?? 0) - 1;
  } catch {
    // not Linux: the load average alone
  }
  const cores = Math.max(1, os.availableParallelism());
  return Math.max(os.loadavg()[0] ?? 0, runnableNow, 0) / cores;
}

export interface Budget {
  /** The budget to assert against: `ms` on a quiet machine, scaled by the load per core otherwise. */
  ms: number;
  /** For the assertion message: the stated budget, the load and the scaled one. */
  note: string;
}

/** The wall-clock budget for a claim of `ms` on a quiet machine, given the load right now. */
export function loadScaledBudget(ms: number): Budget {
  const load = loadPerCore();
  const factor = Math.max(1, load);
  const scaled = Math.round(ms * factor);
  return { ms: scaled, note: `budget ${ms} ms on a quiet machine; load ${load.toFixed(1)} per core → ${scaled} ms` };
}
