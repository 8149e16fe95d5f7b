/** Shared helpers of the fault suite: JSON shapes of driftd's output, small waits, an agent driven over HTTP. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { pollUntil } from '../support/docker-resources.js';
import { freePort } from '../support/free-port.js';
import type { DockerTestScope } from '../support/docker.js';
import { fleetYaml, SyncWorld, type RunningCli } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

export interface SyncJson {
  outcomes: { stack: string; action: string; result: string; message: string; health?: string; revision?: string; hostFault?: boolean }[];
  exitCode: number;
}

export interface StatusJson {
  dockerError?: string;
  warnings: string[];
  stacks: { stack: string; sync: string; health: string; reason?: string; desiredRevision?: string; deployedRevision?: string }[];
}

export interface HistoryRow {
  id: number;
  stack?: string;
  action: string;
  result: string;
  revision?: string;
  message?: string;
}

/** A compose.yaml with one `web` service that restarts with the engine, on no network (see sync-harness composeFile). */
export function webStack(image: string, labels: Readonly<Record<string, string>> = {}): Record<string, string> {
  const lines = ['services:', '  web:', `    image: ${image}`, '    network_mode: none', '    restart: unless-stopped'];
  if (Object.keys(labels).length > 0) lines.push('    labels:', ...Object.entries(labels).map(([k, v]) => `      ${k}: "${v}"`));
  return { 'compose.yaml': `${lines.join('\n')}\n` };
}

/** The Git timeout of the Git fault files: a hung server ends a run (the CLI's or an agent cycle) in seconds. */
export const GIT_TIMEOUT_YAML = 'git:\n  timeout: 3s\n';

/** A world with one web stack released as v1.0.0 (not deployed yet) and `config`, a config file holding GIT_TIMEOUT_YAML. */
export async function gitFaultWorld(env: DockerTestScope): Promise<{ world: SyncWorld; stack: string; v1: string; config: string }> {
  const world = await SyncWorld.create({ labels: env.labels });
  const stack = env.project();
  world.repo.writeStack(stack, webStack(TEST_IMAGES.app10, env.labels)).writeFleet(fleetYaml(world.host, [stack]));
  const v1 = await world.release('v1.0.0');
  const config = path.join(world.dir, 'git-timeout.yaml');
  writeFileSync(config, GIT_TIMEOUT_YAML);
  return { world, stack, v1, config };
}

/** Revisions the state DB holds as failed for a stack (read while driftd may run). */
export function failedRevisions(world: SyncWorld, stack: string): string[] {
  return world.readState((db) => (db.prepare('SELECT revision FROM failed_revisions WHERE stack = ?').all(stack) as { revision: string }[]).map((r) => r.revision));
}

export async function history(world: SyncWorld, stack: string): Promise<HistoryRow[]> {
  return (await world.json<HistoryRow[]>('history', ['--stack', stack, '--limit', '100'])).reverse();
}

/** The live `web` container of a project: state, health and revision label. */
export async function liveWeb(docker: Docker, project: string): Promise<{ id: string; state: string; health?: string; revision?: string; image: string } | undefined> {
  const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=web'] } });
  const c = list[0];
  if (!c) return undefined;
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1];
  return { id: c.Id, state: c.State, image: c.Image, ...(health ? { health } : {}), ...(c.Labels['io.driftd.revision'] ? { revision: c.Labels['io.driftd.revision'] } : {}) };
}

export async function waitHealthyWeb(docker: Docker, project: string, revision: string, timeoutMs = 120_000): Promise<void> {
  await pollUntil(
    `${project}/web at ${revision.slice(0, 12)} running and healthy`,
    async () => {
      const w = await liveWeb(docker, project);
      return w?.state === 'running' && w.health === 'healthy' && w.revision === revision ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** `driftd agent` with its HTTP surface on a free port (read token, webhook secret), as the fault tests drive it. */
export class HttpAgent {
  static readonly READ = 'read-token-for-faults';
  static readonly HOOK = 'webhook-secret-for-faults';
  cycles = 0;

  private constructor(
    readonly run: RunningCli,
    readonly base: string,
  ) {}

  /** Starts the agent (`--interval`, default 1h: only the startup run and webhooks reconcile); `extra` is appended to its config file; `host`/`dataDir` default to the world's. */
  static async start(world: SyncWorld, opts: { interval?: string; extra?: string; env?: NodeJS.ProcessEnv; host?: string; dataDir?: string } = {}): Promise<HttpAgent> {
    const port = await freePort();
    const config = path.join(world.dir, `agent-${port}.yaml`);
    writeFileSync(path.join(world.dir, 'read.token'), `${HttpAgent.READ}\n`, { mode: 0o600 });
    writeFileSync(path.join(world.dir, 'hook.secret'), `${HttpAgent.HOOK}\n`, { mode: 0o600 });
    writeFileSync(
      config,
      `http:\n  listen: 127.0.0.1:${port}\n  readTokenFile: ${path.join(world.dir, 'read.token')}\n  webhookSecretFile: ${path.join(world.dir, 'hook.secret')}\n${opts.extra ?? ''}`,
    );
    return new HttpAgent(world.start('agent', ['--interval', opts.interval ?? '1h'], { config, ...(opts.env ? { env: opts.env } : {}), ...(opts.host ? { host: opts.host } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) }), `http://127.0.0.1:${port}`);
  }

  get(p: string): Promise<Response> {
    return fetch(`${this.base}${p}`, { signal: AbortSignal.timeout(10_000), headers: { authorization: `Bearer ${HttpAgent.READ}` } });
  }

  /** POST /webhook; resolves with the HTTP status (202 when accepted). */
  async webhook(): Promise<number> {
    const r = await fetch(`${this.base}/webhook`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${HttpAgent.HOOK}` }, signal: AbortSignal.timeout(10_000) });
    return r.status;
  }

  /** GET /healthz, or undefined while the agent does not answer. */
  async health(): Promise<{ cycles: number; busy: boolean } | undefined> {
    try {
      return (await (await this.get('/healthz')).json()) as { cycles: number; busy: boolean };
    } catch {
      return undefined;
    }
  }

  /** Waits until at least `min` cycles have finished and none runs; returns the count. */
  async idleAfter(min: number, timeoutMs = 180_000): Promise<number> {
    const h = await pollUntil('the agent to finish its cycle', async () => {
      const now = await this.health();
      return now && now.cycles >= min && !now.busy ? now : undefined;
    }, { timeoutMs, intervalMs: 250 });
    this.cycles = h.cycles;
    return h.cycles;
  }

  /** Triggers one reconcile through the webhook and waits until it finished. */
  async cycle(): Promise<void> {
    const before = this.cycles;
    if ((await this.webhook()) !== 202) throw new Error('the agent refused the webhook');
    await this.idleAfter(before + 1);
  }

  alive(): boolean {
    return this.run.child.exitCode === null && this.run.child.signalCode === null;
  }

  /** SIGTERM (or the signal given) and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.alive()) this.run.child.kill(signal);
    await this.run.done;
  }
}
