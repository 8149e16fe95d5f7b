/**
 * Counts and times the Compose processes driftd starts: wrappers named `docker-compose` and
 * `docker` (for `docker compose …` only) go first on the PATH of the driftd process; each logs
 * its start and end (ns), exit code and argv to a log file (LOG_VAR), then exits with Compose's code.
 * A wrapper costs a few ms (sh + two `date`), small next to a Compose run.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface ComposeCall {
  /** Compose subcommand: version, pull, up… */
  command: string;
  wallMs: number;
  code: number;
}

/**
 * driftd passes Compose only an allowlist of its environment (src/util/child-env.ts: PATH, HOME,
 * DOCKER_*, proxies): the log variable must carry the DOCKER_ prefix to reach the wrapper. The
 * Docker CLI ignores DOCKER_* variables it does not know.
 */
const LOG_VAR = 'DOCKER_DRIFTD_BENCH_COMPOSE_LOG';

function findOnPath(program: string, pathVar: string): string {
  for (const dir of pathVar.split(':')) {
    const full = path.join(dir || '.', program);
    if (existsSync(full)) return full;
  }
  throw new Error(`${program} not found on PATH`);
}

function wrapper(real: string, onlyComposeSubcommand: boolean): string {
  return [
    '#!/bin/sh',
    `if [ -z "$${LOG_VAR}" ]${onlyComposeSubcommand ? ' || [ "$1" != compose ]' : ''}; then exec "${real}" "$@"; fi`,
    's=$(date +%s%N)',
    `"${real}" "$@"`,
    'rc=$?',
    `printf '%s\\t%s\\t%s\\t%s\\n' "$s" "$(date +%s%N)" "$rc" "$*" >> "$${LOG_VAR}"`,
    'exit $rc',
    '',
  ].join('\n');
}

const VALUE_FLAGS = new Set(['--ansi', '--project-name', '-p', '--file', '-f', '--project-directory', '--env-file']);

/** "compose --ansi never --project-name x --file f up --detach" → "up". */
export function composeSubcommand(argv: readonly string[]): string {
  const args = argv[0] === 'compose' ? argv.slice(1) : argv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUE_FLAGS.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return '';
}

export class ComposeSpy {
  private constructor(readonly binDir: string) {}

  static create(dir: string, pathVar = process.env.PATH ?? '/usr/bin:/bin'): ComposeSpy {
    const binDir = path.join(dir, 'compose-spy');
    mkdirSync(binDir, { recursive: true });
    for (const [program, onlyCompose] of [['docker-compose', false], ['docker', true]] as const) {
      let real: string;
      try {
        real = findOnPath(program, pathVar);
      } catch {
        continue; // that CLI is not installed: nothing to wrap
      }
      const file = path.join(binDir, program);
      writeFileSync(file, wrapper(real, onlyCompose));
      chmodSync(file, 0o755);
    }
    return new ComposeSpy(binDir);
  }

  /** The environment of a driftd process whose Compose calls go to `logFile`. */
  env(base: NodeJS.ProcessEnv, logFile: string): NodeJS.ProcessEnv {
    ComposeSpy.reset(logFile);
    return { ...base, PATH: `${this.binDir}:${base.PATH ?? ''}`, [LOG_VAR]: logFile };
  }

  /** Forgets the calls logged so far. */
  static reset(logFile: string): void {
    rmSync(logFile, { force: true });
  }

  static read(logFile: string): ComposeCall[] {
    if (!existsSync(logFile)) return [];
    return readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((line) => {
        const [start = '0', end = '0', code = '0', argv = ''] = line.split('\t');
        return { command: composeSubcommand(argv.split(' ')), wallMs: Number(BigInt(end) - BigInt(start)) / 1e6, code: Number(code) };
      });
  }
}
