import { describe, expect, it } from 'vitest';
import { Coalescer, jitterDelay, type Trigger } from '../../../src/agent/coalescer.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Coalescer', () => {
  it('never runs two reconciles at once and coalesces triggers into one follow-up run', async () => {
    let active = 0;
    let maxActive = 0;
    const batches: Trigger[][] = [];
    const gates = [deferred(), deferred()];
    const c = new Coalescer(async (triggers) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      batches.push(triggers);
      await gates[batches.length - 1]!.promise;
      active -= 1;
    });
    const first = c.trigger('schedule');
    const second = c.trigger('webhook');
    const third = c.trigger('watch');
    const fourth = c.trigger('webhook');
    gates[0]!.resolve();
    gates[1]!.resolve();
    await Promise.all([first, second, third, fourth]);
    expect(maxActive).toBe(1);
    expect(c.runs).toBe(2);
    expect(batches).toEqual([['schedule'], ['webhook', 'watch']]);
    expect(c.busy).toBe(false);
  });

  it('stop() aborts the run in flight and drops queued triggers', async () => {
    const gate = deferred();
    let sawAbort = false;
    const c = new Coalescer(async (_t, signal) => {
      await gate.promise;
      sawAbort = signal.aborted;
    });
    const run = c.trigger('schedule');
    void c.trigger('webhook');
    const stopping = c.stop();
    gate.resolve();
    await Promise.all([run, stopping]);
    expect(sawAbort).toBe(true);
    expect(c.runs).toBe(1);
    await c.trigger('schedule');
    expect(c.runs).toBe(1);
  });

  it('starts a new run after the previous one finished', async () => {
    const c = new Coalescer(() => Promise.resolve());
    await c.trigger('schedule');
    await c.trigger('schedule');
    expect(c.runs).toBe(2);
  });

  it('keeps running after a failed run', async () => {
    let n = 0;
    const c = new Coalescer(() => {
      n += 1;
      return n === 1 ? Promise.reject(new Error('boom')) : Promise.resolve();
    });
    await expect(c.trigger('schedule')).rejects.toThrow('boom');
    await c.trigger('schedule');
    expect(n).toBe(2);
  });
});

describe('jitterDelay', () => {
  it.each([
    [0, 0.9, 0],
    [1000, 0, 0],
    [1000, 0.5, 500],
    [1000, 0.999, 999],
  ])('max %i, random %f → %i', (max, r, want) => {
    expect(jitterDelay(max, () => r)).toBe(want);
  });
});
