/** The bench's outputs: bench/results/latest.md, BENCHMARKS.md (and latest.json, written by run.ts). */
import { fmtMs } from './format.js';
import type { FleetResult } from './fleet-git.js';
import { fleetSection } from './fleet-report.js';
import type { GitPollResult } from './git-history.js';
import type { Machine } from './machine.js';
import {
  cliPeakRss,
  deployTable,
  driftCheckTable,
  gitTable,
  importTable,
  memoryTable,
  noChangeTable,
  oneChangeTable,
  profileTable,
  slopeTable,
  targetsTable,
} from './report-tables.js';
import type { StackCountResult } from './scenarios.js';
import { scalingSeries } from './series.js';
import type { ImportCost } from './startup.js';
import type { TargetResult } from './targets.js';

export interface BenchResult {
  date: string;
  command: string;
  durationMs: number;
  machine: Machine;
  /** 1/5/15-minute load averages at start and end: how busy the machine was besides the bench. */
  load: { start: number[]; end: number[] };
  options: { stacks: number[]; naiveMax: number; reps: { fast: number; slow: number }; agentCycles: number; git: { commits: number; tags: number } | null };
  /** Why the Compose v1 baseline was not measured (absent when it was). */
  v1Skipped?: string;
  stackCounts: StackCountResult[];
  git: GitPollResult | null;
  importCosts: ImportCost[];
  fleet: FleetResult | null;
  targets: TargetResult[];
}

/** The committed scaling plot BENCHMARKS.md links (relative to the repo root), rewritten with it. */
export const SCALING_SVG = 'docs/bench-scaling.svg';

/** The result tables (latest.md; the body of BENCHMARKS.md). `svgLink`: the plot's path relative to the Markdown file. */
export function resultTables(r: BenchResult, svgLink: string): string {
  const reps = `${r.options.reps.fast} reps for driftd, ${r.options.reps.slow} for the naive loops (run at N ≤ ${r.options.naiveMax})`;
  const profiled = r.stackCounts.filter((c) => c.profiles);
  const parts = [
    '## Targets',
    targetsTable(r.targets),
    `## 1. No-change reconcile\n\nMedian (min–max) over ${reps}; the agent column is the median (p90, max) of in-process cycles 2…${r.options.agentCycles} in a child process. CPU is user + system of the process and the children it waited for (GNU time); for the agent, process.cpuUsage() of the cycle. "Minus its wait for the Git server" is the cycle's wall less the time its refs request waited for the loopback \`git http-backend\`'s answer (request sent → last byte; node's HTTP client diagnostics channels in the child): a git process the server starts per request, the server's cost, not the agent's. driftd runs Compose v2 on the modern engine; the naive loops run \`git pull\` and then \`up -d\` for every stack, one after the other, with Compose v2 on the same engine and with Compose v1 on the legacy engine.${r.v1Skipped ? ` Compose v1: not measured (${r.v1Skipped}).` : ''}`,
    noChangeTable(r.stackCounts),
    "## 2. One stack changed (a new tag changes one stack's environment)\n\n\"Compose runs inside\" lists the Compose processes driftd started and their total wall time; driftd's own cost is the wall time minus them. The naive column is the one `up -d` the change needs (after `git pull`).",
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
    fleetSection(r.fleet),
    `## Scaling\n\n![time vs stacks](${svgLink})\n\nMedians by stack count and the least-squares line through them (the naive loops only where they ran).`,
    slopeTable(scalingSeries(r.stackCounts)),
    '## Where the time goes\n\nProcess start: each runtime dependency and driftd entry point imported alone in a fresh `node` (bare node for reference). A command pays for every module its entry point imports.',
    importTable(r.importCosts),
    ...(profiled.length > 0
      ? [
          `CPU profiles (\`node --cpu-prof\`, run from tsc's unbundled output so that frames name driftd's files and the libraries apart — module loading costs more there than in the bundle the timed runs use; it shows up as node internals, see the import table for which module costs what):`,
          ...profiled.map((c) => profileTable(c.n, c.profiles!)),
        ]
      : []),
    '## Setup: deploying each stack count (not a figure)',
    deployTable(r.stackCounts),
  ];
  return `${parts.join('\n\n')}\n`;
}

export function machineSection(r: BenchResult): string {
  const m = r.machine;
  return [
    `- Date: ${r.date} (bench took ${fmtMs(r.durationMs)})`,
    `- Command: \`${r.command}\``,
    `- Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}`,
    `- Docker: ${m.docker}; Compose CLI: ${m.compose}${m.legacy ? `; legacy: ${m.legacy}` : ''}`,
    `- Node ${m.node}; ${m.git}; driftd at ${m.driftdCommit}`,
    `- Load average (1/5/15 min) at start ${r.load.start.join(' / ')}, at end ${r.load.end.join(' / ')}`,
  ].join('\n');
}

export function latestMarkdown(r: BenchResult): string {
  return `# driftd bench results\n\n${machineSection(r)}\n\n${resultTables(r, 'scaling.svg')}`;
}

/** Everything below this line in BENCHMARKS.md is written by people (profiles, before/after) and kept by the bench. */
export const NOTES_MARKER = '<!-- notes below this line are kept when `npm run bench` rewrites this file -->';

export function benchmarksMarkdown(r: BenchResult, previous: string | undefined, note: string | undefined): string {
  const kept = previous?.includes(NOTES_MARKER) ? previous.slice(previous.indexOf(NOTES_MARKER) + NOTES_MARKER.length).trimStart() : '';
  return (
    [
      '# Benchmarks',
      '',
      'driftd against the loop it replaces ("every hour: `git pull && docker compose up -d` for every stack"), on the real engine:',
      'N one-service stacks of the test worker image (`bash scripts/test-env.sh` provides it), served from a loopback `git http-backend`,',
      'deployed once, then measured in the same run. driftd runs Compose v2 on the modern engine (what users run); the naive loop runs',
      'with Compose v2 on the same engine and with Compose v1 on the legacy engine (`DRIFTD_TEST_ENGINE=legacy bash scripts/test-env.sh`).',
      'Reproduce with `npm run bench` (~60 min on 2 CPUs; `npm run bench -- --help` lists the options: stack counts, `--naive-max`,',
      'reps, agent cycles, the Git and fleet scenarios); it writes `bench/results/latest.{md,json}`, the plot and, when it measured every',
      'default stack count, this file; it removes every container, network and temp folder it created, also on Ctrl-C. It is a',
      'benchmark, not a test: it never fails on timing.',
      '',
      '## Run',
      '',
      machineSection(r),
      ...(note ? [`- Note: ${note}`] : []),
      '',
      resultTables(r, SCALING_SVG).trimEnd(),
      '',
      NOTES_MARKER,
      '',
      kept,
    ]
      .join('\n')
      .trimEnd() + '\n'
  );
}
