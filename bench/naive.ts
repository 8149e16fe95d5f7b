/**
 * The baseline driftd replaces: a checkout of the desired-state repo, `git pull`, then
 * `compose -p <project> -f stacks/<stack>/compose.yaml up -d` for every stack, one after the other;
 * and the naive drift check: `compose ls` once, `compose config --hash '*'` per stack, compared
 * with the config-hash labels of the live containers (one `docker ps`).
 * Its projects are the stack names plus "-nv", so the loop never touches driftd's containers.
 * Runs a given Compose CLI against a given engine (DOCKER_HOST in `env`).
 */
import path from 'node:path';
import type { ComposeCli } from '../src/live/compose-cli.js';
import { mapLimit } from '../src/live/map-limit.js';
import { execFileCapture } from '../src/util/exec.js';
import { runMeasured, type Measured } from './proc.js';

export interface LoopRun {
  wallMs: number;
  cpuMs: number;
  /** Processes started (git pull included). */
  processes: number;
}

export const GIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Collects the processes of one loop; a failed one fails the loop (no number rather than a wrong one). */
class LoopAccount {
  private readonly started = process.hrtime.bigint();
  private readonly run: LoopRun = { wallMs: 0, cpuMs: 0, processes: 0 };
  private readonly failures: string[] = [];

  add(m: Measured, what: string): Measured {
    this.run.cpuMs += m.cpuMs;
    this.run.processes += 1;
    if (m.code !== 0) this.failures.push(`${what}: exit ${m.code}: ${m.stderr.trim().split('\n').at(-1) ?? ''}`);
    return m;
  }

  done(what: string): LoopRun {
    this.run.wallMs = Number(process.hrtime.bigint() - this.started) / 1e6;
    if (this.failures.length > 0) throw new Error(`${what}: ${this.failures.length} of ${this.run.processes} processes failed: ${this.failures.slice(0, 3).join('; ')}`);
    return this.run;
  }
}

export class NaiveLoop {
  private constructor(
    readonly dir: string,
    readonly stacks: readonly string[],
    private readonly cli: ComposeCli,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async clone(url: string, dir: string, stacks: readonly string[], cli: ComposeCli, env: NodeJS.ProcessEnv): Promise<NaiveLoop> {
    const r = await execFileCapture('git', ['clone', '--quiet', '--branch', 'main', url, dir], { env: GIT_ENV });
    if (r.code !== 0) throw new Error(`git clone ${url} failed: ${r.stderr}`);
    return new NaiveLoop(dir, stacks, cli, env);
  }

  static project(stack: string): string {
    return `${stack}-nv`;
  }

  private run(args: readonly string[]): Promise<Measured> {
    const [file, ...lead] = this.cli.command as [string, ...string[]];
    return runMeasured(file, [...lead, ...args], { cwd: this.dir, env: this.env });
  }

  private compose(stack: string, args: readonly string[]): Promise<Measured> {
    return this.run(['-p', NaiveLoop.project(stack), '-f', path.join('stacks', stack, 'compose.yaml'), ...args]);
  }

  private pull(account: LoopAccount): Promise<Measured> {
    return runMeasured('git', ['pull', '--quiet', '--ff-only'], { cwd: this.dir, env: GIT_ENV }).then((m) => account.add(m, 'git pull'));
  }

  /** `git pull`, then `up -d` for every stack, one after the other: the loop users run. */
  async up(): Promise<LoopRun> {
    const account = new LoopAccount();
    await this.pull(account);
    for (const stack of this.stacks) account.add(await this.compose(stack, ['up', '-d']), `${stack} up`);
    return account.done('naive loop');
  }

  /** Setup, not a figure: `git pull`, then `up -d` of every stack with `concurrency` in flight. */
  async deployAll(concurrency: number): Promise<LoopRun> {
    const account = new LoopAccount();
    await this.pull(account);
    await mapLimit(this.stacks, concurrency, async (stack) => account.add(await this.compose(stack, ['up', '-d']), `${stack} up`));
    return account.done('naive deploy');
  }

  /** `git pull`, then `up -d` of the one stack a new tag changed: the one Compose run a change needs. */
  async upOne(stack: string): Promise<LoopRun & { upMs: number }> {
    const account = new LoopAccount();
    await this.pull(account);
    const up = account.add(await this.compose(stack, ['up', '-d']), `${stack} up`);
    return { ...account.done('naive up of the changed stack'), upMs: up.wallMs };
  }

  /**
   * A drift check by hand (Compose v2): `compose ls` for the projects, `config --hash '*'` per stack
   * for the desired hashes, `docker ps` for the live ones. Returns the stacks that differ.
   */
  async driftCheck(): Promise<LoopRun & { drifted: string[] }> {
    const account = new LoopAccount();
    const ls = account.add(await this.run(['ls', '--all', '--format', 'json']), 'compose ls');
    const running = new Set((JSON.parse(ls.stdout || '[]') as { Name: string }[]).map((p) => p.Name));
    const desired = new Map<string, string>();
    for (const stack of this.stacks) {
      const m = account.add(await this.compose(stack, ['config', '--hash', '*']), `${stack} config --hash`);
      for (const line of m.stdout.trim().split('\n')) {
        const [service, hash] = line.trim().split(/\s+/);
        if (service && hash) desired.set(`${NaiveLoop.project(stack)}/${service}`, hash);
      }
    }
    const format = '{{.Label "com.docker.compose.project"}}/{{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.config-hash"}}';
    const ps = account.add(await runMeasured('docker', ['ps', '--all', '--filter', 'label=com.docker.compose.project', '--format', format], { env: this.env }), 'docker ps');
    const live = new Map(ps.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    const drifted = this.stacks.filter((stack) => {
      const project = NaiveLoop.project(stack);
      const services = [...desired].filter(([key]) => key.startsWith(`${project}/`));
      return !running.has(project) || services.length === 0 || services.some(([key, hash]) => live.get(key) !== hash);
    });
    return { ...account.done('naive drift check'), drifted };
  }
}
