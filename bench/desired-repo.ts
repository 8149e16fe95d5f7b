/**
 * The synthetic desired-state repo: N one-service stacks of the tiny worker image, each on the
 * bench's shared network and labelled with the bench run, tagged v1.0.0 and pushed to the
 * loopback Git server. `change()` makes the next tag differ in one stack's environment.
 */
import type { GitServer, ServedRepo } from '../test/support/git-server.js';
import { RepoBuilder } from '../test/support/repo-builder.js';
import { TEST_IMAGES } from '../test/support/test-env.js';
import { BENCH_RUN_LABEL } from './docker.js';

export interface DesiredRepoOptions {
  server: GitServer;
  /** Stack names, e.g. bench-ab12-200-007. */
  stacks: readonly string[];
  network: string;
  runLabel: string;
}

export function stackNames(prefix: string, n: number): string[] {
  const width = String(n).length;
  return Array.from({ length: n }, (_, i) => `${prefix}${n}-${String(i + 1).padStart(width, '0')}`);
}

export function composeYaml(opts: { network: string; runLabel: string; revision: number }): string {
  return [
    'services:',
    '  worker:',
    `    image: ${TEST_IMAGES.worker10}`,
    // Idle without the image's once-a-second `sleep` loop: 1,000 of those fork 1,000 processes a
    // second and would measure the scheduler, not driftd. `$$` is Compose's escape for `$`.
    `    command: ["sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait $$!"]`,
    '    environment:',
    `      BENCH_REVISION: "${opts.revision}"`,
    '    labels:',
    `      ${BENCH_RUN_LABEL}: "${opts.runLabel}"`,
    'networks:',
    '  default:',
    '    external: true',
    `    name: ${opts.network}`,
    '',
  ].join('\n');
}

export class DesiredRepo {
  private version = 0;
  private changes = 0;

  private constructor(
    readonly served: ServedRepo,
    readonly builder: RepoBuilder,
    readonly stacks: readonly string[],
    private readonly opts: DesiredRepoOptions,
  ) {}

  static async create(opts: DesiredRepoOptions): Promise<DesiredRepo> {
    const served = await opts.server.createRepo(`${opts.stacks[0] ?? 'empty'}.git`);
    const builder = await RepoBuilder.create();
    const repo = new DesiredRepo(served, builder, opts.stacks, opts);
    for (const stack of opts.stacks) builder.writeStack(stack, { 'compose.yaml': composeYaml({ ...opts, revision: 0 }) });
    await builder.commit(`${opts.stacks.length} bench stacks`);
    await repo.release();
    return repo;
  }

  get url(): string {
    return this.served.url;
  }

  /** Commits a new BENCH_REVISION for the next stack in turn, tags and pushes; returns the stack. */
  async change(): Promise<string> {
    this.changes += 1;
    const stack = this.stacks[(this.changes - 1) % this.stacks.length]!;
    this.builder.writeStack(stack, { 'compose.yaml': composeYaml({ ...this.opts, revision: this.changes }) });
    await this.builder.commit(`change ${stack}`);
    await this.release();
    return stack;
  }

  private async release(): Promise<void> {
    await this.builder.tag(`v1.0.${this.version++}`);
    await this.builder.push(this.served.path);
  }

  cleanup(): void {
    this.builder.cleanup();
  }
}
