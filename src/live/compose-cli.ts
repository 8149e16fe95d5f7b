import { stat } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import type { ResolvedConfig } from '../config/resolve.js';
import { DriftdError, describeError, errnoCode } from '../errors/index.js';
import { allowlistedEnv } from '../util/child-env.js';
import { execFileCapture, type ExecResult } from '../util/exec.js';
import { forgetDetection, readCachedDetection, saveDetection, type ComposeCliName, type Detection } from './compose-detect-cache.js';
import { composeFingerprint, hasComposePlugin, SYSTEM_PLUGIN_DIRS, type ComposeFingerprint } from './compose-fingerprint.js';
import { recordComposeRun } from '../util/telemetry.js';

/**
 * The Compose CLI driftd shells out to (with argv arrays, never a shell). Two generations are
 * supported: v2 (`docker compose` plugin, or a v2 `docker-compose` binary) and v1
 * (`docker-compose` 1.29, Debian's). The argv builders below use only flags both accept;
 * `--wait` (v2 only) is not used because driftd runs its own health gate.
 */

export type ComposeKind = 'v1' | 'v2';
export type ComposeCommandSetting = ResolvedConfig['composeCommand'];

export interface ComposeRunOptions {
  cwd: string;
  projectName: string;
  /** Compose files in merge order, absolute or relative to cwd. */
  files: readonly string[];
  timeoutMs?: number;
  /** Added to the environment the CLI runs with (on top of the detection's base env). */
  env?: NodeJS.ProcessEnv;
}

export interface ComposeCli {
  kind: ComposeKind;
  /** e.g. "2.29.7" or "1.29.2". */
  version: string;
  /** The program and leading arguments, e.g. ["docker", "compose"] or ["docker-compose"]. */
  command: readonly string[];
  /**
   * Runs `<command> --ansi never --project-name P --file F… <args>`. Never rejects on exit code;
   * rejects with ComposeNotFound when the program is gone (and forgets the detection).
   */
  run(args: readonly string[], opts: ComposeRunOptions): Promise<ExecResult>;
}

export interface DetectComposeOptions {
  /** compose.command from the config: force one CLI, or try v2 then v1 ("auto", the default). */
  command?: ComposeCommandSetting;
  /** Passed to the CLI as DOCKER_HOST. */
  dockerHost?: string;
  /**
   * Environment the CLI's allowlist is taken from (default process.env): PATH, HOME, DOCKER_*,
   * proxy variables and `passEnv` only, never DRIFTD_* or `privateEnvNames` (src/util/child-env.ts).
   */
  env?: NodeJS.ProcessEnv;
  /** `compose.passEnv`: further variables Compose may see (for `${VAR}`/`environment: VAR` the repo uses). */
  passEnv?: readonly string[];
  /** Variables never passed (the configured Git and webhook credential variables). */
  privateEnvNames?: readonly string[];
  timeoutMs?: number;
  /**
   * Folder where a successful detection is remembered across processes (driftd: `<data-dir>/cache`),
   * reused while nothing in its fingerprint (compose-fingerprint.ts) changed. Without it, only this
   * process remembers.
   */
  cacheDir?: string;
}

/** Where this host's Docker CLI looks for plugins besides its config dir. */
export interface ComposeHostLayout {
  systemPluginDirs: readonly string[];
}

export type ComposeCliDetector = (opts?: DetectComposeOptions) => Promise<ComposeCli>;

const CANDIDATES: Record<ComposeCliName, readonly string[]> = {
  'docker compose': ['docker', 'compose'],
  'docker-compose': ['docker-compose'],
};

const INSTALL_HINT =
  'install the Compose plugin (Debian/Ubuntu: docker-compose-plugin or docker-compose-v2) or docker-compose, or set compose.command';

/** "Docker Compose version v2.29.7" / "v2.29.7" / "1.29.2" → "2.29.7" / "1.29.2". */
export function parseComposeVersion(output: string): string | undefined {
  return /v?(\d+\.\d+\.\d+[^\s,]*)/.exec(output)?.[1];
}

export function composeKindOf(version: string): ComposeKind {
  return Number(version.split('.')[0]) >= 2 ? 'v2' : 'v1';
}

/** The name Compose gives a service's n-th container: v1 `p_s_1`, v2 `p-s-1`. */
export function composeContainerName(kind: ComposeKind, project: string, service: string, n = 1): string {
  const sep = kind === 'v1' ? '_' : '-';
  return [project, service, String(n)].join(sep);
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ''
  );
}

type Probe = { ok: true; version: string } | { ok: false; reason: string };

async function probe(command: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Probe> {
  const [file, ...lead] = command as [string, ...string[]];
  let result: ExecResult;
  try {
    // `version` without --short: docker 20.10's CLI rejects --short for an unknown subcommand
    // with a usage error that hides the real "not a docker command" message.
    result = await execFileCapture(file, [...lead, 'version'], { env, timeoutMs });
  } catch (e) {
    const code = errnoCode(e);
    return { ok: false, reason: code === 'ENOENT' ? `${file} not found` : describeError(e) };
  }
  if (result.timedOut) return { ok: false, reason: `no answer within ${timeoutMs / 1000} s` };
  const version = result.code === 0 ? parseComposeVersion(result.stdout) : undefined;
  if (version) return { ok: true, version };
  return { ok: false, reason: firstLine(result.stderr) || firstLine(result.stdout) || `exit code ${result.code}` };
}

const isDir = (dir: string): Promise<boolean> => stat(dir).then((s) => s.isDirectory(), () => false);

function makeCli(command: readonly string[], version: string, baseEnv: NodeJS.ProcessEnv, onGone: () => Promise<void>): ComposeCli {
  const [file, ...lead] = command as [string, ...string[]];
  return {
    kind: composeKindOf(version),
    version,
    command,
    async run(args, opts) {
      const argv = [
        ...lead,
        '--ansi',
        'never',
        '--project-name',
        opts.projectName,
        ...opts.files.flatMap((f) => ['--file', f]),
        ...args,
      ];
      try {
        const result = await execFileCapture(file, argv, {
          cwd: opts.cwd,
          env: { ...baseEnv, ...opts.env },
          ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        });
        recordComposeRun(args, result.timedOut ? 'timeout' : result.code === 0 ? 'ok' : 'error');
        return result;
      } catch (e) {
        recordComposeRun(args, 'error');
        // spawn says ENOENT for a missing cwd too; only a missing program (or its interpreter) voids the detection.
        if (errnoCode(e) !== 'ENOENT' || !(await isDir(opts.cwd))) throw e;
        await onGone();
        throw new DriftdError(
          'ComposeNotFound',
          `\`${command.join(' ')}\` can no longer be started (${describeError(e)}); reinstall Compose or set compose.command, then sync again: the Compose CLI is detected anew`,
          { command, version },
          { cause: e },
        );
      }
    },
  };
}

async function detect(setting: ComposeCommandSetting, env: NodeJS.ProcessEnv, timeoutMs: number, fingerprint: ComposeFingerprint): Promise<Detection> {
  const names = setting === 'auto' ? (['docker compose', 'docker-compose'] as const) : ([setting] as const);
  const tried: string[] = [];
  for (const name of names) {
    // Without a plugin file Docker's CLI can only fail `docker compose`. A forced setting is asked
    // anyway: a `docker` that is not Docker's CLI (podman's) may answer it without one.
    if (setting === 'auto' && name === 'docker compose' && !hasComposePlugin(fingerprint)) {
      tried.push(`\`docker compose\`: no compose plugin in ${fingerprint.plugins.map((p) => p.dir).join(', ')}`);
      continue;
    }
    const result = await probe(CANDIDATES[name], env, timeoutMs);
    if (result.ok) return { name, version: result.version };
    tried.push(`\`${name} version\`: ${result.reason}`);
  }
  const what = setting === 'auto' ? 'no Docker Compose CLI found' : `compose.command is "${setting}" but it does not work`;
  throw new DriftdError('ComposeNotFound', `${what} (${tried.join('; ')}); ${INSTALL_HINT}`, { command: setting, tried });
}

/**
 * A detector with its own in-process memory: a fresh one behaves like a new process. Every call
 * re-reads the fingerprint (a few stat calls), so an agent notices a Compose upgrade too.
 */
export function createComposeCliDetector(layout: ComposeHostLayout = { systemPluginDirs: SYSTEM_PLUGIN_DIRS }): ComposeCliDetector {
  const memo = new Map<string, { fingerprint: ComposeFingerprint; cli: Promise<ComposeCli> }>();

  return async (opts = {}) => {
    const setting = opts.command ?? 'auto';
    const env = {
      ...allowlistedEnv(opts.env ?? process.env, { passEnv: opts.passEnv ?? [], privateNames: opts.privateEnvNames ?? [] }),
      ...(opts.dockerHost ? { DOCKER_HOST: opts.dockerHost } : {}),
    };
    const fingerprint = await composeFingerprint({ setting, env, systemPluginDirs: layout.systemPluginDirs });
    const key = JSON.stringify([opts.cacheDir ?? '', fingerprint.setting, fingerprint.dockerHost, fingerprint.path, Object.keys(env).sort()]);
    const held = memo.get(key);
    if (held && isDeepStrictEqual(held.fingerprint, fingerprint)) return held.cli;

    const { cacheDir } = opts;
    const forget = async (): Promise<void> => {
      if (memo.get(key) === entry) memo.delete(key);
      if (cacheDir) await forgetDetection(cacheDir);
    };
    const find = async (): Promise<ComposeCli> => {
      let found = cacheDir ? await readCachedDetection(cacheDir, fingerprint) : undefined;
      if (!found) {
        found = await detect(setting, env, opts.timeoutMs ?? 30_000, fingerprint);
        if (cacheDir) await saveDetection(cacheDir, fingerprint, found);
      }
      return makeCli(CANDIDATES[found.name], found.version, env, forget);
    };
    const entry = { fingerprint, cli: find() };
    memo.set(key, entry);
    // A failed detection is not remembered: the next call tries again.
    entry.cli.catch(() => memo.get(key) === entry && memo.delete(key));
    return entry.cli;
  };
}

const processDetector = createComposeCliDetector();

/**
 * Finds the Compose CLI: remembered per process, and across processes in `cacheDir`, while
 * nothing that decides the answer changed. Throws ComposeNotFound saying what to install.
 */
export function detectComposeCli(opts: DetectComposeOptions = {}): Promise<ComposeCli> {
  return processDetector(opts);
}

// ---------------------------------------------------------------------------------------------
// argv builders (everything after the global flags that ComposeCli.run adds)

const servicesTail = (services: readonly string[] | undefined): string[] => (services?.length ? ['--', ...services] : []);

export interface UpOptions {
  services?: readonly string[];
  forceRecreate?: boolean;
  /** Do not start linked services (only with services). */
  noDeps?: boolean;
  /** Seconds to wait for containers to stop when recreating (Compose default 10). */
  stopTimeoutSeconds?: number;
}

/** `up --detach --remove-orphans`: converge the project to the files, removing dropped services. */
export function composeUpArgs(o: UpOptions = {}): string[] {
  return [
    'up',
    '--detach',
    '--remove-orphans',
    '--no-build',
    ...(o.forceRecreate ? ['--force-recreate'] : []),
    ...(o.noDeps ? ['--no-deps'] : []),
    ...(o.stopTimeoutSeconds !== undefined ? ['--timeout', String(o.stopTimeoutSeconds)] : []),
    ...servicesTail(o.services),
  ];
}

/** `pull --quiet`: fetch every image first so that a failed pull touches no container. */
export function composePullArgs(o: { services?: readonly string[] } = {}): string[] {
  return ['pull', '--quiet', ...servicesTail(o.services)];
}

export interface DownOptions {
  /** Also remove named and anonymous volumes. */
  volumes?: boolean;
  stopTimeoutSeconds?: number;
}

export function composeDownArgs(o: DownOptions = {}): string[] {
  return [
    'down',
    '--remove-orphans',
    ...(o.volumes ? ['--volumes'] : []),
    ...(o.stopTimeoutSeconds !== undefined ? ['--timeout', String(o.stopTimeoutSeconds)] : []),
  ];
}

/** `ps --all --quiet`: the IDs of the project's containers, stopped ones included, one per line. */
export function composePsArgs(): string[] {
  return ['ps', '--all', '--quiet'];
}

/** `config` prints the resolved model as YAML; `quiet` only validates (exit code). */
export function composeConfigArgs(o: { quiet?: boolean } = {}): string[] {
  return ['config', ...(o.quiet ? ['--quiet'] : [])];
}

/**
 * Engine errors whose fix is on the host, not in the stack: what to do, instead of "see the log".
 * The address pools: every Compose project gets its own network, and dockerd's default pools hold
 * about 30 of them (Engine ≤ 26 says "could not find an available, non-overlapping IPv4 address
 * pool", Engine 27+ "all predefined address pools have been fully subnetted").
 */
const HOST_FIXES: readonly { cause: string; pattern: RegExp; advice: string }[] = [
  {
    cause: 'address-pools-exhausted',
    pattern: /could not find an available, non-overlapping IPv4 address pool|all predefined address pools have been fully subnetted/i,
    advice:
      'the Docker engine has no address pool left for another network (each stack gets its own; the default pools hold about 30): ' +
      'set larger "default-address-pools" in /etc/docker/daemon.json, e.g. [{"base": "172.16.0.0/13", "size": 24}] for 2,048 networks, ' +
      'restart dockerd and sync again (see README, "Many stacks on one host")',
  },
];

/** Throws ComposeFailed unless the run exited 0; the message carries Compose's first error line. */
export function assertComposeOk(result: ExecResult, action: string, projectName: string): void {
  if (result.code === 0 && !result.timedOut) return;
  const why = result.timedOut
    ? `timed out after ${Math.round(result.durationMs / 1000)} s`
    : `exit code ${result.code}: ${lastErrorLine(result.stderr) || firstLine(result.stdout) || 'no output'}`;
  const fix = result.timedOut ? undefined : HOST_FIXES.find((f) => f.pattern.test(result.stderr) || f.pattern.test(result.stdout));
  const next = fix ? fix.advice : "see the log for Compose's full output";
  throw new DriftdError('ComposeFailed', `compose ${action} failed for stack ${projectName} (${why}); ${next}`, {
    action,
    project: projectName,
    code: result.code,
    timedOut: result.timedOut,
    ...(fix ? { cause: fix.cause } : {}),
    stderr: result.stderr.slice(-4000),
  });
}

/** Compose prints progress lines first and the error last. */
function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines.findLast((l) => /error|denied|not found|invalid|failed|unknown/i.test(l)) ?? lines.at(-1) ?? '';
}
