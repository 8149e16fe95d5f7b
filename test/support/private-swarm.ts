/**
 * A single-node Swarm on a private dockerd (test/support/private-dockerd.ts), for the Swarm
 * integration tests: the shared test engine must stay a plain engine (other tests run on it at the
 * same time). Found on this kernel: the default overlay network of a stack works (vxlan is
 * available); the Swarm's docker_gwbridge is created beforehand with a bridge name of this
 * engine's own (dsg<n>) and a subnet of its own, and the Swarm listens on a free loopback port,
 * so two runs on one machine never share an interface or a port.
 *
 *   const swarm = await PrivateSwarm.start();
 *   await swarm.docker('service', 'ls');
 *   await swarm.close();   // swarm leave, docker_gwbridge, the engine, its bridges; every step runs
 *
 * or, in a test file: `const env = useSwarmWorld();` (test/support/swarm-world.ts) … `env.swarm`, `env.world` (a SyncWorld whose
 * driftd talks to this engine), both made before the file's tests and closed after them.
 */
import { execFileCapture } from '../../src/util/exec.js';
import { freePort } from './free-port.js';
import { PrivateDockerd } from './private-dockerd.js';

export class PrivateSwarm {
  private gwNetwork = false;

  private constructor(readonly engine: PrivateDockerd) {}

  /** DOCKER_HOST of the Swarm's only node (a manager, the leader). */
  get host(): string {
    return this.engine.host;
  }

  private get slot(): string {
    return this.engine.bridge.replace('dfault', '');
  }

  static async start(): Promise<PrivateSwarm> {
    const swarm = new PrivateSwarm(await PrivateDockerd.start());
    try {
      const slot = swarm.slot;
      // docker_gwbridge made here: its Linux bridge gets this engine's own name and subnet.
      await swarm.docker('network', 'create', '--subnet', `10.214.${slot}.0/24`, '--opt', `com.docker.network.bridge.name=dsg${slot}`,
        '--opt', 'com.docker.network.bridge.enable_icc=false', '--opt', 'com.docker.network.bridge.enable_ip_masquerade=false', 'docker_gwbridge');
      swarm.gwNetwork = true;
      const port = await freePort();
      await swarm.docker('swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', `127.0.0.1:${port}`, '--default-addr-pool', `10.215.0.0/16`, '--default-addr-pool-mask-length', '24');
      return swarm;
    } catch (e) {
      await swarm.close().catch(() => undefined);
      throw e;
    }
  }

  /** The docker CLI against this engine (argv); throws with stderr on a non-zero exit. */
  async docker(...args: string[]): Promise<string> {
    const r = await execFileCapture('docker', ['--host', this.engine.host, ...args], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Every step runs even when an earlier one failed: the engine, its bridges and dirs always go. */
  async close(): Promise<void> {
    const slot = this.slot;
    const steps: (() => Promise<unknown>)[] = [
      () => execFileCapture('docker', ['--host', this.engine.host, 'swarm', 'leave', '--force'], { timeoutMs: 120_000 }),
      () => (this.gwNetwork ? execFileCapture('docker', ['--host', this.engine.host, 'network', 'rm', 'docker_gwbridge'], { timeoutMs: 60_000 }) : Promise.resolve()),
      () => this.engine.close(),
      () => execFileCapture('ip', ['link', 'del', `dsg${slot}`], { timeoutMs: 30_000 }),
    ];
    const failures: unknown[] = [];
    for (const step of steps) await step().catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
  }
}
