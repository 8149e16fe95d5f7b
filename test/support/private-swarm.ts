/**
 * A single-node Swarm for the Swarm integration tests and bench/swarm.ts: a one-node SwarmCluster
 * (test/support/swarm-cluster.ts), so its dockerd runs in a network namespace of its own.
 *
 * Why not a private dockerd in the host's namespace (how this started): a Swarm engine creates
 * each overlay's vxlan device (vx-<vni>-<id>) in its own namespace and then moves it into the
 * overlay's sandbox. An engine stopped between the two steps can leave the device behind, and every
 * later Swarm's first overlay has the same VNI (4097): its creation fails, and
 * no task of any later test ever starts (found on this machine: one leftover vx-001001-* made
 * 5 of the 6 tests of swarm.test.ts fail, the first with "0 of N tasks running after 300 s", and
 * a CI run red). In a namespace of its own, whatever the engine leaves goes with the namespace, and the
 * host's interfaces are never touched.
 *
 *   const swarm = await PrivateSwarm.start();
 *   await swarm.docker('service', 'ls');
 *   await swarm.close();   // the engine, its namespaces, mounts and directory; every step runs
 *
 * or, in a test file: `const env = useSwarmWorld();` (test/support/swarm-world.ts) … `env.swarm`, `env.world` (a SyncWorld whose
 * driftd talks to this engine), both made before the file's tests and closed after them.
 */
import { SwarmCluster, type SwarmNodeEngine } from './swarm-cluster.js';

export class PrivateSwarm {
  private constructor(
    private readonly cluster: SwarmCluster,
    private readonly node: SwarmNodeEngine,
  ) {}

  /** DOCKER_HOST of the Swarm's only node (a manager, the leader): a unix socket on the host's filesystem. */
  get host(): string {
    return this.node.host;
  }

  static async start(): Promise<PrivateSwarm> {
    const cluster = await SwarmCluster.start(1);
    return new PrivateSwarm(cluster, cluster.nodes[0]!);
  }

  /** The docker CLI against this engine (argv); throws with stderr on a non-zero exit. */
  docker(...args: string[]): Promise<string> {
    return this.node.cli(...args);
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}
