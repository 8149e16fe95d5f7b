/**
 * Drift of engine: swarm stacks from one GET /services + /tasks (src/drift/swarm-drift.ts via
 * computeDrift): a stack deployed as the repo says has no finding; each hand change is one finding
 * naming the service and the field; secret values never appear.
 */
import { describe, expect, it } from 'vitest';
import { computeDrift } from '../../../src/drift/compute-drift.js';
import { swarmStackDrift } from '../../../src/drift/swarm-drift.js';
import { stackSecrets } from '../../../src/drift/stack-secrets.js';
import { swarmServicesSchema, swarmTasksSchema, type SwarmLive } from '../../../src/swarm/engine-model.js';
import type { DesiredStack } from '../../../src/compose/model.js';
import { COMMIT, desiredService, desiredStack, desiredState, liveContainer, SECRET } from './fixtures.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const OTHER = `sha256:${'e'.repeat(64)}`;
const IMAGE = '127.0.0.1:5000/driftd/app:1.0';

function swarmStack(): DesiredStack {
  const s = desiredStack({
    services: [desiredService({ pinnedImage: `${IMAGE}@${DIGEST}` }), desiredService({ name: 'worker', image: '127.0.0.1:5000/driftd/worker:1.0', environment: {}, secretEnvKeys: [], ports: [], labels: {}, mounts: [], replicas: 2, configHash: 'hash-worker' })],
  });
  return {
    ...s,
    policy: { ...s.policy, engine: 'swarm' },
    lock: { version: 1, stack: s.name, composeSha256: s.composeSha256, images: { [IMAGE]: { digest: DIGEST }, '127.0.0.1:5000/driftd/worker:1.0': { digest: DIGEST } } },
  };
}

interface SvcOver {
  image?: string;
  env?: string[];
  labels?: Record<string, string>;
  replicas?: number;
  ports?: { TargetPort: number; PublishedPort?: number; Protocol?: string }[];
  configHash?: string;
  update?: string;
  mounts?: { Type?: string; Source?: string; Target: string; ReadOnly?: boolean }[];
  serviceLabels?: Record<string, string>;
}

/** The web fixture's mounts as docker stack deploy writes them: `./conf` resolved in the deploy dir, the volume namespaced. */
const WEB_MOUNTS = [
  { Type: 'bind', Source: '/var/lib/driftd/deploy/shop/conf', Target: '/etc/app', ReadOnly: true },
  { Type: 'volume', Source: 'shop_data', Target: '/data' },
];

function svc(id: string, name: string, over: SvcOver = {}): unknown {
  return {
    ID: id,
    Spec: {
      Name: `shop_${name}`,
      Labels: { 'com.docker.stack.namespace': 'shop', 'com.docker.stack.image': over.image ?? IMAGE, 'io.driftd.stack': 'shop', 'io.driftd.config-hash': over.configHash ?? `hash-${name}`, ...over.serviceLabels },
      TaskTemplate: { ContainerSpec: { Image: over.image ?? `${IMAGE}@${DIGEST}`, Labels: { 'com.docker.stack.namespace': 'shop', ...over.labels }, ...(over.env ? { Env: over.env } : {}), ...(over.mounts ? { Mounts: over.mounts } : {}) } },
      Mode: { Replicated: { Replicas: over.replicas ?? 1 } },
      ...(over.ports ? { EndpointSpec: { Ports: over.ports } } : {}),
    },
    ...(over.update ? { UpdateStatus: { State: over.update } } : {}),
  };
}

const task = (id: string, serviceId: string, state = 'running', err?: string): unknown => ({ ID: id, ServiceID: serviceId, DesiredState: 'running', Status: { State: state, ...(err ? { Err: err } : {}) } });
const liveOf = (services: unknown[], tasks: unknown[]): SwarmLive => ({ services: swarmServicesSchema.parse(services), tasks: swarmTasksSchema.parse(tasks) });

const WEB_ENV = [`MODE=prod`, `DB_PASSWORD=${SECRET}`, 'FROM_FILE=from-env-file-value-42'];
const webOk = (over: SvcOver = {}): unknown =>
  svc('s-web', 'web', { env: WEB_ENV, labels: { 'com.example.team': 'shop' }, ports: [{ TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }], mounts: WEB_MOUNTS, ...over });
const workerOk = (over: SvcOver = {}): unknown => svc('s-worker', 'worker', { image: `127.0.0.1:5000/driftd/worker:1.0@${DIGEST}`, replicas: 2, ...over });
const tasksOk = [task('t1', 's-web'), task('t2', 's-worker'), task('t3', 's-worker')];

function drift(live: SwarmLive, stack = swarmStack()) {
  return swarmStackDrift(stack, live, stackSecrets(stack));
}

describe('Swarm drift of one stack', () => {
  it('a stack running as the repo says: no finding, healthy', () => {
    expect(drift(liveOf([webOk(), workerOk()], tasksOk))).toEqual({ findings: [], health: 'Healthy' });
  });

  it('a hand `docker service update --env-add` → config-drift naming the key; a removed key too', () => {
    const d = drift(liveOf([webOk({ env: [...WEB_ENV, 'HAND=1'] }), workerOk({ env: ['EXTRA='] })], tasksOk));
    expect(d.findings.map((f) => [f.kind, f.service, f.field, f.desired, f.live])).toEqual([
      ['config-drift', 'web', 'environment.HAND', null, '1'],
      ['config-drift', 'worker', 'environment.EXTRA', null, ''],
    ]);
    expect(d.findings[0]?.message).toBe('Swarm service shop_web: environment.HAND differs: repo (unset), live "1"');
    const gone = drift(liveOf([webOk({ env: ['MODE=prod'] }), workerOk()], tasksOk));
    expect(gone.findings.map((f) => f.field)).toEqual(['environment.DB_PASSWORD', 'environment.FROM_FILE']);
  });

  it('a secret env value changed by hand is named by key, its values redacted on both sides', () => {
    const d = drift(liveOf([webOk({ env: ['MODE=prod', 'DB_PASSWORD=other-secret-99', 'FROM_FILE=from-env-file-value-42'] }), workerOk()], tasksOk));
    expect(d.findings).toHaveLength(1);
    expect(d.findings[0]?.field).toBe('environment.DB_PASSWORD');
    const text = JSON.stringify(d.findings);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('other-secret-99');
  });

  it('`docker service scale` by hand → replicas-mismatch (spec replicas vs deploy.replicas)', () => {
    const d = drift(liveOf([webOk({ replicas: 3 }), workerOk()], [...tasksOk, task('t4', 's-web'), task('t5', 's-web')]));
    expect(d.findings).toEqual([
      expect.objectContaining({ kind: 'replicas-mismatch', service: 'web', desired: { replicas: 1 }, live: { replicas: 3 }, message: 'Swarm service shop_web is scaled to 3, the repo wants 1' }),
    ]);
    expect(d.health).toBe('Healthy');
  });

  it('image digest other than the lock → image-drift; another tag → config-drift image (error)', () => {
    const digest = drift(liveOf([webOk({ image: `${IMAGE}@${OTHER}` }), workerOk()], tasksOk));
    expect(digest.findings).toEqual([expect.objectContaining({ kind: 'image-drift', service: 'web', severity: 'error', field: 'image' })]);
    expect(digest.findings[0]?.message).toContain(OTHER);
    const tag = drift(liveOf([webOk({ image: `127.0.0.1:5000/driftd/app:2.0@${OTHER}` }), workerOk()], tasksOk));
    expect(tag.findings.map((f) => [f.kind, f.field, f.severity])).toEqual([
      ['config-drift', 'image', 'error'],
      ['image-drift', 'image', 'error'],
    ]);
  });

  it('labels and published ports changed by hand; Swarm and driftd labels are not the user’s', () => {
    const d = drift(liveOf([webOk({ labels: { 'com.example.team': 'ops' }, ports: [{ TargetPort: 80, PublishedPort: 9090, Protocol: 'tcp' }] }), workerOk()], tasksOk));
    expect(d.findings.map((f) => [f.field, f.desired, f.live])).toEqual([
      ['labels.com.example.team', 'shop', 'ops'],
      ['ports', ['8080:80/tcp'], ['9090:80/tcp']],
    ]);
  });

  it('mounts by target: a hand --mount-add, a flipped read-only, another source or type, a removed one; each finding names the target', () => {
    const added = drift(liveOf([webOk({ mounts: [...WEB_MOUNTS, { Type: 'tmpfs', Target: '/scratch' }] }), workerOk({ mounts: [{ Type: 'volume', Source: 'hand', Target: '/x/' }] })], tasksOk));
    expect(added.findings.map((f) => [f.kind, f.service, f.field, f.desired, f.live, f.severity])).toEqual([
      ['config-drift', 'web', 'mounts./scratch', null, 'tmpfs:/scratch', 'warning'],
      ['config-drift', 'worker', 'mounts./x', null, 'volume:hand:/x', 'warning'],
    ]);
    expect(added.findings[0]?.message).toBe('Swarm service shop_web: mounts./scratch differs: repo (unset), live "tmpfs:/scratch"');
    const changed = drift(liveOf([webOk({ mounts: [{ ...WEB_MOUNTS[0]!, ReadOnly: false }, { Type: 'bind', Source: '/srv/data', Target: '/data' }] }), workerOk()], tasksOk));
    expect(changed.findings.map((f) => [f.field, f.desired, f.live])).toEqual([
      ['mounts./data', 'volume:shop_data:/data', 'bind:/srv/data:/data'],
      ['mounts./etc/app', 'bind:./conf:/etc/app:ro', 'bind:./conf:/etc/app'],
    ]);
    const removed = drift(liveOf([webOk({ mounts: [WEB_MOUNTS[1]!] }), workerOk()], tasksOk));
    expect(removed.findings.map((f) => [f.field, f.desired, f.live])).toEqual([['mounts./etc/app', 'bind:./conf:/etc/app:ro', null]]);
    // Another manager's data dir: the bind in its deploy dir is still ./conf.
    const elsewhere = drift(liveOf([webOk({ mounts: [{ ...WEB_MOUNTS[0]!, Source: '/opt/other/deploy/shop/conf/' }, WEB_MOUNTS[1]!] }), workerOk()], tasksOk));
    expect(elsewhere.findings).toEqual([]);
  });

  it('service labels (deploy.labels, list or mapping) against the spec’s labels; Swarm’s and driftd’s own are not the user’s', () => {
    const stack = swarmStack();
    stack.services[0] = { ...stack.services[0]!, raw: { ...stack.services[0]!.raw, deploy: { labels: { 'traefik.enable': 'true' } } } };
    stack.services[1] = { ...stack.services[1]!, raw: { deploy: { labels: ['tier=back', 'bare'] } } };
    const ok = drift(liveOf([webOk({ serviceLabels: { 'traefik.enable': 'true' } }), workerOk({ serviceLabels: { tier: 'back', bare: '' } })], tasksOk), stack);
    expect(ok.findings).toEqual([]);
    const hand = drift(liveOf([webOk({ serviceLabels: { 'traefik.enable': 'false', 'hand.added': 'yes' } }), workerOk({ serviceLabels: { tier: 'back' } })], tasksOk), stack);
    expect(hand.findings.map((f) => [f.kind, f.service, f.field, f.desired, f.live])).toEqual([
      ['config-drift', 'web', 'deploy.labels.hand.added', null, 'yes'],
      ['config-drift', 'web', 'deploy.labels.traefik.enable', 'true', 'false'],
      ['config-drift', 'worker', 'deploy.labels.bare', '', null],
    ]);
    // A secret-looking label's value is redacted, on both sides.
    const secret = drift(liveOf([webOk({ serviceLabels: { 'traefik.enable': 'true', 'api.token': 'tok-1234567890' } }), workerOk({ serviceLabels: { tier: 'back', bare: '' } })], tasksOk), stack);
    expect(secret.findings.map((f) => f.field)).toEqual(['deploy.labels.api.token']);
    expect(JSON.stringify(secret.findings)).not.toContain('tok-1234567890');
  });

  it('hostile names: a mount target and labels named after prototype keys, parsed from the engine’s JSON text', () => {
    const json = (pairs: [string, string][]): string => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
    const web = webOk({ mounts: [...WEB_MOUNTS, { Type: 'tmpfs', Target: '__proto__' }, { Type: 'tmpfs', Target: 'constructor' }] }) as { Spec: Record<string, unknown> };
    // JSON.parse keeps "__proto__" as an own key, exactly like the engine's answer does.
    web.Spec.Labels = JSON.parse(json([['com.docker.stack.namespace', 'shop'], ['io.driftd.config-hash', 'hash-web'], ['__proto__', 'svc']])) as unknown;
    (web.Spec.TaskTemplate as { ContainerSpec: Record<string, unknown> }).ContainerSpec.Labels = JSON.parse(json([['com.example.team', 'shop'], ['__proto__', 'ctr'], ['constructor', 'c']])) as unknown;
    const d = drift(liveOf([web, workerOk()], tasksOk));
    expect(d.findings.map((f) => [f.field, f.desired, f.live])).toEqual([
      ['labels.__proto__', null, 'ctr'],
      ['labels.constructor', null, 'c'],
      ['deploy.labels.__proto__', null, 'svc'],
      ['mounts.__proto__', null, 'tmpfs:__proto__'],
      ['mounts.constructor', null, 'tmpfs:constructor'],
    ]);
    // The same names on the repo's side are compared as data too.
    const stack = swarmStack();
    stack.services[0] = { ...stack.services[0]!, mounts: [...stack.services[0]!.mounts, { type: 'tmpfs', target: '__proto__', readOnly: false }], raw: { deploy: { labels: JSON.parse('{"__proto__":"svc"}') as unknown } } };
    const mirrored = drift(liveOf([webOk({ mounts: [...WEB_MOUNTS, { Type: 'tmpfs', Target: '__proto__' }], serviceLabels: JSON.parse('{"__proto__":"svc"}') as Record<string, string> }), workerOk()], tasksOk), stack);
    expect(mirrored.findings).toEqual([]);
  });

  it('a service deployed from other inputs (config-hash label) when no field explains it', () => {
    const d = drift(liveOf([webOk({ configHash: 'older' }), workerOk()], tasksOk));
    expect(d.findings).toEqual([expect.objectContaining({ kind: 'config-drift', field: 'configHash', severity: 'warning' })]);
  });

  it('service missing, service extra, whole stack missing', () => {
    const d = drift(liveOf([webOk(), svc('s-old', 'old')], [task('t1', 's-web'), task('t9', 's-old')]));
    expect(d.findings.map((f) => [f.kind, f.service])).toEqual([
      ['service-missing', 'worker'],
      ['service-extra', 'old'],
    ]);
    expect(d.health).toBe('Missing');
    const none = drift(liveOf([{ ID: 'x', Spec: { Name: 'other_web', Labels: { 'com.docker.stack.namespace': 'other' } } }], []));
    expect(none).toEqual({ findings: [expect.objectContaining({ kind: 'stack-missing', severity: 'error' })], health: 'Missing' });
  });

  it('tasks not running: starting is progressing (warning), failed is degraded, a failed health check is container-unhealthy', () => {
    const starting = drift(liveOf([webOk(), workerOk()], [task('t1', 's-web', 'starting'), task('t2', 's-worker'), task('t3', 's-worker')]));
    expect(starting.health).toBe('Progressing');
    expect(starting.findings).toEqual([expect.objectContaining({ kind: 'container-not-running', service: 'web', severity: 'warning' })]);
    const failed = drift(liveOf([webOk(), workerOk()], [task('t1', 's-web'), task('t2', 's-worker', 'failed', 'task: non-zero exit (1)'), task('t3', 's-worker', 'failed', 'dockerexec: unhealthy container')]));
    expect(failed.health).toBe('Degraded');
    expect(failed.findings.map((f) => [f.kind, f.severity])).toEqual([
      ['container-not-running', 'error'],
      ['container-unhealthy', 'error'],
    ]);
    const tooFew = drift(liveOf([webOk(), workerOk()], [task('t1', 's-web'), task('t2', 's-worker')]));
    expect(tooFew.findings).toEqual([expect.objectContaining({ kind: 'container-not-running', service: 'worker', message: 'Swarm service shop_worker runs 1 task of 2' })]);
    const paused = drift(liveOf([webOk({ update: 'paused' }), workerOk()], tasksOk));
    expect(paused.health).toBe('Degraded');
  });

  it('hostile answers: a service named after a prototype key, env entries without `=` or named __proto__', () => {
    const odd = drift(liveOf([webOk({ env: [...WEB_ENV, 'BARE', '__proto__=p'] }), workerOk()], tasksOk));
    expect(odd.findings.map((f) => [f.field, f.live])).toEqual([
      ['environment.BARE', ''],
      ['environment.__proto__', 'p'],
    ]);
    const proto = svc('p', '__proto__');
    expect(() => drift(liveOf([webOk(), workerOk(), proto], tasksOk))).not.toThrow();
    expect(drift(liveOf([webOk(), workerOk(), proto], tasksOk)).findings.map((f) => [f.kind, f.service])).toEqual([['service-extra', '__proto__']]);
  });
});

describe('computeDrift with engine: swarm stacks', () => {
  it('Synced with no finding when the Swarm runs the repo; Swarm task containers are not stray containers', () => {
    const stack = swarmStack();
    const taskContainer = liveContainer({ name: 'shop_web.1.abc', project: undefined, service: undefined, labels: { 'com.docker.swarm.task.id': 'abc', 'com.docker.stack.namespace': 'shop' } });
    const live = { containers: [taskContainer], projects: {}, images: {}, networks: [], volumes: [] } as unknown as Parameters<typeof computeDrift>[0]['live'];
    const r = computeDrift({ desired: desiredState([stack]), live, swarm: liveOf([webOk(), workerOk()], tasksOk) });
    expect(r.stacks).toEqual([expect.objectContaining({ stack: 'shop', sync: 'Synced', health: 'Healthy', findings: [] })]);
    expect(r.unmanaged).toEqual([]);
  });

  it('Swarm stacks this host does not declare: stack-unmanaged, info when driftd deployed it or another host declares it, warning otherwise', () => {
    const stack = swarmStack();
    const live = { containers: [], projects: {}, images: {}, networks: [], volumes: [] } as unknown as Parameters<typeof computeDrift>[0]['live'];
    const foreign = (id: string, ns: string, driftd: boolean): unknown => ({ ID: id, Spec: { Name: `${ns}_app`, Labels: { 'com.docker.stack.namespace': ns, ...(driftd ? { 'io.driftd.stack': ns } : {}) } } });
    const desired = { ...desiredState([stack]), allStackNames: ['shop', 'elsewhere'] };
    const swarm = liveOf([webOk(), workerOk(), foreign('a', 'byhand', false), foreign('b', 'gone', true), foreign('c', 'elsewhere', false), foreign('d', '__proto__', false)], tasksOk);
    const r = computeDrift({ desired, live, swarm });
    expect(r.unmanaged.map((f) => [f.stack, f.severity])).toEqual([
      ['__proto__', 'warning'],
      ['byhand', 'warning'],
      ['elsewhere', 'info'],
      ['gone', 'info'],
    ]);
    expect(r.unmanaged[1]).toMatchObject({ kind: 'stack-unmanaged', message: 'Swarm stack byhand runs 1 service on this Swarm; the repo does not declare it', live: { services: ['byhand_app'] } });
    // --stack limits them like Compose projects.
    expect(computeDrift({ desired, live, swarm, stacks: ['shop'] }).unmanaged).toEqual([]);
  });

  it('OutOfSync with the hand change; Unknown (with the reason) when the Swarm could not be read', () => {
    const stack = swarmStack();
    const live = { containers: [], projects: {}, images: {}, networks: [], volumes: [] } as unknown as Parameters<typeof computeDrift>[0]['live'];
    const r = computeDrift({ desired: desiredState([stack]), live, swarm: liveOf([webOk({ replicas: 2 }), workerOk()], [...tasksOk, task('t9', 's-web')]) });
    expect(r.stacks[0]).toMatchObject({ sync: 'OutOfSync', findings: [expect.objectContaining({ kind: 'replicas-mismatch' })] });
    const unread = computeDrift({ desired: desiredState([stack]), live });
    expect(unread.stacks[0]).toMatchObject({ sync: 'Unknown', health: 'Unknown', targetRevision: COMMIT });
    expect(unread.stacks[0]?.reason).toMatch(/Swarm/);
  });
});
