import { describe, expect, it } from 'vitest';
import type { FleetHour, FleetResult } from '../../../bench/fleet-git.js';
import { fleetSection, fleetTargets } from '../../../bench/fleet-report.js';

const hour = (over: Partial<FleetHour>): FleetHour => ({
  jitter: true,
  newTag: false,
  byKind: { 'git-upload-pack ls-refs': 100 },
  requestBytes: 0,
  responseBytes: 0,
  fetches: 0,
  errors: 0,
  peakPerSecond: 1,
  scheduledPeakPerSecond: 1,
  fetchHistogram: Array<number>(10).fill(0),
  fetchesAfterWindow: 0,
  offeredFetchHistogram: Array<number>(10).fill(0),
  offeredFetchesAfterWindow: 0,
  fetchLagMs: null,
  errorKinds: {},
  drainMs: 1000,
  ...over,
});

const fleet = (burst: Partial<FleetHour>, quiet: Partial<FleetHour> = {}): FleetResult => ({
  options: { agents: 100, hourSeconds: 60, stacks: 200, tags: 500 },
  jitterMs: 300_000,
  buildMs: 1,
  hours: [
    hour(quiet),
    hour({ newTag: true, byKind: { 'git-upload-pack ls-refs': 100, 'git-upload-pack fetch': 100 }, fetches: 100, ...burst }),
  ],
});

const spreadTarget = (f: FleetResult) => fleetTargets(f).find((t) => t.target.includes('spread'))!;

describe('fleet targets', () => {
  it('judges the post-tag spread on when the agents ask, and shows the server arrivals beside it', () => {
    const f = fleet({ offeredFetchHistogram: Array<number>(10).fill(10), fetchesAfterWindow: 100, fetchLagMs: { median: 60_000, max: 120_000 } });
    const t = spreadTarget(f);
    expect(t.status).toBe('met');
    expect(t.measured).toContain('asked per tenth: 10 / 10');
    expect(t.measured).toContain('100 of them after the compressed window');
    expect(t.measured).toContain('server lag 60 s median, 120 s worst');
  });

  it('misses when the agents ask in a burst, after the window, or when asked and arrived fetches disagree', () => {
    expect(spreadTarget(fleet({ offeredFetchHistogram: [100, 0, 0, 0, 0, 0, 0, 0, 0, 0] })).status).toBe('missed');
    expect(spreadTarget(fleet({ offeredFetchHistogram: Array<number>(10).fill(9), offeredFetchesAfterWindow: 10 })).status).toBe('missed');
    // An agent that fetched twice (or a fetch nobody asked for) is not hidden by a good schedule.
    expect(spreadTarget(fleet({ offeredFetchHistogram: Array<number>(10).fill(10), fetches: 101 })).status).toBe('missed');
    expect(spreadTarget(fleet({ offeredFetchHistogram: Array<number>(10).fill(0), fetches: 0 })).status).toBe('missed');
  });

  it('counts failed polls by message in the table and any fetch without a new tag as a miss', () => {
    const f = fleet({ offeredFetchHistogram: Array<number>(10).fill(10) }, { errors: 3, errorKinds: { 'connect ECONNRESET 127.0.0.1:1': 3 }, fetches: 1 });
    expect(fleetSection(f)).toContain('3: 3× connect ECONNRESET 127.0.0.1:1');
    expect(fleetTargets(f).find((t) => t.target.includes('no fetch'))!.status).toBe('missed');
  });

  it('a fetch in an hour without a new tag by an agent that still lacked the tag (its earlier poll failed) is no miss; one more than those is', () => {
    const caughtUp = (fetches: number): FleetResult =>
      fleet({ offeredFetchHistogram: Array<number>(10).fill(9), fetches: 90, errors: 10 }, { fetches, offeredFetchHistogram: [0, 0, 0, 0, 0, 0, 0, 0, 0, 10] });
    const met = fleetTargets(caughtUp(10)).find((t) => t.target.includes('no fetch'))!;
    expect(met.status).toBe('met');
    expect(met.measured).toBe(
      "0 fetches without a target new to the agent that made them; the 10 fetches of the hours with no new tag were agents whose poll in the tag's hour had failed, fetching the tag still new to them",
    );
    expect(fleetTargets(caughtUp(11)).find((t) => t.target.includes('no fetch'))!.status).toBe('missed');
  });
});
