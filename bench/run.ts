/**
 * `npm run bench`: driftd vs the naive Compose loops on the real engines (see BENCHMARKS.md).
 * Never fails on timing: exits 0 unless something crashed (then 1), after removing everything
 * it created — also on Ctrl-C.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDockerClient, pingDocker } from '../src/live/docker-client.js';
import { randomName, testDockerClient } from '../test/support/docker-resources.js';
import { GitServer } from '../test/support/git-server.js';
import { TEST_ENV_HINT, TEST_IMAGES } from '../test/support/test-env.js';
import { writeAgentChild } from './agent-runner.js';
import { BENCH_USAGE, parseBenchArgs } from './args.js';
import { Cleanup } from './cleanup.js';
import { ComposeSpy } from './compose-spy.js';
import { describeRemoved, removeAbandonedBenchResources, type BenchRun } from './docker.js';
import { cleanEnv, REPO_ROOT } from './driftd.js';
import { legacyEngine, modernEngine } from './engines.js';
import { benchFleet, type FleetResult } from './fleet-git.js';
import { fleetTargets } from './fleet-report.js';
import { benchGitPolls, type GitPollResult } from './git-history.js';
import { describeMachine, loadAverage } from './machine.js';
import { assertGnuTime } from './proc.js';
import { fmtMs } from './format.js';
import { scalingSvg } from './plot-svg.js';
import { benchmarksMarkdown, latestMarkdown, SCALING_SVG, type BenchResult } from './report.js';
import { benchStackCount, type StackCountResult } from './scenarios.js';
import { scalingSeries } from './series.js';
import { measureImportCosts } from './startup.js';
import { evaluateTargets } from './targets.js';

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const BENCHMARKS_MD = path.join(REPO_ROOT, 'BENCHMARKS.md');

const log = (line: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

function writeOutputs(result: BenchResult, opts: { writeBenchmarks: boolean; note?: string }): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  const md = latestMarkdown(result);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), md);
  const svg = scalingSvg(scalingSeries(result.stackCounts), `driftd vs the naive Compose loop, ${result.date.slice(0, 10)}`);
  // latest.md links scaling.svg beside it (bench/results/ is not committed); BENCHMARKS.md links SCALING_SVG, which is.
  writeFileSync(path.join(RESULTS_DIR, 'scaling.svg'), svg);
  if (opts.writeBenchmarks) {
    writeFileSync(path.join(REPO_ROOT, SCALING_SVG), svg);
    const previous = existsSync(BENCHMARKS_MD) ? readFileSync(BENCHMARKS_MD, 'utf8') : undefined;
    writeFileSync(BENCHMARKS_MD, benchmarksMarkdown(result, previous, opts.note));
  }
  return md;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    console.log(BENCH_USAGE);
    return;
  }
  const opts = parseBenchArgs(argv);
  const started = Date.now();
  const loadStart = loadAverage();
  assertGnuTime();
  const cleanup = new Cleanup();
  cleanup.onSignals();
  try {
    const conn = createDockerClient({});
    await pingDocker(conn.docker, conn.address);
    const image = await conn.docker.getImage(TEST_IMAGES.worker10).inspect().catch(() => undefined);
    if (!image) throw new Error(`image ${TEST_IMAGES.worker10} is missing: ${TEST_ENV_HINT}`);

    const abandoned = await removeAbandonedBenchResources(testDockerClient());
    if (abandoned.containers.length + abandoned.networks.length > 0) log(`removed leftovers of killed bench runs: ${describeRemoved(abandoned)}`);

    const run: BenchRun = { tag: randomName(4), pid: process.pid };
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-'));
    cleanup.add(`temp folder ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }));
    const server = await GitServer.start();
    cleanup.add('loopback Git server', () => server.close());
    const modern = await modernEngine(run, cleanup, log);
    const legacy = opts.v1 ? await legacyEngine(opts.v1.dockerHost, run, cleanup, log) : 'skipped (--skip-v1)';
    if (typeof legacy === 'string') log(`Compose v1 baseline not measured: ${legacy}`);
    const machine = { ...(await describeMachine(modern.cli)), ...(typeof legacy === 'string' ? {} : { legacy: `${legacy.version}, ${legacy.cli.command.join(' ')} ${legacy.cli.version}` }) };
    log(`${machine.nproc} CPUs, ${machine.compose}, docker ${machine.docker}${machine.legacy ? `; legacy ${machine.legacy}` : ''}`);

    let git: GitPollResult | null = null;
    if (opts.git) {
      log(`git: building ${opts.git.commits} commits / ${opts.git.tags} tags with fast-import, polling ×${opts.reps.fast}…`);
      git = await benchGitPolls(server, opts.git, opts.reps.fast, workDir);
    }
    const ctx = {
      run,
      server,
      modern,
      legacy,
      workDir,
      agentChild: writeAgentChild(workDir),
      env: cleanEnv(modern.env),
      spy: ComposeSpy.create(workDir),
      cleanup,
      reps: opts.reps,
      agentCycles: opts.agentCycles,
      naiveMax: opts.naiveMax,
      deployConcurrency: opts.deployConcurrency,
      profileN: Math.max(...opts.stacks),
      log,
    };
    log(`process start: importing each dependency and entry point alone ×${opts.reps.slow}…`);
    const importCosts = await measureImportCosts(opts.reps.slow);
    const stackCounts: StackCountResult[] = [];
    for (const n of opts.stacks) stackCounts.push(await benchStackCount(ctx, n));

    let fleet: FleetResult | null = null;
    if (opts.fleet) {
      log(`fleet: ${opts.fleet.agents} simulated agents, one hour = ${opts.fleet.hourSeconds} s…`);
      fleet = await benchFleet(opts.fleet, workDir, log);
    }
    const result: BenchResult = {
      date: new Date().toISOString(),
      command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
      durationMs: Date.now() - started,
      machine,
      load: { start: loadStart, end: loadAverage() },
      options: { stacks: opts.stacks, naiveMax: opts.naiveMax, reps: opts.reps, agentCycles: opts.agentCycles, git: opts.git ? { commits: opts.git.commits, tags: opts.git.tags } : null },
      ...(typeof legacy === 'string' ? { v1Skipped: legacy } : {}),
      stackCounts,
      git,
      importCosts,
      fleet,
      targets: [...evaluateTargets(stackCounts, git ?? undefined), ...fleetTargets(fleet)],
    };
    const md = writeOutputs(result, opts);
    console.log(md);
    log(`done in ${fmtMs(result.durationMs)}: bench/results/latest.{md,json} and scaling.svg${opts.writeBenchmarks ? `, BENCHMARKS.md and ${SCALING_SVG}` : ' (BENCHMARKS.md not rewritten: pass --write-benchmarks)'}`);
  } finally {
    await cleanup.run();
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
