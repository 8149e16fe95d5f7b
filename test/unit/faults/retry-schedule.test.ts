/**
 * Issue 13, finding 8: retries never double up with scheduled ticks. The agent's real parts —
 * startSchedule, RetryTimer and the Coalescer, wired as daemon.ts wires them — on a fake clock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer, type Trigger } from '../../../src/agent/coalescer.js';
import { retryBaseMs, RetryTimer, startSchedule } from '../../../src/agent/schedule.js';

interface Run {
  at: number;
  triggers: Trigger[];
}

/** daemon.ts's wiring: a run cancels the pending retry; a failed run asks RetryTimer for one retry. */
function agentLoop(intervalMs: number, outcome: (n: number) => 'ok' | 'fail', runMs = 500) {
  const runs: Run[] = [];
  const delays: (number | undefined)[] = [];
  let fire: (t: Trigger) => void = () => undefined;
  const retry = new RetryTimer({ intervalMs, fire: () => fire('schedule') });
  const coalescer = new Coalescer(async (triggers) => {
    retry.cancel();
    runs.push({ at: Date.now(), triggers });
    await new Promise((r) => setTimeout(r, runMs));
    if (outcome(runs.length) === 'ok') retry.succeeded();
    else delays.push(retry.failed());
  });
  fire = (t) => void coalescer.trigger(t);
  const schedule = startSchedule({ intervalMs, jitterMs: 0, tick: () => fire('schedule') });
  return { runs, delays, fire, retry, stop: () => schedule.stop() };
}

describe('retries and scheduled ticks (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with --interval 20s, backoff grows within the interval: 2.5 s, 5 s, 10 s, then the tick is the retry', async () => {
    const loop = agentLoop(20_000, () => 'fail');
    loop.fire('startup');
    await vi.advanceTimersByTimeAsync(61_000);
    loop.stop();
    expect(retryBaseMs(20_000)).toBe(2500);
    expect(loop.delays.slice(0, 4)).toEqual([2500, 5000, 10_000, undefined]);
    const starts = loop.runs.map((r) => r.at);
    // startup, +3 s (2.5 s after a 0.5 s run), +5.5 s, +10.5 s, then the ticks at 20 s, 40 s, 60 s.
    expect(starts.slice(0, 4)).toEqual([0, 3000, 8500, 19_000]);
    // A tick fires its run from a 0 ms timer (the jitter): 1 ms after the interval on the fake clock.
    expect(starts.slice(4)).toEqual([20_001, 40_001, 60_001]);
  });

  it('never runs twice for one moment: a tick that lands on a retry (or its run) joins it', async () => {
    const loop = agentLoop(20_000, (n) => (n < 6 ? "fail" : "ok"), 2000);
    loop.fire('startup');
    await vi.advanceTimersByTimeAsync(120_000);
    loop.stop();
    const starts = loop.runs.map((r) => r.at);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(2000);
    // After recovery (run 6 succeeded), only the ticks run: one run per tick, none in between.
    const after = loop.runs.slice(6).map((r) => r.at % 20_000);
    expect(after.length).toBeGreaterThan(1);
    expect(after.every((offset) => offset === 1)).toBe(true);
    expect(loop.retry.pending).toBe(false);
  });

  it('a webhook that arrives during a run still gets its follow-up run; a tick does not', async () => {
    const loop = agentLoop(20_000, () => 'ok', 3000);
    loop.fire('startup');
    await vi.advanceTimersByTimeAsync(1000);
    loop.fire('schedule');
    await vi.advanceTimersByTimeAsync(5000);
    expect(loop.runs.map((r) => r.triggers)).toEqual([['startup']]);
    loop.fire('startup');
    await vi.advanceTimersByTimeAsync(1000);
    loop.fire('webhook');
    await vi.advanceTimersByTimeAsync(10_000);
    loop.stop();
    expect(loop.runs.map((r) => r.triggers)).toEqual([['startup'], ['startup'], ['webhook']]);
  });

  it('a run for any trigger supersedes the pending retry', async () => {
    const loop = agentLoop(60_000, (n) => (n === 1 ? 'fail' : 'ok'));
    loop.fire('startup');
    await vi.advanceTimersByTimeAsync(600);
    expect(loop.retry.pending).toBe(true); // 7.5 s
    loop.fire('webhook');
    await vi.advanceTimersByTimeAsync(30_000);
    loop.stop();
    expect(loop.runs.map((r) => r.triggers)).toEqual([['startup'], ['webhook']]);
  });
});
