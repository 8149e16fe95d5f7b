/**
 * Helpers for the drift-* integration tests: run the built `driftd` binary as a user would (a
 * child process with flags), a per-test host (data, audit and env dirs), the desired-state stack
 * the tests deploy, and small Docker/Compose helpers. Not a test file (vitest only collects
 * `*.test.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { stringify } from 'yaml';
import { assertComposeOk } from '../../src/live/compose-cli.js';
import { execFileCapture, type ExecResult } from '../../src/util/exec.js';
import { buildDriftd } from '../support/build-driftd.js';
import { testComposeCli, targetEnv } from '../support/compose-target.js';
import { COMPOSE_PROJECT_LABEL, pollUntil } from '../support/docker.js';
import { APP_PORT, TEST_IMAGES } from '../support/test-env.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'driftd.js');
const BUILT_ENTRY = path.join(ROOT, 'dist', 'bundle', 'main.js');
export const SERVICE_LABEL = 'com.docker.compose.service';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** `npm run build` unless the bundle is newer than every file in src/ (the build rewrites every output). */
export async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(BUILT_ENTRY).mtimeMs;
  } catch {
    // not built yet
  }
  if (built > newestMtime(path.join(ROOT, 'src'))) return;
  await buildDriftd();
}

/**
 * The test process's environment without driftd settings (so only the flags a test passes count),
 * except the run's Compose selection (compose-target.ts).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DRIFTD_') && !k.startsWith('NODE_') && !k.startsWith('VITEST')) env[k] = v;
  return { ...env, ...targetEnv(), ...extra };
}

export interface CliRun extends ExecResult {
  argv: string[];
}

export async function runDriftd(argv: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  const r = await execFileCapture(process.execPath, [BIN, ...argv], {
    cwd: opts.cwd ?? os.tmpdir(),
    env: cleanEnv(opts.env),
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  return { ...r, argv };
}

export function spawnDriftd(argv: string[], opts: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...argv], { cwd: os.tmpdir(), env: cleanEnv(opts.env), stdio: 'ignore' });
}

/** One driftd host: its own data dir (state DB, snapshots, deploy dirs, host-local env files) and audit dir. */
export class DriftHost {
  readonly root: string;
  readonly dataDir: string;
  readonly auditDir: string;
  readonly envDir: string;

  constructor(
    public repo: string,
    readonly host = 'drift-test-host',
  ) {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'driftd-drift-'));
    this.dataDir = path.join(this.root, 'data');
    this.auditDir = path.join(this.root, 'audit');
    this.envDir = path.join(this.dataDir, 'env');
    mkdirSync(this.envDir, { recursive: true });
  }

  /** The flags every command gets. */
  flags(auditDir = this.auditDir): string[] {
    return ['--repo', this.repo, '--data-dir', this.dataDir, '--audit-dir', auditDir, '--host', this.host];
  }

  /** The host-local `<envDir>/<stack>.env` (per-host values and secrets, outside the repo). */
  writeHostEnv(stack: string, text: string): void {
    writeFileSync(path.join(this.envDir, `${stack}.env`), text, { mode: 0o600 });
  }

  run(command: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; auditDir?: string } = {}): Promise<CliRun> {
    return runDriftd([command, ...this.flags(opts.auditDir), ...args], opts);
  }

  spawn(command: string, args: string[] = [], opts: { auditDir?: string } = {}): ChildProcess {
    return spawnDriftd([command, ...this.flags(opts.auditDir), ...args]);
  }

  /** `driftd sync` of exactly these stacks; throws with the output unless it exits 0. */
  async sync(stacks: readonly string[], args: string[] = []): Promise<CliRun> {
    const r = await this.run('sync', [...stacks.flatMap((s) => ['--stack', s]), '--log-level', 'warn', ...args], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`driftd sync exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  /** `drift-check --json` limited to `stacks`; the parsed report plus the raw run. */
  async check(stacks: readonly string[], args: string[] = []): Promise<{ run: CliRun; report: JsonReport }> {
    const run = await this.run('drift-check', [...stacks.flatMap((s) => ['--stack', s]), '--json', ...args]);
    let report: JsonReport;
    try {
      report = JSON.parse(run.stdout) as JsonReport;
    } catch {
      throw new Error(`drift-check did not print JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
    return { run, report };
  }

  deployDir(stack: string): string {
    return path.join(this.dataDir, 'deploy', stack);
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------ report shape

export interface JsonFinding {
  kind: string;
  severity: 'error' | 'warning' | 'info';
  stack: string;
  service?: string;
  field?: string;
  message: string;
  desired?: unknown;
  live?: unknown;
  diff?: string;
}

export interface JsonStack {
  stack: string;
  sync: string;
  health: string;
  reason?: string;
  deployedRevision?: string;
  targetRevision?: string;
  findings: JsonFinding[];
}

export interface JsonReport {
  schemaVersion: number;
  host: string;
  revision?: { commit: string; ref?: string };
  summary: { stacks: number; synced: number; outOfSync: number; unknown: number; findings: number };
  stacks: JsonStack[];
  unmanaged: JsonFinding[];
  timings: Record<string, number>;
}

export function stackOf(report: JsonReport, name: string): JsonStack {
  const s = report.stacks.find((x) => x.stack === name);
  if (!s) throw new Error(`stack ${name} is not in the report: ${report.stacks.map((x) => x.stack).join(', ')}`);
  return s;
}

/** The findings of a stack except `image-unpinned` (the test stacks lock nothing on purpose). */
export function driftFindings(stack: JsonStack): JsonFinding[] {
  return stack.findings.filter((f) => f.kind !== 'image-unpinned');
}

/** kind/service/field of each finding, for compact assertions. */
export function summarizeFindings(list: readonly JsonFinding[]): string[] {
  return list.map((f) => [f.kind, f.service, f.field].filter((x) => x !== undefined).join(' '));
}

// ------------------------------------------------------------------------------ test stacks

export interface StackSecrets {
  /** In the host-local env file, interpolated into DB_PASSWORD. */
  hostSecret: string;
  /** Values of the stack's env_file (app.env): secret because they come from an env_file. */
  envFileToken: string;
  envFilePlain: string;
}

/**
 * A stack with everything the Done-when list names: two services, a health check (the app
 * image's), a published port, a named volume, an env_file, a bind mount of a repo file, a value
 * interpolated from the committed .env and a secret interpolated from the host-local env file.
 * Every service, network and volume carries the test scope's labels.
 */
export function fullStackFiles(labels: Readonly<Record<string, string>>, secrets: StackSecrets): Record<string, string> {
  const compose = {
    services: {
      web: {
        image: TEST_IMAGES.app10,
        ports: [`127.0.0.1::${APP_PORT}`],
        env_file: ['app.env'],
        environment: { MODE: '${MODE:-dev}', GREETING: 'hello', DB_PASSWORD: '${DB_PASSWORD:?set DB_PASSWORD in the host env file}' },
        volumes: ['data:/data', './conf/site.conf:/etc/site.conf:ro'],
        labels: { ...labels },
      },
      worker: { image: TEST_IMAGES.worker10, restart: 'unless-stopped', labels: { ...labels } },
    },
    volumes: { data: { labels: { ...labels } } },
    networks: { default: { labels: { ...labels } } },
  };
  return {
    'compose.yaml': stringify(compose),
    '.env': 'MODE=prod\n',
    'app.env': `API_TOKEN=${secrets.envFileToken}\nWELCOME=${secrets.envFilePlain}\n`,
    'conf/site.conf': 'listen 8080;\nroot /www;\n',
  };
}

/**
 * One service, no health check: the cheapest stack to deploy many times. With `sharedNetwork`
 * it joins Docker's default bridge instead of getting a network of its own (the engine has
 * address pools for about 30 networks only).
 */
export function tinyStackFiles(labels: Readonly<Record<string, string>>, opts: { sharedNetwork?: boolean } = {}): Record<string, string> {
  const worker = { image: TEST_IMAGES.worker10, labels: { ...labels }, ...(opts.sharedNetwork ? { network_mode: 'bridge' } : {}) };
  const compose = opts.sharedNetwork ? { services: { worker } } : { services: { worker }, networks: { default: { labels: { ...labels } } } };
  return { 'compose.yaml': stringify(compose) };
}

// ------------------------------------------------------------------------------ docker helpers

export async function projectContainers(docker: Docker, project: string, service?: string): Promise<Docker.ContainerInfo[]> {
  const label = [`${COMPOSE_PROJECT_LABEL}=${project}`, ...(service ? [`${SERVICE_LABEL}=${service}`] : [])];
  return docker.listContainers({ all: true, filters: { label } });
}

export async function onlyContainer(docker: Docker, project: string, service: string): Promise<Docker.Container> {
  const list = await projectContainers(docker, project, service);
  if (list.length !== 1 || !list[0]) throw new Error(`expected one container of ${project}/${service}, found ${list.length}`);
  return docker.getContainer(list[0].Id);
}

/** Waits until the service's container reports this health status (Docker's, e.g. "healthy"). */
export async function waitForHealth(docker: Docker, project: string, service: string, status: string, timeoutMs = 60_000): Promise<void> {
  const c = await onlyContainer(docker, project, service);
  await pollUntil(`${project}/${service} to be ${status}`, async () => ((await c.inspect()).State.Health?.Status === status ? true : undefined), {
    timeoutMs,
    intervalMs: 500,
  });
}

/**
 * Runs the Compose CLI (the one driftd would pick: see compose-target.ts) like a person at a shell: a plain environment (not
 * the test runner's, which sets variables such as MODE that Compose would interpolate) plus `env`.
 * Throws unless it exits 0.
 */
export async function composeByHand(
  cwd: string,
  project: string,
  args: string[],
  opts: { files?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  const cli = await testComposeCli();
  const [file, ...lead] = cli.command as [string, ...string[]];
  const shellEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}) };
  const argv = [...lead, '--ansi', 'never', '--project-name', project, ...(opts.files ?? []).flatMap((f) => ['--file', f]), ...args];
  const r = await execFileCapture(file, argv, { cwd, env: { ...shellEnv, ...opts.env }, timeoutMs: 180_000 });
  assertComposeOk(r, args[0] ?? 'compose', project);
  return r;
}

const EXPORT_NAME = /^\d{8}T\d{6}Z(?:-\d+)?$/;

/** Names of the runtime export folders (`<audit>/runtime/<UTC timestamp>[-n]`), sorted. */
export function exportFolders(auditDir: string): string[] {
  try {
    return readdirSync(path.join(auditDir, 'runtime'))
      .filter((n) => EXPORT_NAME.test(n))
      .sort();
  } catch {
    return [];
  }
}

/**
 * Every regular file under `dir`, recursively (for grepping exports and data dirs); `skip` leaves
 * out an entry (and everything under it) by its path relative to `dir`.
 */
export function filesUnder(dir: string, skip: (rel: string) => boolean = () => false, base = dir): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (skip(path.relative(base, full))) continue;
    if (e.isDirectory()) out.push(...filesUnder(full, skip, base));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

/** Files (of `files`) whose bytes contain `needle`. */
export function filesContaining(files: readonly string[], needle: string): string[] {
  const bytes = Buffer.from(needle);
  return files.filter((f) => readFileSync(f).includes(bytes));
}
