/** Hand-built desired/live fixtures: one "web" service deployed by Compose exactly as the repo says. */
import type { DesiredService, DesiredStack, DesiredState } from '../../../src/compose/model.js';
import { groupProjects } from '../../../src/live/inventory.js';
import { dict } from '../../../src/util/dict.js';
import type { LiveContainer, LiveContainerConfig, LiveImageDefaults, LiveInventory } from '../../../src/live/model.js';

export const COMMIT = 'c'.repeat(40);
export const OLD_COMMIT = 'b'.repeat(40);
export const IMAGE_ID = `sha256:${'1'.repeat(64)}`;
export const WORKDIR = '/srv/repo/stacks/shop';
export const SECRET = 'hunter2-planted-secret';
export const ENV_FILE_SECRET = 'from-env-file-value-42';

export function desiredService(over: Partial<DesiredService> = {}): DesiredService {
  return {
    name: 'web',
    image: '127.0.0.1:5000/driftd/app:1.0',
    environment: { MODE: 'prod', DB_PASSWORD: SECRET, FROM_FILE: ENV_FILE_SECRET },
    secretEnvKeys: ['DB_PASSWORD', 'FROM_FILE'],
    ports: [{ target: 80, published: '8080', protocol: 'tcp' }],
    mounts: [
      { type: 'bind', source: './conf', target: '/etc/app', readOnly: true },
      { type: 'volume', source: 'data', target: '/data', readOnly: false },
    ],
    labels: { 'com.example.team': 'shop' },
    healthcheck: { test: ['CMD-SHELL', 'true'], intervalNs: 2_000_000_000 },
    networks: ['default'],
    privileged: false,
    replicas: 1,
    mountedFiles: ['conf/app.conf', 'app.env'],
    configHash: 'hash-web',
    raw: { env_file: ['./app.env'] },
    ...over,
  };
}

export function desiredStack(over: Partial<DesiredStack> = {}): DesiredStack {
  return {
    name: 'shop',
    composeFiles: ['stacks/shop/compose.yaml'],
    model: { services: {}, volumes: { data: {} } },
    services: [desiredService()],
    files: [{ path: 'stacks/shop/compose.yaml', sha256: 'f'.repeat(64) }],
    inputsHash: 'inputs',
    composeSha256: 'compose-sha',
    policy: { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true },
    ...over,
  };
}

/**
 * desiredStack() with the lock `driftd lock` would write for it (every service image pinned, same
 * compose inputs), so docs/design.md §3 leaves only floating references (`:latest`, no tag) image-unpinned.
 * Config comparison reads the services, not the lock: pinnedImage stays whatever `over` says.
 */
export function lockedStack(over: Partial<DesiredStack> = {}): DesiredStack {
  const stack = desiredStack(over);
  const images = Object.fromEntries(stack.services.map((s) => [s.image, { digest: `sha256:${'d'.repeat(64)}` }]));
  return { ...stack, lock: stack.lock ?? { version: 1, stack: stack.name, composeSha256: stack.composeSha256, images } };
}

export function desiredState(stacks: DesiredStack[] = [desiredStack()], over: Partial<DesiredState> = {}): DesiredState {
  return {
    host: 'web-01',
    revision: { commit: COMMIT, ref: 'v1.1.0', refKind: 'tag' },
    stacks,
    errors: [],
    allStackNames: stacks.map((s) => s.name),
    ...over,
  };
}

export function imageDefaults(over: Partial<LiveImageDefaults> = {}): LiveImageDefaults {
  return {
    id: IMAGE_ID,
    repoTags: ['127.0.0.1:5000/driftd/app:1.0'],
    repoDigests: [`127.0.0.1:5000/driftd/app@sha256:${'d'.repeat(64)}`],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', APP_HOME: '/app' },
    command: ['httpd', '-f'],
    entrypoint: ['/entrypoint.sh'],
    workingDir: '/app',
    healthcheck: { test: ['CMD', '/bin/check'], intervalNs: 30_000_000_000 },
    labels: { 'org.opencontainers.image.title': 'app' },
    volumes: ['/cache'],
    os: 'linux',
    architecture: 'amd64',
    ...over,
  };
}

/** The container `compose up` creates for desiredService(): engine-filled defaults included. */
export function liveConfig(over: Partial<LiveContainerConfig> = {}): LiveContainerConfig {
  return {
    command: ['httpd', '-f'],
    entrypoint: ['/entrypoint.sh'],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', APP_HOME: '/app', MODE: 'prod', DB_PASSWORD: SECRET, FROM_FILE: ENV_FILE_SECRET },
    ports: [{ target: 80, published: '8080', protocol: 'tcp' }],
    mounts: [
      { type: 'volume', source: 'a'.repeat(64), target: '/cache', readOnly: false },
      { type: 'volume', source: 'shop_data', target: '/data', readOnly: false },
      { type: 'bind', source: `${WORKDIR}/conf`, target: '/etc/app', readOnly: true },
    ],
    healthcheck: { test: ['CMD-SHELL', 'true'], intervalNs: 2_000_000_000 },
    networks: ['shop_default'],
    networkMode: 'shop_default',
    privileged: false,
    workingDir: '/app',
    ...over,
  };
}

let counter = 0;
export function liveContainer(over: Partial<LiveContainer> = {}, config: Partial<LiveContainerConfig> = {}): LiveContainer {
  counter += 1;
  const service = over.service ?? 'web';
  const project = over.project ?? 'shop';
  return {
    id: over.id ?? `${String(counter).padStart(4, '0')}${'e'.repeat(60)}`,
    name: `${project}_${service}_1`,
    project,
    service,
    number: 1,
    image: '127.0.0.1:5000/driftd/app:1.0',
    imageId: IMAGE_ID,
    state: 'running',
    health: 'healthy',
    labels: {
      'com.docker.compose.project': project,
      'com.docker.compose.service': service,
      'com.docker.compose.oneoff': 'False',
      'com.docker.compose.project.working_dir': WORKDIR,
      'com.docker.compose.config-hash': 'whatever',
      'com.example.team': 'shop',
      'org.opencontainers.image.title': 'app',
    },
    createdAt: '2024-01-01T00:00:00.000Z',
    config: liveConfig(config),
    ...over,
  };
}

export function inventory(containers: LiveContainer[], images: LiveImageDefaults[] = [imageDefaults()]): LiveInventory {
  const projects = groupProjects(containers);
  return {
    takenAt: '2024-01-01T00:00:00.000Z',
    engine: { version: '20.10.24', apiVersion: '1.41', os: 'linux', arch: 'amd64' },
    containers,
    projects,
    images: dict(images.map((i) => [i.id, i])),
    networks: [],
    volumes: [],
  };
}
