/**
 * Performance of the common case: a host with 200 one-service stacks, deployed once, then polled
 * with nothing changed. A no-change reconcile must not fetch from Git, must not start Compose,
 * and must take well under a second of agent work.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sync } from '../../src/commands/sync.js';
import { targetEnv } from '../support/compose-target.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { createLogger } from '../../src/util/logger.js';
import { useDockerTestScope } from '../support/docker.js';
import { projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { loadScaledBudget } from '../support/budget.js';

const STACKS = 200;
/** Stacks deployed through driftd and Compose; the rest are copies of what that produced. */
const REAL_DEPLOYS = 10;

interface SyncJson {
  outcomes: { stack: string; result: string }[];
  exitCode: number;
}

const parse = (stdout: string): SyncJson => JSON.parse(stdout) as SyncJson;

/** Runs `fn` over `items`, `concurrency` at a time. */
async function eachLimit<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

describe(`sync at scale: ${STACKS} stacks`, () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let stacks: string[] = [];

  beforeAll(async () => {
    world = await SyncWorld.create({ labels: env.labels });
    const names = new Set<string>();
    while (names.size < STACKS) names.add(env.project());
    stacks = [...names];
    for (const name of stacks) world.repo.writeStack(name, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) });
    world.repo.writeFleet(`hosts:\n  ${world.host}: [${stacks.join(', ')}]\n`);
    await world.release('v1.0.0');
  });
  afterAll(async () => {
    // 200 containers one by one take a minute on a busy engine: remove them side by side first.
    const mine = new Set(stacks);
    const containers = await env.docker.listContainers({ all: true, filters: { label: ['io.driftd.stack'] } });
    await eachLimit(
      containers.filter((c) => mine.has(c.Labels['com.docker.compose.project'] ?? '')),
      8,
      (c) => env.docker.getContainer(c.Id).remove({ force: true }),
    );
    await world?.close();
  });

  it(`brings up ${STACKS} stacks; driftd adopts the ones it did not deploy without running Compose`, { timeout: 900_000 }, async () => {
    // Deploying 200 stacks through Compose takes 2 s each on this shared 2-core machine, so only
    // the first REAL_DEPLOYS go through driftd (pull, up, health gate) ...
    const real = stacks.slice(0, REAL_DEPLOYS);
    const deployed = await world.run('sync', ['--json', ...real.flatMap((s) => ['--stack', s])]);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(parse(deployed.stdout).outcomes.map((o) => o.result)).toEqual(real.map(() => 'deployed'));
    console.log(`first deploy through Compose: ${Math.round(deployed.durationMs / REAL_DEPLOYS)} ms per stack (${REAL_DEPLOYS} stacks)`);

    // ... and every other stack gets a copy of the container Compose made for the first one,
    // through the Engine API, with the stack's own project, stack label, name and deploy dir.
    const template = await env.docker.getContainer((await projectContainers(env.docker, real[0]!)).worker!.id).inspect();
    const relabel = (value: string, stack: string): string => value.replaceAll(real[0]!, stack);
    await eachLimit(stacks.slice(REAL_DEPLOYS), 4, async (stack) => {
      const labels = Object.fromEntries(Object.entries(template.Config.Labels).map(([k, v]) => [k, relabel(v, stack)]));
      const c = await env.docker.createContainer({
        name: relabel(template.Name.replace(/^\//, ''), stack),
        Image: template.Config.Image,
        Env: template.Config.Env,
        Labels: labels,
        HostConfig: { NetworkMode: template.HostConfig.NetworkMode },
      });
      await c.start();
    });

    // This host's sync sees every stack already running what the revision asks for: the copies
    // are recorded as deployed, nothing is passed to Compose.
    world.resetComposeLog();
    const adopt = await world.run('sync', ['--json']);
    expect(adopt.code, adopt.stderr).toBe(0);
    const outcomes = parse(adopt.stdout).outcomes;
    expect(outcomes).toHaveLength(STACKS);
    const results = Object.fromEntries(outcomes.map((o) => [o.stack, o.result]));
    for (const s of stacks) expect(results[s]).toBe(real.includes(s) ? 'unchanged' : 'recorded');
    expect(world.composeCalls()).toEqual([]);
  });

  // Ceilings, not budgets: a CI run beside other work (load 100+ on 2 cores) took over 300 s to
  // start 200 containers; the performance claims are the budget checks inside, scaled to load.
  it('a no-change reconcile: no git fetch, no Compose run, well under a second of agent work', { timeout: 600_000 }, async () => {
    world.server.resetStats();
    world.resetComposeLog();

    // The CLI, as cron or an operator runs it: process start included.
    const cli = await world.run('sync', ['--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const result = JSON.parse(cli.stdout) as SyncJson;
    expect(result.outcomes).toHaveLength(STACKS);
    expect(result.outcomes.every((o) => o.result === 'unchanged')).toBe(true);
    expect(world.composeCalls()).toEqual([]);
    expect(world.server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(0);
    expect(world.server.count()).toBe(1); // one refs advertisement: is there a new tag?

    // The agent's work per poll, in process (what `driftd agent` does on every tick): the first
    // call pays for loading modules, the next ones are what a running agent spends. Compose, if
    // it were started, would go through the same logging wrapper as the CLI's.
    const config = resolveConfig({ flags: { repo: world.served.url, dataDir: world.dataDir, host: world.host, config: '/dev/null', logLevel: 'silent' }, env: targetEnv() });
    const logger = createLogger({ level: 'silent' });
    const saved = { PATH: process.env.PATH };
    Object.assign(process.env, { PATH: world.env().PATH });
    const timings: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const t0 = performance.now();
        const r = await sync({ config, logger, trigger: 'schedule', actor: 'agent', command: 'scale test' });
        timings.push(performance.now() - t0);
        expect(r.exitCode).toBe(0);
        expect(r.outcomes.every((o) => o.result === 'unchanged')).toBe(true);
      }
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(world.server.count({ service: 'git-upload-pack', command: 'fetch' })).toBe(0);
    expect(world.server.count()).toBe(1 + timings.length);
    expect(world.composeCalls()).toEqual([]);
    const warm = timings.slice(1);
    console.log(
      `no-change reconcile of ${STACKS} stacks: CLI wall time ${cli.durationMs} ms (process start included); ` +
        `in-process sync(): first ${timings[0]!.toFixed(0)} ms, then ${warm.map((t) => t.toFixed(0)).join(' / ')} ms`,
    );
    // The best of three: the machine is shared, a single sample measures the neighbours too.
    const budget = loadScaledBudget(1000);
    expect(Math.min(...warm), budget.note).toBeLessThan(budget.ms);
  });
});
