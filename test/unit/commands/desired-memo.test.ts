import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesiredMemo, type DesiredMemoInputs } from '../../../src/commands/desired-memo.js';
import type { DesiredStack } from '../../../src/compose/model.js';
import { loadTarget } from '../../../src/commands/target.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { createLogger } from '../../../src/util/logger.js';
import { RepoBuilder } from '../../support/repo-builder.js';

const COMMIT = 'a'.repeat(40);

describe('DesiredMemo.key', () => {
  let envDir: string;
  const memo = new DesiredMemo();
  const inputs = (): DesiredMemoInputs => ({ commit: COMMIT, host: 'h', envDir, allowProcessEnv: false, maxFileBytes: 1000 });

  beforeAll(() => {
    envDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-memo-env-'));
    writeFileSync(path.join(envDir, 'web.env'), 'A=1\n');
  });
  afterAll(() => rmSync(envDir, { recursive: true, force: true }));

  it('is stable for the same inputs, whatever the order of --stack', () => {
    expect(memo.key(inputs())).toBe(memo.key(inputs()));
    expect(memo.key({ ...inputs(), stacks: ['b', 'a'] })).toBe(memo.key({ ...inputs(), stacks: ['a', 'b'] }));
  });

  it.each<[string, (i: DesiredMemoInputs) => DesiredMemoInputs]>([
    ['another commit', (i) => ({ ...i, commit: 'b'.repeat(40) })],
    ['another host', (i) => ({ ...i, host: 'other' })],
    ['a --stack filter', (i) => ({ ...i, stacks: ['web'] })],
    ['another size limit', (i) => ({ ...i, maxFileBytes: 2000 })],
    ['process env allowed', (i) => ({ ...i, allowProcessEnv: true })],
  ])('changes with %s', (_what, change) => {
    expect(memo.key(change(inputs()))).not.toBe(memo.key(inputs()));
  });

  it('changes when a host-local env file is rewritten, added or removed', () => {
    const file = path.join(envDir, 'web.env');
    const before = memo.key(inputs());
    writeFileSync(file, 'A=2\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const rewritten = memo.key(inputs());
    expect(rewritten).not.toBe(before);
    writeFileSync(path.join(envDir, 'db.env'), 'B=1\n');
    const added = memo.key(inputs());
    expect(added).not.toBe(rewritten);
    rmSync(path.join(envDir, 'db.env'));
    expect(memo.key(inputs())).toBe(rewritten);
  });

  it('reads the process environment only when compose files may use it', () => {
    expect(memo.key(inputs(), { X: '1' })).toBe(memo.key(inputs(), { X: '2' }));
    const allowed = { ...inputs(), allowProcessEnv: true };
    expect(memo.key(allowed, { X: '1' })).not.toBe(memo.key(allowed, { X: '2' }));
  });

  it('a missing env dir is a key like any other', () => {
    expect(memo.key({ ...inputs(), envDir: path.join(envDir, 'absent') })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('remembers one state only', () => {
    const m = new DesiredMemo();
    const a = { stacks: [], errors: [] } as never;
    const b = { stacks: [], errors: [] } as never;
    m.set('k1', a);
    expect(m.get('k1')).toBe(a);
    m.set('k2', b);
    expect(m.get('k1')).toBeUndefined();
    expect(m.get('k2')).toBe(b);
  });
});

describe('loadTarget with a memo (the agent between polls)', () => {
  let repo: RepoBuilder;
  let dataDir: string;
  let envDir: string;
  const logger = createLogger({ level: 'silent' });

  beforeAll(async () => {
    repo = await RepoBuilder.create();
    repo.writeStack('web', { 'compose.yaml': 'services:\n  web:\n    image: nginx:1.27\n    environment:\n      GREETING: ${GREETING:-none}\n' });
    await repo.commit('web');
    await repo.tag('v1.0.0');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-memo-data-'));
    envDir = path.join(dataDir, 'env');
    mkdirSync(envDir);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const config = () => resolveConfig({ flags: { repo: repo.dir, dataDir, host: 'h', config: '/dev/null' }, env: {} });
  const greeting = (t: Awaited<ReturnType<typeof loadTarget>>): string | undefined => t.desired.stacks[0]?.services[0]?.environment.GREETING;

  it('the same commit and host inputs: the same loaded state, not a new load', async () => {
    const memo = new DesiredMemo();
    const first = await loadTarget({ config: config(), logger, memo });
    const second = await loadTarget({ config: config(), logger, memo });
    expect(second.desired.stacks[0]).toBe(first.desired.stacks[0]);
    expect(greeting(second)).toBe('none');
    // Without a memo every call loads afresh.
    expect((await loadTarget({ config: config(), logger })).desired.stacks[0]).not.toBe(first.desired.stacks[0]);
  });

  it('a host-local env file written between polls is picked up', async () => {
    const memo = new DesiredMemo();
    expect(greeting(await loadTarget({ config: config(), logger, memo }))).toBe('none');
    writeFileSync(path.join(envDir, 'web.env'), 'GREETING=hello\n');
    expect(greeting(await loadTarget({ config: config(), logger, memo }))).toBe('hello');
  });

  it('a new commit is loaded afresh', async () => {
    const memo = new DesiredMemo();
    const first = await loadTarget({ config: config(), logger, memo });
    repo.writeStack('web', { 'compose.yaml': 'services:\n  web:\n    image: nginx:1.28\n' });
    await repo.commit('web 1.28');
    await repo.tag('v1.1.0');
    const second = await loadTarget({ config: config(), logger, memo });
    expect(second.revision.commit).not.toBe(first.revision.commit);
    expect(second.desired.stacks[0]?.services[0]?.image).toBe('nginx:1.28');
  });
});

describe('loadTarget with a memo at a new commit: only the stacks whose inputs changed are loaded again', () => {
  let repo: RepoBuilder;
  let dataDir: string;
  let envDir: string;
  const logger = createLogger({ level: 'silent' });
  const D = `sha256:${'b'.repeat(64)}`;
  let tag = 0;

  const compose = (image: string): string => `services:\n  app:\n    image: ${image}\n    environment:\n      LEVEL: \${LEVEL:-0}\n`;
  const release = async (): Promise<void> => {
    await repo.commit(`release ${++tag}`);
    await repo.tag(`v2.0.${tag}`);
  };
  const config = () => resolveConfig({ flags: { repo: repo.dir, dataDir, host: 'h', config: '/dev/null' }, env: {} });
  const byName = (t: Awaited<ReturnType<typeof loadTarget>>): Record<string, DesiredStack> => Object.fromEntries(t.desired.stacks.map((s) => [s.name, s]));

  beforeAll(async () => {
    repo = await RepoBuilder.create();
    repo.writeStack('a', { 'compose.yaml': compose('nginx:1.27') }).writeStack('b', { 'compose.yaml': compose('redis:7') });
    await release();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-memo-stacks-'));
    envDir = path.join(dataDir, 'env');
    mkdirSync(envDir);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each<[string, () => void, string]>([
    ['a change in its folder', () => repo.writeStack('b', { 'compose.yaml': compose('redis:7.2') }), 'redis:7.2'],
    ['its lock file', () => repo.writeLock('b', { version: 1, stack: 'b', composeSha256: 'c'.repeat(64), images: { 'redis:7.2': { digest: D } } }), `redis:7.2@${D}`],
    ['its fleet policy', () => repo.writeFleet('stacks:\n  b:\n    healthTimeout: 33s\n'), `redis:7.2@${D}`],
  ])('b is loaded again after %s, a is reused', async (_what, edit, image) => {
    const memo = new DesiredMemo();
    const before = byName(await loadTarget({ config: config(), logger, memo }));
    edit();
    await release();
    const t = await loadTarget({ config: config(), logger, memo });
    expect(t.desired.errors).toEqual([]);
    const after = byName(t);
    expect(after.a).toBe(before.a);
    expect(after.b).not.toBe(before.b);
    expect(after.b?.services[0]?.pinnedImage ?? after.b?.services[0]?.image).toBe(image);
  });

  it('a host-local env file of b is a reason to load b again, not a', async () => {
    const memo = new DesiredMemo();
    const before = byName(await loadTarget({ config: config(), logger, memo }));
    writeFileSync(path.join(envDir, 'b.env'), 'LEVEL=7\n');
    repo.write('README.md', `release ${tag + 1}\n`);
    await release();
    const after = byName(await loadTarget({ config: config(), logger, memo }));
    expect(after.a).toBe(before.a);
    expect(after.b?.services[0]?.environment.LEVEL).toBe('7');
  });

  it('fleet policy is part of the reused stack: a new healthTimeout shows', async () => {
    const memo = new DesiredMemo();
    await loadTarget({ config: config(), logger, memo });
    repo.writeFleet('stacks:\n  b:\n    healthTimeout: 44s\n');
    await release();
    expect(byName(await loadTarget({ config: config(), logger, memo })).b?.policy.healthTimeoutMs).toBe(44_000);
  });

  it('a snapshot without object ids (older driftd) gives no per-stack memo', () => {
    const inputs = { host: 'h', envDir, allowProcessEnv: false, privateEnvNames: [], maxFileBytes: 1, hostPolicy: {} };
    expect(new DesiredMemo().stackMemo(inputs, { problems: [] })).toBeUndefined();
  });
});
