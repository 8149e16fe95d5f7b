import { describe, expect, it } from 'vitest';
import type { DesiredService, DesiredStack } from '../../../src/compose/model.js';
import { computeDrift } from '../../../src/drift/compute-drift.js';
import type { Finding } from '../../../src/drift/model.js';
import type { LiveContainer, LiveContainerConfig, LiveImageDefaults } from '../../../src/live/model.js';
import { redactValue } from '../../../src/util/scrub.js';
import {
  desiredService,
  desiredState,
  ENV_FILE_SECRET,
  imageDefaults,
  inventory,
  liveConfig,
  liveContainer,
  lockedStack,
  SECRET,
  WORKDIR,
} from './fixtures.js';

interface Case {
  name: string;
  service?: Partial<DesiredService>;
  stack?: Partial<DesiredStack>;
  container?: Partial<LiveContainer>;
  config?: Partial<LiveContainerConfig>;
  image?: Partial<LiveImageDefaults> | null;
  /** config-drift fields expected, in order; [] = none. */
  fields: string[];
  /** Other finding kinds expected (the stack is locked: image-unpinned only for a floating reference). */
  kinds?: string[];
}

function run(c: Case): Finding[] {
  const stack = lockedStack({ services: [desiredService(c.service)], ...c.stack });
  const container = liveContainer(c.container, c.config);
  const images = c.image === null ? [] : [imageDefaults(c.image ?? {})];
  const result = computeDrift({ desired: desiredState([stack]), live: inventory([container], images) });
  return result.stacks.flatMap((s) => s.findings);
}

const cases: Case[] = [
  { name: 'a fresh deploy (engine defaults, compose labels, image volume)', fields: [] },
  // image
  { name: 'another image tag', container: { image: '127.0.0.1:5000/driftd/app:2.0' }, fields: ['image'] },
  { name: 'another repository', container: { image: '127.0.0.1:5000/driftd/other:1.0' }, fields: ['image'] },
  { name: 'nginx:1.27 vs docker.io/library/nginx:1.27', service: { image: 'nginx:1.27' }, container: { image: 'docker.io/library/nginx:1.27' }, fields: [] },
  { name: 'user/app:2 vs index.docker.io/user/app:2', service: { image: 'user/app:2' }, container: { image: 'index.docker.io/user/app:2' }, fields: [] },
  { name: '"nginx" vs "nginx:latest" (unpinned, not drifted)', service: { image: 'nginx' }, container: { image: 'nginx:latest' }, fields: [], kinds: ['image-unpinned'] },
  { name: '"nginx" vs docker.io/library/nginx:1.27', service: { image: 'nginx' }, container: { image: 'docker.io/library/nginx:1.27' }, fields: ['image'], kinds: ['image-unpinned'] },
  {
    name: 'pinned desired, deployed by driftd with the pin',
    service: { pinnedImage: `127.0.0.1:5000/driftd/app:1.0@sha256:${'d'.repeat(64)}` },
    container: { image: `127.0.0.1:5000/driftd/app:1.0@sha256:${'d'.repeat(64)}` },
    fields: [],
  },
  {
    name: 'pinned desired, live created from the tag (digest is image-drift business)',
    service: { pinnedImage: `127.0.0.1:5000/driftd/app:1.0@sha256:${'d'.repeat(64)}` },
    fields: [],
  },
  {
    name: 'pinned desired, live pinned to another digest',
    service: { pinnedImage: `127.0.0.1:5000/driftd/app:1.0@sha256:${'d'.repeat(64)}` },
    container: { image: `127.0.0.1:5000/driftd/app:1.0@sha256:${'9'.repeat(64)}` },
    fields: ['image'],
  },
  { name: 'live created from an image ID that carries the tag', container: { image: `sha256:${'1'.repeat(64)}` }, fields: [] },
  {
    name: 'live created from an image ID that does not carry the tag',
    container: { image: `sha256:${'1'.repeat(64)}` },
    image: { repoTags: ['127.0.0.1:5000/driftd/app:0.9'] },
    fields: ['image'],
  },
  // command / entrypoint
  { name: 'command changed by hand', config: { command: ['sh', '-c', 'sleep 1'] }, fields: ['command'] },
  { name: 'command given and equal', service: { command: ['httpd', '-f', '-v'] }, config: { command: ['httpd', '-f', '-v'] }, fields: [] },
  { name: 'command given and different', service: { command: ['httpd', '-v'] }, fields: ['command'] },
  { name: 'entrypoint given: engine drops the image cmd', service: { entrypoint: ['/x'] }, config: { entrypoint: ['/x'], command: undefined }, fields: [] },
  { name: 'entrypoint changed by hand', config: { entrypoint: ['/evil'] }, fields: ['entrypoint'] },
  { name: 'empty command list ≡ unset', service: { command: [] }, fields: [] },
  { name: 'image unknown: unset command not compared', config: { command: ['anything'] }, image: null, fields: [] },
  // environment
  { name: 'env value changed', config: { env: { ...liveConfig().env, MODE: 'debug' } }, fields: ['environment.MODE'] },
  { name: 'env key added by hand', config: { env: { ...liveConfig().env, EXTRA: '1' } }, fields: ['environment.EXTRA'] },
  { name: 'env key removed by hand', config: { env: { ...liveConfig().env, MODE: undefined as unknown as string } }, fields: ['environment.MODE'] },
  { name: 'image default env changed by hand', config: { env: { ...liveConfig().env, PATH: '/tmp' } }, fields: ['environment.PATH'] },
  { name: 'service overrides an image env key', service: { environment: { ...desiredService().environment, APP_HOME: '/srv' } }, config: { env: { ...liveConfig().env, APP_HOME: '/srv' } }, fields: [] },
  { name: 'image unknown: image env keys ignored', image: null, fields: [] },
  { name: 'image unknown: desired keys still compared', image: null, config: { env: { ...liveConfig().env, MODE: 'x' } }, fields: ['environment.MODE'] },
  { name: 'two keys changed: two findings', config: { env: { ...liveConfig().env, MODE: 'x', APP_HOME: 'y' } }, fields: ['environment.APP_HOME', 'environment.MODE'] },
  // ports
  { name: 'published port changed', config: { ports: [{ target: 80, published: '9090', protocol: 'tcp' }] }, fields: ['ports'] },
  { name: 'port bound to another host IP', config: { ports: [{ target: 80, published: '8080', hostIp: '127.0.0.1', protocol: 'tcp' }] }, fields: ['ports'] },
  { name: 'desired host IP 0.0.0.0 ≡ all interfaces', service: { ports: [{ target: 80, published: '8080', hostIp: '0.0.0.0', protocol: 'tcp' }] }, fields: [] },
  { name: 'desired host IP :: ≡ all interfaces', service: { ports: [{ target: 80, published: '8080', hostIp: '::', protocol: 'tcp' }] }, fields: [] },
  { name: 'exposed-only and ephemeral ports are ignored', config: { ports: [{ target: 80, published: '8080', protocol: 'tcp' }, { target: 443, protocol: 'tcp' }, { target: 9000, protocol: 'udp' }] }, fields: [] },
  { name: 'desired ephemeral port vs live ephemeral', service: { ports: [{ target: 80, protocol: 'tcp' }] }, config: { ports: [{ target: 80, protocol: 'tcp' }] }, fields: [] },
  { name: 'protocol differs', config: { ports: [{ target: 80, published: '8080', protocol: 'udp' }] }, fields: ['ports'] },
  { name: 'port range kept as text', service: { ports: [{ target: 80, published: '8000-8010', protocol: 'tcp' }] }, config: { ports: [{ target: 80, published: '8000-8010', protocol: 'tcp' }] }, fields: [] },
  { name: 'port published by hand', config: { ports: [...liveConfig().ports, { target: 22, published: '2222', protocol: 'tcp' }] }, fields: ['ports'] },
  // mounts
  { name: 'bind source moved', config: { mounts: liveConfig().mounts.map((m) => (m.type === 'bind' ? { ...m, source: '/etc/other' } : m)) }, fields: ['mounts'] },
  { name: 'bind made writable', config: { mounts: liveConfig().mounts.map((m) => (m.type === 'bind' ? { ...m, readOnly: false } : m)) }, fields: ['mounts'] },
  { name: 'named volume replaced', config: { mounts: liveConfig().mounts.map((m) => (m.source === 'shop_data' ? { ...m, source: 'other_data' } : m)) }, fields: ['mounts'] },
  { name: 'mount removed', config: { mounts: liveConfig().mounts.filter((m) => m.type !== 'bind') }, fields: ['mounts'] },
  { name: 'bind added by hand', config: { mounts: [...liveConfig().mounts, { type: 'bind', source: '/', target: '/host', readOnly: false }] }, fields: ['mounts'] },
  { name: 'anonymous volume at a path the image does not declare', config: { mounts: [...liveConfig().mounts, { type: 'volume', source: 'f'.repeat(64), target: '/scratch', readOnly: false }] }, fields: ['mounts'] },
  { name: 'image unknown: undeclared anonymous volumes ignored', image: null, config: { mounts: [...liveConfig().mounts, { type: 'volume', source: 'f'.repeat(64), target: '/scratch', readOnly: false }] }, fields: [] },
  { name: 'desired anonymous volume', service: { mounts: [...desiredService().mounts, { type: 'volume', target: '/scratch', readOnly: false }] }, config: { mounts: [...liveConfig().mounts, { type: 'volume', source: 'f'.repeat(64), target: '/scratch', readOnly: false }] }, fields: [] },
  { name: 'absolute bind source outside the stack', service: { mounts: [{ type: 'bind', source: '/var/log', target: '/logs', readOnly: false }] }, config: { mounts: [{ type: 'bind', source: '/var/log/', target: '/logs/', readOnly: false }] }, fields: [] },
  { name: 'bind of the stack folder itself', service: { mounts: [{ type: 'bind', source: '.', target: '/src', readOnly: false }] }, config: { mounts: [{ type: 'bind', source: WORKDIR, target: '/src', readOnly: false }] }, fields: [] },
  { name: 'external volume keeps its name', stack: { model: { volumes: { data: { external: true } } } }, config: { mounts: liveConfig().mounts.map((m) => (m.source === 'shop_data' ? { ...m, source: 'data' } : m)) }, fields: [] },
  { name: 'volume with an explicit name', stack: { model: { volumes: { data: { name: 'shared-data' } } } }, config: { mounts: liveConfig().mounts.map((m) => (m.source === 'shop_data' ? { ...m, source: 'shared-data' } : m)) }, fields: [] },
  { name: 'tmpfs mount', service: { mounts: [...desiredService().mounts, { type: 'tmpfs', target: '/run', readOnly: false }] }, config: { mounts: [...liveConfig().mounts, { type: 'tmpfs', target: '/run', readOnly: false }] }, fields: [] },
  { name: 'service-level tmpfs: key', service: { raw: { tmpfs: ['/run', '/ro:size=1k,ro'] } }, config: { mounts: [...liveConfig().mounts, { type: 'tmpfs', target: '/run', readOnly: false }, { type: 'tmpfs', target: '/ro', readOnly: true }] }, fields: [] },
  { name: 'service-level tmpfs: string form, removed by hand', service: { raw: { tmpfs: '/run' } }, fields: ['mounts'] },
  { name: 'Compose secrets and configs binds', service: { raw: { secrets: ['db_pw', { source: 'tls', target: '/certs/tls.pem' }], configs: ['app_cfg'] } }, config: { mounts: [...liveConfig().mounts, { type: 'bind', source: `${WORKDIR}/pw.txt`, target: '/run/secrets/db_pw', readOnly: true }, { type: 'bind', source: `${WORKDIR}/tls.pem`, target: '/certs/tls.pem', readOnly: true }, { type: 'bind', source: `${WORKDIR}/app.cfg`, target: '/app_cfg', readOnly: true }] }, fields: [] },
  // labels
  { name: 'user label changed', container: { labels: { ...liveContainer().labels, 'com.example.team': 'ops' } }, fields: ['labels.com.example.team'] },
  { name: 'label added by hand', container: { labels: { ...liveContainer().labels, 'traefik.enable': 'true' } }, fields: ['labels.traefik.enable'] },
  { name: 'compose and driftd labels ignored', container: { labels: { ...liveContainer().labels, 'com.docker.compose.version': '1.29.2', 'io.driftd.stack': 'shop' } }, fields: [] },
  { name: 'image label overridden by hand', container: { labels: { ...liveContainer().labels, 'org.opencontainers.image.title': 'evil' } }, fields: ['labels.org.opencontainers.image.title'] },
  { name: 'image labels under io.driftd.* stay ignored', image: { labels: { 'io.driftd.test.content': 'abc' } }, container: { labels: { ...liveContainer().labels, 'org.opencontainers.image.title': undefined as unknown as string, 'io.driftd.test.content': 'abc' } }, fields: [] },
  { name: 'image unknown: only the service labels compared', image: null, container: { labels: { ...liveContainer().labels, 'x.y': 'z' } }, fields: [] },
  // restart
  { name: 'restart unset ≡ "no"', config: { restart: undefined }, fields: [] },
  { name: 'restart set by hand', config: { restart: 'always' }, fields: ['restart'] },
  { name: 'restart as declared', service: { restart: 'unless-stopped' }, config: { restart: 'unless-stopped' }, fields: [] },
  { name: 'restart "no" declared', service: { restart: 'no' }, fields: [] },
  { name: 'on-failure:0 ≡ on-failure', service: { restart: 'on-failure:0' }, config: { restart: 'on-failure' }, fields: [] },
  { name: 'on-failure retries differ', service: { restart: 'on-failure:3' }, config: { restart: 'on-failure:5' }, fields: ['restart'] },
  // healthcheck
  { name: 'healthcheck unset ≡ image default', service: { healthcheck: undefined }, config: { healthcheck: imageDefaults().healthcheck }, fields: [] },
  { name: 'healthcheck changed by hand', config: { healthcheck: { test: ['CMD-SHELL', 'false'], intervalNs: 2_000_000_000 } }, fields: ['healthcheck'] },
  { name: 'healthcheck fields unset take the image value', service: { healthcheck: { intervalNs: 5_000_000_000 } }, config: { healthcheck: { test: ['CMD', '/bin/check'], intervalNs: 5_000_000_000 } }, fields: [] },
  { name: 'healthcheck disabled', service: { healthcheck: { disable: true } }, config: { healthcheck: { test: ['NONE'], intervalNs: 30_000_000_000 } }, fields: [] },
  { name: 'healthcheck disabled but live checks', service: { healthcheck: { disable: true } }, fields: ['healthcheck'] },
  { name: 'zero durations ≡ unset', service: { healthcheck: { test: ['CMD-SHELL', 'true'], intervalNs: 2_000_000_000, retries: 0 } }, fields: [] },
  // networks
  { name: 'attached to another network by hand', config: { networks: ['shop_default', 'bridge'] }, fields: ['networks'] },
  { name: 'named networks are project-prefixed', service: { networks: ['front', 'back'] }, config: { networks: ['shop_back', 'shop_front'], networkMode: 'shop_front' }, fields: [] },
  { name: 'external network keeps its name', service: { networks: ['proxy'] }, stack: { model: { volumes: { data: {} }, networks: { proxy: { external: true } } } }, config: { networks: ['proxy'], networkMode: 'proxy' }, fields: [] },
  { name: 'network_mode host', service: { networkMode: 'host', networks: [] }, config: { networks: ['host'], networkMode: 'host' }, fields: [] },
  { name: 'switched to host networking by hand', config: { networks: ['host'], networkMode: 'host' }, fields: ['networkMode'] },
  // privileged, user, working dir
  { name: 'made privileged', config: { privileged: true }, fields: ['privileged'] },
  { name: 'user unset ≡ image user', image: { user: 'app' }, config: { user: 'app' }, fields: [] },
  { name: 'user changed by hand', config: { user: 'root' }, fields: ['user'] },
  { name: 'user as declared', service: { user: '1000:1000' }, config: { user: '1000:1000' }, fields: [] },
  { name: 'working dir changed by hand', config: { workingDir: '/tmp' }, fields: ['workingDir'] },
  { name: 'working dir trailing slash', service: { workingDir: '/app/' }, fields: [] },
  // config hash
  { name: 'config hash label equal', container: { labels: { ...liveContainer().labels, 'io.driftd.config-hash': 'hash-web' } }, fields: [] },
  { name: 'config hash label differs, nothing else', container: { labels: { ...liveContainer().labels, 'io.driftd.config-hash': 'old' } }, fields: ['configHash'] },
  { name: 'config hash differs with a field drift: only the field', container: { labels: { ...liveContainer().labels, 'io.driftd.config-hash': 'old' } }, config: { privileged: true }, fields: ['privileged'] },
  // not inspected
  { name: 'not inspected: only the image is compared', container: { config: undefined, image: '127.0.0.1:5000/driftd/app:1.0' }, fields: [] },
  { name: 'not inspected, other image', container: { config: undefined, image: '127.0.0.1:5000/driftd/app:2.0' }, fields: ['image'] },
];

describe('config drift, field by field', () => {
  it.each(cases)('$name', (c) => {
    const findings = run(c);
    expect(findings.filter((f) => f.kind === 'config-drift').map((f) => f.field)).toEqual(c.fields);
    expect(findings.filter((f) => f.kind !== 'config-drift').map((f) => f.kind)).toEqual(c.kinds ?? []);
  });

  it('reports desired and live values, and the container in the message', () => {
    const [f] = run({ name: '', config: { env: { ...liveConfig().env, MODE: 'debug' } }, fields: [] });
    expect(f).toMatchObject({ kind: 'config-drift', stack: 'shop', service: 'web', severity: 'warning', field: 'environment.MODE', desired: 'prod', live: 'debug' });
    expect(f?.message).toContain('shop_web_1');
    expect(f?.message).toContain('environment.MODE');
  });

  it('an added key has desired null, a removed one live null', () => {
    const added = run({ name: '', config: { env: { ...liveConfig().env, EXTRA: '1' } }, fields: [] });
    expect(added[0]).toMatchObject({ desired: null, live: '1' });
    const env = { ...liveConfig().env };
    delete env.MODE;
    const removed = run({ name: '', config: { env }, fields: [] });
    expect(removed[0]).toMatchObject({ desired: 'prod', live: null });
  });

  it('image and privileged drift are errors, the rest warnings', () => {
    expect(run({ name: '', config: { privileged: true }, fields: [] })[0]?.severity).toBe('error');
    expect(run({ name: '', container: { image: 'x:1' }, fields: [] })[0]?.severity).toBe('error');
    expect(run({ name: '', config: { restart: 'always' }, fields: [] })[0]?.severity).toBe('warning');
  });

  it('shows mounts and ports the way the compose file writes them', () => {
    const [m] = run({ name: '', config: { mounts: liveConfig().mounts.map((x) => (x.type === 'bind' ? { ...x, readOnly: false } : x)) }, fields: [] });
    expect(m?.desired).toEqual(['bind:./conf:/etc/app:ro', 'volume:shop_data:/data']);
    expect(m?.live).toEqual(['bind:./conf:/etc/app', 'volume:shop_data:/data']);
    const [p] = run({ name: '', config: { ports: [{ target: 80, published: '8080', hostIp: '::1', protocol: 'tcp' }] }, fields: [] });
    expect(p?.desired).toEqual(['8080:80/tcp']);
    expect(p?.live).toEqual(['[::1]:8080:80/tcp']);
  });

  it('without the working dir label, relative bind sources are compared by target only', () => {
    const labels = { ...liveContainer().labels };
    delete labels['com.docker.compose.project.working_dir'];
    const stack = lockedStack();
    const container = liveContainer({ labels }, { mounts: liveConfig().mounts.map((m) => (m.type === 'bind' ? { ...m, source: '/somewhere/conf' } : m)) });
    const live = inventory([container]);
    delete live.projects.shop!.workingDir;
    const result = computeDrift({ desired: desiredState([stack]), live });
    expect(result.stacks[0]?.findings).toEqual([]);
  });

  it.each([
    ['service:db', 'shop_db_1', 'db', []],
    ['service:db', 'shop_cache_1', 'cache', ['networkMode']],
    ['container:shop_db_1', 'shop_db_1', 'db', []],
  ])('network_mode %s against container:<id of %s>', (mode, targetName, targetService, fields) => {
    const db = desiredService({ name: 'db', ports: [], mounts: [], labels: {}, raw: {} });
    const cache = desiredService({ name: 'cache', ports: [], mounts: [], labels: {}, raw: {} });
    const stack = lockedStack({ services: [desiredService({ networkMode: mode, networks: [] }), db, cache] });
    const targetId = 'd'.repeat(64);
    const web = liveContainer({}, { networks: [], networkMode: `container:${targetId}` });
    const target = liveContainer({ id: targetId, name: targetName, service: targetService }, { ports: [], mounts: liveConfig().mounts.filter((m) => m.target === '/cache') });
    const other = liveContainer({ name: targetName === 'shop_db_1' ? 'shop_cache_1' : 'shop_db_1', service: targetService === 'db' ? 'cache' : 'db' }, { ports: [], mounts: liveConfig().mounts.filter((m) => m.target === '/cache') });
    const result = computeDrift({ desired: desiredState([stack]), live: inventory([web, target, other]) });
    const webFindings = result.stacks[0]!.findings.filter((f) => f.service === 'web');
    expect(webFindings.map((f) => f.field)).toEqual(fields);
    if (fields.length > 0) expect(webFindings[0]?.live).toBe(`container:${targetName}`);
  });

  it('replicas that drifted the same way give one finding naming both containers', () => {
    const stack = lockedStack({ services: [desiredService({ replicas: 2 })] });
    const a = liveContainer({ name: 'shop_web_1' }, { privileged: true });
    const b = liveContainer({ name: 'shop_web_2', number: 2 }, { privileged: true });
    const result = computeDrift({ desired: desiredState([stack]), live: inventory([a, b]) });
    const findings = result.stacks[0]!.findings;
    expect(findings).toHaveLength(1);
    expect(findings[0]?.message).toContain('shop_web_1, shop_web_2');
  });
});

describe('secret redaction in config drift', () => {
  const secretCases: { name: string; config?: Partial<LiveContainerConfig>; service?: Partial<DesiredService>; container?: Partial<LiveContainer>; field: string }[] = [
    { name: 'secret-looking key changed', config: { env: { ...liveConfig().env, DB_PASSWORD: 'new-secret-value' } }, field: 'environment.DB_PASSWORD' },
    { name: 'env_file key changed', config: { env: { ...liveConfig().env, FROM_FILE: 'other-file-value' } }, field: 'environment.FROM_FILE' },
    { name: 'secret-looking key removed', config: { env: { ...liveConfig().env, DB_PASSWORD: undefined as unknown as string } }, field: 'environment.DB_PASSWORD' },
    { name: 'secret value in a hand-made command', config: { command: ['app', `--password=${SECRET}`] }, field: 'command' },
    { name: 'secret value in a label', container: { labels: { ...liveContainer().labels, note: `pw ${ENV_FILE_SECRET}` } }, field: 'labels.note' },
    { name: 'secret-looking label key', container: { labels: { ...liveContainer().labels, 'app.api_token': 'tok-123456' } }, field: 'labels.app.api_token' },
    { name: 'secret value in the healthcheck', config: { healthcheck: { test: ['CMD', 'check', SECRET] } }, field: 'healthcheck' },
  ];

  it.each(secretCases)('$name', (c) => {
    const findings = run({ ...c, fields: [] });
    const text = JSON.stringify(findings);
    expect(findings.map((f) => f.field)).toEqual([c.field]);
    for (const planted of [SECRET, ENV_FILE_SECRET, 'new-secret-value', 'other-file-value', 'tok-123456']) expect(text).not.toContain(planted);
  });

  it('a secret change stays visible as a changed hash', () => {
    const [f] = run({ name: '', config: { env: { ...liveConfig().env, DB_PASSWORD: 'new-secret-value' } }, fields: [] });
    expect(f?.desired).toBe(redactValue(SECRET));
    expect(f?.live).toBe(redactValue('new-secret-value'));
  });
});
