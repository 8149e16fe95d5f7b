/**
 * `node --import tsx bench/agent-hit-cpu.ts [stacks=1000] [cycles=50]`: the CPU of the agent's
 * no-change cycle past its two waits (the refs request, the container listing) at any stack count,
 * in process and without an engine, so that 1,000 stacks can be measured without deploying them.
 * A local repo of N one-service stacks is polled and loaded once with driftd's own code (as the
 * agent's memo holds it); the state DB gets the deployments and verdicts a full run would record;
 * the engine's answer is N copies of a real Compose v2 list entry (labels as Compose and driftd set
 * them). Each cycle then times what sync() does on a verdict hit in the agent: parse the list,
 * decide the verdict, write the statuses, compare desired and live.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { DesiredMemo } from '../src/commands/desired-memo.js';
import { desiredMemoKey, loadPolled, openSource, pollTarget } from '../src/commands/target.js';
import { noChangeRun, recordVerdicts } from '../src/commands/verdict-cache.js';
import { resolveConfig } from '../src/config/resolve.js';
import { computeDrift } from '../src/drift/compute-drift.js';
import { groupProjects } from '../src/live/inventory.js';
import { containerListSchema } from '../src/live/docker-schemas.js';
import { mapContainerSummary } from '../src/live/inspect-mapper.js';
import type { LiveInventory } from '../src/live/model.js';
import { openState } from '../src/state/index.js';
import type { ReconcileResult } from '../src/sync/reconcile.js';
import { silentLogger } from '../src/util/logger.js';
import { RepoBuilder } from '../test/support/repo-builder.js';
import { composeYaml } from './desired-repo.js';
import { summarize } from './stats.js';

/** One container of a driftd-deployed one-service stack as Engine 26 lists it (GET /containers/json?all=1). */
function listEntry(project: string, configHash: string, revision: string, i: number): unknown {
  const workDir = `/var/lib/driftd/deploy/${project}`;
  return {
    Id: i.toString(16).padStart(64, 'c'),
    Names: [`/${project}-worker-1`],
    Image: '127.0.0.1:5000/driftd/worker:1.0',
    ImageID: `sha256:${'7'.repeat(64)}`,
    Command: "sh -c 'trap 'exit 0' TERM INT; sleep 2147483647 & wait $!'",
    Created: 1796505833,
    Ports: [],
    Labels: {
      'com.docker.compose.config-hash': 'd'.repeat(64),
      'com.docker.compose.container-number': '1',
      'com.docker.compose.depends_on': '',
      'com.docker.compose.image': `sha256:${'7'.repeat(64)}`,
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project': project,
      'com.docker.compose.project.config_files': `${workDir}/driftd.compose.yaml`,
      'com.docker.compose.project.working_dir': workDir,
      'com.docker.compose.service': 'worker',
      'com.docker.compose.version': '2.26.1',
      'io.driftd.config-hash': configHash,
      'io.driftd.ref': 'v1.0.0',
      'io.driftd.revision': revision,
      'io.driftd.stack': project,
    },
    State: 'running',
    Status: 'Up 14 minutes',
    HostConfig: { NetworkMode: 'e'.repeat(64) },
    NetworkSettings: {
      Networks: {
        bench: { IPAMConfig: null, Links: null, Aliases: null, MacAddress: '02:42:0a:d5:10:0b', NetworkID: 'e'.repeat(64), EndpointID: 'f'.repeat(64), Gateway: '10.213.16.1', IPAddress: '10.213.16.11', IPPrefixLen: 21 },
      },
    },
    Mounts: [],
  };
}

/** HIT_CPU_PROFILE=<file>: a .cpuprofile of the timed cycles only (not the setup). */
async function startProfile(): Promise<() => Promise<object>> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => ((await post('Profiler.stop')) as { profile: object }).profile;
}

async function main(n: number, cycles: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-hit-cpu-'));
  const repo = await RepoBuilder.create(path.join(dir, 'repo'));
  try {
    const stacks = Array.from({ length: n }, (_, i) => `s${String(i + 1).padStart(4, '0')}`);
    for (const s of stacks) repo.writeStack(s, { 'compose.yaml': composeYaml({ network: 'bench', runLabel: 'x', revision: 0 }) });
    await repo.commit('stacks');
    await repo.tag('v1.0.0');
    const dataDir = path.join(dir, 'data');
    const config = resolveConfig({ flags: { repo: repo.dir, dataDir, host: 'bench', refSemver: '>=1.0.0', tagPrefix: 'v', logLevel: 'warn' }, env: {} });
    const source = openSource(config, silentLogger);
    const memo = new DesiredMemo();
    const opts = { config, logger: silentLogger, source, memo };
    const polled = await pollTarget(opts);
    const target = await loadPolled(opts, polled);
    const { desired } = target;
    const commit = polled.revision.commit;

    const state = openState(dataDir);
    for (const t of target.targets) {
      const s = t.stack;
      state.recordDeployment({ stack: s.name, revision: commit, ref: 'v1.0.0', inputsHash: s.inputsHash, configHashes: Object.fromEntries(s.services.map((x) => [x.name, x.configHash])), health: 'Healthy', status: 'succeeded' });
    }
    const result: ReconcileResult = {
      plan: { stacks: target.targets.map((t) => ({ stack: t.stack.name, action: 'none', reason: 'in sync', revision: commit, target: t, changedServices: [] })), warnings: [] },
      outcomes: target.targets.map((t) => ({ stack: t.stack.name, action: 'none', result: 'unchanged', message: 'in sync', revision: commit, health: 'Healthy' })),
      exitCode: 0,
    };
    recordVerdicts({ config, state, snapshot: polled.snapshot, desired, result, logger: silentLogger });
    const raw = JSON.stringify(desired.stacks.map((s, i) => listEntry(s.name, s.services[0]!.configHash, commit, i)));

    const phases: Record<string, number[]> = { list: [], verdict: [], drift: [], total: [], cpu: [] };
    const profile = process.env.HIT_CPU_PROFILE ? await startProfile() : undefined;
    for (let i = 0; i < cycles; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      // What the engine client does with the answer: JSON, schema, mapping.
      const containers = containerListSchema().parse(JSON.parse(raw)).map(mapContainerSummary);
      const t1 = performance.now();
      const noChangeMemo = { holder: memo, desiredKey: desiredMemoKey(config, memo, commit) };
      const fast = await noChangeRun({ config, state, docker: undefined as never, snapshot: polled.snapshot, revision: polled.revision, logger: silentLogger, containers, memo: noChangeMemo });
      if (!fast.result) throw new Error(`expected a verdict hit: ${fast.decision.hit ? '' : fast.decision.reason}`);
      const t2 = performance.now();
      const again = await loadPolled(opts, polled);
      const live: LiveInventory = { takenAt: '', engine: { version: '26.1', apiVersion: '1.45', os: 'linux', arch: 'amd64' }, containers, projects: groupProjects(containers), images: {}, networks: [], volumes: [] };
      const deployments = fast.deployments ?? state.currentDeployments();
      const deployed = Object.fromEntries(again.targets.map((t) => [t.stack.name, { revision: deployments.get(t.stack.name)!.revision }]));
      computeDrift({ desired: again.desired, live, deployed, stacks: again.targets.map((t) => t.stack.name) });
      const t3 = performance.now();
      phases.list!.push(t1 - t0);
      phases.verdict!.push(t2 - t1);
      phases.drift!.push(t3 - t2);
      phases.total!.push(t3 - t0);
      // The process's CPU (user + system) of the cycle: less sensitive to a loaded machine than the wall times.
      const cpu = process.cpuUsage(cpu0);
      phases.cpu!.push((cpu.user + cpu.system) / 1000);
    }
    if (profile && process.env.HIT_CPU_PROFILE) writeFileSync(process.env.HIT_CPU_PROFILE, JSON.stringify(await profile()));
    const line = Object.entries(phases)
      .map(([k, v]) => `${k} ${summarize(v.slice(1)).median.toFixed(1)} ms`)
      .join(', ');
    console.log(`N=${n}, median of cycles 2…${cycles}: ${line}`);
    state.close();
  } finally {
    repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 50)).catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
