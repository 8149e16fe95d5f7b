import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DesiredMemo, type DesiredMemoInputs } from '../../../src/commands/desired-memo.js';
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
