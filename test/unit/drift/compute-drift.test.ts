import { describe, expect, it } from 'vitest';
import type { DesiredStack } from '../../../src/compose/model.js';
import { computeDrift, type DriftInput } from '../../../src/drift/compute-drift.js';
import type { Finding } from '../../../src/drift/model.js';
import type { LiveContainer } from '../../../src/live/model.js';
import {
  COMMIT,
  desiredService,
  desiredStack,
  desiredState,
  ENV_FILE_SECRET,
  inventory,
  liveContainer,
  OLD_COMMIT,
  SECRET,
} from './fixtures.js';

const kinds = (findings: Finding[]): string[] => findings.map((f) => f.kind);

/**
 * Fixtures carry no lock, so docs/design.md §3 reports their images as image-unpinned (hygiene, not drift);
 * tests of other kinds leave those out.
 */
const withoutUnpinned = (findings: Finding[]): Finding[] => findings.filter((f) => f.kind !== 'image-unpinned');

/** The one stack's status; its findings without image-unpinned unless `keepUnpinned`. */
function one(stack: DesiredStack, containers: LiveContainer[], extra: Partial<DriftInput> = {}, keepUnpinned = false) {
  const result = computeDrift({ desired: desiredState([stack]), live: inventory(containers), ...extra });
  expect(result.stacks).toHaveLength(1);
  const status = result.stacks[0]!;
  const findings = keepUnpinned ? status.findings : withoutUnpinned(status.findings);
  return { status: { ...status, findings }, unmanaged: result.unmanaged };
}

describe('service set and counts', () => {
  it('in sync: Synced, Healthy, no findings, target revision set', () => {
    const { status, unmanaged } = one(desiredStack(), [liveContainer()]);
    expect(status).toEqual({ stack: 'shop', sync: 'Synced', health: 'Healthy', findings: [], targetRevision: COMMIT });
    expect(unmanaged).toEqual([]);
  });

  it('stack-missing: declared, no container', () => {
    const { status } = one(desiredStack(), []);
    expect(kinds(status.findings)).toEqual(['stack-missing']);
    expect(status.findings[0]).toMatchObject({ severity: 'error', desired: { containers: 1 }, live: { containers: 0 } });
    expect([status.sync, status.health]).toEqual(['OutOfSync', 'Missing']);
  });

  it('no container and none wanted (replicas 0) is fine', () => {
    const { status } = one(desiredStack({ services: [desiredService({ replicas: 0 })] }), []);
    expect(status.findings).toEqual([]);
    expect([status.sync, status.health]).toEqual(['Synced', 'Healthy']);
  });

  it('service-missing: one of two services has no container', () => {
    const stack = desiredStack({ services: [desiredService(), desiredService({ name: 'worker' })] });
    const { status } = one(stack, [liveContainer()]);
    expect(kinds(status.findings)).toEqual(['service-missing']);
    expect(status.findings[0]).toMatchObject({ service: 'worker', severity: 'error' });
    expect([status.sync, status.health]).toEqual(['OutOfSync', 'Missing']);
  });

  it('service-extra: a container of the project whose service the repo does not have', () => {
    const { status } = one(desiredStack(), [liveContainer(), liveContainer({ service: 'legacy', name: 'shop_legacy_1' })]);
    expect(kinds(status.findings)).toEqual(['service-extra']);
    expect(status.findings[0]).toMatchObject({ service: 'legacy', severity: 'warning', live: { containers: ['shop_legacy_1'] } });
    expect(status.sync).toBe('OutOfSync');
  });

  it('service-extra without a service label', () => {
    const c = liveContainer({ name: 'odd' });
    delete c.service;
    const { status } = one(desiredStack(), [liveContainer(), c]);
    expect(kinds(status.findings)).toEqual(['service-extra']);
    expect(status.findings[0]?.service).toBeUndefined();
  });

  it.each([
    [1, 2],
    [2, 1],
    [3, 1],
  ])('replicas-mismatch: wants %i, runs %i', (want, run) => {
    const stack = desiredStack({ services: [desiredService({ replicas: want })] });
    const containers = Array.from({ length: run }, (_, i) => liveContainer({ name: `shop_web_${i + 1}`, number: i + 1 }));
    const { status } = one(stack, containers);
    expect(kinds(status.findings)).toEqual(['replicas-mismatch']);
    expect(status.findings[0]).toMatchObject({ desired: { replicas: want }, live: { replicas: run } });
    expect(status.sync).toBe('OutOfSync');
  });

  it('`compose run` one-off containers are not replicas', () => {
    const oneoff = liveContainer({ name: 'shop_web_run_1', labels: { ...liveContainer().labels, 'com.docker.compose.oneoff': 'True' }, state: 'exited', exitCode: 1 });
    const { status } = one(desiredStack(), [liveContainer(), oneoff]);
    expect(status.findings).toEqual([]);
  });
});

describe('health axis', () => {
  const cases: { name: string; c: Partial<LiveContainer>; kind?: string; severity?: string; health: string; oneShot?: boolean }[] = [
    { name: 'running, healthy', c: {}, health: 'Healthy' },
    { name: 'running, no health check', c: { health: 'none' }, health: 'Healthy' },
    { name: 'running, health starting', c: { health: 'starting' }, health: 'Progressing' },
    { name: 'running, unhealthy', c: { health: 'unhealthy' }, kind: 'container-unhealthy', severity: 'error', health: 'Degraded' },
    { name: 'exited 1', c: { state: 'exited', exitCode: 1, health: 'none' }, kind: 'container-not-running', severity: 'error', health: 'Degraded' },
    { name: 'exited 0 (stopped)', c: { state: 'exited', exitCode: 0, health: 'none' }, kind: 'container-not-running', severity: 'error', health: 'Degraded' },
    { name: 'one-shot job exited 0', c: { state: 'exited', exitCode: 0, health: 'none' }, health: 'Healthy', oneShot: true },
    { name: 'one-shot job exited 2', c: { state: 'exited', exitCode: 2, health: 'none' }, kind: 'container-not-running', severity: 'error', health: 'Degraded', oneShot: true },
    { name: 'dead', c: { state: 'dead', health: 'none' }, kind: 'container-not-running', severity: 'error', health: 'Degraded' },
    { name: 'restarting', c: { state: 'restarting', restartCount: 7, health: 'none' }, kind: 'container-not-running', severity: 'warning', health: 'Progressing' },
    { name: 'paused', c: { state: 'paused' }, kind: 'container-not-running', severity: 'warning', health: 'Degraded' },
    { name: 'created, never started', c: { state: 'created', health: 'none' }, kind: 'container-not-running', severity: 'warning', health: 'Progressing' },
  ];

  it.each(cases)('$name → $health', ({ c, kind, severity, health, oneShot }) => {
    const services = oneShot
      ? [desiredService({ name: 'web' }), desiredService({ name: 'app', raw: { depends_on: { web: { condition: 'service_completed_successfully' } } } })]
      : [desiredService()];
    const containers = [liveContainer(c), ...(oneShot ? [liveContainer({ service: 'app', name: 'shop_app_1' })] : [])];
    const { status } = one(desiredStack({ services }), containers);
    expect(status.health).toBe(health);
    expect(kinds(status.findings)).toEqual(kind ? [kind] : []);
    if (kind) expect(status.findings[0]).toMatchObject({ severity, service: 'web' });
    // Health findings do not move the sync axis.
    expect(status.sync).toBe('Synced');
  });

  it('the worst container wins: Degraded over Missing over Progressing', () => {
    const stack = desiredStack({ services: [desiredService(), desiredService({ name: 'worker' }), desiredService({ name: 'db' })] });
    const starting = liveContainer({ service: 'db', name: 'shop_db_1', health: 'starting' });
    expect(one(stack, [liveContainer(), starting]).status.health).toBe('Missing');
    const unhealthy = liveContainer({ service: 'db', name: 'shop_db_1', health: 'unhealthy' });
    expect(one(stack, [liveContainer(), unhealthy]).status.health).toBe('Degraded');
    const all = [liveContainer(), liveContainer({ service: 'worker', name: 'w' }), starting];
    expect(one(stack, all).status.health).toBe('Progressing');
  });
});

describe('image-unpinned and lock-stale', () => {
  const lock = (images: Record<string, { digest: string }>, composeSha256 = 'compose-sha') => ({ version: 1 as const, stack: 'shop', composeSha256, images });
  const digest = `sha256:${'d'.repeat(64)}`;

  // docs/design.md §3: no lock entry (a missing lock file included), or a `:latest` / tagless reference even when locked.
  it.each([
    ['a tagged image, no lock file at all', { image: 'nginx:1.27' }, undefined, ['is not locked (no locks/shop.lock.json)']],
    [':latest', { image: 'nginx:latest' }, undefined, ['is not locked', 'floating tag :latest']],
    ['no tag', { image: 'nginx' }, undefined, ['is not locked', 'has no tag']],
    ['a digest in the compose file', { image: `nginx@${digest}` }, undefined, []],
    ['pinned by the lock', { image: 'nginx:1.27', pinnedImage: `nginx:1.27@${digest}` }, lock({ 'nginx:1.27': { digest } }), []],
    [':latest pinned by the lock', { image: 'nginx:latest', pinnedImage: `nginx:latest@${digest}` }, lock({ 'nginx:latest': { digest } }), ['floating tag :latest']],
    ['a lock without an entry for the image', { image: 'nginx:1.27' }, lock({}), ['has no entry in locks/shop.lock.json']],
  ])('%s', (_name, svc: { image: string; pinnedImage?: string }, lockFile, reasons: string[]) => {
    const stack = desiredStack({ services: [desiredService(svc)], ...(lockFile ? { lock: lockFile } : {}) });
    const image = svc.pinnedImage ?? svc.image;
    const { status } = one(stack, [liveContainer({ image })], {}, true);
    expect(kinds(status.findings)).toEqual(reasons.length ? ['image-unpinned'] : []);
    expect(status.sync).toBe('Synced');
    if (!reasons.length) return;
    const [f] = status.findings;
    expect(f).toMatchObject({ stack: 'shop', service: 'web', severity: 'warning', field: 'image', desired: svc.image });
    expect(f).not.toHaveProperty('live');
    for (const reason of reasons) expect(f?.message).toContain(reason);
  });

  it('lock-stale: the lock was written for other compose inputs', () => {
    const stack = desiredStack({ services: [desiredService({ pinnedImage: `127.0.0.1:5000/driftd/app:1.0@${digest}` })], lock: lock({ '127.0.0.1:5000/driftd/app:1.0': { digest } }, 'older') });
    const { status } = one(stack, [liveContainer()]);
    expect(kinds(status.findings)).toEqual(['lock-stale']);
    expect(status.findings[0]).toMatchObject({ severity: 'warning', desired: 'compose-sha', live: 'older' });
    expect(status.findings[0]?.message).toContain('locks/shop.lock.json');
    expect(status.sync).toBe('Synced');
  });

  it('injected image checks join the stack; image-drift moves the sync axis', () => {
    const drift: Finding = { kind: 'image-drift', stack: 'shop', service: 'web', severity: 'error', message: 'digest differs' };
    const outdated: Finding = { kind: 'image-outdated', stack: 'shop', service: 'web', severity: 'info', message: 'registry moved' };
    expect(one(desiredStack(), [liveContainer()], { imageChecks: { shop: [outdated] } }).status).toMatchObject({ sync: 'Synced', findings: [outdated] });
    expect(one(desiredStack(), [liveContainer()], { imageChecks: { shop: [drift], other: [outdated] } }).status).toMatchObject({ sync: 'OutOfSync', findings: [drift] });
  });
});

describe('revision-behind', () => {
  const deployed = { shop: { revision: OLD_COMMIT, ref: 'v1.0.0' } };

  it('one finding with the diff of the changed file only', () => {
    const changes = { shop: [{ path: 'stacks/shop/conf/app.conf', oldContent: 'a=1\nb=2\n', newContent: 'a=1\nb=3\n' }] };
    const { status } = one(desiredStack(), [liveContainer()], { deployed, revisionChanges: changes });
    expect(kinds(status.findings)).toEqual(['revision-behind']);
    const f = status.findings[0]!;
    expect(f).toMatchObject({ severity: 'warning', desired: { revision: COMMIT, ref: 'v1.1.0' }, live: { revision: OLD_COMMIT, ref: 'v1.0.0' } });
    expect(f.message).toContain('stacks/shop/conf/app.conf');
    expect(f.diff).toContain('--- a/stacks/shop/conf/app.conf');
    expect(f.diff).toContain('+++ b/stacks/shop/conf/app.conf');
    expect(f.diff).toContain('-b=2');
    expect(f.diff).toContain('+b=3');
    expect(f.diff).not.toContain('===');
    expect([status.sync, status.deployedRevision, status.targetRevision]).toEqual(['OutOfSync', OLD_COMMIT, COMMIT]);
  });

  it('added and deleted files diff against /dev/null', () => {
    const changes = { shop: [{ path: 'stacks/shop/new.txt', newContent: 'x\n' }, { path: 'stacks/shop/old.txt', oldContent: 'y\n' }] };
    const f = one(desiredStack(), [liveContainer()], { deployed, revisionChanges: changes }).status.findings[0]!;
    expect(f.diff).toContain('--- /dev/null\tbbbbbbbbbbbb\n+++ b/stacks/shop/new.txt\tcccccccccccc');
    expect(f.diff).toContain('--- a/stacks/shop/old.txt');
    expect(f.diff).toContain('+++ /dev/null\tcccccccccccc');
  });

  it('no finding when none of the stack inputs changed, or the revision is the target', () => {
    expect(one(desiredStack(), [liveContainer()], { deployed, revisionChanges: { shop: [] } }).status.findings).toEqual([]);
    expect(one(desiredStack(), [liveContainer()], { deployed: { shop: { revision: COMMIT } } }).status.findings).toEqual([]);
    expect(one(desiredStack(), [liveContainer()]).status.findings).toEqual([]);
  });

  it('without the changed files: a finding without a diff', () => {
    const f = one(desiredStack(), [liveContainer()], { deployed }).status.findings[0]!;
    expect(f.kind).toBe('revision-behind');
    expect(f.diff).toBeUndefined();
  });

  it('the deployed revision comes from io.driftd labels when there is no state DB', () => {
    const labels = { ...liveContainer().labels, 'io.driftd.revision': OLD_COMMIT, 'io.driftd.ref': 'v1.0.0' };
    const { status } = one(desiredStack(), [liveContainer({ labels })], { revisionChanges: { shop: [{ path: 'stacks/shop/compose.yaml', oldContent: 'a\n', newContent: 'b\n' }] } });
    expect(status.deployedRevision).toBe(OLD_COMMIT);
    expect(status.findings[0]).toMatchObject({ kind: 'revision-behind', live: { revision: OLD_COMMIT, ref: 'v1.0.0' } });
  });

  it('redacts secrets in env files, .env, secret files and compose files before diffing', () => {
    const stack = desiredStack({ model: { volumes: { data: {} }, secrets: { db_pw: { file: './db_pw.txt' } } } });
    const changes = {
      shop: [
        { path: 'stacks/shop/app.env', oldContent: `FROM_FILE=${ENV_FILE_SECRET}\nPLAIN=old-visible\n`, newContent: 'FROM_FILE=rotated-file-secret\nPLAIN=old-visible\n' },
        { path: 'stacks/shop/.env', oldContent: `TAG=1.0\nDB_PASSWORD=${SECRET}\n`, newContent: 'TAG=1.1\nDB_PASSWORD=rotated-dotenv-secret\n' },
        { path: 'stacks/shop/db_pw.txt', oldContent: 'old-secret-file-content\n', newContent: 'new-secret-file-content\n' },
        {
          path: 'stacks/shop/compose.yaml',
          oldContent: `services:\n  web:\n    environment:\n      API_TOKEN: inline-token-old\n      - OTHER_SECRET=list-secret-old\n      MODE: ${SECRET}\n`,
          newContent: 'services:\n  web:\n    environment:\n      API_TOKEN: inline-token-new\n      - OTHER_SECRET=list-secret-new\n      MODE: prod\n',
        },
        { path: 'stacks/shop/conf/extra.env', oldContent: 'ANYTHING=value-in-env-named-file\n', newContent: 'ANYTHING=changed-in-env-named-file\n' },
      ],
    };
    const f = one(stack, [liveContainer()], { deployed, revisionChanges: changes }).status.findings[0]!;
    const text = JSON.stringify(f);
    for (const secret of [
      ENV_FILE_SECRET,
      'rotated-file-secret',
      SECRET,
      'rotated-dotenv-secret',
      'old-secret-file-content',
      'new-secret-file-content',
      'inline-token-old',
      'inline-token-new',
      'list-secret-old',
      'list-secret-new',
      'value-in-env-named-file',
      'changed-in-env-named-file',
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    // Non-secret lines stay readable, and changed secrets stay visible as changed hashes.
    expect(f.diff).toContain('-TAG=1.0');
    expect(f.diff).toContain('+TAG=1.1');
    expect(f.diff).toMatch(/\n-DB_PASSWORD=sha256:[0-9a-f]{12}\n/);
    expect(f.diff).toMatch(/\n\+DB_PASSWORD=sha256:[0-9a-f]{12}\n/);
    expect(f.diff).toContain(' PLAIN=sha256:'); // env_file: every value is secret
    expect(f.diff).toContain('+      MODE: prod');
  });
});

describe('load errors, filters and unmanaged projects', () => {
  it('a stack that failed to load is Unknown with the reason; its containers still give health', () => {
    const desired = desiredState([desiredStack({ name: 'ok' })], {
      errors: [{ stack: 'shop', file: 'stacks/shop/compose.yaml', line: 3, code: 'YamlError', message: 'bad indentation' }],
      allStackNames: ['ok', 'shop'],
    });
    const okContainer = liveContainer({ project: 'ok', name: 'ok_web_1', config: undefined });
    const result = computeDrift({ desired, live: inventory([okContainer, liveContainer({ health: 'unhealthy' })]) });
    expect(result.stacks.map((s) => [s.stack, s.sync, s.health])).toEqual([
      ['ok', 'Synced', 'Healthy'],
      ['shop', 'Unknown', 'Degraded'],
    ]);
    expect(result.stacks[1]).toMatchObject({ reason: 'stacks/shop/compose.yaml:3: bad indentation', targetRevision: COMMIT });
    expect(kinds(result.stacks[1]!.findings)).toEqual(['container-unhealthy']);
    expect(result.unmanaged).toEqual([]);
  });

  it('a failed stack with no container: health Unknown; several errors joined', () => {
    const desired = desiredState([], {
      errors: [
        { stack: 'shop', code: 'SchemaError', message: 'services.web.image: required' },
        { stack: 'shop', file: 'stacks/shop/.env', code: 'InterpolationError', message: 'FOO is not set' },
      ],
      allStackNames: ['shop'],
    });
    const [s] = computeDrift({ desired, live: inventory([]) }).stacks;
    expect(s).toMatchObject({ sync: 'Unknown', health: 'Unknown', reason: 'services.web.image: required; stacks/shop/.env: FOO is not set', findings: [] });
  });

  it('--stack filter: only those stacks, unmanaged limited to them', () => {
    const a = desiredStack({ name: 'a' });
    const b = desiredStack({ name: 'b' });
    const stray = liveContainer({ project: 'stray', name: 'stray_x_1' });
    const plain = liveContainer({ name: 'registry' });
    delete plain.project;
    const live = inventory([stray, plain]);
    const all = computeDrift({ desired: desiredState([a, b]), live });
    expect(all.stacks.map((s) => s.stack)).toEqual(['a', 'b']);
    expect(all.unmanaged.map((f) => f.stack)).toEqual(['stray', 'container:registry']);
    const onlyA = computeDrift({ desired: desiredState([a, b]), live, stacks: ['a'] });
    expect(onlyA.stacks.map((s) => s.stack)).toEqual(['a']);
    expect(onlyA.unmanaged).toEqual([]);
    const onlyStray = computeDrift({ desired: desiredState([a, b]), live, stacks: ['stray'] });
    expect(onlyStray.stacks).toEqual([]);
    expect(onlyStray.unmanaged.map((f) => f.stack)).toEqual(['stray']);
  });

  it.each([
    ['not declared anywhere', {}, [], 'warning', 'does not declare it'],
    ['declared for another host', { allStackNames: ['shop', 'stray'] }, [], 'warning', 'another host'],
    ['deployed by driftd earlier (state DB)', {}, ['stray'], 'info', 'prune is off'],
  ])('stack-unmanaged: %s', (_name, over, knownStacks, severity, text) => {
    const stray = liveContainer({ project: 'stray', name: 'stray_x_1' });
    const result = computeDrift({ desired: desiredState([desiredStack()], over), live: inventory([liveContainer(), stray]), knownStacks });
    expect(withoutUnpinned(result.stacks[0]!.findings)).toEqual([]);
    expect(result.unmanaged).toHaveLength(1);
    expect(result.unmanaged[0]).toMatchObject({ kind: 'stack-unmanaged', stack: 'stray', severity, live: { containers: ['stray_x_1'] } });
    expect(result.unmanaged[0]?.message).toContain(text);
  });

  it('stack-unmanaged: driftd labels mark a project driftd deployed', () => {
    const stray = liveContainer({ project: 'stray', name: 'stray_x_1', labels: { ...liveContainer().labels, 'io.driftd.stack': 'stray' } });
    const result = computeDrift({ desired: desiredState([]), live: inventory([stray]) });
    expect(result.unmanaged[0]?.severity).toBe('info');
  });

  it('the agent itself (io.driftd.agent=true) is no unmanaged finding, as a project or as a plain container', () => {
    const agentLabels = { ...liveContainer().labels, 'io.driftd.agent': 'true' };
    const agent = liveContainer({ project: 'driftd', service: 'driftd', name: 'driftd-driftd-1', labels: agentLabels });
    const plain = liveContainer({ name: 'driftd-run', labels: agentLabels });
    delete plain.project;
    const notAgent = liveContainer({ project: 'stray', name: 'stray_x_1', labels: { ...agentLabels, 'io.driftd.agent': 'yes' } });
    const result = computeDrift({ desired: desiredState([]), live: inventory([agent, plain, notAgent]) });
    expect(result.unmanaged.map((f) => f.stack)).toEqual(['stray']);
  });

  it('a plain container outside any project is info', () => {
    const plain = liveContainer({ name: 'registry', image: 'registry:2' });
    delete plain.project;
    const result = computeDrift({ desired: desiredState([]), live: inventory([plain]) });
    expect(result.unmanaged).toEqual([
      {
        kind: 'stack-unmanaged',
        stack: 'container:registry',
        severity: 'info',
        message: 'container registry (registry:2) runs outside any Compose project',
        live: { container: 'registry', image: 'registry:2', state: 'running' },
      },
    ]);
  });

  it('is deterministic and does not mutate its input', () => {
    const input: DriftInput = { desired: desiredState([desiredStack()]), live: inventory([liveContainer({ health: 'unhealthy' }, { privileged: true })]) };
    const before = JSON.stringify(input);
    const first = computeDrift(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(computeDrift(input)).toEqual(first);
  });
});

describe('no secret anywhere in the result', () => {
  it('a stack with every kind of drift and planted secrets', () => {
    const stack = desiredStack({
      services: [desiredService(), desiredService({ name: 'worker', image: 'busybox' })],
      lock: { version: 1, stack: 'shop', composeSha256: 'older', images: {} },
    });
    const web = liveContainer(
      { health: 'unhealthy', labels: { ...liveContainer().labels, note: SECRET } },
      {
        env: { PATH: '/x', DB_PASSWORD: 'live-secret-1', FROM_FILE: 'live-secret-2', MODE: SECRET },
        command: ['run', ENV_FILE_SECRET],
        privileged: true,
      },
    );
    const extra = liveContainer({ service: 'old', name: `shop_old_1` });
    const result = computeDrift({
      desired: desiredState([stack]),
      live: inventory([web, extra]),
      deployed: { shop: { revision: OLD_COMMIT } },
      revisionChanges: { shop: [{ path: 'stacks/shop/app.env', oldContent: `FROM_FILE=${ENV_FILE_SECRET}\n`, newContent: 'FROM_FILE=x-new-file-secret\n' }] },
    });
    const text = JSON.stringify(result);
    expect(new Set(kinds(result.stacks[0]!.findings))).toEqual(
      new Set(['revision-behind', 'service-missing', 'config-drift', 'container-unhealthy', 'service-extra', 'image-unpinned', 'lock-stale']),
    );
    for (const secret of [SECRET, ENV_FILE_SECRET, 'live-secret-1', 'live-secret-2', 'x-new-file-secret']) expect(text).not.toContain(secret);
  });
});
