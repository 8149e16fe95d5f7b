import cron from 'node-cron';
import { DriftdError } from '../errors/index.js';
import { jitterDelay } from './coalescer.js';

export interface Schedule {
  stop(): void;
}

/** Delay before the next retry after `failures` consecutive failed runs: 30 s doubling, capped. */
export function backoffDelay(failures: number, capMs: number, baseMs = 30_000): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 20));
}

/**
 * Fires `tick` on a cron schedule (plus a random jitter up to `jitterMs`, so a fleet spreads its
 * polls) or every `intervalMs`. Timers are unref'd only when `unref` is set (tests).
 */
export function startSchedule(opts: { cron?: string; intervalMs?: number; jitterMs: number; tick: () => void; random?: () => number }): Schedule {
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      opts.tick();
    }, ms);
    timers.add(t);
  };
  if (opts.intervalMs !== undefined) {
    if (opts.intervalMs < 1000) throw new DriftdError('UsageError', `--interval must be at least 1s, got ${opts.intervalMs} ms`);
    const iv = setInterval(() => later(jitterDelay(Math.min(opts.jitterMs, opts.intervalMs ?? 0), opts.random)), opts.intervalMs);
    return {
      stop: () => {
        clearInterval(iv);
        for (const t of timers) clearTimeout(t);
      },
    };
  }
  const expression = opts.cron ?? '0 * * * *';
  if (!cron.validate(expression)) throw new DriftdError('UsageError', `schedule "${expression}" is not a valid cron expression (e.g. "0 * * * *")`);
  const task = cron.schedule(expression, () => later(jitterDelay(opts.jitterMs, opts.random)), { noOverlap: false });
  return {
    stop: () => {
      void task.stop();
      for (const t of timers) clearTimeout(t);
    },
  };
}
