import type { Trigger } from '../state/schema.js';

export type { Trigger };

/**
 * Runs one reconcile at a time. A trigger that arrives while a run is in flight does not start a
 * second run in parallel: all such triggers coalesce into exactly one follow-up run.
 */
export class Coalescer {
  private running: Promise<void> | undefined;
  private pending: Trigger[] = [];
  private stopped = false;
  runs = 0;

  constructor(private readonly run: (triggers: Trigger[], signal: AbortSignal) => Promise<void>, private readonly abort = new AbortController()) {}

  /** The triggers of the run in flight (empty when idle). */
  private current: Trigger[] = [];

  /**
   * Resolves when the run that will include this trigger has finished. A scheduled poll (a tick
   * or a retry) that arrives while a run is in flight joins that run: the run polls the repo
   * itself, so a second one right after it would only repeat it. Webhooks and ref changes still
   * get their follow-up run (they may announce a revision the running poll did not see).
   */
  trigger(trigger: Trigger): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (trigger === 'schedule' && this.running && this.current.length > 0) return this.running;
    this.pending.push(trigger);
    this.running ??= this.loop();
    return this.running;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Stops accepting triggers, asks the current run to abandon what it has not started, waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = [];
    this.abort.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.stopped) {
        const batch = [...new Set(this.pending)];
        this.pending = [];
        this.runs += 1;
        this.current = batch;
        await this.run(batch, this.abort.signal);
        this.current = [];
      }
    } finally {
      this.current = [];
      this.running = undefined;
    }
  }
}

/** Uniform random delay in [0, maxMs): spreads a fleet's polls so they do not hit the Git server at once. */
export function jitterDelay(maxMs: number, random: () => number = Math.random): number {
  return maxMs <= 0 ? 0 : Math.floor(random() * maxMs);
}
