/** The targets of issue 7, checked against a bench result (at N = 200, where the issue sets them). */
import { fmtDeltaMs, fmtMb, fmtMs, fmtPct, kindsText } from './format.js';
import type { GitPollResult } from './git-history.js';
import type { StackCountResult } from './scenarios.js';
import { summarize } from './stats.js';

export const TARGET_N = 200;

export interface TargetResult {
  target: string;
  measured: string;
  status: 'met' | 'missed' | 'not measured';
}

const median = (xs: readonly number[]): number => summarize(xs).median;
const verdict = (ok: boolean): TargetResult['status'] => (ok ? 'met' : 'missed');

export function agentGrowth(r: StackCountResult, from: 'afterStart' | 'afterFirstCycle'): number {
  const start = r.agent.memory[from].rssBytes;
  return (r.agent.memory.afterLastCycle.rssBytes - start) / start;
}

/** RSS growth from the middle of the run to its end: warm-up (JIT code, heap sizing) is over by then, a leak is not. */
export function secondHalfGrowth(r: StackCountResult): { growth: number; from: number; to: number } {
  const trace = r.agent.trace;
  const last = trace.at(-1);
  const mid = trace.find((t) => t.cycle >= (last?.cycle ?? 0) / 2);
  if (!last || !mid) return { growth: Number.NaN, from: 0, to: 0 };
  return { growth: (last.rssBytes - mid.rssBytes) / mid.rssBytes, from: mid.cycle, to: last.cycle };
}

/**
 * One-stack change: what driftd adds on top of the one Compose run the change needs (the naive
 * loop's run for that stack), for `driftd sync` (a process) or the agent's in-process cycle.
 */
export function changeOverheadMs(r: StackCountResult, who: 'driftdSync' | 'agent'): number {
  return median(r.oneChange[who].map((x) => x.wallMs)) - median(r.oneChange.naive.map((x) => x.changedStackMs));
}

export function evaluateTargets(counts: readonly StackCountResult[], git: GitPollResult | undefined): TargetResult[] {
  const at = counts.find((c) => c.n === TARGET_N);
  const out: TargetResult[] = [];
  const atN = (target: string, check: (r: StackCountResult) => { measured: string; ok: boolean }): void => {
    if (!at) {
      out.push({ target, measured: `N=${TARGET_N} not in --stacks`, status: 'not measured' });
      return;
    }
    const { measured, ok } = check(at);
    out.push({ target, measured, status: verdict(ok) });
  };

  atN(`no-change reconcile at ${TARGET_N} stacks ≤ 1 s wall, process start included (median of driftd sync)`, (r) => {
    const wall = median(r.noChange.driftdSync.map((x) => x.wallMs));
    return { measured: fmtMs(wall), ok: wall <= 1000 };
  });
  atN(`no-change reconcile at ${TARGET_N} stacks ≥ 50× faster than the naive loop (median wall, naive / driftd sync)`, (r) => {
    const ratio = median(r.noChange.naive.map((x) => x.wallMs)) / median(r.noChange.driftdSync.map((x) => x.wallMs));
    return { measured: `${ratio.toFixed(1)}×`, ok: ratio >= 50 };
  });
  atN(
    `one-stack change ≤ one Compose run + 200 ms (the agent's cycle − the naive loop's \`up -d\` of the changed stack, medians; the \`driftd sync\` process, which adds its process start, in brackets)`,
    (r) => {
      const over = changeOverheadMs(r, 'agent');
      return { measured: `${fmtDeltaMs(over)} (driftd sync: ${fmtDeltaMs(changeOverheadMs(r, 'driftdSync'))})`, ok: over <= 200 };
    },
  );
  atN(`drift-check at ${TARGET_N} stacks ≤ 2 s, process start included (median)`, (r) => {
    const wall = median(r.driftCheck.driftd.map((x) => x.wallMs));
    return { measured: fmtMs(wall), ok: wall <= 2000 };
  });

  if (!git) out.push({ target: 'poll with no new tag: one refs request, no fetch', measured: 'git scenario skipped', status: 'not measured' });
  else {
    const ok = git.noNewTag.every((p) => p.requests === 1 && p.byKind['info/refs'] === 1);
    out.push({ target: 'poll with no new tag: one refs request, no fetch', measured: kindsText(git.noNewTag.map((p) => p.byKind)), status: verdict(ok) });
  }

  atN(`agent RSS ≤ 120 MB (after ${TARGET_N}-stack cycles)`, (r) => {
    const peak = Math.max(...Object.values(r.agent.memory).map((m) => m.rssBytes));
    return { measured: `${fmtMb(peak)} peak`, ok: peak <= 120e6 };
  });
  // `driftd agent` reconciles as it starts, so a started agent is one that has run its first cycle;
  // the growth from before any reconcile (the working set of the first one) is shown beside it.
  atN(`agent RSS growth over the in-process cycles ≤ 10 % (after the first cycle, i.e. a started agent → after the last cycle)`, (r) => {
    const growth = agentGrowth(r, 'afterFirstCycle');
    const half = secondHalfGrowth(r);
    return {
      measured: `${fmtPct(growth)} (cycles ${half.from}→${half.to}: ${fmtPct(half.growth)}; from before the first reconcile: ${fmtPct(agentGrowth(r, 'afterStart'))})`,
      ok: growth <= 0.1,
    };
  });
  return out;
}
