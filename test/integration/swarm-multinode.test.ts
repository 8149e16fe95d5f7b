/**
 * The leader rule on a REAL three-manager Swarm (test/support/swarm-cluster.ts: three dockerd,
 * each in its own network namespace, joined over a private bridge; nothing in the host's network
 * namespace). One desired-state repo, one driftd data dir per node, each agent's DOCKER_HOST its
 * own node's socket, as on three real hosts. Asserted: only the agent on the Swarm's leader runs
 * `docker stack deploy`; the other two skip the stack with "not the Swarm leader" (sync's outcome
 * and `driftd status` say so) and run no `docker stack` command at all. Then the leader's dockerd
 * is stopped, the remaining two managers (a quorum of the three) elect a new leader, the old node
 * comes back as a follower, and the next release is applied by the new leader's agent only.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostDocker0Present } from '../support/private-dockerd.js';
import { SwarmCluster, type SwarmNodeEngine } from '../support/swarm-cluster.js';
import { SyncWorld, which } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  outcomes: { stack: string; action: string; result: string; message: string; health?: string }[];
}

interface StatusJson {
  stacks: { stack: string; sync: string; health: string; reason?: string; deployedRevision?: string; lastOperation?: { action: string; result: string; message?: string } }[];
}

const STACK = 'mn';
const HOSTS = ['mgr-1', 'mgr-2', 'mgr-3'] as const;
const NOT_LEADER = /is not the Swarm leader: the agent on the leader applies Swarm stacks; reported only/;

/** The app image's check with a timeout a loaded machine meets (see swarm.test.ts). */
const stackFile = (mode: string): string =>
  [
    'services:',
    '  web:',
    `    image: ${TEST_IMAGES.app10}`,
    '    healthcheck: {interval: 2s, timeout: 60s, retries: 5}',
    `    environment: {MODE: "${mode}"}`,
    '    deploy:',
    '      replicas: 3',
    '',
  ].join('\n');

const fleet = [
  'hosts:',
  ...HOSTS.map((h) => `  ${h}: [${STACK}]`),
  'swarm:',
  `  managers: [${HOSTS.join(', ')}]`,
  'stacks:',
  `  ${STACK}:`,
  '    engine: swarm',
  '    healthTimeout: 300s',
  '',
].join('\n');

/** A `docker` first on the agent's PATH that logs every argv (the world's wrapper logs only `docker compose`). */
function dockerLogger(dir: string): { bin: string; log: string } {
  const real = which('docker');
  if (!real) throw new Error('no docker CLI on PATH');
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'docker.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(log, '');
  writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${real}' "$@"\n`);
  chmodSync(path.join(bin, 'docker'), 0o755);
  return { bin, log };
}

// On by default; DRIFTD_TEST_SWARM=0 skips it with the single-node Swarm file.
describe.skipIf(process.env.DRIFTD_TEST_SWARM === '0')('the leader rule on a real three-manager Swarm', () => {
  let cluster: SwarmCluster;
  let world: SyncWorld;
  let docker0Before = false;
  const agents: { host: string; node: SwarmNodeEngine; dataDir: string; bin: string; log: string }[] = [];

  const agentOf = (node: SwarmNodeEngine) => agents.find((a) => a.node === node)!;
  const sync = async (node: SwarmNodeEngine): Promise<SyncJson> => {
    const a = agentOf(node);
    const r = await world.run('sync', ['--json'], { host: a.host, dataDir: a.dataDir, env: { DOCKER_HOST: node.host, PATH: `${a.bin}:${process.env.PATH ?? ''}` } });
    if (r.code !== 0) throw new Error(`driftd sync on ${a.host} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout) as SyncJson;
  };
  const status = async (node: SwarmNodeEngine): Promise<StatusJson> => {
    const a = agentOf(node);
    const r = await world.run('status', ['--json'], { host: a.host, dataDir: a.dataDir, env: { DOCKER_HOST: node.host } });
    if (r.code !== 0) throw new Error(`driftd status on ${a.host} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout) as StatusJson;
  };
  /** The `docker stack …` commands an agent ran (every other docker call is a read or a version probe). */
  const stackCommands = (node: SwarmNodeEngine): string[] =>
    readFileSync(agentOf(node).log, 'utf8').split('\n').filter((l) => l.startsWith('stack '));
  const service = async (node: SwarmNodeEngine): Promise<{ labels: Record<string, string>; env: string[] }> => {
    const out = await node.cli('service', 'inspect', `${STACK}_web`, '--format', '{{json .Spec.Labels}}\t{{json .Spec.TaskTemplate.ContainerSpec.Env}}');
    const [labels = '{}', env = '[]'] = out.trim().split('\t');
    return { labels: JSON.parse(labels) as Record<string, string>, env: (JSON.parse(env) as string[] | null) ?? [] };
  };
  const release = async (tag: string, mode: string): Promise<string> => {
    world.repo.writeStack(STACK, { 'compose.yaml': stackFile(mode) });
    world.repo.writeFleet(fleet);
    return world.release(tag);
  };

  beforeAll(async () => {
    docker0Before = await hostDocker0Present();
    cluster = await SwarmCluster.start(3);
    world = await SyncWorld.create();
    for (const [i, node] of cluster.nodes.entries()) {
      const dir = path.join(world.dir, `agent-${i + 1}`);
      agents.push({ host: HOSTS[i]!, node, dataDir: path.join(dir, 'data'), ...dockerLogger(dir) });
    }
  }, 600_000);

  afterAll(async () => {
    const failures: unknown[] = [];
    await world?.close().catch((e: unknown) => failures.push(e));
    await cluster?.close().catch((e: unknown) => failures.push(e));
    // The host's default bridge is the shared engine's: the cluster never touches it.
    if (docker0Before && !(await hostDocker0Present())) failures.push(new Error("the host's docker0 is gone after the multi-node Swarm test"));
    if (failures.length > 0) throw failures[0];
  }, 600_000);

  let firstLeader: SwarmNodeEngine;

  it('only the agent on the leader deploys; the other managers report "not the Swarm leader" and run no docker stack command', async () => {
    const commit = await release('v1.0.0', 'one');
    firstLeader = await cluster.leader();
    const followers = cluster.nodes.filter((n) => n !== firstLeader);

    // Followers first (nothing deployed yet: they must not fill the gap), then the leader, then the followers again.
    for (const f of followers) {
      const r = await sync(f);
      expect(r.outcomes).toEqual([expect.objectContaining({ stack: STACK, action: 'skip', message: expect.stringMatching(NOT_LEADER) as unknown })]);
    }
    const led = await sync(firstLeader);
    expect(led.outcomes).toEqual([expect.objectContaining({ stack: STACK, result: 'deployed', health: 'Healthy' })]);
    for (const f of followers) {
      const r = await sync(f);
      expect(r.outcomes).toEqual([expect.objectContaining({ stack: STACK, action: 'skip', message: expect.stringMatching(NOT_LEADER) as unknown })]);
      expect(stackCommands(f)).toEqual([]);
      const s = (await status(f)).stacks.find((x) => x.stack === STACK);
      expect(JSON.stringify(s)).toMatch(NOT_LEADER);
    }
    expect(stackCommands(firstLeader)).toEqual([expect.stringMatching(new RegExp(`^stack deploy .* ${STACK}$`))]);

    const svc = await service(firstLeader);
    expect(svc.labels['io.driftd.revision']).toBe(commit);
    expect(svc.env).toContain('MODE=one');
    // The three replicas run, and the service is the same one every manager sees.
    for (const n of followers) expect((await service(n)).labels['io.driftd.revision']).toBe(commit);
  }, 900_000);

  it('the leader’s engine stops → a new leader is elected; the next release is applied by the new leader’s agent, not the old one’s', async () => {
    await firstLeader.stop();
    const newLeader = await cluster.leader(firstLeader);
    expect(newLeader).not.toBe(firstLeader);
    // The old node comes back as a follower (the Swarm keeps its leader).
    await firstLeader.start();
    await cluster.waitReady(cluster.nodes);
    expect(await cluster.leader()).toBe(newLeader);

    const commit = await release('v2.0.0', 'two');
    for (const a of agents) writeFileSync(a.log, '');
    const old = await sync(firstLeader);
    expect(old.outcomes).toEqual([expect.objectContaining({ stack: STACK, action: 'skip', message: expect.stringMatching(NOT_LEADER) as unknown })]);
    const led = await sync(newLeader);
    expect(led.outcomes).toEqual([expect.objectContaining({ stack: STACK, result: 'deployed', health: 'Healthy' })]);
    const third = cluster.nodes.find((n) => n !== firstLeader && n !== newLeader)!;
    const r = await sync(third);
    expect(r.outcomes).toEqual([expect.objectContaining({ stack: STACK, action: 'skip', message: expect.stringMatching(NOT_LEADER) as unknown })]);
    expect(stackCommands(third)).toEqual([]);
    expect(stackCommands(firstLeader)).toEqual([]);
    expect(stackCommands(newLeader)).toEqual([expect.stringMatching(new RegExp(`^stack deploy .* ${STACK}$`))]);

    const svc = await service(firstLeader);
    expect(svc.labels['io.driftd.revision']).toBe(commit);
    expect(svc.env).toContain('MODE=two');
    const st = (await status(firstLeader)).stacks.find((x) => x.stack === STACK);
    expect(JSON.stringify(st)).toMatch(NOT_LEADER);
  }, 900_000);
});
