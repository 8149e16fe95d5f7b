import { describe, expect, it } from 'vitest';
import { containerInspectSchema, containerSummarySchema, imageInspectSchema } from '../../../src/live/docker-schemas.js';
import {
  healthFromStatusText,
  mapContainerInspect,
  mapContainerSummary,
  mapImageInspect,
  mapPorts,
  mapRestart,
  normalizeHostIp,
  parseEnvList,
  toContainerState,
} from '../../../src/live/inspect-mapper.js';

/** A container inspect as the Engine API documents it (v1.41), trimmed to what matters plus noise. */
function inspectJson(over: Record<string, unknown> = {}, config: Record<string, unknown> = {}, host: Record<string, unknown> = {}) {
  return {
    Id: 'f'.repeat(64),
    Name: '/shop_web_1',
    Created: '2024-05-01T10:00:00.123456789Z',
    Image: `sha256:${'1'.repeat(64)}`,
    RestartCount: 0,
    Platform: 'linux',
    State: { Status: 'running', Running: true, ExitCode: 0, Health: { Status: 'healthy', FailingStreak: 0, Log: [] } },
    Config: {
      Hostname: 'f'.repeat(12),
      Image: '127.0.0.1:5000/driftd/app:1.0',
      Env: ['PATH=/usr/bin:/bin', 'MODE=prod', 'EQ=a=b', 'EMPTY='],
      Cmd: ['httpd', '-f'],
      Entrypoint: null,
      Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': '1', 'com.docker.compose.project.working_dir': '/srv/shop', 'com.docker.compose.project.config_files': '/srv/shop/compose.yaml,/srv/shop/compose.override.yaml' },
      ExposedPorts: { '8080/tcp': {}, '9000/udp': {} },
      User: '',
      WorkingDir: '',
      Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 2_000_000_000, Timeout: 0, Retries: 3 },
      ...config,
    },
    HostConfig: {
      PortBindings: { '8080/tcp': [{ HostIp: '', HostPort: '8080' }] },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      Privileged: false,
      NetworkMode: 'shop_default',
      Tmpfs: null,
      ...host,
    },
    Mounts: [
      { Type: 'bind', Source: '/srv/shop/conf', Destination: '/etc/app', Mode: 'ro', RW: false, Propagation: 'rprivate' },
      { Type: 'volume', Name: 'shop_data', Source: '/var/lib/docker/volumes/shop_data/_data', Destination: '/data', Driver: 'local', Mode: 'rw', RW: true },
      { Type: 'image', Source: '', Destination: '/img', RW: false },
    ],
    NetworkSettings: { Networks: { shop_default: { NetworkID: 'n1', Aliases: ['web'] }, shop_back: {} } },
    ...over,
  };
}

const parseInspect = (v: unknown) => containerInspectSchema().parse(v);

describe('mapContainerInspect', () => {
  it('maps identity, state and config', () => {
    const c = mapContainerInspect(parseInspect(inspectJson()));
    expect(c).toEqual({
      id: 'f'.repeat(64),
      name: 'shop_web_1',
      project: 'shop',
      service: 'web',
      number: 1,
      image: '127.0.0.1:5000/driftd/app:1.0',
      imageId: `sha256:${'1'.repeat(64)}`,
      state: 'running',
      health: 'healthy',
      restartCount: 0,
      labels: inspectJson().Config.Labels,
      createdAt: '2024-05-01T10:00:00.123456789Z',
      config: {
        command: ['httpd', '-f'],
        env: { PATH: '/usr/bin:/bin', MODE: 'prod', EQ: 'a=b', EMPTY: '' },
        ports: [
          { target: 8080, published: '8080', protocol: 'tcp' },
          { target: 9000, protocol: 'udp' },
        ],
        mounts: [
          { type: 'volume', source: 'shop_data', target: '/data', readOnly: false },
          { type: 'bind', source: '/srv/shop/conf', target: '/etc/app', readOnly: true },
        ],
        restart: 'unless-stopped',
        healthcheck: { test: ['CMD-SHELL', 'true'], intervalNs: 2_000_000_000, retries: 3 },
        networks: ['shop_back', 'shop_default'],
        networkMode: 'shop_default',
        privileged: false,
      },
    });
  });

  it.each([
    [{ Status: 'exited', ExitCode: 137 }, 'exited', 137],
    [{ Status: 'dead', ExitCode: 0 }, 'dead', 0],
    [{ Status: 'restarting', ExitCode: 1 }, 'restarting', undefined],
    [{ Status: 'weird-new-state' }, 'dead', 0],
  ])('state %j', (state, expected, exitCode) => {
    const c = mapContainerInspect(parseInspect(inspectJson({ State: state })));
    expect(c.state).toBe(expected);
    expect(c.health).toBe('none');
    expect(c.exitCode).toBe(exitCode);
  });

  it('HostConfig.Tmpfs mounts are listed too', () => {
    const c = mapContainerInspect(parseInspect(inspectJson({ Mounts: [] }, {}, { Tmpfs: { '/run': 'rw,noexec', '/ro': 'ro' } })));
    expect(c.config?.mounts).toEqual([
      { type: 'tmpfs', target: '/ro', readOnly: true },
      { type: 'tmpfs', target: '/run', readOnly: false },
    ]);
  });

  it('null lists and maps are empty; empty strings are unset', () => {
    const c = mapContainerInspect(
      parseInspect(
        inspectJson(
          { Mounts: null, NetworkSettings: { Networks: null } },
          { Env: null, Cmd: null, Entrypoint: [], Labels: null, ExposedPorts: null, Healthcheck: null, User: '', WorkingDir: '' },
          { PortBindings: null, RestartPolicy: { Name: '' }, NetworkMode: '', Privileged: true },
        ),
      ),
    );
    expect(c.config).toEqual({ env: {}, ports: [], mounts: [], networks: [], privileged: true });
    expect(c.labels).toEqual({});
    expect(c.project).toBeUndefined();
  });

  it('a plain string entrypoint (very old images) becomes a one-element list', () => {
    const c = mapContainerInspect(parseInspect(inspectJson({}, { Entrypoint: '/run.sh', User: 'app', WorkingDir: '/app' })));
    expect(c.config).toMatchObject({ entrypoint: ['/run.sh'], user: 'app', workingDir: '/app' });
  });

  it.each([
    [{}, 'Id'],
    [{ State: { Health: null } }, 'State.Status'],
    [{ Config: { Env: 'A=1' } }, 'Config.Image'],
  ])('required fields are checked: %j', (over, path) => {
    const json = { ...inspectJson(), ...over } as Record<string, unknown>;
    if (path === 'Id') delete json.Id;
    const result = containerInspectSchema().safeParse(json);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });

  it('unknown fields pass through', () => {
    expect(containerInspectSchema().safeParse({ ...inspectJson(), SomethingNew: { a: 1 } }).success).toBe(true);
  });
});

describe('ports', () => {
  it.each([
    ['', undefined],
    ['0.0.0.0', undefined],
    ['::', undefined],
    [null, undefined],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
  ])('host IP %j → %j', (ip, expected) => {
    expect(normalizeHostIp(ip)).toBe(expected);
  });

  it('bindings, ephemeral bindings, ranges and exposed-only ports', () => {
    expect(
      mapPorts(
        { '80/tcp': {}, '53/udp': {}, '9000/tcp': {} },
        {
          '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }],
          '443/tcp': [{ HostIp: '', HostPort: '' }],
          '5000/tcp': [{ HostPort: '5000-5010' }],
          '53/udp': null,
          'bogus/tcp': [{ HostPort: '1' }],
        },
      ),
    ).toEqual([
      { target: 443, protocol: 'tcp' },
      { target: 5000, published: '5000-5010', protocol: 'tcp' },
      { target: 53, protocol: 'udp' },
      { target: 80, published: '8080', protocol: 'tcp' },
      { target: 80, published: '8081', hostIp: '127.0.0.1', protocol: 'tcp' },
      { target: 9000, protocol: 'tcp' },
    ]);
  });
});

describe('small mappers', () => {
  it.each([
    [{ Name: 'no' }, undefined],
    [{ Name: '' }, undefined],
    [null, undefined],
    [{ Name: 'always', MaximumRetryCount: 0 }, 'always'],
    [{ Name: 'on-failure', MaximumRetryCount: 0 }, 'on-failure'],
    [{ Name: 'on-failure', MaximumRetryCount: 3 }, 'on-failure:3'],
  ])('restart policy %j → %j', (policy, expected) => {
    expect(mapRestart(policy)).toBe(expected);
  });

  it('env list: first "=" splits; a bare key has an empty value', () => {
    expect(parseEnvList(['A=1', 'B=x=y', 'C', 'D='])).toEqual({ A: '1', B: 'x=y', C: '', D: '' });
    expect(parseEnvList(null)).toEqual({});
  });

  it.each([
    ['Up 3 minutes (healthy)', 'healthy'],
    ['Up 3 minutes (unhealthy)', 'unhealthy'],
    ['Up 2 seconds (health: starting)', 'starting'],
    ['Up 3 minutes', 'none'],
    ['Exited (0) 5 seconds ago', 'none'],
  ])('health from list status %j', (status, expected) => {
    expect(healthFromStatusText(status)).toBe(expected);
  });

  it.each(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'])('state %s', (s) => {
    expect(toContainerState(s)).toBe(s);
  });
});

describe('mapContainerSummary', () => {
  const summary = {
    Id: 'a'.repeat(64),
    Names: ['/shop_worker_1'],
    Image: '127.0.0.1:5000/driftd/worker:1.0',
    ImageID: `sha256:${'2'.repeat(64)}`,
    Command: 'sh -c ...',
    Created: 1714557600,
    Ports: [],
    Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'worker' },
    State: 'exited',
    Status: 'Exited (137) 2 minutes ago',
    HostConfig: { NetworkMode: 'shop_default' },
  };

  it('maps what the list carries, without config', () => {
    expect(mapContainerSummary(containerSummarySchema().parse(summary))).toEqual({
      id: 'a'.repeat(64),
      name: 'shop_worker_1',
      project: 'shop',
      service: 'worker',
      image: '127.0.0.1:5000/driftd/worker:1.0',
      imageId: `sha256:${'2'.repeat(64)}`,
      state: 'exited',
      health: 'none',
      exitCode: 137,
      labels: summary.Labels,
      createdAt: '2024-05-01T10:00:00.000Z',
    });
  });

  it('uses the Health field of newer engines', () => {
    const c = mapContainerSummary(containerSummarySchema().parse({ ...summary, State: 'running', Status: 'Up 1 second', Health: { Status: 'unhealthy' } }));
    expect(c.health).toBe('unhealthy');
  });
});

describe('mapImageInspect', () => {
  it('maps the image defaults the drift engine needs', () => {
    const json = {
      Id: `sha256:${'1'.repeat(64)}`,
      RepoTags: ['127.0.0.1:5000/driftd/app:1.0'],
      RepoDigests: [`127.0.0.1:5000/driftd/app@sha256:${'d'.repeat(64)}`],
      Os: 'linux',
      Architecture: 'arm',
      Variant: 'v7',
      Config: {
        Env: ['PATH=/bin'],
        Cmd: ['httpd'],
        Entrypoint: null,
        User: '',
        WorkingDir: '/www',
        Labels: { a: 'b' },
        Volumes: { '/data': {}, '/cache': {} },
        Healthcheck: { Test: ['CMD', 'true'], Interval: 0 },
      },
      RootFS: { Type: 'layers' },
    };
    expect(mapImageInspect(imageInspectSchema().parse(json))).toEqual({
      id: json.Id,
      repoTags: json.RepoTags,
      repoDigests: json.RepoDigests,
      env: { PATH: '/bin' },
      command: ['httpd'],
      workingDir: '/www',
      healthcheck: { test: ['CMD', 'true'] },
      labels: { a: 'b' },
      volumes: ['/cache', '/data'],
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
  });

  it('an image without config or tags', () => {
    const img = mapImageInspect(imageInspectSchema().parse({ Id: 'sha256:x', RepoTags: null, RepoDigests: null, Config: null }));
    expect(img).toEqual({ id: 'sha256:x', repoTags: [], repoDigests: [], env: {}, labels: {}, volumes: [] });
  });
});
