/**
 * The baseline driftd replaces: a checkout of the desired-state repo, `git pull`, then
 * `compose -p <project> -f stacks/<stack>/compose.yaml up -d` for every stack, one after the other.
 * Its projects are the stack names plus "-nv", so the loop never touches driftd's containers.
 * Runs the same Compose CLI driftd detected.
 */
import path from 'node:path';
import type { ComposeCli } from '../src/live/compose-cli.js';
import { execFileCapture } from '../src/util/exec.js';
import { runMeasured, type Measured } from './proc.js';

export interface LoopRun {
  wallMs: number;
  cpuMs: number;
  /** Processes started (git pull included). */
  processes: number;
  /** Wall time of each stack's Compose run(s), in stack order. */
  perStackMs: number[];
}

export const GIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export class NaiveLoop {
  private constructor(
    readonly dir: string,
    readonly stacks: readonly string[],
    private readonly cli: ComposeCli,
  ) {}

  static async clone(url: string, dir: string, stacks: readonly string[], cli: ComposeCli): Promise<NaiveLoop> {
    const r = await execFileCapture('git', ['clone', '--quiet', '--branch', 'main', url, dir], { env: GIT_ENV });
    if (r.code !== 0) throw new Error(`git clone ${url} failed: ${r.stderr}`);
    return new NaiveLoop(dir, stacks, cli);
  }

  static project(stack: string): string {
    return `${stack}-nv`;
  }

  private compose(stack: string, args: readonly string[]): Promise<Measured> {
    const [file, ...lead] = this.cli.command as [string, ...string[]];
    const composeFile = path.join('stacks', stack, 'compose.yaml');
    return runMeasured(file, [...lead, '-p', NaiveLoop.project(stack), '-f', composeFile, ...args], { cwd: this.dir });
  }

  private async loop(withPull: boolean, perStack: readonly (readonly string[])[]): Promise<LoopRun> {
    const started = process.hrtime.bigint();
    const run: LoopRun = { wallMs: 0, cpuMs: 0, processes: 0, perStackMs: [] };
    const failures: string[] = [];
    const account = (m: Measured, what: string): void => {
      run.cpuMs += m.cpuMs;
      run.processes += 1;
      if (m.code !== 0) failures.push(`${what}: exit ${m.code}: ${m.stderr.trim().split('\n').at(-1) ?? ''}`);
    };
    if (withPull) account(await runMeasured('git', ['pull', '--quiet', '--ff-only'], { cwd: this.dir, env: GIT_ENV }), 'git pull');
    for (const stack of this.stacks) {
      let stackMs = 0;
      for (const args of perStack) {
        const m = await this.compose(stack, args);
        account(m, `${stack} ${args[0] ?? ''}`);
        stackMs += m.wallMs;
      }
      run.perStackMs.push(stackMs);
    }
    run.wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    // A failed run would make the loop look cheaper than it is: no number rather than a wrong one.
    if (failures.length > 0) throw new Error(`naive loop: ${failures.length} of ${run.processes} processes failed: ${failures.slice(0, 3).join('; ')}`);
    return run;
  }

  /** `git pull`, then `up -d` for every stack. */
  up(): Promise<LoopRun> {
    return this.loop(true, [['up', '-d']]);
  }

  /** What a drift check by hand costs: `ps` and `config` for every stack. */
  psAndConfig(): Promise<LoopRun> {
    return this.loop(false, [['ps'], ['config']]);
  }
}
