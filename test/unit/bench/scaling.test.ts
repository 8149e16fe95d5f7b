import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../../bench/args.js';
import { slices } from '../../../bench/deploy.js';
import { scalingSvg } from '../../../bench/plot-svg.js';
import { leastSquares, type Series } from '../../../bench/series.js';

describe('leastSquares', () => {
  it('recovers an exact line (slope per stack and intercept) with R² = 1', () => {
    const fit = leastSquares([10, 50, 200, 1000].map((n) => ({ n, value: 120 + 0.75 * n })));
    expect(fit.slope).toBeCloseTo(0.75, 10);
    expect(fit.intercept).toBeCloseTo(120, 8);
    expect(fit.r2).toBeCloseTo(1, 10);
  });

  it('reports a poor fit for quadratic growth and ignores non-finite points', () => {
    const fit = leastSquares([...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ n, value: (n - 4.5) ** 2 })), { n: 9, value: Number.NaN }]);
    expect(fit.slope).toBeCloseTo(0, 10);
    expect(fit.r2).toBeCloseTo(0, 10);
  });

  it('gives no slope for fewer than two points and no R² for two', () => {
    expect(leastSquares([{ n: 10, value: 1 }]).slope).toBeNaN();
    const two = leastSquares([
      { n: 10, value: 1 },
      { n: 20, value: 3 },
    ]);
    expect(two.slope).toBeCloseTo(0.2, 10);
    expect(two.r2).toBeNaN();
  });
});

describe('scalingSvg', () => {
  const series = (label: string, plotted: boolean, values: number[]): Series => ({
    key: label,
    label,
    unit: 'ms',
    plotted,
    points: [10, 200, 1000].slice(0, values.length).map((n, i) => ({ n, value: values[i]! })),
  });

  it('draws one polyline per plotted series on a log-scale y axis, escaping labels', () => {
    const svg = scalingSvg([series('sync <cli> & co', true, [300, 350, 900]), series('naive', true, [2500, 50_000]), series('hidden', false, [1, 2, 3])], 'title "x"');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('sync &lt;cli&gt; &amp; co');
    expect(svg).toContain('title &quot;x&quot;');
    expect(svg).not.toContain('hidden');
    // Decades from 100 ms to 100 s are labelled: a log axis.
    for (const label of ['100 ms', '1 s', '10 s', '100 s']) expect(svg).toContain(`>${label}</text>`);
  });

  it('renders an empty plot without data', () => {
    expect(scalingSvg([], 'empty')).toContain('no data');
  });
});

describe('bench options', () => {
  it('defaults to 10/50/200/1000 stacks, naive loops up to 200, and rewrites BENCHMARKS.md only then', () => {
    const d = parseBenchArgs([]);
    expect(d.stacks).toEqual([10, 50, 200, 1000]);
    expect(d.naiveMax).toBe(200);
    expect(d.reps).toEqual({ fast: 5, slow: 3 });
    expect(d.writeBenchmarks).toBe(true);
    expect(d.fleet?.agents).toBe(1000);
    const small = parseBenchArgs(['--stacks', '5,3,5', '--skip-v1', '--skip-fleet', '--naive-max', '4']);
    expect(small.stacks).toEqual([3, 5]);
    expect(small.v1).toBeNull();
    expect(small.fleet).toBeNull();
    expect(small.writeBenchmarks).toBe(false);
    expect(() => parseBenchArgs(['--reps', '0'])).toThrow(/positive integer/);
  });

  it('splits stacks into disjoint slices for the parallel deploy', () => {
    const parts = slices(['a', 'b', 'c', 'd', 'e'], 2);
    expect(parts).toEqual([
      ['a', 'c', 'e'],
      ['b', 'd'],
    ]);
    expect(slices(['a'], 4)).toEqual([['a']]);
  });
});
