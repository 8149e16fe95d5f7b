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

  /** Resolves when the run that will include this trigger has finished. */
  trigger(trigger: Trigger): Promise<void> {
    if (this.stopped) return Promise.resolve();
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
        await this.run(batch, this.abort.signal);
      }
    } finally {
      this.running = undefined;
    }
  }
}

/** Uniform random delay in [0, maxMs): spreads a fleet's polls so they do not hit the Git server at once. */
export function jitterDelay(maxMs: number, random: () => number = Math.random): number {
  return maxMs <= 0 ? 0 : Math.floor(random() * maxMs);
}
