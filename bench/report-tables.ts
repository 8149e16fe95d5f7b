/** The per-scenario Markdown tables of the bench report. */
import { countBy, fmtMb, fmtMs, fmtPct, kindsText } from './format.js';
import type { GitPollResult, PollSample } from './git-history.js';
import type { LoopRun } from './naive.js';
import type { NaiveResult } from './naive-scenario.js';
import type { ProfileEntry, ProfileSummary } from './profile.js';
import type { ProcessRun, StackCountResult } from './scenarios.js';
import { agentOwnCycleMs, changeOverheadMs, leastSquares, type Series } from './series.js';
import type { ImportCost } from './startup.js';
import { summarize, type Summary } from './stats.js';
import { agentGrowth, secondHalfGrowth, TARGETS_ISSUE, type TargetResult } from './targets.js';

export const fmtBytes = (b: number): string => (b >= 10_000 ? `${(b / 1000).toFixed(1)} kB` : `${Math.round(b)} B`);
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(1)}×` : '–');

/** "412 ms (398–450)": median, then min–max. */
export function spread(s: Summary, fmt: (x: number) => string = fmtMs): string {
  if (s.n === 0) return '–';
  return s.n <= 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

export const wall = (runs: readonly { wallMs: number }[]): Summary => summarize(runs.map((r) => r.wallMs));
const cpu = (runs: readonly { cpuMs: number }[]): Summary => summarize(runs.map((r) => r.cpuMs));

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

type WithCompose = Pick<ProcessRun, 'wallMs' | 'compose'>;

/** "1× up: 812 ms (…)": the Compose processes of each run and their total wall time. */
function composeSummary(runs: readonly WithCompose[]): string {
  const calls = runs.map((r) => r.compose ?? []);
  const ms = summarize(calls.map((c) => c.reduce((n, x) => n + x.wallMs, 0)));
  return `${kindsText(calls.map((c) => countBy(c.map((x) => x.command))))}: ${spread(ms)}`;
}

const naiveWall = (r: NaiveResult | undefined, pick: (r: NaiveResult) => readonly { wallMs: number }[] | null): Summary => summarize((r ? (pick(r) ?? []) : []).map((x) => x.wallMs));

export function targetsTable(targets: readonly TargetResult[]): string {
  const mark = { met: '✅ met', missed: '❌ missed', 'not measured': '– not measured' } as const;
  return table([`target (${TARGETS_ISSUE})`, 'measured', 'status'], targets.map((t) => [t.target, t.measured, mark[t.status]]));
}

export function noChangeTable(counts: readonly StackCountResult[]): string {
  return table(
    ['N', 'driftd sync (process) wall', 'driftd sync CPU', 'its Git requests, Compose runs', 'agent cycle wall (in-process)', 'agent cycle CPU', 'agent cycle minus its wait for the Git server', 'naive loop, Compose v2', 'naive loop, Compose v1', 'v2 naive / sync', 'v1 naive / sync', 'v2 naive / agent'],
    counts.map((c) => {
      const cycles = c.agent.cycles.slice(1);
      const [sw, aw] = [wall(c.noChange.driftdSync), wall(cycles)];
      const [v2, v1] = [naiveWall(c.naive.v2, (r) => r.noChange), naiveWall(c.naive.v1, (r) => r.noChange)];
      return [
        String(c.n),
        spread(sw),
        spread(cpu(c.noChange.driftdSync)),
        `${kindsText(c.noChange.driftdSync.map((r) => r.gitRequests))}; Compose: ${kindsText(c.noChange.driftdSync.map((r) => countBy((r.compose ?? []).map((x) => x.command))))}`,
        `${fmtMs(aw.median)} (p90 ${fmtMs(aw.p90)}, max ${fmtMs(aw.max)})`,
        fmtMs(cpu(cycles).median),
        fmtMs(agentOwnCycleMs(c)),
        spread(v2),
        spread(v1),
        ratio(v2.median, sw.median),
        ratio(v1.median, sw.median),
        ratio(v2.median, aw.median),
      ];
    }),
  );
}

export function oneChangeTable(counts: readonly StackCountResult[]): string {
  const up = (r: NaiveResult | undefined): string => spread(summarize((r?.changedUp ?? []).map((x) => x.upMs)));
  return table(
    ['N', 'driftd sync wall', 'Compose runs inside driftd sync', 'driftd sync minus its Compose runs', 'agent cycle wall (in-process)', 'Compose runs inside the agent cycle', 'agent cycle minus its Compose runs', 'naive `up -d` of the changed stack, v2', '… v1'],
    counts.map((c) => [
      String(c.n),
      spread(wall(c.oneChange.driftdSync)),
      composeSummary(c.oneChange.driftdSync),
      fmtMs(changeOverheadMs(c, 'driftdSync')),
      spread(wall(c.oneChange.agent)),
      composeSummary(c.oneChange.agent),
      fmtMs(changeOverheadMs(c, 'agent')),
      up(c.naive.v2),
      up(c.naive.v1),
    ]),
  );
}

function phases(runs: readonly ProcessRun[]): string {
  const keys = Object.keys(runs[0]?.phases ?? {});
  return keys.map((k) => `${k} ${fmtMs(summarize(runs.map((r) => r.phases?.[k] ?? Number.NaN)).median)}`).join(', ');
}

export function driftCheckTable(counts: readonly StackCountResult[]): string {
  return table(
    ['N', 'driftd drift-check wall', 'CPU', 'its phases (medians)', 'naive check, Compose v2: `ls` + `config --hash` per stack + `docker ps`', 'naive CPU', 'naive / driftd (wall)'],
    counts.map((c) => {
      const dw = wall(c.driftCheck.driftd);
      const nw = naiveWall(c.naive.v2, (r) => r.driftCheck);
      const ncpu = summarize((c.naive.v2?.driftCheck ?? []).map((r) => r.cpuMs));
      return [String(c.n), spread(dw), spread(cpu(c.driftCheck.driftd)), phases(c.driftCheck.driftd), spread(nw), spread(ncpu), ratio(nw.median, dw.median)];
    }),
  );
}

export function deployTable(counts: readonly StackCountResult[]): string {
  const one = (r: (LoopRun & { concurrency: number }) | undefined): string => (r ? `${fmtMs(r.wallMs)} (${r.concurrency} in parallel)` : '–');
  return table(
    ['N', 'driftd sync (pull + up + health gate per stack)', 'naive `up -d` per stack, Compose v2', '… Compose v1'],
    counts.map((c) => [String(c.n), `${fmtMs(c.deploy.wallMs)} (${c.deploy.processes} processes in parallel)`, one(c.naive.v2?.deploy), one(c.naive.v1?.deploy)]),
  );
}

export function memoryTable(counts: readonly StackCountResult[]): string {
  return table(
    ['N', 'cycles', 'RSS before startAgent', 'after start', 'after 1st cycle', 'after last cycle', 'growth from start', 'growth from 1st cycle', 'growth, 2nd half of the cycles', 'V8 heap used (reserved) start → last'],
    counts.map((c) => {
      const m = c.agent.memory;
      const half = secondHalfGrowth(c);
      return [
        String(c.n),
        String(c.agent.cycles.length),
        fmtMb(m.beforeStart.rssBytes),
        fmtMb(m.afterStart.rssBytes),
        fmtMb(m.afterFirstCycle.rssBytes),
        fmtMb(m.afterLastCycle.rssBytes),
        fmtPct(agentGrowth(c, 'afterStart')),
        fmtPct(agentGrowth(c, 'afterFirstCycle')),
        `${fmtPct(half.growth)} (cycle ${half.from} → ${half.to})`,
        `${fmtMb(m.afterStart.heapUsedBytes)} (${fmtMb(m.afterStart.heapTotalBytes)}) → ${fmtMb(m.afterLastCycle.heapUsedBytes)} (${fmtMb(m.afterLastCycle.heapTotalBytes)})`,
      ];
    }),
  );
}

export function cliPeakRss(counts: readonly StackCountResult[]): string {
  const peaks = counts.map((c) => `${fmtMb(Math.max(...c.noChange.driftdSync.map((r) => r.maxRssKb)) * 1024)} at N=${c.n}`);
  return `For comparison, the peak RSS of a no-change \`driftd sync\` process (GNU time): ${peaks.join(', ')}.`;
}

export function slopeTable(series: readonly Series[]): string {
  return table(
    ['figure', 'medians by N', 'slope per stack (least squares)', 'intercept', 'R²'],
    series
      .filter((s) => s.points.length > 0)
      .map((s) => {
        const fit = leastSquares(s.points);
        const fmt = s.unit === 'MB' ? (x: number): string => `${x.toFixed(1)} MB` : fmtMs;
        const slope = s.unit === 'MB' ? `${(fit.slope * 1000).toFixed(1)} kB/stack` : `${fit.slope.toFixed(3)} ms/stack`;
        return [s.label, s.points.map((p) => `${p.n}: ${fmt(p.value)}`).join(', '), Number.isFinite(fit.slope) ? slope : '–', Number.isFinite(fit.intercept) ? fmt(fit.intercept) : '–', Number.isFinite(fit.r2) ? fit.r2.toFixed(3) : '–'];
      }),
  );
}

function pollRow(name: string, samples: readonly PollSample[]): string[] {
  return [
    name,
    String(samples.length),
    kindsText(samples.map((p) => p.byKind)),
    spread(summarize(samples.map((p) => p.requestBytes)), fmtBytes),
    spread(summarize(samples.map((p) => p.responseBytes)), fmtBytes),
    spread(wall(samples)),
  ];
}

export function gitTable(git: GitPollResult): string {
  return table(
    ['poll', 'samples', 'requests', 'bytes sent', 'bytes received', 'wall'],
    [pollRow('first poll (empty data dir: clone)', [git.firstPoll]), pollRow('no new tag', git.noNewTag), pollRow('right after a new tag', git.newTag)],
  );
}

export function importTable(costs: readonly ImportCost[]): string {
  return table(
    ['module (imported alone in a fresh node)', 'import wall (median)', 'RSS after import'],
    costs.map((c) => [c.module.startsWith('dist/') ? `\`${c.module}\`` : c.module, fmtMs(c.importMs), fmtMb(c.rssBytes)]),
  );
}

function entries(list: readonly ProfileEntry[], count: number): string {
  return list
    .slice(0, count)
    .map((e) => `${fmtMs(e.ms)} ${e.name.replace(/\|/g, '\\|')}`)
    .join('<br>');
}

export function profileTable(n: number, profiles: NonNullable<StackCountResult['profiles']>): string {
  const row = (what: string, p: ProfileSummary): string[] => [what, fmtMs(p.totalMs), entries(p.byLocation, 8), entries(p.topSelf, 10), entries(p.topDriftd, 10)];
  return table(
    [`N=${n}, one run each`, 'profiled', 'self time by location', 'top functions by self time', 'driftd functions by time in them and the libraries they call'],
    [row('`driftd sync` (no change)', profiles.sync), row('`driftd sync` (one stack changed)', profiles.oneChange), row('`driftd drift-check`', profiles.driftCheck)],
  );
}
