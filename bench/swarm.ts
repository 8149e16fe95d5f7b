/**
 * `npm run bench:swarm -- [--stacks 20] [--runs 5]`: the no-change reconcile of `--stacks`
 * `engine: swarm` stacks on a private single-node Swarm (test/support/private-swarm.ts: its own
 * dockerd, bridge and Swarm; the shared engine is never touched). Deploys them once with
 * `driftd sync`, then measures (median of `--runs`, process start included, the built CLI
 * bin/driftd.js) a no-change `driftd sync` and `driftd drift-check`, beside the naive loop of one
 * `docker stack deploy` per stack (the same files, its own stack names so that it never touches
 * driftd's services; first deployed once, then timed when nothing changes). Prints a Markdown
 * table and writes bench/results/swarm.{md,json}. A benchmark, not a test: it never fails on timing.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execFileCapture } from '../src/util/exec.js';
import { GitServer } from '../test/support/git-server.js';
import { PrivateSwarm } from '../test/support/private-swarm.js';
import { RepoBuilder } from '../test/support/repo-builder.js';
import { TEST_IMAGES } from '../test/support/test-env.js';
import { cleanEnv, countResults, parseJsonOutput, REPO_ROOT, runDriftd, type DriftCheckOutput, type SyncOutput } from './driftd.js';
import { fmtMs } from './format.js';
import { loadAverage } from './machine.js';
import { assertGnuTime, runMeasured, type Measured } from './proc.js';
import { summarize, type Summary } from './stats.js';

const log = (line: string): void => console.error(`[bench:swarm ${new Date().toISOString().slice(11, 19)}] ${line}`);

function positiveInt(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive whole number, got "${value}"`);
  return n;
}

const stackName = (i: number): string => `sw${String(i).padStart(2, '0')}`;

/** One service per stack, the shape of the Compose bench's stacks: a worker with a little env. */
function stackFile(i: number): string {
  return ['services:', '  app:', `    image: ${TEST_IMAGES.worker10}`, `    environment: {STACK_INDEX: "${i}", LOG_LEVEL: info}`, '    deploy: {replicas: 1}', ''].join('\n');
}

function fleet(stacks: readonly string[]): string {
  return ['hosts:', `  bench: [${stacks.join(', ')}]`, 'stacks:', ...stacks.flatMap((s) => [`  ${s}:`, '    engine: swarm', '    healthTimeout: 600s']), ''].join('\n');
}

interface Row {
  what: string;
  wall: Summary;
  cpu: Summary;
  note: string;
}

function row(what: string, runs: readonly Measured[], note: string): Row {
  return { what, wall: summarize(runs.map((r) => r.wallMs)), cpu: summarize(runs.map((r) => r.cpuMs)), note };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stacks: { type: 'string' }, runs: { type: 'string' } } });
  const count = positiveInt(values.stacks, 20, '--stacks');
  const runs = positiveInt(values.runs, 5, '--runs');
  assertGnuTime();
  const stacks = Array.from({ length: count }, (_, i) => stackName(i));
  const work = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-swarm-'));
  const cleanup: (() => Promise<unknown>)[] = [() => Promise.resolve(rmSync(work, { recursive: true, force: true }))];
  try {
    log('starting a private dockerd and a single-node Swarm');
    const swarm = await PrivateSwarm.start();
    cleanup.unshift(() => swarm.close());
    const server = await GitServer.start();
    cleanup.unshift(() => server.close());
    const served = await server.createRepo('swarm-bench.git');
    const repo = await RepoBuilder.create(path.join(work, 'repo'));
    for (const [i, s] of stacks.entries()) repo.writeStack(s, { 'compose.yaml': stackFile(i) });
    repo.writeFleet(fleet(stacks));
    await repo.commit('release v1.0.0');
    await repo.tag('v1.0.0');
    await repo.push(served.path);

    const target = { repoUrl: served.url, dataDir: path.join(work, 'data') };
    const env = { ...cleanEnv(), DOCKER_HOST: swarm.host };
    log(`deploying ${count} Swarm stacks with driftd sync`);
    const first = await runDriftd('sync', target, env);
    const deployed = parseJsonOutput<SyncOutput>(first, 'driftd sync');
    if (first.code !== 0) throw new Error(`the first sync failed (exit ${first.code}): ${JSON.stringify(countResults(deployed))}`);
    log(`deployed in ${fmtMs(first.wallMs)}: ${JSON.stringify(countResults(deployed))}`);

    const syncs: Measured[] = [];
    const checks: Measured[] = [];
    for (let r = 0; r < runs; r++) {
      const s = await runDriftd('sync', target, env);
      const out = parseJsonOutput<SyncOutput>(s, 'driftd sync');
      if (s.code !== 0 || out.outcomes.some((o) => o.result !== 'unchanged')) throw new Error(`a no-change sync changed something: ${JSON.stringify(countResults(out))}`);
      syncs.push(s);
      const d = await runDriftd('drift-check', target, env);
      const drift = parseJsonOutput<DriftCheckOutput>(d, 'driftd drift-check');
      if (d.code !== 0 || drift.summary.synced !== count) throw new Error(`drift-check is not clean (exit ${d.code}): ${JSON.stringify(drift.summary)}`);
      checks.push(d);
      log(`run ${r + 1}/${runs}: sync ${fmtMs(s.wallMs)}, drift-check ${fmtMs(d.wallMs)}`);
    }

    // The naive loop: the same files, deployed under names of its own, first once (creation), then timed.
    const files = path.join(work, 'naive');
    mkdirSync(files);
    for (const [i] of stacks.entries()) writeFileSync(path.join(files, `${i}.yaml`), stackFile(i));
    const naiveLoop = async (): Promise<Measured[]> => {
      const out: Measured[] = [];
      for (const [i] of stacks.entries()) {
        const m = await runMeasured('docker', ['stack', 'deploy', '--detach=true', '-c', path.join(files, `${i}.yaml`), `naive${String(i).padStart(2, '0')}`], { env });
        if (m.code !== 0) throw new Error(`docker stack deploy failed: ${m.stderr}`);
        out.push(m);
      }
      return out;
    };
    log('naive loop: first deploy (creation)');
    await naiveLoop();
    const loops: Measured[] = [];
    for (let r = 0; r < runs; r++) {
      const each = await naiveLoop();
      loops.push({ ...each[0]!, wallMs: each.reduce((n, m) => n + m.wallMs, 0), cpuMs: each.reduce((n, m) => n + m.cpuMs, 0) });
      log(`naive run ${r + 1}/${runs}: ${fmtMs(loops.at(-1)!.wallMs)}`);
    }

    const rows = [
      row(`driftd sync, no change (${count} Swarm stacks)`, syncs, 'one process; /info + /nodes/<self> + one /services + one /tasks; no docker process'),
      row(`driftd drift-check (${count} Swarm stacks)`, checks, 'one process; compares every service spec and task'),
      row(`naive: docker stack deploy × ${count}, no change`, loops, `${count} docker processes, one after another (default --resolve-image always)`),
    ];
    const commit = (await execFileCapture('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: REPO_ROOT })).stdout.trim();
    const [l1, l5, l15] = loadAverage();
    const dockerVersion = (await execFileCapture('docker', ['--host', swarm.host, 'version', '--format', '{{.Server.Version}}'])).stdout.trim();
    const md = [
      `Swarm no-change reconcile, ${count} stacks (1 service each), median of ${runs} (min–max), process start included.`,
      `\`npm run bench:swarm -- --stacks ${count} --runs ${runs}\`, ${new Date().toISOString().slice(0, 16)}Z, driftd ${commit}, private dockerd ${dockerVersion} (single-node Swarm), ${os.availableParallelism()} CPUs, load average ${l1} / ${l5} / ${l15}.`,
      '',
      '| what | wall median (min–max) | CPU median | note |',
      '|---|---|---|---|',
      ...rows.map((r) => `| ${r.what} | ${fmtMs(r.wall.median)} (${fmtMs(r.wall.min)}–${fmtMs(r.wall.max)}) | ${fmtMs(r.cpu.median)} | ${r.note} |`),
      '',
    ].join('\n');
    const out = path.join(REPO_ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'swarm.md'), md);
    writeFileSync(path.join(out, 'swarm.json'), `${JSON.stringify({ stacks: count, runs, commit, load: [l1, l5, l15], rows }, null, 2)}\n`);
    console.log(md);
  } finally {
    for (const step of cleanup) await step().catch((e: unknown) => log(`cleanup: ${(e as Error).message}`));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
