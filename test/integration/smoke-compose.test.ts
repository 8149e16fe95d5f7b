import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DriftdError } from '../../src/errors/index.js';
import {
  assertComposeOk,
  composeConfigArgs,
  composeContainerName,
  composeDownArgs,
  composePsArgs,
  composePullArgs,
  composeUpArgs,
  detectComposeCli,
  parseComposeVersion,
} from '../../src/live/compose-cli.js';
import { testComposeCli, testComposeCommand } from '../support/compose-target.js';
import { COMPOSE_PROJECT_LABEL, pollUntil, useDockerTestScope } from '../support/docker.js';
import { APP_BODY, APP_PORT, TEST_IMAGES } from '../support/test-env.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function writeProject(model: object): { cwd: string; files: string[] } {
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'driftd-smoke-'));
  dirs.push(cwd);
  writeFileSync(path.join(cwd, 'compose.yaml'), stringify(model));
  return { cwd, files: ['compose.yaml'] };
}

describe('Compose CLI detection', () => {
  it('finds a working CLI once per process and reports its generation', async () => {
    const cli = await testComposeCli();
    expect(cli.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(cli.kind).toBe(Number(cli.version.split('.')[0]) >= 2 ? 'v2' : 'v1');
    expect(await testComposeCli()).toBe(cli);
  });

  it('is the Compose CLI this run targets (DRIFTD_COMPOSE_COMMAND: the legacy pass forces v1)', async () => {
    const cli = await testComposeCli();
    const forced = testComposeCommand();
    if (forced === 'docker-compose') expect(cli.command).toEqual(['docker-compose']);
    if (forced === 'docker compose') expect(cli.command).toEqual(['docker', 'compose']);
    if (cli.command[0] === 'docker-compose' && forced === 'docker-compose') expect(cli.kind).toBe('v1');
  });

  it('honours compose.command when it names the CLI that works', async () => {
    const auto = await testComposeCli();
    const setting = auto.command.length === 2 ? 'docker compose' : 'docker-compose';
    const forced = await detectComposeCli({ command: setting });
    expect(forced.command).toEqual(auto.command);
    expect(forced.version).toBe(auto.version);
  });

  it('says what to install when no CLI exists', async () => {
    const err = await detectComposeCli({ env: { PATH: '/nonexistent' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriftdError);
    expect((err as DriftdError).code).toBe('ComposeNotFound');
    // Which reason `docker compose` gets depends on whether this host has a Compose plugin file
    // (test/unit/live/compose-detect-cache.test.ts pins the exact message).
    expect((err as DriftdError).message).toMatch(
      /^no Docker Compose CLI found \((`docker compose`: no compose plugin in [^;]+|`docker compose version`: docker not found); `docker-compose version`: docker-compose not found\); install the Compose plugin \(Debian\/Ubuntu: docker-compose-plugin or docker-compose-v2\) or docker-compose, or set compose.command$/,
    );
  });

  it.each([
    ['Docker Compose version v2.29.7', '2.29.7'],
    ['v2.40.3', '2.40.3'],
    ['docker-compose version 1.29.2, build unknown\ndocker-py version: 5.0.3', '1.29.2'],
    ['nothing here', undefined],
  ])('parses %j', (text, version) => {
    expect(parseComposeVersion(text)).toBe(version);
  });
});

describe('a busybox stack through the real Compose CLI', () => {
  const env = useDockerTestScope();

  it('pulls, validates, brings the stack up healthy, lists and tears it down', async () => {
    const cli = await testComposeCli();
    const project = env.project();
    const dir = writeProject({
      services: {
        web: { image: TEST_IMAGES.app10, ports: [`127.0.0.1::${APP_PORT}`], labels: env.labels },
        worker: { image: TEST_IMAGES.worker10, labels: env.labels },
      },
      networks: { default: { labels: env.labels } },
    });
    const opts = { ...dir, projectName: project, timeoutMs: 120_000 };

    assertComposeOk(await cli.run(composeConfigArgs({ quiet: true }), opts), 'config', project);
    assertComposeOk(await cli.run(composePullArgs(), opts), 'pull', project);
    assertComposeOk(await cli.run(composeUpArgs(), opts), 'up', project);

    const web = env.docker.getContainer(composeContainerName(cli.kind, project, 'web'));
    const health = await pollUntil('web to turn healthy', async () => {
      const s = (await web.inspect()).State.Health?.Status;
      return s === 'healthy' || s === 'unhealthy' ? s : undefined;
    });
    expect(health).toBe('healthy');

    const info = await web.inspect();
    expect(info.Config.Labels[COMPOSE_PROJECT_LABEL]).toBe(project);
    const hostPort = info.NetworkSettings.Ports[`${APP_PORT}/tcp`]?.[0]?.HostPort;
    expect(hostPort).toMatch(/^\d+$/);
    const res = await fetch(`http://127.0.0.1:${hostPort}/`);
    expect(await res.text()).toBe(APP_BODY['1.0']);

    const worker = await env.docker.getContainer(composeContainerName(cli.kind, project, 'worker')).inspect();
    expect(worker.State.Running).toBe(true);

    const ps = await cli.run(composePsArgs(), opts);
    assertComposeOk(ps, 'ps', project);
    const ids = ps.stdout.split('\n').filter(Boolean).sort();
    expect(ids).toEqual([info.Id, worker.Id].sort());

    assertComposeOk(await cli.run(composeDownArgs({ volumes: true, stopTimeoutSeconds: 2 }), opts), 'down', project);
    const left = await env.docker.listContainers({ all: true, filters: { label: [`${COMPOSE_PROJECT_LABEL}=${project}`] } });
    expect(left).toEqual([]);
    const nets = await env.docker.listNetworks({ filters: { label: [`${COMPOSE_PROJECT_LABEL}=${project}`] } });
    expect(nets).toEqual([]);
  });

  it('reports a failed up (image missing in the registry) as ComposeFailed naming the stack', async () => {
    const cli = await testComposeCli();
    const project = env.project();
    const dir = writeProject({
      services: { web: { image: `${TEST_IMAGES.app10.replace(/:1\.0$/, '')}:does-not-exist`, labels: env.labels } },
    });
    const result = await cli.run(composeUpArgs(), { ...dir, projectName: project, timeoutMs: 120_000 });
    expect(result.code).not.toBe(0);
    const err = (() => {
      try {
        assertComposeOk(result, 'up', project);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DriftdError);
    expect((err as DriftdError).code).toBe('ComposeFailed');
    expect((err as DriftdError).message).toContain(`compose up failed for stack ${project} (exit code ${result.code}: `);
  });
});
