/** The bench's outputs: the Markdown tables (bench/results/latest.md, BENCHMARKS.md) and the JSON. */
import { countBy, fmtDeltaMs, fmtMb, fmtMs, fmtPct, kindsText } from './format.js';
import type { GitPollResult, PollSample } from './git-history.js';
import type { Machine } from './machine.js';
import type { LoopRun } from './naive.js';
import type { ProfileEntry, ProfileSummary } from './profile.js';
import type { ProcessRun, StackCountResult } from './scenarios.js';
import type { ImportCost } from './startup.js';
import { summarize, type Summary } from './stats.js';
import { agentGrowth, changeOverheadMs, secondHalfGrowth, type TargetResult } from './targets.js';

export interface BenchResult {
  date: string;
  command: string;
  durationMs: number;
  machine: Machine;
  /** 1/5/15-minute load averages at start and end: how busy the machine was besides the bench. */
  load: { start: number[]; end: number[] };
  options: { stacks: number[]; reps: { fast: number; slow: number }; agentCycles: number; git: { commits: number; tags: number } | null };
  stackCounts: StackCountResult[];
  git: GitPollResult | null;
  importCosts: ImportCost[];
  targets: TargetResult[];
}

const fmtBytes = (b: number): string => (b >= 10_000 ? `${(b / 1000).toFixed(1)} kB` : `${Math.round(b)} B`);
const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(1)}×` : '–');

/** "412 ms (398–450)": median, then min–max. */
export function spread(s: Summary, fmt: (x: number) => string = fmtMs): string {
  return s.n <= 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

const wall = (runs: readonly { wallMs: number }[]): Summary => summarize(runs.map((r) => r.wallMs));
const cpu = (runs: readonly { cpuMs: number }[]): Summary => summarize(runs.map((r) => r.cpuMs));

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** "2× version, 1× pull, 1× up: 3.36 s (…)": the Compose processes of each run and their total wall time. */
type WithCompose = Pick<ProcessRun, 'wallMs' | 'compose'>;

function composeSummary(runs: readonly WithCompose[]): string {
  const calls = runs.map((r) => r.compose ?? []);
  const ms = summarize(calls.map((c) => c.reduce((n, x) => n + x.wallMs, 0)));
  return `${kindsText(calls.map((c) => countBy(c.map((x) => x.command))))}: ${spread(ms)}`;
}

function driftdOverCompose(runs: readonly WithCompose[]): Summary {
  return summarize(runs.map((r) => r.wallMs - (r.compose ?? []).reduce((n, x) => n + x.wallMs, 0)));
}

function noChangeTable(counts: readonly StackCountResult[]): string {
  return table(
    ['N', 'driftd sync (process) wall', 'driftd sync CPU', 'its Git requests, Compose runs', 'agent cycle wall (in-process)', 'agent cycle CPU', 'naive loop wall', 'naive loop CPU', 'naive / sync (wall)', 'naive / agent (wall)', 'naive / sync (CPU)'],
    counts.map((c) => {
      const cycles = c.agent.cycles.slice(1);
      const [sw, aw, nw] = [wall(c.noChange.driftdSync), wall(cycles), wall(c.noChange.naive)];
      return [
        String(c.n),
        spread(sw),
        spread(cpu(c.noChange.driftdSync)),
        `${kindsText(c.noChange.driftdSync.map((r) => r.gitRequests))}; Compose: ${kindsText(c.noChange.driftdSync.map((r) => countBy((r.compose ?? []).map((x) => x.command))))}`,
        `${fmtMs(aw.median)} (p90 ${fmtMs(aw.p90)}, max ${fmtMs(aw.max)})`,
        fmtMs(cpu(cycles).median),
        spread(nw),
        spread(cpu(c.noChange.naive)),
        ratio(nw.median, sw.median),
        ratio(nw.median, aw.median),
        ratio(cpu(c.noChange.naive).median, cpu(c.noChange.driftdSync).median),
      ];
    }),
  );
}

function oneChangeTable(counts: readonly StackCountResult[]): string {
  return table(
    [
      'N',
      'driftd sync wall',
      'Compose runs inside driftd sync',
      'driftd sync minus its Compose runs',
      'agent cycle wall (in-process)',
      'Compose runs inside the agent cycle',
      'agent cycle minus its Compose runs',
      'naive loop wall',
      "naive `up -d` of the changed stack",
      'driftd sync − one Compose run',
      'agent cycle − one Compose run',
      'naive / driftd sync (wall)',
    ],
    counts.map((c) => {
      const [dw, nw] = [wall(c.oneChange.driftdSync), wall(c.oneChange.naive)];
      return [
        String(c.n),
        spread(dw),
        composeSummary(c.oneChange.driftdSync),
        spread(driftdOverCompose(c.oneChange.driftdSync)),
        spread(wall(c.oneChange.agent)),
        composeSummary(c.oneChange.agent),
        spread(driftdOverCompose(c.oneChange.agent)),
        spread(nw),
        spread(summarize(c.oneChange.naive.map((r) => r.changedStackMs))),
        fmtDeltaMs(changeOverheadMs(c, 'driftdSync')),
        fmtDeltaMs(changeOverheadMs(c, 'agent')),
        ratio(nw.median, dw.median),
      ];
    }),
  );
}

function phases(runs: readonly ProcessRun[]): string {
  const keys = Object.keys(runs[0]?.phases ?? {});
  return keys.map((k) => `${k} ${fmtMs(summarize(runs.map((r) => r.phases?.[k] ?? Number.NaN)).median)}`).join(', ');
}

function driftCheckTable(counts: readonly StackCountResult[]): string {
  return table(
    ['N', 'driftd drift-check wall', 'CPU', 'its phases (medians)', 'naive `ps` + `config` per stack, wall', 'naive CPU', 'naive / driftd (wall)'],
    counts.map((c) => {
      const [dw, nw] = [wall(c.driftCheck.driftd), wall(c.driftCheck.naive)];
      return [String(c.n), spread(dw), spread(cpu(c.driftCheck.driftd)), phases(c.driftCheck.driftd), spread(nw), spread(cpu(c.driftCheck.naive)), ratio(nw.median, dw.median)];
    }),
  );
}

function initialTable(counts: readonly StackCountResult[]): string {
  const one = (r: ProcessRun | LoopRun): string => `${fmtMs(r.wallMs)} (CPU ${fmtMs(r.cpuMs)})`;
  return table(
    ['N', 'driftd sync (pull + up + health gate per stack)', 'Compose runs inside it', 'naive loop (git pull + `up -d` per stack)'],
    counts.map((c) => [String(c.n), one(c.initialDeploy.driftd), composeSummary([c.initialDeploy.driftd]), one(c.initialDeploy.naive)]),
  );
}

function cliPeakRss(counts: readonly StackCountResult[]): string {
  const peaks = counts.map((c) => `${fmtMb(Math.max(...c.noChange.driftdSync.map((r) => r.maxRssKb)) * 1024)} at N=${c.n}`);
  return `For comparison, the peak RSS of a no-change \`driftd sync\` process (GNU time): ${peaks.join(', ')}.`;
}

function memoryTable(counts: readonly StackCountResult[]): string {
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

function gitTable(git: GitPollResult): string {
  return table(
    ['poll', 'samples', 'requests', 'bytes sent', 'bytes received', 'wall'],
    [pollRow('first poll (empty data dir: clone)', [git.firstPoll]), pollRow('no new tag', git.noNewTag), pollRow('right after a new tag', git.newTag)],
  );
}

function importTable(costs: readonly ImportCost[]): string {
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

function profileTable(n: number, profiles: StackCountResult['profiles']): string {
  const row = (what: string, p: ProfileSummary): string[] => [what, fmtMs(p.totalMs), entries(p.byLocation, 8), entries(p.topSelf, 10), entries(p.topDriftd, 10)];
  return table(
    [`N=${n}, one run each`, 'profiled', 'self time by location', 'top functions by self time', 'driftd functions by time in them and the libraries they call'],
    [row('`driftd sync` (no change)', profiles.sync), row('`driftd sync` (one stack changed)', profiles.oneChange), row('`driftd drift-check`', profiles.driftCheck)],
  );
}

function targetsTable(targets: readonly TargetResult[]): string {
  const mark = { met: '✅ met', missed: '❌ missed', 'not measured': '– not measured' } as const;
  return table(['target (issue 7)', 'measured', 'status'], targets.map((t) => [t.target, t.measured, mark[t.status]]));
}

/** The result tables (latest.md; the body of BENCHMARKS.md). */
export function resultTables(r: BenchResult): string {
  const reps = `${r.options.reps.fast} reps for driftd, ${r.options.reps.slow} for the naive loop`;
  const parts = [
    '## Targets',
    targetsTable(r.targets),
    `## 1. No-change reconcile\n\nMedian (min–max) over ${reps}; the agent column is the median (p90, max) of in-process cycles 2…${r.options.agentCycles} in a child process. CPU is user + system of the process and the children it waited for (GNU time); for the agent, process.cpuUsage() of the cycle.`,
    noChangeTable(r.stackCounts),
    '## 2. One stack changed (a new tag changes one stack\'s environment)\n\n"Compose runs inside driftd sync" lists the Compose processes driftd started (CLI detection included) and their total wall time.',
    oneChangeTable(r.stackCounts),
    '## 3. Drift check',
    driftCheckTable(r.stackCounts),
    '## 4. Git polls',
    r.git
      ? `A repo of ${r.git.shape.commits} commits and ${r.git.shape.tags} tags (${r.git.shape.stacks} stacks; built with git fast-import in ${fmtMs(r.git.buildMs)}), polled with driftd's Git source (policy: highest v-prefixed semver tag) over the loopback git http-backend.\n\n${gitTable(r.git)}`
      : 'Skipped (--skip-git).',
    '## 5. Agent memory\n\nprocess.memoryUsage() in the child process running the agent (plain node on dist/bundle/agent.js, the bundle production runs, after a forced GC).',
    memoryTable(r.stackCounts),
    cliPeakRss(r.stackCounts),
    '## Where the time goes\n\nProcess start: each runtime dependency and driftd entry point imported alone in a fresh `node` (bare node for reference). A command pays for every module its entry point imports.',
    importTable(r.importCosts),
    `CPU profiles (\`node --cpu-prof\`, run from tsc's unbundled output so that frames name driftd's files and the libraries apart — module loading costs more there than in the bundle the timed runs use; it shows up as node internals, see the import table for which module costs what):`,
    ...r.stackCounts.slice(-1).map((c) => profileTable(c.n, c.profiles)),
    '## Initial deploy (not part of the targets)',
    initialTable(r.stackCounts),
  ];
  return `${parts.join('\n\n')}\n`;
}

export function machineSection(r: BenchResult): string {
  const m = r.machine;
  return [
    `- Date: ${r.date} (bench took ${fmtMs(r.durationMs)})`,
    `- Command: \`${r.command}\``,
    `- Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}`,
    `- Docker: ${m.docker}; Compose CLI: ${m.compose}`,
    `- Node ${m.node}; ${m.git}; driftd at ${m.driftdCommit}`,
    `- Load average (1/5/15 min) at start ${r.load.start.join(' / ')}, at end ${r.load.end.join(' / ')}`,
  ].join('\n');
}

export function latestMarkdown(r: BenchResult): string {
  return `# driftd bench results\n\n${machineSection(r)}\n\n${resultTables(r)}`;
}

/** Everything below this line in BENCHMARKS.md is written by people (profiles, before/after) and kept by the bench. */
export const NOTES_MARKER = '<!-- notes below this line are kept when `npm run bench` rewrites this file -->';

export function benchmarksMarkdown(r: BenchResult, previous: string | undefined, note: string | undefined): string {
  const kept = previous?.includes(NOTES_MARKER) ? previous.slice(previous.indexOf(NOTES_MARKER) + NOTES_MARKER.length).trimStart() : '';
  return [
    '# Benchmarks',
    '',
    'driftd against the loop it replaces ("every hour: `git pull && docker compose up -d` for every stack"), on the real engine:',
    'N one-service stacks of the test worker image (`bash scripts/test-env.sh` provides it), served from a loopback `git http-backend`,',
    'deployed once, then measured in the same run. Reproduce with `npm run bench` (options: `--stacks 10,50,200`, `--reps N`',
    '(default 5 for driftd, 3 for the naive loop), `--agent-cycles 100`, `--git-commits 5000`, `--git-tags 500`, `--skip-git`,',
    '`--note TEXT`, `--[no-]write-benchmarks`); it writes `bench/results/latest.{md,json}` and, when it measured every default',
    'stack count, this file; it removes every container, network and temp folder it created, also on Ctrl-C. It is a benchmark,',
    'not a test: it never fails on timing.',
    '',
    '## Run',
    '',
    machineSection(r),
    ...(note ? [`- Note: ${note}`] : []),
    '',
    resultTables(r).trimEnd(),
    '',
    NOTES_MARKER,
    '',
    kept,
  ].join('\n').trimEnd() + '\n';
}
