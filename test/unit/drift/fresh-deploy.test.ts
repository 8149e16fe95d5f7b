/**
 * The most important property of the drift engine: a stack freshly deployed by `compose up`
 * from the repo shows ZERO findings. Built from REAL Docker API responses recorded from two
 * deployments by hand: `docker-compose` 1.29 (v1) on Engine 20.10, and `docker compose` 2.26 (the
 * v2 plugin: `proj-svc-1` names, com.docker.compose.depends_on/.image/.config_files labels) on
 * Engine 26 (image inspect without ContainerConfig). test/unit/live/fixtures/record-compose.ts has
 * the compose file: env, env_file, ports, bind mount, named volume, file secret, tmpfs, health
 * checks, labels, an image VOLUME, a second network, three services. The desired state below is
 * that compose file as the loader resolves it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStackSync } from '../../../src/compose/index.js';
import type { DesiredService, DesiredStack } from '../../../src/compose/model.js';
import { computeDrift } from '../../../src/drift/compute-drift.js';
import type { Finding } from '../../../src/drift/model.js';
import { collectInventory } from '../../../src/live/inventory.js';
import type { LiveInventory } from '../../../src/live/model.js';
import { loadRecording, RecordedDocker, type Recording } from '../live/recorded-docker.js';
import { desiredState } from './fixtures.js';
import { makeService } from '../../support/desired-model.js';

const PROJECT = 'driftdfx';
const DB_PASSWORD = 'hunter2-planted-secret';
const FROM_FILE = 'from-env-file-value-42';
const APP_HEALTH = ['CMD', 'wget', '-q', '-O-', 'http://127.0.0.1:8080/'];

function service(over: Partial<DesiredService> & Pick<DesiredService, 'name' | 'image'>): DesiredService {
  return makeService(over);
}

function fixtureStack(web: Partial<DesiredService> = {}): DesiredStack {
  const services = [
    service({
      name: 'web',
      image: '127.0.0.1:5000/driftd/app:1.0',
      environment: { FROM_FILE, LOG_LEVEL: 'info', MODE: 'prod', DB_PASSWORD },
      secretEnvKeys: ['DB_PASSWORD', 'FROM_FILE', 'LOG_LEVEL'],
      ports: [
        { target: 8080, published: '28417', protocol: 'tcp' },
        { target: 9090, published: '28418', hostIp: '127.0.0.1', protocol: 'tcp' },
        { target: 8081, protocol: 'tcp' },
      ],
      mounts: [
        { type: 'bind', source: './conf', target: '/etc/app', readOnly: true },
        { type: 'volume', source: 'data', target: '/data', readOnly: false },
      ],
      labels: { 'com.example.team': 'shop', 'com.example.tier': 'frontend' },
      restart: 'unless-stopped',
      healthcheck: { test: APP_HEALTH, intervalNs: 3_000_000_000, timeoutNs: 2_000_000_000, retries: 5 },
      mountedFiles: ['app.env', 'conf', 'api_key.txt'],
      raw: { env_file: ['./app.env'], secrets: ['api_key'] },
      ...web,
    }),
    service({
      name: 'worker',
      image: '127.0.0.1:5000/driftd/worker:1.0',
      environment: { QUEUE: 'jobs' },
      networks: ['default', 'back'],
      raw: { depends_on: { web: { condition: 'service_started' } } },
    }),
    service({
      name: 'cache',
      image: 'driftd-fixture/volume:1',
      command: ['httpd', '-f', '-v', '-p', '8080', '-h', '/www'],
      user: '65534',
      workingDir: '/www',
      // The loader keeps the service-level `tmpfs:` key in raw, not in mounts.
      raw: { tmpfs: ['/run/cache'] },
      restart: 'always',
      networks: ['back'],
    }),
  ];
  return {
    name: PROJECT,
    composeFiles: [`stacks/${PROJECT}/compose.yaml`],
    model: { services: {}, volumes: { data: {} }, networks: { back: {} }, secrets: { api_key: { file: './api_key.txt' } } },
    services,
    files: [],
    inputsHash: 'inputs',
    composeSha256: 'compose',
    policy: { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true },
  };
}

type Inspect = {
  Name: string;
  State: Record<string, unknown>;
  Config: { Env: string[]; Labels: Record<string, string> };
  HostConfig: Record<string, unknown>;
  Mounts: Record<string, unknown>[];
};

/** The recorded inspect of a service's container, to change it the way a person would by hand. */
function inspectOf(rec: Recording, svc: string): Inspect {
  const found = Object.values(rec.containers).find((c) => (c as unknown as Inspect).Config.Labels['com.docker.compose.service'] === svc);
  if (!found) throw new Error(`no recorded container for ${svc}`);
  return found as unknown as Inspect;
}

async function inventoryOf(rec: Recording): Promise<LiveInventory> {
  return collectInventory(new RecordedDocker(rec));
}

async function check(rec: Recording, stack: DesiredStack = fixtureStack()) {
  const live = await inventoryOf(rec);
  const result = computeDrift({ desired: desiredState([stack]), live });
  const all: Finding[] = [...result.stacks.flatMap((s) => s.findings), ...result.unmanaged];
  // The recorded stack has no lock: docs/design.md §3 reports its images as image-unpinned (repo hygiene,
  // not drift). Everything else must be exactly what the test expects.
  const unpinned = all.filter((f) => f.kind === 'image-unpinned');
  const findings = all.filter((f) => f.kind !== 'image-unpinned');
  return { result, findings, unpinned, json: JSON.stringify(result) };
}

/** Every recording of the same stack: one per Compose generation (scripts/test-matrix.env's pairs). */
const RECORDINGS = ['compose-v1-fresh', 'compose-v2-fresh'] as const;
const recorded = RECORDINGS.map((name) => {
  const { compose, engine } = loadRecording(name).recordedWith;
  return { name, what: `Compose ${compose} on Engine ${engine}` };
});

describe.each(recorded)('fresh deployment by hand, $what (recorded from the real engine)', ({ name }) => {
  it('shows zero findings: Synced and Healthy', async () => {
    const { result, findings, unpinned } = await check(loadRecording(name));
    expect(findings).toEqual([]);
    expect(unpinned.map((f) => [f.service, f.severity])).toEqual(fixtureStack().services.map((s) => [s.name, 'warning']));
    expect(result.stacks.map((s) => [s.stack, s.sync, s.health])).toEqual([[PROJECT, 'Synced', 'Healthy']]);
  });

  it('still zero findings when the loader lists the secret as a bind mount', async () => {
    const stack = fixtureStack({
      mounts: [
        { type: 'bind', source: './conf', target: '/etc/app', readOnly: true },
        { type: 'volume', source: 'data', target: '/data', readOnly: false },
        { type: 'bind', source: './api_key.txt', target: '/run/secrets/api_key', readOnly: true },
      ],
    });
    expect((await check(loadRecording(name), stack)).findings).toEqual([]);
  });

  it('zero findings with the desired state from the real compose loader (same files as deployed)', async () => {
    const rec = loadRecording(name);
    const root = mkdtempSync(path.join(os.tmpdir(), 'driftd-fresh-'));
    try {
      for (const [rel, content] of Object.entries(rec.files)) {
        const file = path.join(root, 'stacks', rec.project, rel);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, content);
      }
      const stack = loadStackSync({ root, name: rec.project });
      expect(stack.services.map((s) => s.name).sort()).toEqual(['cache', 'web', 'worker']);
      const { findings, json } = await check(rec, stack);
      expect(findings).toEqual([]);
      expect(json).not.toContain(DB_PASSWORD);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the inventory really exercised the normalizations (guards against a vacuous pass)', async () => {
    const rec = loadRecording(name);
    const live = await inventoryOf(rec);
    const web = live.containers.find((c) => c.service === 'web')!;
    const cache = live.containers.find((c) => c.service === 'cache')!;
    const worker = live.containers.find((c) => c.service === 'worker')!;
    expect(live.projects[PROJECT]?.workingDir).toBe(rec.workingDir);
    expect(web.config?.env.PATH).toBeDefined(); // from the image
    expect(web.labels['com.docker.compose.project']).toBe(PROJECT);
    expect(web.config?.mounts.map((m) => [m.type, m.source, m.target, m.readOnly])).toEqual([
      ['volume', `${PROJECT}_data`, '/data', false],
      ['bind', `${rec.workingDir}/conf`, '/etc/app', true],
      ['bind', `${rec.workingDir}/api_key.txt`, '/run/secrets/api_key', true],
    ]);
    expect(web.config?.ports).toContainEqual({ target: 8081, protocol: 'tcp' });
    expect(web.config?.ports).toContainEqual({ target: 9090, published: '28418', hostIp: '127.0.0.1', protocol: 'tcp' });
    expect(web.config?.networks).toEqual([`${PROJECT}_default`]);
    expect(web.config?.restart).toBe('unless-stopped');
    expect(worker.config?.command).toEqual(live.images[worker.imageId]?.command); // image default
    expect(worker.config?.restart).toBeUndefined(); // "" in the API
    expect(worker.config?.healthcheck).toBeUndefined();
    expect(cache.config?.mounts.map((m) => m.type).sort()).toEqual(['tmpfs', 'volume']); // image VOLUME + tmpfs
    expect(cache.config?.healthcheck).toEqual(live.images[cache.imageId]?.healthcheck); // from the image
    expect(cache.labels['io.driftd.fixture']).toBe('volume'); // an image label
    expect(Object.keys(live.images)).toHaveLength(3);
    if (rec.recordedWith.compose.startsWith('2.')) {
      // What Compose v2 adds and driftd must ignore: its own labels on every container, and proj-svc-1 names.
      for (const label of ['com.docker.compose.image', 'com.docker.compose.depends_on', 'com.docker.compose.project.config_files']) {
        expect(web.labels[label], label).toBeDefined();
      }
      expect(worker.labels['com.docker.compose.depends_on']).toMatch(/^web:service_started/);
      expect(rec.list.map((c) => (c as { Names: string[] }).Names[0]).sort()).toEqual([`/${PROJECT}-cache-1`, `/${PROJECT}-web-1`, `/${PROJECT}-worker-1`]);
    }
  });
});

describe.each(recorded)('hand-made changes on top of the real recording, $what', ({ name }) => {
  const cases: { name: string; change: (rec: Recording) => void; expected: [string, string | undefined][] }[] = [
    {
      name: 'web recreated by hand with one env value changed',
      change: (rec) => {
        const env = inspectOf(rec, 'web').Config.Env;
        env[env.indexOf('MODE=prod')] = 'MODE=debug';
      },
      expected: [['config-drift', 'environment.MODE']],
    },
    {
      name: 'a secret env value changed by hand',
      change: (rec) => {
        const env = inspectOf(rec, 'web').Config.Env;
        env[env.indexOf(`DB_PASSWORD=${DB_PASSWORD}`)] = 'DB_PASSWORD=changed-by-hand-secret';
      },
      expected: [['config-drift', 'environment.DB_PASSWORD']],
    },
    {
      name: 'an env_file value changed by hand',
      change: (rec) => {
        const env = inspectOf(rec, 'web').Config.Env;
        env[env.indexOf(`FROM_FILE=${FROM_FILE}`)] = 'FROM_FILE=changed-file-value';
      },
      expected: [['config-drift', 'environment.FROM_FILE']],
    },
    {
      name: 'worker stopped',
      change: (rec) => {
        inspectOf(rec, 'worker').State = { Status: 'exited', Running: false, ExitCode: 0 };
      },
      expected: [['container-not-running', undefined]],
    },
    {
      name: 'web health check failing',
      change: (rec) => {
        inspectOf(rec, 'web').State = { Status: 'running', Running: true, ExitCode: 0, Health: { Status: 'unhealthy' } };
      },
      expected: [['container-unhealthy', undefined]],
    },
    {
      name: 'restart policy changed with docker update',
      change: (rec) => {
        inspectOf(rec, 'cache').HostConfig.RestartPolicy = { Name: 'no', MaximumRetryCount: 0 };
      },
      expected: [['config-drift', 'restart']],
    },
    {
      name: 'tmpfs removed by hand',
      change: (rec) => {
        inspectOf(rec, 'cache').HostConfig.Tmpfs = null;
      },
      expected: [['config-drift', 'mounts']],
    },
    {
      name: 'bind mount made writable',
      change: (rec) => {
        const m = inspectOf(rec, 'web').Mounts.find((x) => x.Destination === '/etc/app')!;
        m.RW = true;
      },
      expected: [['config-drift', 'mounts']],
    },
  ];

  it.each(cases)('$name', async ({ change, expected }) => {
    const rec = loadRecording(name);
    change(rec);
    const { findings, json } = await check(rec);
    expect(findings.map((f) => [f.kind, f.field])).toEqual(expected);
    for (const secret of [DB_PASSWORD, FROM_FILE, 'changed-by-hand-secret', 'changed-file-value', 'secret-file-content-77']) {
      expect(json).not.toContain(secret);
    }
  });

  it('a service scaled to 2 and one removed', async () => {
    const rec = loadRecording(name);
    const web = inspectOf(rec, 'web');
    const worker = inspectOf(rec, 'worker');
    const workerId = Object.keys(rec.containers).find((id) => rec.containers[id] === (worker as unknown))!;
    // A second web replica, and no worker.
    const copy = structuredClone(web) as Inspect & { Id: string };
    copy.Id = 'f'.repeat(64);
    copy.Name = `/${PROJECT}_web_2`;
    copy.Config.Labels = { ...copy.Config.Labels, 'com.docker.compose.container-number': '2' };
    rec.containers[copy.Id] = copy;
    const listed = rec.list.find((c) => (c as { Id: string }).Id === workerId) as { Id: string; Names: string[] };
    Object.assign(listed, { Id: copy.Id, Names: [copy.Name], Labels: copy.Config.Labels });
    delete rec.containers[workerId];
    const { findings } = await check(rec);
    expect(findings.map((f) => [f.kind, f.service])).toEqual([
      ['replicas-mismatch', 'web'],
      ['service-missing', 'worker'],
    ]);
  });
});
