/**
 * A private Docker engine for tests that must stop, kill or restart Docker: its own socket,
 * --data-root, --exec-root (with its own supervised containerd), --pidfile, its OWN bridge
 * (`dfault<n>`, created here with `ip link add … type bridge`; its address 10.213.<n>.1/24 is the
 * default bridge network's pool, clear of the shared engines' 172.16.0.0/13 and 172.24.0.0/14), no
 * iptables rules, so the shared engine at /var/run/docker.sock and every other test never notice.
 *
 * Never `--bridge=none`: a dockerd started with it deletes the host's default bridge `docker0`
 * (libnetwork removes the default bridge it does not manage), which broke every other test on the
 * machine. Nor default-address-pools: see start().
 * Test images are pulled into it from the test registry (127.0.0.1:5000, plain HTTP on loopback).
 *
 *   const engine = await PrivateDockerd.start();
 *   await engine.pull([TEST_IMAGES.app10]);
 *   … DOCKER_HOST=engine.host …
 *   await engine.stop();  await engine.start();   // an outage
 *   await engine.close();                          // stops it and removes its directories
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { execFileCapture } from '../../src/util/exec.js';
import { pollUntil } from './docker-resources.js';

export const PRIVATE_DOCKERD_DIR = '/opt/driftd-test/engine-modern';
const DOCKERD = path.join(PRIVATE_DOCKERD_DIR, 'dockerd');
const DOCKER_PROXY = path.join(PRIVATE_DOCKERD_DIR, 'docker-proxy');

const BRIDGE_PREFIX = 'dfault';
/** Slots 0–199: the bridge dfault<n> with 10.213.<n>.1/24. */
const SLOTS = 200;

/**
 * Creates a free `dfault<n>` bridge with its address and returns n. `ip link add` fails when the
 * name exists, so two runs never share one; the start slot varies by pid to avoid retries.
 */
async function claimBridge(): Promise<number> {
  const first = process.pid % SLOTS;
  for (let i = 0; i < SLOTS; i++) {
    const slot = (first + i) % SLOTS;
    const name = `${BRIDGE_PREFIX}${slot}`;
    const add = await execFileCapture('ip', ['link', 'add', name, 'type', 'bridge'], { timeoutMs: 30_000 });
    if (add.code !== 0) continue;
    for (const args of [['addr', 'add', `10.213.${slot}.1/24`, 'dev', name], ['link', 'set', name, 'up']]) {
      const r = await execFileCapture('ip', args, { timeoutMs: 30_000 });
      if (r.code !== 0) {
        await execFileCapture('ip', ['link', 'del', name], { timeoutMs: 30_000 });
        throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
      }
    }
    return slot;
  }
  throw new Error(`no free ${BRIDGE_PREFIX}<n> bridge name (0–${SLOTS - 1} all exist; remove stale ones with \`ip link del\`)`);
}

/** True while a network interface of that name exists. */
export async function linkExists(name: string): Promise<boolean> {
  const r = await execFileCapture('ip', ['link', 'show', name], { timeoutMs: 30_000 });
  return r.code === 0;
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const root = path.resolve(dir);
  // Field 5 is the mount point, with space, tab, newline and backslash escaped in octal.
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  return [...new Set(points.filter((p) => p === root || p.startsWith(`${root}/`)))].sort((a, b) => b.length - a.length);
}

/** True while the host's default bridge (the shared engine's docker0) exists. */
export function hostDocker0Present(): Promise<boolean> {
  return linkExists('docker0');
}

/** The argv of a test dockerd that keeps everything under `dir` and leaves the host's firewall alone. */
export function dockerdArgs(dir: string, host: string, extra: readonly string[] = []): string[] {
  return [
    '--host', host,
    '--data-root', path.join(dir, 'data'),
    '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'docker.pid'),
    '--config-file', path.join(dir, 'daemon.json'),
    ...extra,
    '--iptables=false',
    '--ip-masq=false',
    '--userland-proxy-path', DOCKER_PROXY,
  ];
}

/** The modern engine's dockerd binary (scripts/test-env.sh installs it). */
export const TEST_DOCKERD = DOCKERD;

export class PrivateDockerd {
  /** Short on purpose: containerd's socket lives under exec-root, and unix socket paths stop at 107 bytes. */
  readonly dir: string;
  readonly socket: string;
  /** For DOCKER_HOST. */
  readonly host: string;
  readonly docker: Docker;
  readonly log: string;
  /** The bridge this engine owns (deleted by close()). */
  readonly bridge: string;
  private readonly slot: number;
  private child: ChildProcess | undefined;

  private constructor(dir: string, slot: number) {
    this.dir = dir;
    this.slot = slot;
    this.bridge = `${BRIDGE_PREFIX}${slot}`;
    this.socket = path.join(dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
    this.docker = new Docker({ socketPath: this.socket });
    this.log = path.join(dir, 'dockerd.log');
  }

  /** Starts a new private engine and waits until it answers (generous ceiling: the machine is shared). */
  static async start(): Promise<PrivateDockerd> {
    if (!existsSync(DOCKERD)) throw new Error(`no dockerd at ${DOCKERD}: run \`bash scripts/test-env.sh\` first`);
    const slot = await claimBridge();
    const engine = new PrivateDockerd(mkdtempSync('/tmp/dfd-'), slot);
    try {
      // No default-address-pools, on purpose: a dockerd restarted with pools set "clears the stale
      // bridge network" and then deletes the link named docker0 — the HOST's, whatever --bridge says
      // (measured on Engine 26.1: restart with pools → docker0 gone; without → untouched). The
      // default bridge takes its subnet from dfault<n>'s address; the fault stacks use no other network.
      writeFileSync(path.join(engine.dir, 'daemon.json'), '{}\n');
      await engine.start();
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
    return engine;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** (Re)starts dockerd with the same directories: containers it had come back as they were left. */
  async start(): Promise<void> {
    if (this.running) return;
    const hadDocker0 = await hostDocker0Present();
    mkdirSync(path.join(this.dir, 'data'), { recursive: true });
    const out = openSync(this.log, 'a');
    const child = spawn(
      DOCKERD,
      dockerdArgs(this.dir, this.host, ['--bridge', this.bridge]),
      { stdio: ['ignore', out, out], detached: true },
    );
    this.child = child;
    await pollUntil(
      `private dockerd at ${this.socket} to answer`,
      async () => {
        if (!this.running) throw new Error(`private dockerd exited during start-up: ${this.tail()}`);
        return this.docker.ping().then(
          () => true,
          () => undefined,
        );
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    // The one thing a private engine must never do to the machine: say so at once, not in other tests.
    if (hadDocker0 && !(await hostDocker0Present())) throw new Error(`starting the private dockerd in ${this.dir} deleted the host's docker0`);
  }

  /** SIGTERM (a service manager's stop) or SIGKILL (a crash); resolves once the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    // The supervised containerd of a killed dockerd outlives it for a moment: wait for its pid file owner to go.
    await this.waitContainerdGone();
  }

  /** Pulls images from the test registry into this engine. */
  async pull(refs: readonly string[]): Promise<void> {
    for (const ref of refs) {
      const r = await execFileCapture('docker', ['--host', this.host, 'pull', '--quiet', ref], { timeoutMs: 180_000 });
      if (r.code !== 0) throw new Error(`docker pull ${ref} into the private engine failed: ${r.stderr}`);
    }
  }

  /** Stops the engine, removes its containers' state and every directory it used. */
  async close(): Promise<void> {
    if (this.running) {
      // Containers first, so no shim stays behind holding mounts under data-root.
      const containers = await this.docker.listContainers({ all: true }).catch(() => []);
      for (const c of containers) await this.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await this.stop();
    // A stopped engine can leave mounts behind: a Swarm's ingress sandbox is an nsfs mount on a file
    // under exec/netns (unlinking it is EBUSY), and container rootfs mounts under data.
    for (const mount of mountsUnder(this.dir)) await execFileCapture('umount', ['-l', mount], { timeoutMs: 30_000 }).catch(() => undefined);
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } finally {
      // The bridge goes even when the dir cannot: a leftover dfault<n> would hold its slot.
      await execFileCapture('ip', ['link', 'del', this.bridge], { timeoutMs: 30_000 }).catch(() => undefined);
    }
  }

  tail(lines = 5): string {
    try {
      return readFileSync(this.log, 'utf8').trim().split('\n').slice(-lines).join(' | ');
    } catch {
      return '(no log)';
    }
  }

  private async waitContainerdGone(): Promise<void> {
    const pidFile = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!pid) return;
    await pollUntil(
      'the private containerd to exit',
      () => {
        try {
          process.kill(pid, 0);
          return Promise.resolve(undefined);
        } catch {
          return Promise.resolve(true);
        }
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch(() => undefined);
  }
}
