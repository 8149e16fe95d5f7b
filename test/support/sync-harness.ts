/**
 * A "world" for the sync integration tests: a loopback Git server serving a desired-state repo
 * built with RepoBuilder, a private data dir, and the real driftd CLI (bin/driftd.js, built from
 * src/) run as a child process. Every Compose invocation of that child goes through a logging
 * wrapper put first on its PATH, so tests can prove which stacks Compose ran for, and when.
 */
import { targetEnv } from './compose-target.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type Docker from 'dockerode';
import { buildDriftd, REPO_ROOT } from './build-driftd.js';
import { COMPOSE_PROJECT_LABEL } from './docker-resources.js';
import { currentTestRun } from './docker.js';
import { GitServer, type ServedRepo } from './git-server.js';
import { RepoBuilder } from './repo-builder.js';
import { pidExists } from '../../src/state/process-identity.js';
import { dict } from '../../src/util/dict.js';

const BUILD_CACHE = path.join(REPO_ROOT, 'node_modules', '.cache', 'driftd-sync-tests');


/**
 * Builds src/ (tsc + bundle) once per vitest run into a private copy of the package (bin/driftd.js,
 * dist/, package.json) and returns its bin/driftd.js. Not the shared dist/: other engineers
 * rebuild that while tests run, and a half-written module there breaks a CLI run at random.
 * Type errors elsewhere in the tree do not stop the build (tsc still emits); a missing output does.
 */
export async function buildCli(): Promise<string> {
  const run = currentTestRun();
  const dir = path.join(BUILD_CACHE, `${run.tag}-${run.pid}`);
  const bin = path.join(dir, 'bin', 'driftd.js');
  if (existsSync(path.join(dir, '.built'))) return bin;
  mkdirSync(BUILD_CACHE, { recursive: true });
  for (const old of readdirSync(BUILD_CACHE)) {
    const pid = Number(/-(\d+)$/.exec(old)?.[1]);
    if (!pidExists(pid)) rmSync(path.join(BUILD_CACHE, old), { recursive: true, force: true });
  }
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  await buildDriftd(path.join(dir, 'dist'));
  copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  copyFileSync(path.join(REPO_ROOT, 'bin', 'driftd.js'), bin);
  writeFileSync(path.join(dir, '.built'), '');
  return bin;
}

export function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const full = path.join(dir || '.', program);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

/**
 * A shell wrapper that logs one "start" line when Compose starts and one "end" line when it
 * ends (pid, nanosecond timestamps, exit code, argv), then exits with Compose's code.
 * For `docker`, only `docker compose …` is logged.
 */
function wrapperScript(real: string, onlyCompose: boolean, logFile: string): string {
  // The log path is written into the script: driftd runs Compose with an allowlisted environment
  // (src/util/child-env.ts), so a variable of the test's would not reach the wrapper.
  const log = `'${logFile.replaceAll("'", "'\\''")}'`;
  const run = `s=$(date +%s%N)
printf 'start\\t%s\\t%s\\t%s\\t%s\\n' "$$" "$PPID" "$s" "$*" >> ${log}
"${real}" "$@"
rc=$?
printf 'end\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$$" "$s" "$(date +%s%N)" "$rc" "$*" >> ${log}
exit $rc
`;
  return onlyCompose ? `#!/bin/sh\nif [ "$1" != compose ]; then exec "${real}" "$@"; fi\n${run}` : `#!/bin/sh\n${run}`;
}

export interface ComposeCall {
  pid: number;
  /** The driftd process that ran it. */
  parentPid: number;
  /** The value of --project-name, if any. */
  project?: string;
  /** The Compose subcommand: up, pull, down, version… */
  command: string;
  args: string[];
  startNs: bigint;
  /** Undefined while it runs (or when its parent was killed before it ended). */
  endNs?: bigint;
  code?: number;
}

function parseComposeArgs(argv: string[]): Pick<ComposeCall, 'project' | 'command' | 'args'> {
  const args = argv[0] === 'compose' ? argv.slice(1) : argv;
  let project: string | undefined;
  let command = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--project-name' || a === '-p') project = args[++i];
    else if (a === '--file' || a === '-f' || a === '--ansi') i++;
    else if (!a.startsWith('-')) {
      command = a;
      break;
    }
  }
  return { ...(project ? { project } : {}), command, args };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface RunOptions {
  host?: string;
  dataDir?: string;
  /** A config file instead of /dev/null. */
  config?: string;
  /** Variables added to the world's environment (DRIFTD_* included). */
  env?: NodeJS.ProcessEnv;
  /** --repo instead of the served repo's URL (e.g. the same URL with credentials in it). */
  repo?: string;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
}

export interface WorldOptions {
  /** The --host driftd runs as (default "host-a"). */
  host?: string;
  /** Labels for every service (pass the Docker test scope's `labels`). */
  labels?: Readonly<Record<string, string>>;
  /** DOCKER_HOST for every driftd run (e.g. a PrivateDockerd's host); default: the environment's. */
  dockerHost?: string;
}

export class SyncWorld {
  readonly server: GitServer;
  readonly served: ServedRepo;
  readonly repo: RepoBuilder;
  readonly dir: string;
  readonly dataDir: string;
  readonly host: string;
  readonly composeLog: string;
  /** Put on every service by composeFile(): the test scope's labels. */
  readonly labels: Readonly<Record<string, string>>;
  readonly dockerHost: string | undefined;
  private readonly binDir: string;
  private readonly cli: string;
  /** The --config every CLI run gets (default none: /dev/null). */
  configFile = '/dev/null';

  private constructor(cli: string, server: GitServer, served: ServedRepo, repo: RepoBuilder, dir: string, opts: WorldOptions) {
    this.cli = cli;
    this.labels = opts.labels ?? {};
    this.dockerHost = opts.dockerHost;
    this.server = server;
    this.served = served;
    this.repo = repo;
    this.dir = dir;
    this.dataDir = path.join(dir, 'data');
    this.binDir = path.join(dir, 'bin');
    this.composeLog = path.join(dir, 'compose.log');
    this.host = opts.host ?? 'host-a';
  }

  static async create(opts: WorldOptions = {}): Promise<SyncWorld> {
    const cli = await buildCli();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-sync-'));
    const server = await GitServer.start();
    const served = await server.createRepo('desired.git');
    const repo = await RepoBuilder.create(path.join(dir, 'repo'));
    const world = new SyncWorld(cli, server, served, repo, dir, opts);
    world.installComposeWrappers();
    writeFileSync(world.composeLog, '');
    return world;
  }

  private installComposeWrappers(): void {
    mkdirSync(this.binDir, { recursive: true });
    for (const program of ['docker-compose', 'docker']) {
      const real = which(program);
      if (!real) continue;
      const file = path.join(this.binDir, program);
      writeFileSync(file, wrapperScript(real, program === 'docker', this.composeLog));
      chmodSync(file, 0o755);
    }
  }

  /** A compose.yaml (see composeFile) whose services carry the world's labels. */
  composeFile(services: Record<string, ServiceSpec>): string {
    return composeFile(services, this.labels);
  }

  /** Commits what the test wrote into `repo`, tags it, pushes to the server; returns the commit. */
  async release(tag: string): Promise<string> {
    await this.repo.commit(`release ${tag}`);
    const commit = await this.repo.tag(tag);
    await this.repo.push(this.served.path);
    return commit;
  }

  /** The environment the CLI runs with: the wrappers first on PATH, no stray DRIFTD_* settings but the run's Compose selection. */
  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DRIFTD_')) env[k] = v;
    return {
      ...env,
      ...targetEnv(),
      PATH: `${this.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      DRIFTD_LOG_LEVEL: 'warn',
      ...(this.dockerHost ? { DOCKER_HOST: this.dockerHost } : {}),
    };
  }

  /**
   * `driftd <command> <args> --repo <server> --data-dir <data> --host <host>`, as a child process
   * (`host` and `dataDir` default to the world's own).
   */
  start(command: string, args: string[] = [], opts: RunOptions = {}): RunningCli {
    const started = Date.now();
    const where = ['--data-dir', opts.dataDir ?? this.dataDir, '--host', opts.host ?? this.host];
    const child = spawn(
      process.execPath,
      [this.cli, command, ...args, '--repo', opts.repo ?? this.served.url, ...where, '--config', opts.config ?? this.configFile],
      { cwd: this.dir, env: { ...this.env(), ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const done = new Promise<CliResult>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) =>
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          durationMs: Date.now() - started,
        }),
      );
    });
    return { child, done };
  }

  run(command: string, args: string[] = [], opts: RunOptions = {}): Promise<CliResult> {
    return this.start(command, args, opts).done;
  }

  /** Runs a command that prints `--json` and parses it; throws with the output when it does not exit `expectCode`. */
  async json<T>(command: string, args: string[] = [], expectCode = 0): Promise<T> {
    const r = await this.run(command, [...args, '--json']);
    if (r.code !== expectCode) throw new Error(`driftd ${command} exited ${r.code} (expected ${expectCode}):\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Every Compose run so far (the `version` probe included), in start order. */
  composeCalls(): ComposeCall[] {
    const calls = new Map<string, ComposeCall>();
    for (const line of readFileSync(this.composeLog, 'utf8').split('\n')) {
      if (!line) continue;
      const f = line.split('\t');
      if (f[0] === 'start') {
        calls.set(`${f[1]}/${f[3]}`, { pid: Number(f[1]), parentPid: Number(f[2]), startNs: BigInt(f[3]!), ...parseComposeArgs((f[4] ?? '').split(' ')) });
      } else if (f[0] === 'end') {
        const call = calls.get(`${f[1]}/${f[2]}`);
        if (call) {
          call.endNs = BigInt(f[3]!);
          call.code = Number(f[4]);
        }
      }
    }
    return [...calls.values()].sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  }

  /** Compose runs that acted on a project (everything but the version probe). */
  projectCalls(): ComposeCall[] {
    return this.composeCalls().filter((c) => c.project !== undefined);
  }

  resetComposeLog(): void {
    writeFileSync(this.composeLog, '');
  }

  /** Opens state.db read-only (for checks while or after driftd runs). */
  readState<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(path.join(this.dataDir, 'state.db'), { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return fn(db);
    } finally {
      db.close();
    }
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface ProjectContainer {
  id: string;
  service: string;
  image: string;
  state: string;
  health?: string;
  labels: Record<string, string>;
}

/** The containers of a Compose project, by service name (one per service in these tests). */
export async function projectContainers(docker: Docker, project: string): Promise<Record<string, ProjectContainer>> {
  // A prototype-less map: a service may be named __proto__ (test/integration/prototype-names.test.ts).
  const out = dict<ProjectContainer>();
  for (const c of await docker.listContainers({ all: true, filters: { label: [`${COMPOSE_PROJECT_LABEL}=${project}`] } })) {
    const service = c.Labels['com.docker.compose.service'] ?? '';
    const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1];
    out[service] = { id: c.Id, service, image: c.Image, state: c.State, ...(health ? { health } : {}), labels: c.Labels };
  }
  return out;
}

export interface ServiceSpec {
  image: string;
  environment?: Record<string, string>;
  volumes?: string[];
  pullPolicy?: string;
}

/**
 * A compose.yaml. Every service runs with `network_mode: none` (the app images' health check
 * probes 127.0.0.1 inside the container, which works without a network): a Compose project
 * otherwise creates a network, and the engine's address pools (about 30 networks) are shared
 * with every other test run on this machine. `labels` go on every service (the test scope's
 * labels, so that a run that dies is cleaned up by the next one).
 */
export function composeFile(services: Record<string, ServiceSpec>, labels: Readonly<Record<string, string>> = {}): string {
  const lines = ['services:'];
  for (const [name, svc] of Object.entries(services)) {
    lines.push(`  ${name}:`, `    image: ${svc.image}`, '    network_mode: none');
    if (svc.pullPolicy) lines.push(`    pull_policy: ${svc.pullPolicy}`);
    if (Object.keys(labels).length > 0) lines.push('    labels:', ...Object.entries(labels).map(([k, v]) => `      ${k}: "${v}"`));
    if (svc.environment) {
      lines.push('    environment:');
      for (const [k, v] of Object.entries(svc.environment)) lines.push(`      ${k}: "${v}"`);
    }
    if (svc.volumes) lines.push('    volumes:', ...svc.volumes.map((v) => `      - ${v}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * fleet.yaml: `host` runs `stacks`; every stack gets a 120 s health timeout plus its `policies`.
 * A ceiling, not a budget: a healthy stack passes as soon as Docker says so, an unhealthy one fails
 * at once; only a loaded machine gets near it.
 */
export function fleetYaml(host: string, stacks: readonly string[], policies: Record<string, Record<string, string | boolean>> = {}): string {
  const lines = ['hosts:', `  ${host}: [${stacks.join(', ')}]`, 'stacks:'];
  const names = [...new Set([...stacks, ...Object.keys(policies)])];
  for (const s of names) {
    const p = { healthTimeout: '120s', ...policies[s] };
    lines.push(`  ${s}:`);
    for (const [k, v] of Object.entries(p)) lines.push(`    ${k}: ${String(v)}`);
  }
  return `${lines.join('\n')}\n`;
}
