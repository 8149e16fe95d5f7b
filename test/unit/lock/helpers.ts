import { readFileSync } from 'node:fs';
import type { DesiredService, DesiredStack } from '../../../src/compose/model.js';
import type { LockFile } from '../../../src/lock/model.js';
import type { LiveContainer, LiveImageDefaults, LiveInventory } from '../../../src/live/model.js';
import { makeService } from '../../support/desired-model.js';

/** A recorded JSON fixture (test/unit/lock/fixtures), parsed. */
export function fixture<T = unknown>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export const SHA_A = `sha256:${'a'.repeat(64)}`;
export const SHA_B = `sha256:${'b'.repeat(64)}`;
export const SHA_C = `sha256:${'c'.repeat(64)}`;
export const SHA_I = `sha256:${'1'.repeat(64)}`;
export const SHA_J = `sha256:${'2'.repeat(64)}`;
export const COMPOSE_SHA = 'f'.repeat(64);

export function svc(name: string, image: string): DesiredService {
  return makeService({ name, image });
}

export function desired(name: string, services: DesiredService[], lock?: LockFile, composeSha256 = COMPOSE_SHA): DesiredStack {
  return {
    name,
    composeFiles: [`stacks/${name}/compose.yaml`],
    model: {},
    services,
    files: [],
    inputsHash: `inputs-${name}`,
    composeSha256,
    policy: { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true },
    ...(lock ? { lock } : {}),
  };
}

export function lockOf(stack: string, images: LockFile['images'], composeSha256 = COMPOSE_SHA): LockFile {
  return { version: 1, stack, composeSha256, images };
}

export function container(project: string, service: string, image: string, imageId: string, n = 1): LiveContainer {
  return {
    id: `${project}-${service}-${n}-id`,
    name: `${project}-${service}-${n}`,
    project,
    service,
    number: n,
    image,
    imageId,
    state: 'running',
    health: 'none',
    labels: {},
    createdAt: '2026-01-01T00:00:00Z',
  };
}

export function image(id: string, repoDigests: string[], platform: Partial<Pick<LiveImageDefaults, 'os' | 'architecture' | 'variant'>> = { os: 'linux', architecture: 'amd64' }): LiveImageDefaults {
  return { id, repoTags: [], repoDigests, env: {}, ...platform };
}

export function inventory(containers: LiveContainer[], images: LiveImageDefaults[]): LiveInventory {
  return {
    takenAt: '2026-01-01T00:00:00Z',
    engine: { version: '20.10.24', apiVersion: '1.41', os: 'linux', arch: 'amd64' },
    containers,
    projects: {},
    images: Object.fromEntries(images.map((i) => [i.id, i])),
    networks: [],
    volumes: [],
  };
}
