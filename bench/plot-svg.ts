/**
 * The scaling plot of BENCHMARKS.md: time (log scale) against the stack count (log scale), one
 * line per series, as a self-contained SVG written by hand (no plotting dependency).
 */
import { fmtMs } from './format.js';
import type { Series } from './series.js';

const W = 820;
const H = 500;
const M = { left: 70, right: 290, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#d62728', '#ff7f0e', '#8c564b', '#e377c2'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (x: number): string => x.toFixed(1);

function logScale(min: number, max: number, from: number, to: number): (v: number) => number {
  const [a, b] = [Math.log10(min), Math.log10(max)];
  return (v) => from + ((Math.log10(v) - a) / (b - a || 1)) * (to - from);
}

export function scalingSvg(all: readonly Series[], title: string): string {
  const series = all.filter((s) => s.plotted && s.unit === 'ms' && s.points.some((p) => p.value > 0));
  const pts = series.flatMap((s) => s.points.filter((p) => p.value > 0));
  const ns = [...new Set(pts.map((p) => p.n))].sort((a, b) => a - b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  if (pts.length === 0) return [...out, `<text x="${M.left}" y="${H / 2}">no data</text>`, '</svg>', ''].join('\n');
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...pts.map((p) => p.value))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...pts.map((p) => p.value))));
  const [nMin, nMax] = [ns[0]!, ns.at(-1)!];
  const x = logScale(nMin === nMax ? nMin / 2 : nMin, nMin === nMax ? nMax * 2 : nMax, M.left, W - M.right);
  const y = logScale(yMin, yMax, H - M.bottom, M.top);
  // Grid: every decade labelled, 2× and 5× lines faint.
  for (let d = yMin; d <= yMax * 1.0001; d *= 10) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${r1(y(d))}" y2="${r1(y(d))}" stroke="#bbb"/>`);
    out.push(`<text x="${M.left - 6}" y="${r1(y(d) + 4)}" text-anchor="end">${esc(fmtMs(d).replace('.00 s', ' s'))}</text>`);
    for (const f of [2, 5]) if (d * f < yMax) out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${r1(y(d * f))}" y2="${r1(y(d * f))}" stroke="#eee"/>`);
  }
  for (const n of ns) {
    out.push(`<line x1="${r1(x(n))}" x2="${r1(x(n))}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${r1(x(n))}" y="${H - M.bottom + 16}" text-anchor="middle">${n}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">stacks (log scale)</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">wall time, median (log scale)</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const line = s.points.filter((p) => p.value > 0).map((p) => `${r1(x(p.n))},${r1(y(p.value))}`);
    out.push(`<polyline points="${line.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points.filter((q) => q.value > 0)) {
      out.push(`<circle cx="${r1(x(p.n))}" cy="${r1(y(p.value))}" r="3.5" fill="${color}"><title>${esc(`${s.label}: ${fmtMs(p.value)} at ${p.n} stacks`)}</title></circle>`);
    }
    const ly = M.top + 10 + i * 20;
    out.push(`<line x1="${W - M.right + 14}" x2="${W - M.right + 38}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 44}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
