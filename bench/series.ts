/**
 * Each figure as a function of the stack count (medians per N), with its least-squares line:
 * the slope per stack the issue asks for, and the curves of the scaling plot.
 */
import type { StackCountResult } from './scenarios.js';
import { summarize } from './stats.js';

export interface Series {
  key: string;
  label: string;
  unit: 'ms' | 'MB';
  /** On the time-vs-stacks plot. */
  plotted: boolean;
  points: { n: number; value: number }[];
}

export interface Fit {
  slope: number;
  intercept: number;
  /** Coefficient of determination (1: the points lie on the line); NaN with fewer than 3 points. */
  r2: number;
}

/** Ordinary least squares of value on n. */
export function leastSquares(points: readonly { n: number; value: number }[]): Fit {
  const pts = points.filter((p) => Number.isFinite(p.value));
  const k = pts.length;
  if (k < 2) return { slope: Number.NaN, intercept: Number.NaN, r2: Number.NaN };
  const mx = pts.reduce((a, p) => a + p.n, 0) / k;
  const my = pts.reduce((a, p) => a + p.value, 0) / k;
  const sxx = pts.reduce((a, p) => a + (p.n - mx) ** 2, 0);
  const sxy = pts.reduce((a, p) => a + (p.n - mx) * (p.value - my), 0);
  const slope = sxx === 0 ? Number.NaN : sxy / sxx;
  const intercept = my - slope * mx;
  const ssTot = pts.reduce((a, p) => a + (p.value - my) ** 2, 0);
  const ssRes = pts.reduce((a, p) => a + (p.value - (intercept + slope * p.n)) ** 2, 0);
  return { slope, intercept, r2: k < 3 ? Number.NaN : ssTot === 0 ? 1 : 1 - ssRes / ssTot };
}

const median = (xs: readonly number[]): number => summarize(xs).median;
const composeMs = (r: { compose?: { wallMs: number }[] }): number => (r.compose ?? []).reduce((a, c) => a + c.wallMs, 0);

export function agentCycleMs(c: StackCountResult): number {
  return median(c.agent.cycles.slice(1).map((x) => x.wallMs));
}

/** The median no-change cycle without its wait for the Git server's answer (agent-child.ts, gitWaitMs). */
export function agentOwnCycleMs(c: StackCountResult): number {
  return median(c.agent.cycles.slice(1).map((x) => x.wallMs - x.gitWaitMs));
}

export function peakAgentRss(c: StackCountResult): number {
  return Math.max(...Object.values(c.agent.memory).map((m) => m.rssBytes));
}

/** driftd's wall time around its own Compose runs in a one-stack change (median). */
export function changeOverheadMs(c: StackCountResult, who: 'driftdSync' | 'agent'): number {
  return median(c.oneChange[who].map((r) => r.wallMs - composeMs(r)));
}

export function scalingSeries(counts: readonly StackCountResult[]): Series[] {
  const series = (key: string, label: string, plotted: boolean, value: (c: StackCountResult) => number | undefined, unit: Series['unit'] = 'ms'): Series => ({
    key,
    label,
    unit,
    plotted,
    points: counts.flatMap((c) => {
      const v = value(c);
      return v === undefined || !Number.isFinite(v) ? [] : [{ n: c.n, value: v }];
    }),
  });
  const naive = (c: StackCountResult, v: 'v1' | 'v2'): number | undefined => {
    const runs = c.naive[v]?.noChange;
    return runs ? median(runs.map((r) => r.wallMs)) : undefined;
  };
  return [
    series('sync', 'driftd sync, no change (process)', true, (c) => median(c.noChange.driftdSync.map((r) => r.wallMs))),
    series('agent', 'agent cycle, no change (in process)', true, agentCycleMs),
    series('driftCheck', 'driftd drift-check (process)', true, (c) => median(c.driftCheck.driftd.map((r) => r.wallMs))),
    series('changeCli', 'one-stack change, driftd sync minus its Compose run', false, (c) => changeOverheadMs(c, 'driftdSync')),
    series('changeAgent', 'one-stack change, agent cycle minus its Compose run', false, (c) => changeOverheadMs(c, 'agent')),
    series('naiveV2', 'naive loop, Compose v2', true, (c) => naive(c, 'v2')),
    series('naiveV1', 'naive loop, Compose v1', true, (c) => naive(c, 'v1')),
    series('naiveCheck', 'naive drift check, Compose v2', false, (c) => {
      const runs = c.naive.v2?.driftCheck;
      return runs ? median(runs.map((r) => r.wallMs)) : undefined;
    }),
    series('agentRss', 'agent RSS, peak', false, (c) => peakAgentRss(c) / 1e6, 'MB'),
  ];
}
