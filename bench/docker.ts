/**
 * The bench's Docker resources: every container it starts and the one network its stacks share
 * carry BENCH_RUN_LABEL = "<tag>-<pid>", so this run removes exactly its own resources and a
 * later run removes what a killed run left behind.
 */
import type Docker from 'dockerode';
import { COMPOSE_PROJECT_LABEL, removeDockerResources, type Removed } from '../test/support/docker-resources.js';

export const BENCH_RUN_LABEL = 'io.driftd.bench.run';

export interface BenchRun {
  tag: string;
  pid: number;
}

export const runLabelValue = (run: BenchRun): string => `${run.tag}-${run.pid}`;

/** Compose project names of this run start with this (valid per the stack name rule of docs/design.md §1). */
export const projectPrefix = (run: BenchRun): string => `bench-${run.tag}-`;

function ownerAlive(label: string): boolean {
  const pid = Number(/-(\d+)$/.exec(label)?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One user-defined network for all stacks of an engine: dockerd's default address pools hold
 * about 30 bridge networks, so 200 stacks with a `<project>_default` network each could not all
 * start. Its subnet is a /21 (2,046 addresses: a thousand stacks fit) of `base` (10.213.0.0/16 on
 * the modern engine, 10.214.0.0/16 on the legacy one), outside the engines' pools, which tests
 * running alongside may have used up.
 */
export async function createBenchNetwork(docker: Docker, run: BenchRun, base = '10.213'): Promise<string> {
  const name = `${projectPrefix(run)}net`;
  const first = run.pid % 32;
  let lastError: unknown;
  for (let i = 0; i < 32; i++) {
    const subnet = `${base}.${((first + i) % 32) * 8}.0/21`;
    try {
      await docker.createNetwork({ Name: name, Labels: { [BENCH_RUN_LABEL]: runLabelValue(run) }, IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] } });
      return name;
    } catch (e) {
      lastError = e;
      if (!/overlap/i.test((e as Error).message)) break;
    }
  }
  throw new Error(`cannot create the bench network ${name}: ${(lastError as Error).message}`);
}

/** Containers removed in parallel: a thousand one by one would take minutes. */
const REMOVE_CONCURRENCY = 8;

/** Everything of this run; with `stacksOnly`, what Compose made (the shared network stays). */
export function removeRunResources(docker: Docker, run: BenchRun, opts: { stacksOnly?: boolean } = {}): Promise<Removed> {
  const own = runLabelValue(run);
  return removeDockerResources(docker, ({ labels }) => labels[BENCH_RUN_LABEL] === own && (!opts.stacksOnly || labels[COMPOSE_PROJECT_LABEL] !== undefined), {
    concurrency: REMOVE_CONCURRENCY,
  });
}

/** Resources of bench runs whose process is gone (killed before it could clean up). */
export function removeAbandonedBenchResources(docker: Docker): Promise<Removed> {
  return removeDockerResources(
    docker,
    ({ labels }) => {
      const owner = labels[BENCH_RUN_LABEL];
      return owner !== undefined && !ownerAlive(owner);
    },
    { concurrency: REMOVE_CONCURRENCY },
  );
}

export function describeRemoved(r: Removed): string {
  return `${r.containers.length} containers, ${r.networks.length} networks, ${r.volumes.length} volumes`;
}
