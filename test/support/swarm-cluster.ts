/**
 * A multi-node Docker Swarm for tests: N private dockerd (the modern engine binary), each in its
 * OWN network namespace with its own --data-root, --exec-root, --pidfile and unix socket on the
 * host filesystem (a unix socket is reachable from the host whatever the daemon's network), no
 * iptables rules. Nothing of it is in the host's network namespace:
 *
 *   dsm<slot>-sw   a "switch" namespace holding the bridge br0 and one veth end per node
 *   dsm<slot>-n<i> node i: eth0 (the veth's other end, 10.216.0.1<i>/24), lo, and what its dockerd
 *                  makes there (its own docker0, docker_gwbridge, the Swarm's overlays)
 *
 * Why the bridge is not in the host's namespace: there, bridged frames go through the host's
 * iptables FORWARD chain (br_netfilter is loaded and bridge-nf-call-iptables=1 for the shared
 * engine), whose policy is DROP — measured: `docker swarm join` timed out with "failed to retrieve
 * remote root CA certificate … context deadline exceeded" and a TCP connect to 10.216.0.11:2377
 * from another node failed. A bridge in a namespace of its own sees that namespace's empty
 * iptables (policy ACCEPT), so Swarm's TCP 2377/7946 and UDP 7946/4789 pass, and the host's
 * docker0, eth0, routes and firewall are never touched.
 *
 * Daemons run with `nsenter --net=…` (the host's mount namespace): `ip netns exec` remounts /sys,
 * which hides the cgroup v1 hierarchies (dockerd: "Devices cgroup isn't mounted").
 *
 * Images: the nodes pull from the test registry (127.0.0.1:5000 in the HOST's namespace). Inside a
 * node, 127.0.0.1 is the node's own loopback, so each node runs a forwarder on its 127.0.0.1:5000
 * that connects to a unix socket (<dir>/registry.sock) this process serves and relays to the real
 * registry. `docker save` | `docker load` is not enough, measured on Engine 26.1: a loaded image
 * has no RepoDigests, and a Swarm task whose image is `name:tag@sha256:…` (driftd pins images by
 * the lock's digest) is rejected with "No such image: …@sha256:…" after the executor's failed pull.
 *
 * Everything a cluster creates carries its slot: /tmp/dsm<slot> (owner identity inside) and the
 * namespaces dsm<slot>-*. removeStaleSwarmClusters() removes those of owners that no longer run,
 * so a crashed run is cleaned up by the next one.
 *
 *   const cluster = await SwarmCluster.start(3);
 *   const leader = await cluster.leader();   // the node whose engine the Swarm says leads
 *   await leader.stop();                      // an outage; a new leader is elected among the others
 *   await cluster.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Docker from 'dockerode';
import { execFileCapture } from '../../src/util/exec.js';
import { isProcessAlive, processIdentity } from '../../src/state/process-identity.js';
import { pollUntil } from './docker-resources.js';
import { dockerdArgs, hostDocker0Present, TEST_DOCKERD } from './private-dockerd.js';
import { REGISTRY_HOST } from './test-env.js';

const PREFIX = 'dsm';
const SLOTS = 100;
/** The nodes' subnet: only inside the cluster's own namespaces, so every cluster may use the same one. */
const SUBNET = '10.216.0';
/** Swarm's overlay pool (its default 10.0.0.0/8 would include SUBNET). */
const OVERLAY_POOL = '10.217.0.0/16';
const [REGISTRY_ADDR, REGISTRY_PORT] = REGISTRY_HOST.split(':') as [string, string];

/** A TCP listener on the node's 127.0.0.1:<port>, relaying each connection to a unix socket (run by node in the node's namespace). */
const FORWARDER = `
const net = require('node:net');
const [port, sock] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(sock);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

async function ip(args: readonly string[]): Promise<void> {
  const r = await execFileCapture('ip', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`);
}

async function namespaces(): Promise<string[]> {
  const r = await execFileCapture('ip', ['netns', 'list'], { timeoutMs: 30_000 });
  return r.stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

/** The mount points under `dir` of the given filesystem type ('' for all). */
function mountsUnder(dir: string, fstype = ''): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => (f[1] ?? '').startsWith(`${dir}/`) && (fstype === '' || f[2] === fstype))
    .map((f) => f[1]!);
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

/**
 * Every process whose network namespace is one of the slot's: the named ones (dockerd, containerd,
 * shims, forwarders) and those its engines made and bind-mounted under their exec-root (task
 * containers). Matched by namespace inode, so processes of any other engine are never touched.
 */
function slotProcesses(slot: number, names: readonly string[]): number[] {
  const inodes = new Set<number>();
  for (const ns of names) {
    const ino = inodeOf(`/run/netns/${ns}`);
    if (ino !== undefined) inodes.add(ino);
  }
  for (const m of mountsUnder(`/tmp/${PREFIX}${slot}`, 'nsfs')) {
    const ino = inodeOf(m);
    if (ino !== undefined) inodes.add(ino);
  }
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m && inodes.has(Number(m[1]))) pids.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function removeSlot(slot: number): Promise<void> {
  const dir = `/tmp/${PREFIX}${slot}`;
  const names = (await namespaces()).filter((ns) => ns.startsWith(`${PREFIX}${slot}-`));
  for (let round = 0; round < 100; round++) {
    const pids = slotProcesses(slot, names);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  // The engines ran in the host's mount namespace: their overlay, shm and nsfs mounts are the host's.
  for (const m of mountsUnder(dir).sort().reverse()) await execFileCapture('umount', ['-l', m], { timeoutMs: 30_000 });
  for (const ns of names) await execFileCapture('ip', ['netns', 'del', ns], { timeoutMs: 30_000 });
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes the clusters of runs that no longer run (their directory's owner is dead, or a namespace
 * of ours has no directory left). Idempotent; returns the slots it removed.
 */
export async function removeStaleSwarmClusters(): Promise<number[]> {
  const stale = new Set<number>();
  for (const name of readdirSync('/tmp')) {
    const m = new RegExp(`^${PREFIX}(\\d+)$`).exec(name);
    if (!m) continue;
    let owner = '';
    try {
      owner = readFileSync(path.join('/tmp', name, 'owner'), 'utf8').trim();
    } catch {
      // no owner file: a run that died between mkdir and writing it
    }
    if (!owner || !isProcessAlive(owner)) stale.add(Number(m[1]));
  }
  for (const ns of await namespaces()) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
    if (m && !existsSync(`/tmp/${PREFIX}${m[1]}`)) stale.add(Number(m[1]));
  }
  for (const slot of stale) await removeSlot(slot);
  return [...stale];
}

/** Claims a free slot: mkdir is atomic, so two runs never share one. */
function claimSlot(): number {
  const first = process.pid % SLOTS;
  for (let i = 0; i < SLOTS; i++) {
    const slot = (first + i) % SLOTS;
    const dir = `/tmp/${PREFIX}${slot}`;
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch {
      continue;
    }
    writeFileSync(path.join(dir, 'owner'), `${processIdentity()}\n`);
    return slot;
  }
  throw new Error(`no free /tmp/${PREFIX}<n> slot (0–${SLOTS - 1} all taken)`);
}

/** One Swarm node: a dockerd in its own network namespace. */
export class SwarmNodeEngine {
  readonly index: number;
  readonly netns: string;
  /** The node's address on the cluster's subnet (its Swarm advertise address). */
  readonly addr: string;
  readonly dir: string;
  readonly socket: string;
  /** For DOCKER_HOST. */
  readonly host: string;
  readonly docker: Docker;
  readonly log: string;
  private readonly registrySocket: string;
  private child: ChildProcess | undefined;
  private forwarder: ChildProcess | undefined;

  constructor(clusterDir: string, slot: number, index: number) {
    this.index = index;
    this.netns = `${PREFIX}${slot}-n${index}`;
    this.addr = `${SUBNET}.${11 + index}`;
    this.dir = path.join(clusterDir, `n${index}`);
    this.socket = path.join(this.dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
    this.docker = new Docker({ socketPath: this.socket });
    this.log = path.join(this.dir, 'dockerd.log');
    this.registrySocket = path.join(clusterDir, 'registry.sock');
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** `docker --host <this node> …`; throws with stderr on a non-zero exit. */
  async cli(...args: string[]): Promise<string> {
    const r = await execFileCapture('docker', ['--host', this.host, ...args], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} on node ${this.index}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** The namespace, its link to the switch, and the registry forwarder (once). */
  async wire(switchNs: string): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await ip(['netns', 'add', this.netns]);
    await ip(['-n', switchNs, 'link', 'add', `n${this.index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.netns]);
    await ip(['-n', switchNs, 'link', 'set', `n${this.index}`, 'master', 'br0', 'up']);
    await ip(['-n', this.netns, 'addr', 'add', `${this.addr}/24`, 'dev', 'eth0']);
    await ip(['-n', this.netns, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', this.netns, 'link', 'set', 'lo', 'up']);
    const fwd = spawn('nsenter', [`--net=/run/netns/${this.netns}`, process.execPath, '-e', FORWARDER, REGISTRY_PORT, this.registrySocket], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.forwarder = fwd;
    await new Promise<void>((resolve, reject) => {
      fwd.once('error', reject);
      fwd.once('exit', (code) => reject(new Error(`the registry forwarder of node ${this.index} exited (${code})`)));
      fwd.stdout?.once('data', () => resolve());
    });
  }

  /** (Re)starts this node's dockerd with the same directories and waits until it answers. */
  async start(): Promise<void> {
    if (this.running) return;
    const hadDocker0 = await hostDocker0Present();
    mkdirSync(path.join(this.dir, 'data'), { recursive: true });
    if (!existsSync(path.join(this.dir, 'daemon.json'))) writeFileSync(path.join(this.dir, 'daemon.json'), '{}\n');
    const out = openSync(this.log, 'a');
    // No --bridge: inside the namespace the default docker0 is the namespace's own. Never --bridge=none.
    const child = spawn(
      'nsenter',
      [
        `--net=/run/netns/${this.netns}`,
        TEST_DOCKERD,
        ...dockerdArgs(this.dir, this.host),
      ],
      { stdio: ['ignore', out, out], detached: true },
    );
    this.child = child;
    await pollUntil(
      `the dockerd of Swarm node ${this.index} to answer`,
      async () => {
        if (!this.running) throw new Error(`the dockerd of node ${this.index} exited during start-up: ${this.tail()}`);
        return this.docker.ping().then(
          () => true,
          () => undefined,
        );
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    if (hadDocker0 && !(await hostDocker0Present())) throw new Error(`starting Swarm node ${this.index} deleted the host's docker0`);
  }

  /** SIGTERM (a service manager's stop) or SIGKILL (a crash); resolves once dockerd is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    await exited;
    clearTimeout(timer);
  }

  /** The Swarm's node ID of this engine ('' outside a Swarm). */
  async nodeId(): Promise<string> {
    return (await this.cli('info', '--format', '{{.Swarm.NodeID}}')).trim();
  }

  tail(lines = 5): string {
    try {
      return readFileSync(this.log, 'utf8').trim().split('\n').slice(-lines).join(' | ');
    } catch {
      return '(no log)';
    }
  }

  /** Stops the forwarder (close() removes the namespace and whatever still runs in it). */
  stopForwarder(): void {
    this.forwarder?.kill('SIGKILL');
  }
}

export class SwarmCluster {
  readonly slot: number;
  readonly dir: string;
  readonly nodes: SwarmNodeEngine[];
  private readonly switchNs: string;
  private readonly registry: net.Server;

  private constructor(slot: number, size: number) {
    this.slot = slot;
    this.dir = `/tmp/${PREFIX}${slot}`;
    this.switchNs = `${PREFIX}${slot}-sw`;
    this.nodes = Array.from({ length: size }, (_, i) => new SwarmNodeEngine(this.dir, slot, i + 1));
    this.registry = net.createServer((c) => {
      const r = net.connect(Number(REGISTRY_PORT), REGISTRY_ADDR);
      c.pipe(r);
      r.pipe(c);
      c.on('error', () => r.destroy());
      r.on('error', () => c.destroy());
    });
  }

  /**
   * Removes stale clusters, builds the namespaces, starts `size` engines, `docker swarm init` on
   * the first and joins the others as managers; resolves when every node is a Ready manager.
   */
  static async start(size: number): Promise<SwarmCluster> {
    if (!existsSync(TEST_DOCKERD)) throw new Error(`no dockerd at ${TEST_DOCKERD}: run \`bash scripts/test-env.sh\` first`);
    await removeStaleSwarmClusters();
    const cluster = new SwarmCluster(claimSlot(), size);
    try {
      await cluster.build();
    } catch (e) {
      await cluster.close().catch(() => undefined);
      throw e;
    }
    return cluster;
  }

  private async build(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.registry.once('error', reject);
      this.registry.listen(path.join(this.dir, 'registry.sock'), () => resolve());
    });
    await ip(['netns', 'add', this.switchNs]);
    await ip(['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
    for (const node of this.nodes) await node.wire(this.switchNs);
    await Promise.all(this.nodes.map((n) => n.start()));
    const [first, ...rest] = this.nodes;
    await first!.cli('swarm', 'init', '--advertise-addr', first!.addr, '--default-addr-pool', OVERLAY_POOL, '--default-addr-pool-mask-length', '24');
    const token = (await first!.cli('swarm', 'join-token', '-q', 'manager')).trim();
    // One at a time: each join is a Raft membership change the leader commits before the next.
    for (const node of rest) await node.cli('swarm', 'join', '--token', token, '--advertise-addr', node.addr, `${first!.addr}:2377`);
    await this.waitReady(this.nodes);
  }

  /** Waits until each given node is a Ready, reachable manager (as the Swarm sees it). */
  async waitReady(nodes: readonly SwarmNodeEngine[]): Promise<void> {
    const ids = await Promise.all(nodes.map((n) => n.nodeId()));
    await pollUntil(
      `Swarm nodes ${nodes.map((n) => n.index).join(', ')} to be Ready managers`,
      async () => {
        const table = await this.nodeTable().catch(() => undefined);
        if (!table) return undefined;
        return ids.every((id) => table.some((r) => r.id === id && r.status === 'Ready' && (r.manager === 'Leader' || r.manager === 'Reachable'))) ? true : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );
  }

  /** `docker node ls` from a running node: id, status, manager status. */
  async nodeTable(): Promise<{ id: string; status: string; manager: string }[]> {
    const node = this.nodes.find((n) => n.running);
    if (!node) throw new Error('no node of the cluster runs');
    const out = await node.cli('node', 'ls', '--format', '{{.ID}}\t{{.Status}}\t{{.ManagerStatus}}');
    return out.split('\n').filter(Boolean).map((l) => {
      const [id = '', status = '', manager = ''] = l.split('\t');
      return { id, status, manager };
    });
  }

  /**
   * The running node the Swarm says leads (from `docker node ls` on the running nodes, which must
   * agree), waiting through an election; `not` excludes a node (the leader just stopped).
   */
  async leader(not?: SwarmNodeEngine): Promise<SwarmNodeEngine> {
    return pollUntil(
      'a Swarm leader among the running nodes',
      async () => {
        const running = this.nodes.filter((n) => n.running && n !== not);
        const views = await Promise.all(
          running.map(async (n) => {
            try {
              const out = await n.cli('node', 'ls', '--format', '{{.ID}}\t{{.ManagerStatus}}');
              return out.split('\n').find((l) => l.endsWith('\tLeader'))?.split('\t')[0];
            } catch {
              return undefined; // no leader yet ("The swarm does not have a leader")
            }
          }),
        );
        const id = views[0];
        if (!id || views.some((v) => v !== id)) return undefined;
        for (const n of running) if ((await n.nodeId()) === id) return n;
        return undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
  }

  /** Stops every engine, removes the namespaces (and what runs there), the mounts and the directory. */
  async close(): Promise<void> {
    const failures: unknown[] = [];
    const step = async (fn: () => Promise<unknown>): Promise<void> => {
      await fn().catch((e: unknown) => failures.push(e));
    };
    for (const node of this.nodes) {
      node.stopForwarder();
      await step(() => node.stop());
    }
    await step(() => new Promise<void>((resolve) => this.registry.close(() => resolve())));
    await step(() => removeSlot(this.slot));
    if (failures.length > 0) throw failures[0];
  }
}
