/**
 * Builds a desired-state repo (stacks/, locks/, fleet.yaml) in a temp dir with the real `git`
 * CLI: write files, commit, tag (lightweight or annotated), move or delete tags, and push to a
 * bare repo (e.g. one served by GitServer). Author, committer and dates are fixed, so the same
 * sequence of operations always yields the same commit ids; each commit's date is one second
 * after the previous one.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileCapture } from '../../src/util/exec.js';

const BASE_EPOCH = 1_700_000_000;

export interface TagOptions {
  /** Annotated tag (a tag object with a message); default lightweight. */
  annotated?: boolean;
  message?: string;
  /** Commit to tag; default HEAD. */
  commit?: string;
  /** Signed annotated tag (`git tag -s`) with the key set by `signWith`. */
  signed?: boolean;
}

export class RepoBuilder {
  readonly dir: string;
  private tick = 0;
  private readonly ownsDir: boolean;
  /** `-c` options and environment that make git sign (see test/support/signing.ts). */
  private signing: { config: string[]; env: NodeJS.ProcessEnv } = { config: [], env: {} };

  private constructor(dir: string, ownsDir: boolean) {
    this.dir = dir;
    this.ownsDir = ownsDir;
  }

  /** `git init` on branch main in a new temp dir (or in `dir`). */
  static async create(dir?: string): Promise<RepoBuilder> {
    const target = dir ?? mkdtempSync(path.join(os.tmpdir(), 'driftd-repo-'));
    mkdirSync(target, { recursive: true });
    const repo = new RepoBuilder(target, dir === undefined);
    await repo.git('init', '--quiet', '--initial-branch=main');
    return repo;
  }

  private env(): NodeJS.ProcessEnv {
    const date = `@${BASE_EPOCH + this.tick} +0000`;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'driftd test',
      GIT_AUTHOR_EMAIL: 'test@driftd.invalid',
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_NAME: 'driftd test',
      GIT_COMMITTER_EMAIL: 'test@driftd.invalid',
      GIT_COMMITTER_DATE: date,
      ...this.signing.env,
    };
  }

  /** Signs later `commit(…, { sign: true })` and `tag(…, { signed: true })` with these git options and environment. */
  signWith(config: string[], env: NodeJS.ProcessEnv = {}): this {
    this.signing = { config, env };
    return this;
  }

  /** Runs git in the repo with an argument array; throws with stderr on failure; returns stdout. */
  async git(...args: string[]): Promise<string> {
    const r = await execFileCapture('git', [...this.signing.config, ...args], { cwd: this.dir, env: this.env() });
    if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** Writes a repo-relative file, creating folders; `mode` e.g. 0o755 for scripts. */
  write(file: string, content: string | Buffer, mode?: number): this {
    const full = path.join(this.dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
    if (mode !== undefined) chmodSync(full, mode);
    return this;
  }

  /** Writes `stacks/<name>/<file>` for every entry. */
  writeStack(name: string, files: Record<string, string>): this {
    for (const [file, content] of Object.entries(files)) this.write(path.posix.join('stacks', name, file), content);
    return this;
  }

  /** A small valid stack: compose.yaml with one busybox service and a .env. */
  writeSimpleStack(name: string, opts: { image?: string; env?: string } = {}): this {
    return this.writeStack(name, {
      'compose.yaml': `services:\n  app:\n    image: ${opts.image ?? 'busybox:1.36'}\n    command: ["sleep", "3600"]\n    environment:\n      MODE: \${MODE:-prod}\n`,
      '.env': opts.env ?? 'MODE=prod\n',
    });
  }

  writeLock(stack: string, lock: unknown): this {
    return this.write(`locks/${stack}.lock.json`, `${JSON.stringify(lock, null, 2)}\n`);
  }

  writeFleet(yaml: string): this {
    return this.write('fleet.yaml', yaml);
  }

  symlink(file: string, target: string): this {
    const full = path.join(this.dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    symlinkSync(target, full);
    return this;
  }

  remove(file: string): this {
    rmSync(path.join(this.dir, file), { recursive: true, force: true });
    return this;
  }

  /** Stages everything and commits; returns the commit id. */
  async commit(message = `commit ${this.tick + 1}`, opts: { sign?: boolean } = {}): Promise<string> {
    this.tick += 1;
    await this.git('add', '--all');
    await this.git('commit', '--quiet', '--allow-empty', ...(opts.sign ? ['-S'] : []), '-m', message);
    return this.head();
  }

  head(): Promise<string> {
    return this.git('rev-parse', 'HEAD');
  }

  /** Creates (or with `force`, moves) a tag; returns the commit it points to. */
  async tag(name: string, opts: TagOptions & { force?: boolean } = {}): Promise<string> {
    const args = ['tag'];
    if (opts.force) args.push('--force');
    if (opts.signed) args.push('-s', '-m', opts.message ?? `release ${name}`);
    else if (opts.annotated) args.push('--annotate', '-m', opts.message ?? `release ${name}`);
    args.push(name);
    if (opts.commit) args.push(opts.commit);
    await this.git(...args);
    return this.git('rev-parse', `${name}^{commit}`);
  }

  /** Points an existing tag at another commit (the supply-chain red flag driftd must report). */
  moveTag(name: string, commit: string, opts: Omit<TagOptions, 'commit'> = {}): Promise<string> {
    return this.tag(name, { ...opts, commit, force: true });
  }

  async deleteTag(name: string): Promise<void> {
    await this.git('tag', '--delete', name);
  }

  /**
   * Makes the remote's branches and tags exactly match this repo: force-updates moved tags and
   * deletes remote tags/branches that no longer exist here.
   */
  async push(remote: string): Promise<void> {
    await this.git('push', '--quiet', '--force', '--prune', remote, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*');
  }

  cleanup(): void {
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
