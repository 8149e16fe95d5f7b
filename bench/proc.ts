/**
 * Runs a program as a child process and measures it: wall time with a monotonic clock, CPU
 * time (user + system, the process and the children it waited for) and peak RSS from GNU time
 * (`/usr/bin/time -f`), which writes to its own file so the program's stderr stays clean.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  code: number;
  stdout: string;
  stderr: string;
  wallMs: number;
  userMs: number;
  sysMs: number;
  cpuMs: number;
  maxRssKb: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function assertGnuTime(): void {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} not found: install GNU time (Debian/Ubuntu: apt-get install time)`);
}

/** "Command exited with non-zero status 2\n0.41 0.30 0.05 61234\n": the numbers are on the last line. */
export function parseGnuTime(text: string): Pick<Measured, 'userMs' | 'sysMs' | 'cpuMs' | 'maxRssKb'> {
  const last = text.trim().split('\n').at(-1) ?? '';
  const [user, sys, rss] = last.trim().split(/\s+/).map(Number);
  if (user === undefined || sys === undefined || rss === undefined || [user, sys, rss].some((n) => !Number.isFinite(n))) {
    throw new Error(`cannot parse GNU time output: ${JSON.stringify(text)}`);
  }
  const userMs = Math.round(user * 1000);
  const sysMs = Math.round(sys * 1000);
  return { userMs, sysMs, cpuMs: userMs + sysMs, maxRssKb: rss };
}

let scratch: string | undefined;
let seq = 0;

/** The folder GNU time writes into: made on first use, removed when the process exits (Ctrl-C included). */
function timeScratch(): string {
  if (scratch) return scratch;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-bench-time-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  scratch = dir;
  return dir;
}

export function runMeasured(file: string, args: readonly string[], opts: RunOptions = {}): Promise<Measured> {
  const out = path.join(timeScratch(), `${seq++}.txt`);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-o', out, '-f', '%U %S %M', file, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => stdout.push(b));
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      try {
        const usage = parseGnuTime(readFileSync(out, 'utf8'));
        rmSync(out, { force: true });
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          wallMs,
          ...usage,
        });
      } catch (e) {
        reject(new Error(`${file} ${args.join(' ')} (exit ${code ?? signal}): ${(e as Error).message}; stderr: ${Buffer.concat(stderr).toString('utf8').slice(-2000)}`));
      }
    });
  });
}
