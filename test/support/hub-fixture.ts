/** Hub test fixtures: a status document's stack row and a `driftd hub` child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ReportStack } from '../../src/hub/report.js';
import { pollUntil } from './docker-resources.js';

/** One stack row of a hub status document, synced and healthy at `commit` unless overridden. */
export const reportStack = (name: string, commit: string, over: Partial<ReportStack> = {}): ReportStack => ({
  name,
  desired: { commit, ref: 'v2.0.0' },
  deployed: { commit, ref: 'v2.0.0' },
  sync: 'Synced',
  health: 'Healthy',
  findings: 0,
  ...over,
});

/** A `driftd hub` child process on 127.0.0.1:`port` (its stderr kept for failure messages). */
export interface HubProcess {
  child: ChildProcess;
  base: string;
  stderr(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `driftd hub --config <config> --data-dir <dataDir> --listen 127.0.0.1:<port>` from the
 * built CLI and waits until it answers /healthz (`scheme` https when the config enables TLS;
 * `fetchHealth` lets a TLS test trust its own CA).
 */
export async function startHubProcess(opts: {
  bin: string;
  config: string;
  dataDir: string;
  port: number;
  home: string;
  scheme?: 'http' | 'https';
  fetchHealth?: (url: string) => Promise<boolean>;
}): Promise<HubProcess> {
  const base = `${opts.scheme ?? 'http'}://127.0.0.1:${opts.port}`;
  const child = spawn(process.execPath, [opts.bin, 'hub', '--config', opts.config, '--data-dir', opts.dataDir, '--listen', `127.0.0.1:${opts.port}`, '--repo', opts.home], {
    env: { PATH: process.env.PATH ?? '', HOME: opts.home },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const healthy = opts.fetchHealth ?? (async (url: string) => (await fetch(url).catch(() => undefined))?.ok === true);
  await pollUntil(
    'the hub to answer /healthz',
    async () => {
      if (child.exitCode !== null) throw new Error(`the hub exited ${child.exitCode}: ${stderr}`);
      return (await healthy(`${base}/healthz`).catch(() => false)) ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  return {
    child,
    base,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
