/** Shared helpers of the fault suite: JSON shapes of driftd's output and small waits. */
import type Docker from 'dockerode';
import { pollUntil } from '../support/docker-resources.js';
import type { SyncWorld } from '../support/sync-harness.js';

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
