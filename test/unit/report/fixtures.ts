import type { DesiredService, DesiredStack } from '../../../src/compose/model.js';
import type { DriftReport, Finding, StackStatus } from '../../../src/drift/model.js';
import type { LiveContainer, LiveInventory } from '../../../src/live/model.js';
import { makeService } from '../../support/desired-model.js';

/** Planted secrets: none of them may appear in any output. */
export const SECRET_PASSWORD = 'pl4nted-Passw0rd-9f2c';
export const SECRET_FROM_ENV_FILE = 'envfile-only-value-77aa';
export const SECRET_OLD = 'old-s3cret-value-1234';

export function service(overrides: Partial<DesiredService> & { name: string }): DesiredService {
  return makeService({ configHash: 'h', ...overrides });
}

export function stack(name: string, files: string[], services: DesiredService[]): DesiredStack {
  return {
    name,
    composeFiles: [`stacks/${name}/compose.yaml`],
    model: {},
    services,
    files: files.map((p) => ({ path: p, sha256: '0'.repeat(64) })),
    inputsHash: 'x',
    composeSha256: 'y',
    policy: { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 60_000, rollbackOnFailure: true },
  };
}

export const desiredStacks: DesiredStack[] = [
  stack('app', ['stacks/app/compose.yaml', 'stacks/app/.env', 'stacks/app/app.env'], [
    service({
      name: 'web',
      environment: { DB_PASSWORD: SECRET_PASSWORD, API_CODE: SECRET_FROM_ENV_FILE, MODE: 'prod' },
      secretEnvKeys: ['API_CODE', 'DB_PASSWORD'],
    }),
  ]),
  stack('edge', ['stacks/edge/compose.yaml'], [service({ name: 'proxy' })]),
];

const f = (finding: Finding): Finding => finding;

/** One finding of every kind in docs/design.md §3, several carrying the planted secrets in the places an engine might leak them. */
export const appFindings: Finding[] = [
  f({ kind: 'stack-missing', stack: 'app', severity: 'error', message: 'desired for this host, no container live' }),
  f({ kind: 'revision-behind', stack: 'app', severity: 'warning', message: '1 file differs between v1.0.0 and v1.1.0', diff: `--- a/stacks/app/app.env\n+++ b/stacks/app/app.env\n@@ -1 +1 @@\n-API_CODE=${SECRET_OLD}\n+API_CODE=${SECRET_FROM_ENV_FILE}\n` }),
  f({ kind: 'config-drift', stack: 'app', service: 'web', severity: 'warning', field: 'environment.DB_PASSWORD', message: 'environment.DB_PASSWORD differs', desired: SECRET_PASSWORD, live: SECRET_OLD }),
  f({ kind: 'config-drift', stack: 'app', service: 'web', severity: 'warning', field: 'environment.API_CODE', message: 'environment.API_CODE differs', desired: SECRET_FROM_ENV_FILE, live: 'changed-by-hand-value' }),
  f({ kind: 'config-drift', stack: 'app', service: 'web', severity: 'warning', field: 'environment', message: `environment differs (engine leaked ${SECRET_PASSWORD})`, desired: { DB_PASSWORD: SECRET_PASSWORD, MODE: 'prod' }, live: ['DB_PASSWORD=' + SECRET_OLD, 'MODE=dev'] }),
  f({ kind: 'config-drift', stack: 'app', service: 'web', severity: 'warning', field: 'command', message: 'command differs', desired: ['serve', `--token=${SECRET_PASSWORD}`], live: ['serve'] }),
  f({ kind: 'service-missing', stack: 'app', service: 'worker', severity: 'error', message: 'service worker has no container' }),
  f({ kind: 'service-extra', stack: 'app', service: 'debug', severity: 'warning', message: 'container of service debug is not in the repo' }),
  f({ kind: 'replicas-mismatch', stack: 'app', service: 'web', severity: 'warning', message: '2 containers, 1 desired', desired: 1, live: 2 }),
  f({ kind: 'image-drift', stack: 'app', service: 'web', severity: 'error', message: 'runs sha256:bbb, locked sha256:aaa', desired: 'sha256:aaa', live: 'sha256:bbb' }),
  f({ kind: 'image-outdated', stack: 'app', service: 'web', severity: 'info', message: 'registry serves a newer digest for nginx:1.27' }),
  f({ kind: 'image-unpinned', stack: 'app', service: 'web', severity: 'info', message: 'nginx:latest has no lock entry' }),
  f({ kind: 'container-unhealthy', stack: 'app', service: 'web', severity: 'error', message: 'health check failing | 3 times' }),
  f({ kind: 'container-not-running', stack: 'app', service: 'web', severity: 'error', message: 'exited (1)' }),
  f({ kind: 'lock-stale', stack: 'app', severity: 'warning', message: 'lock no longer matches compose files' }),
];

export const stacks: StackStatus[] = [
  { stack: 'edge', sync: 'Unknown', health: 'Unknown', reason: 'stack edge: compose.yaml line 3: bad | value', findings: [] },
  { stack: 'app', sync: 'OutOfSync', health: 'Degraded', findings: appFindings, deployedRevision: 'a'.repeat(40), targetRevision: 'b'.repeat(40) },
  { stack: 'db', sync: 'Synced', health: 'Healthy', findings: [] },
];

export const unmanaged: Finding[] = [
  { kind: 'stack-unmanaged', stack: 'stray', severity: 'warning', message: 'project stray runs here but is not declared for this host' },
];

export function report(overrides: Partial<DriftReport> = {}): DriftReport {
  return {
    schemaVersion: 1,
    driftdVersion: '0.1.0',
    host: 'web-01',
    generatedAt: '2026-11-21T10:15:00.000Z',
    repo: 'http://127.0.0.1:8080/desired.git',
    revision: { commit: 'b'.repeat(40), ref: 'v1.1.0' },
    summary: { stacks: 3, synced: 1, outOfSync: 1, unknown: 1, findings: 16, bySeverity: { error: 5, warning: 8, info: 2 } },
    stacks,
    unmanaged,
    timings: { total: 120, git: 30 },
    ...overrides,
  };
}

function container(overrides: Partial<LiveContainer> & { name: string }): LiveContainer {
  return {
    id: `id-${overrides.name}`,
    image: 'nginx:1.27',
    imageId: 'sha256:img1',
    state: 'running',
    health: 'none',
    labels: {},
    createdAt: '2026-11-21T09:00:00Z',
    ...overrides,
  };
}

const webContainer = container({
  name: 'app-web-1',
  project: 'app',
  service: 'web',
  number: 1,
  labels: { 'com.docker.compose.project': 'app', 'com.docker.compose.service': 'web', 'io.driftd.stack': 'app' },
  config: {
    command: ['serve', `--token=${SECRET_PASSWORD}`],
    env: { DB_PASSWORD: SECRET_PASSWORD, API_CODE: SECRET_FROM_ENV_FILE, MODE: 'prod', DSN: `postgres://u:${SECRET_PASSWORD}@db/app`, PATH: '/usr/bin' },
    ports: [{ target: 80, published: '8080', protocol: 'tcp' }],
    mounts: [],
    networks: ['app_default'],
    privileged: false,
    healthcheck: { test: ['CMD-SHELL', `curl -H 'X: ${SECRET_PASSWORD}' localhost`] },
  },
});

export const inventory: LiveInventory = {
  takenAt: '2026-11-21T10:15:00.000Z',
  engine: { version: '27.0.0', apiVersion: '1.46', os: 'linux', arch: 'amd64' },
  containers: [
    container({ name: 'stray-x-1', project: 'stray', service: 'x', number: 1, config: { env: { API_CODE: 'not-a-secret-here' }, ports: [], mounts: [], networks: [], privileged: false } }),
    webContainer,
  ],
  projects: {
    stray: { name: 'stray', containers: [] },
    app: { name: 'app', containers: [webContainer], workingDir: '/var/lib/driftd/deploy/app' },
  },
  images: {
    'sha256:img1': {
      id: 'sha256:img1',
      repoTags: ['nginx:1.27'],
      repoDigests: ['nginx@sha256:' + 'c'.repeat(64)],
      env: { PATH: '/usr/bin', NGINX_SECRET: 'baked-in' },
    },
  },
  networks: [{ id: 'n2', name: 'app_default', driver: 'bridge', project: 'app', labels: {} }, { id: 'n1', name: 'bridge', driver: 'bridge', labels: {} }],
  volumes: [{ name: 'app_data', driver: 'local', project: 'app', labels: {} }],
};
