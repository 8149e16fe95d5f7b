import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerState } from '../../../src/report/docker-state.js';
import { buildExportFiles } from '../../../src/report/export-files.js';
import { toJsonReport } from '../../../src/report/json.js';
import { formatMarkdown } from '../../../src/report/markdown.js';
import { prepareReport } from '../../../src/report/prepare.js';
import { secretIndexFromStacks } from '../../../src/report/secrets.js';
import { formatTable } from '../../../src/report/table.js';
import { redactAssignments, redactValue } from '../../../src/util/scrub.js';
import { desiredStacks, inventory, report, SECRET_FROM_ENV_FILE, SECRET_OLD, SECRET_PASSWORD } from './fixtures.js';
import { swarmServicesSchema, swarmTasksSchema, type SwarmLive } from '../../../src/swarm/engine-model.js';

/** The Swarm running stack `app` with every planted secret in its env, a label and a task error; plus a hand-made service and a foreign task. */
const swarm: SwarmLive = {
  services: swarmServicesSchema.parse([
    {
      ID: 'svc-web',
      Spec: {
        Name: 'app_web',
        Labels: { 'com.docker.stack.namespace': 'app', 'io.driftd.revision': 'r1' },
        TaskTemplate: {
          ContainerSpec: {
            Image: '127.0.0.1:5000/app:1.0@sha256:' + 'a'.repeat(64),
            Env: [`DB_PASSWORD=${SECRET_PASSWORD}`, `API_CODE=${SECRET_FROM_ENV_FILE}`, `DSN=postgres://u:${SECRET_PASSWORD}@db/app`, 'MODE=prod'],
            Labels: { team: 'shop' },
            Secrets: [{ SecretName: 'app_db_abc' }],
          },
        },
        Mode: { Replicated: { Replicas: 2 } },
        EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp', PublishMode: 'ingress' }] },
      },
      UpdateStatus: { State: 'completed', Message: 'update completed' },
    },
    { ID: 'svc-hand', Spec: { Name: 'handmade', Labels: {} } },
  ]),
  tasks: swarmTasksSchema.parse([
    { ID: 't2', ServiceID: 'svc-web', Slot: 2, DesiredState: 'running', Status: { State: 'failed', Err: `exit 1: bad password ${SECRET_OLD}` } },
    { ID: 't1', ServiceID: 'svc-web', Slot: 1, NodeID: 'n1', DesiredState: 'running', Status: { State: 'running' } },
    { ID: 't9', ServiceID: 'svc-hand', DesiredState: 'running', Status: { State: 'running' } },
  ]),
};

const PLANTED = [SECRET_PASSWORD, SECRET_FROM_ENV_FILE, SECRET_OLD];
const secrets = secretIndexFromStacks(desiredStacks);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'driftd-redact-'));
  for (const s of desiredStacks) {
    for (const f of s.files) {
      await mkdir(path.dirname(path.join(root, f.path)), { recursive: true });
      await writeFile(path.join(root, f.path), `# ${f.path}\n`);
    }
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('planted secrets', () => {
  const outputs: [string, () => string | Promise<string>][] = [
    ['table', () => formatTable(report(), { secrets })],
    ['table (colour)', () => formatTable(report(), { secrets, color: true })],
    ['markdown', () => formatMarkdown(report(), { secrets })],
    ['json', () => toJsonReport(report(), { secrets })],
    ['docker state', () => JSON.stringify(buildDockerState(inventory, { secretKeysByService: secrets.keysByService, secretValues: secrets.values }))],
    ['docker state with Swarm services', () => JSON.stringify(buildDockerState(inventory, { secretKeysByService: secrets.keysByService, secretValues: [...secrets.values, SECRET_OLD], swarm }).swarm)],
    [
      'every export file',
      async () =>
        (await buildExportFiles({ report: report(), inventory, desiredStacks, snapshotRoot: root }))
          .map((f) => `${f.name}\n${f.content}`)
          .join('\n'),
    ],
  ];

  it.each(outputs)('appear nowhere in the %s output', async (_name, render) => {
    const text = await render();
    expect(text.length).toBeGreaterThan(100);
    for (const secret of PLANTED) expect(text).not.toContain(secret);
  });

  it('are replaced by their short hash so a change stays visible', () => {
    const json = toJsonReport(report(), { secrets });
    expect(json).toContain(`"desired": "${redactValue(SECRET_PASSWORD)}"`);
    expect(json).toContain(`"live": "${redactValue(SECRET_OLD)}"`);
    expect(json).toContain(`"desired": "${redactValue(SECRET_FROM_ENV_FILE)}"`);
    // An env_file key's hand-changed live value is redacted too: the key, not the value, decides.
    expect(json).toContain(`"live": "${redactValue('changed-by-hand-value')}"`);
    expect(json).toContain(`+API_CODE=${redactValue(SECRET_FROM_ENV_FILE)}`);
    expect(json).toContain(`-API_CODE=${redactValue(SECRET_OLD)}`);
  });

  it('secret-looking keys are redacted even without the desired-state index', () => {
    const json = toJsonReport(report());
    expect(json).toContain(`"field": "environment.DB_PASSWORD",\n          "message": "environment.DB_PASSWORD differs",\n          "desired": "${redactValue(SECRET_PASSWORD)}",\n          "live": "${redactValue(SECRET_OLD)}"`);
    expect(json).toContain(`"DB_PASSWORD": "${redactValue(SECRET_PASSWORD)}"`);
    expect(json).toContain(`"DB_PASSWORD=${redactValue(SECRET_OLD)}"`);
  });

  it('redaction is idempotent: an already redacted report is unchanged', () => {
    const once = prepareReport(report(), secrets);
    expect(prepareReport(once, secrets)).toEqual(once);
  });

  it('does not modify the input report', () => {
    const input = report();
    const before = JSON.stringify(input);
    toJsonReport(input, { secrets });
    expect(JSON.stringify(input)).toBe(before);
  });
});

describe('secretIndexFromStacks', () => {
  it('lists env_file keys and pattern keys per service, and their values longest first', () => {
    expect(secrets.keysByService).toEqual({ 'app/web': ['API_CODE', 'DB_PASSWORD'], 'edge/proxy': [] });
    expect(secrets.values).toEqual([SECRET_FROM_ENV_FILE, SECRET_PASSWORD]);
  });

  it('merges extra keys', () => {
    expect(secretIndexFromStacks(desiredStacks, { 'app/web': ['MODE'], 'x/y': ['Z'] }).keysByService).toMatchObject({ 'app/web': ['API_CODE', 'DB_PASSWORD', 'MODE'], 'x/y': ['Z'] });
  });
});

describe('redactAssignments', () => {
  const isSecret = (k: string): boolean => /pass|secret|token|key|credential|private/i.test(k) || k === 'API_CODE';
  const h = (v: string): string => redactValue(v);
  it.each([
    ['-DB_PASSWORD=hunter22', `-DB_PASSWORD=${h('hunter22')}`],
    ['+API_CODE=abc', `+API_CODE=${h('abc')}`],
    [' MODE=prod', ' MODE=prod'],
    ['+      - DB_PASSWORD=hunter22', `+      - DB_PASSWORD=${h('hunter22')}`],
    ['-      DB_PASSWORD: hunter22', `-      DB_PASSWORD: ${h('hunter22')}`],
    ['+  "api_token": "t0k"', `+  "api_token": ${h('"t0k"')}`],
    ['+      DB_PASSWORD: ${DB_PASSWORD}', '+      DB_PASSWORD: ${DB_PASSWORD}'],
    ['+DB_PASSWORD=', '+DB_PASSWORD='],
    ['--- a/stacks/app/.env', '--- a/stacks/app/.env'],
    ['+++ b/stacks/app/.env', '+++ b/stacks/app/.env'],
    ['+image: nginx:1.27', '+image: nginx:1.27'],
  ])('%s', (line, expected) => {
    expect(redactAssignments(line, isSecret)).toBe(expected);
  });
});

describe('buildDockerState: the swarm part', () => {
  const state = buildDockerState(inventory, { secretKeysByService: secrets.keysByService, secretValues: secrets.values, swarm });
  it('lists the stack services (not hand-made ones) in a fixed shape, env redacted by key, env_file key and value', () => {
    expect(state.swarm?.services).toEqual([
      {
        id: 'svc-web',
        name: 'app_web',
        stack: 'app',
        service: 'web',
        image: '127.0.0.1:5000/app:1.0@sha256:' + 'a'.repeat(64),
        mode: 'replicated',
        replicas: 2,
        labels: { 'com.docker.stack.namespace': 'app', 'io.driftd.revision': 'r1' },
        containerLabels: { team: 'shop' },
        env: { DB_PASSWORD: redactValue(SECRET_PASSWORD), API_CODE: redactValue(SECRET_FROM_ENV_FILE), DSN: expect.not.stringContaining(SECRET_PASSWORD) as string, MODE: 'prod' },
        ports: [{ target: 80, published: 8080, protocol: 'tcp', publishMode: 'ingress' }],
        mounts: [],
        update: { state: 'completed', message: 'update completed' },
      },
    ]);
    // The raw spec's other fields (Secrets here) are not copied.
    expect(JSON.stringify(state.swarm)).not.toContain('app_db_abc');
  });
  it('lists the tasks of those services, sorted by slot', () => {
    expect(state.swarm?.tasks.map((t) => [t.id, t.serviceName, t.slot, t.state])).toEqual([
      ['t1', 'app_web', 1, 'running'],
      ['t2', 'app_web', 2, 'failed'],
    ]);
  });
  it('is absent when no Swarm was read', () => {
    expect(buildDockerState(inventory)).not.toHaveProperty('swarm');
  });
});

describe('buildDockerState', () => {
  const state = buildDockerState(inventory, { secretKeysByService: secrets.keysByService, secretValues: secrets.values });
  const web = state.containers.find((c) => c.name === 'app-web-1')!;

  it('redacts pattern keys and the service env_file keys, keeps other values and all labels', () => {
    expect(web.config!.env).toEqual({
      DB_PASSWORD: redactValue(SECRET_PASSWORD),
      API_CODE: redactValue(SECRET_FROM_ENV_FILE),
      MODE: 'prod',
      DSN: `postgres://u:${redactValue(SECRET_PASSWORD)}@db/app`,
      PATH: '/usr/bin',
    });
    expect(web.labels).toEqual(inventory.containers[1]!.labels);
    expect(web.config!.command).toEqual(['serve', `--token=${redactValue(SECRET_PASSWORD)}`]);
  });

  it('applies env_file keys only to their own service', () => {
    const stray = state.containers.find((c) => c.name === 'stray-x-1')!;
    expect(stray.config!.env).toEqual({ API_CODE: 'not-a-secret-here' });
  });

  it('keeps image repo digests, redacts secret-looking image env, sorts everything', () => {
    expect(state.schemaVersion).toBe(1);
    expect(state.images).toEqual([
      { id: 'sha256:img1', repoTags: ['nginx:1.27'], repoDigests: ['nginx@sha256:' + 'c'.repeat(64)], env: { PATH: '/usr/bin', NGINX_SECRET: redactValue('baked-in') } },
    ]);
    expect(state.containers.map((c) => c.name)).toEqual(['app-web-1', 'stray-x-1']);
    expect(state.networks.map((n) => n.name)).toEqual(['app_default', 'bridge']);
    expect(state.volumes.map((v) => v.name)).toEqual(['app_data']);
    expect(state.projects).toEqual([
      { name: 'app', containers: ['app-web-1'], workingDir: '/var/lib/driftd/deploy/app' },
      { name: 'stray', containers: [] },
    ]);
    expect(state.engine).toEqual(inventory.engine);
  });

  it('does not modify the inventory', () => {
    expect(inventory.containers[1]!.config!.env.DB_PASSWORD).toBe(SECRET_PASSWORD);
  });
});
