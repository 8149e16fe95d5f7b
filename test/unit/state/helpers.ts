import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { openState } from '../../../src/state/open.js';
import type { StateStore } from '../../../src/state/store.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A fresh directory under the OS temp dir, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-state-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestClock {
  now: () => Date;
  advance: (ms: number) => void;
}

export function testClock(start = '2026-01-01T00:00:00.000Z'): TestClock {
  let t = Date.parse(start);
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

/** Opens a store (closed after the test) on `<tempDir>/data`, which does not exist yet. */
export function freshStore(clock: TestClock = testClock()): { store: StateStore; dataDir: string; clock: TestClock } {
  const dataDir = path.join(tempDir(), 'data');
  const store = openState(dataDir, { now: clock.now });
  cleanups.push(() => store.close());
  return { store, dataDir, clock };
}

/** Runs fn, expects it to throw a DriftdError with this code, returns the error. */
export function thrown(fn: () => unknown, code = 'StateError'): DriftdError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DriftdError);
    expect((e as DriftdError).code).toBe(code);
    return e as DriftdError;
  }
  throw new Error(`expected a ${code}`);
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'state-child.ts');

export interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout line matching `re`; rejects when the child exits first or after timeoutMs. */
  line: (re: RegExp, timeoutMs?: number) => Promise<string>;
  /** Everything the child wrote so far. */
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs fixtures/state-child.ts (real driftd code through tsx) in its own process; killed after the test. */
export function child(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  let closed = false;
  // 'close', not 'exit': only then has all of the child's output been read.
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => ((closed = true), resolve(code))));
  const notify = (): void => waiters.forEach((w) => w());
  proc.stdout.on('data', (d: Buffer) => ((out += d.toString()), notify()));
  proc.stderr.on('data', (d: Buffer) => ((out += d.toString()), notify()));
  void exited.then(notify);
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const line = (re: RegExp, timeoutMs = 240_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not print ${re} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
      const check = (): void => {
        const hit = out.split('\n').find((l) => re.test(l));
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else if (closed) {
          clearTimeout(timer);
          reject(new Error(`child exited before printing ${re}; output:\n${out}`));
        }
      };
      waiters.push(check);
      check();
    });
  return { proc, line, output: () => out, exited };
}
