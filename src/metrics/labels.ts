/**
 * Pure mappings from what a reconcile returns to metric label values. Every label value comes
 * from a closed set or is a stack name (validated by the repo layout, a handful per host):
 * never a message, a path or an error text, so a series count stays bounded.
 */
import type { DriftResult } from '../drift/compute-drift.js';
import type { StackResult } from '../sync/reconcile.js';
import { evaluateWindows, windowsFor, type SyncWindow } from '../windows/index.js';

/** `driftd_sync_total{result}`: what happened to a stack that had something to apply. */
export type SyncResultLabel = 'succeeded' | 'failed' | 'rolled_back' | 'skipped';

/**
 * unchanged/recorded ran nothing and are not syncs; a prune that worked is a succeeded sync;
 * a stack held back (window, approval, failed before, refused by policy) or abandoned at
 * shutdown is skipped.
 */
export function syncResultLabel(result: StackResult): SyncResultLabel | undefined {
  switch (result) {
    case 'deployed':
    case 'pruned':
      return 'succeeded';
    case 'failed':
      return 'failed';
    case 'rolled-back':
      return 'rolled_back';
    case 'skipped':
    case 'awaiting-approval':
    case 'refused':
    case 'abandoned':
      return 'skipped';
    case 'unchanged':
    case 'recorded':
      return undefined;
  }
}

/** `driftd_reconcile_total{outcome}`: ok (exit 0), degraded (exit 2: a stack failed or waits), error (the run could not complete). */
export type ReconcileOutcome = 'ok' | 'degraded' | 'error';

export function reconcileOutcome(exitCode: number | undefined): ReconcileOutcome {
  if (exitCode === undefined) return 'error';
  return exitCode === 0 ? 'ok' : 'degraded';
}

export interface FindingCount {
  stack: string;
  kind: string;
  severity: string;
  count: number;
}

/** `driftd_drift_findings{stack,kind,severity}`: findings counted per stack, kind and severity (unmanaged projects under stack ""). */
export function findingCounts(drift: DriftResult): FindingCount[] {
  const counts = new Map<string, FindingCount>();
  const add = (stack: string, kind: string, severity: string): void => {
    const key = JSON.stringify([stack, kind, severity]);
    const c = counts.get(key);
    if (c) c.count += 1;
    else counts.set(key, { stack, kind, severity, count: 1 });
  };
  for (const s of drift.stacks) for (const f of s.findings) add(s.stack, f.kind, f.severity);
  // An unmanaged project's name is not one of ours and may be anything: counted together.
  for (const f of drift.unmanaged) add('', f.kind, f.severity);
  return [...counts.values()];
}

export interface WindowState {
  stack: string;
  /** 1 when a sync may run now (automatic sync), else 0. */
  open: boolean;
  /** When closed: the next opening, ms since the epoch (none found within a year: undefined). */
  nextOpenMs?: number;
}

/** Per stack governed by any window: open now, or when it next opens. Stacks no window governs are left out. */
export function windowStates(stacks: Iterable<string>, hostWide: readonly SyncWindow[], own: ReadonlyMap<string, readonly SyncWindow[]>, nowMs: number): WindowState[] {
  const out: WindowState[] = [];
  for (const stack of stacks) {
    const windows = windowsFor(stack, hostWide, own.get(stack) ?? []);
    if (windows.length === 0) continue;
    const v = evaluateWindows(windows, nowMs, false);
    out.push({ stack, open: v.allowed, ...(v.nextOpenMs !== undefined ? { nextOpenMs: v.nextOpenMs } : {}) });
  }
  return out.sort((a, b) => a.stack.localeCompare(b.stack));
}
