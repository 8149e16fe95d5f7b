import cron from 'node-cron';
import { DriftdError } from '../errors/index.js';
import { jitterDelay } from './coalescer.js';

export interface Schedule {
  stop(): void;
  /** When the schedule fires next (before jitter), for the status page. */
  next(): Date | undefined;
}

/** Delay before the next retry after `failures` consecutive failed runs: 30 s doubling, capped. */
export function backoffDelay(failures: number, capMs: number, baseMs = 30_000): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, baseMs * 2 ** Math.min(failures - 1, 20));
}

/** The first retry's delay: 30 s, or an eighth of a shorter poll interval, so that retries grow within it. */
export function retryBaseMs(intervalMs: number): number {
  return Math.max(1000, Math.min(30_000, Math.floor(intervalMs / 8)));
}

/** The timer functions RetryTimer uses (tests pass fake ones). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Retries after failed runs without doubling up with the schedule: at most one retry is pending;
 * any run that starts (a tick, a webhook) supersedes it; and a retry that would come no sooner
 * than the next scheduled tick is not set at all — the tick is the retry. Delays grow from
 * retryBaseMs(interval), doubling, within the interval.
 */
export class RetryTimer {
  #failures = 0;
  #pending: unknown;

  constructor(private readonly opts: { intervalMs: number; fire: () => void; timers?: Timers }) {}

  get failures(): number {
    return this.#failures;
  }

  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** A run failed: returns the delay of the one retry now pending, or undefined when the next tick will retry. */
  failed(): number | undefined {
    this.#failures += 1;
    this.cancel();
    const delay = backoffDelay(this.#failures, this.opts.intervalMs, retryBaseMs(this.opts.intervalMs));
    if (delay >= this.opts.intervalMs) return undefined;
    const timers = this.opts.timers ?? realTimers;
    this.#pending = timers.setTimeout(() => {
      this.#pending = undefined;
      this.opts.fire();
    }, delay);
    return delay;
  }

  succeeded(): void {
    this.#failures = 0;
    this.cancel();
  }

  /** A run is starting: the pending retry (if any) is served by it. */
  cancel(): void {
    if (this.#pending === undefined) return;
    (this.opts.timers ?? realTimers).clearTimeout(this.#pending);
    this.#pending = undefined;
  }
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
    const every = opts.intervalMs;
    let due = Date.now() + every;
    const iv = setInterval(() => {
      due = Date.now() + every;
      later(jitterDelay(Math.min(opts.jitterMs, every), opts.random));
    }, every);
    return {
      next: () => new Date(due),
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
    next: () => task.getNextRun() ?? undefined,
    stop: () => {
      void task.stop();
      for (const t of timers) clearTimeout(t);
    },
  };
}
