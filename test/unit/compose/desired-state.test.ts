import { afterAll, describe, expect, it } from 'vitest';
import { loadDesiredState } from '../../../src/compose/load-desired-state.js';
import { parseFleet, stacksForHost } from '../../../src/compose/fleet.js';
import { describeStackLoadError } from '../../../src/compose/errors.js';
import { cleanupTrees, makeTree, type Tree } from './fixture.js';

afterAll(cleanupTrees);

const revision = { commit: 'c0ffee', ref: 'v1.0.0', refKind: 'tag' as const };
const ok = (image = 'x') => `services: {app: {image: "${image}"}}`;
const repo = (stacks: string[], extra: Tree = {}): Tree => ({ ...Object.fromEntries(stacks.map((s) => [`stacks/${s}/compose.yaml`, ok(s)])), ...extra });
const names = (xs: { name: string }[]) => xs.map((x) => x.name);

describe('host selection', () => {
  it('without fleet.yaml every stack goes to every host', async () => {
    const state = await loadDesiredState({ root: makeTree(repo(['b', 'a', 'c'])), host: 'h1', revision });
    expect(names(state.stacks)).toEqual(['a', 'b', 'c']);
    expect(state.errors).toEqual([]);
    expect(state.allStackNames).toEqual(['a', 'b', 'c']);
    expect(state).toMatchObject({ host: 'h1', revision });
  });

  it.each([
    ['web-01', ['app', 'edge', 'monitoring']],
    ['db-01', ['monitoring', 'postgres']],
    ['other', ['monitoring']],
  ])('fleet.yaml: %s runs %j', async (host, expected) => {
    const fleet = 'hosts:\n  web-01: [edge, app]\n  db-01: [postgres]\n  "*": [monitoring]\n';
    const state = await loadDesiredState({ root: makeTree(repo(['edge', 'app', 'postgres', 'monitoring', 'spare'], { 'fleet.yaml': fleet })), host, revision });
    expect(names(state.stacks)).toEqual(expected);
    expect(state.allStackNames).toEqual(['app', 'edge', 'monitoring', 'postgres', 'spare']);
  });

  it('a fleet.yaml with only policies still sends every stack everywhere', async () => {
    const state = await loadDesiredState({ root: makeTree(repo(['a', 'b'], { 'fleet.yaml': 'stacks:\n  a: {sync: manual}\n' })), host: 'h', revision });
    expect(names(state.stacks)).toEqual(['a', 'b']);
    expect(state.stacks[0]?.policy.sync).toBe('manual');
  });

  it('a declared stack that does not exist is an error finding, not a crash', async () => {
    const state = await loadDesiredState({ root: makeTree(repo(['a'], { 'fleet.yaml': 'hosts: {h: [a, ghost]}\n' })), host: 'h', revision });
    expect(names(state.stacks)).toEqual(['a']);
    expect(state.errors).toEqual([{ stack: 'ghost', code: 'NotFound', file: 'fleet.yaml', message: expect.stringContaining('no stacks/ghost/ folder') as unknown }]);
  });

  it('--stack limits the stacks; an undeclared or missing one is an error', async () => {
    const root = makeTree(repo(['a', 'b', 'c'], { 'fleet.yaml': 'hosts: {h: [a, b]}\n' }));
    const state = await loadDesiredState({ root, host: 'h', revision, stacks: ['b', 'c', 'zz'] });
    expect(names(state.stacks)).toEqual(['b']);
    expect(state.errors.map((e) => [e.stack, e.code])).toEqual([
      ['c', 'NotFound'],
      ['zz', 'NotFound'],
    ]);
  });

  it('a root without stacks/ has no stacks; a missing root is an error', async () => {
    expect((await loadDesiredState({ root: makeTree({ 'README.md': 'x' }), host: 'h', revision })).stacks).toEqual([]);
    await expect(loadDesiredState({ root: '/nonexistent/driftd', host: 'h', revision })).rejects.toMatchObject({ code: 'RepoNotFound' });
  });
});

describe('a stack fails alone', () => {
  it('the broken stacks go to errors with file and line, the others load', async () => {
    const root = makeTree(
      repo(['good', 'also-good'], {
        'stacks/broken/compose.yaml': 'services:\n  a:\n    image: x\n    environment:\n      X: "${ foo}"\n',
        'stacks/Invalid_Name/compose.yaml': ok(),
        'stacks/unsafe/compose.yaml': ok(),
        'stacks/unsafe/link': { symlink: '/etc' },
      }),
    );
    const state = await loadDesiredState({ root, host: 'h', revision });
    expect(names(state.stacks)).toEqual(['also-good', 'good']);
    expect(state.errors.map((e) => [e.stack, e.code, e.file, e.line])).toEqual([
      ['Invalid_Name', 'InvalidStackName', 'stacks/Invalid_Name', undefined],
      ['broken', 'InterpolationError', 'stacks/broken/compose.yaml', 5],
      ['unsafe', 'UnsafePath', 'stacks/unsafe/link', undefined],
    ]);
    expect(state.allStackNames).toEqual(['also-good', 'broken', 'good', 'unsafe']);
    expect(state.errors[1]?.message).not.toContain('stacks/broken/compose.yaml:5');
    expect(describeStackLoadError(state.errors[1]!)).toBe(
      'broken: stacks/broken/compose.yaml:5: invalid interpolation format for services.a.environment.X; write a literal $ as $$',
    );
  });
});

describe('fleet.yaml', () => {
  it('applies policy defaults and durations', async () => {
    const fleet = 'stacks:\n  a: {sync: off, prune: true, selfHeal: true, healthTimeout: 90s, rollbackOnFailure: false}\n  b: {healthTimeout: 30}\n';
    const state = await loadDesiredState({ root: makeTree(repo(['a', 'b', 'c'], { 'fleet.yaml': fleet })), host: 'h', revision });
    expect(state.stacks.map((s) => s.policy)).toEqual([
      { sync: 'off', prune: true, selfHeal: true, healthTimeoutMs: 90_000, rollbackOnFailure: false },
      { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 30_000, rollbackOnFailure: true },
      { sync: 'auto', prune: false, selfHeal: false, healthTimeoutMs: 120_000, rollbackOnFailure: true },
    ]);
  });

  it.each([
    ['hosts: {h: [a]}\nstack: {}\n', 'stack: unknown key', 2],
    ['stacks:\n  a:\n    sync: auto\n    selfheal: true\n', 'stacks.a.selfheal: unknown key', 4],
    ['stacks:\n  a:\n    sync: sometimes\n', 'stacks.a.sync: Invalid option', 3],
    ['hosts:\n  h: [Bad]\n', 'must be a stack name', 2],
    ['hosts:\n  h: edge\n', 'hosts.h', 2],
    ['stacks:\n  a: {healthTimeout: soon}\n', 'is not a duration', 2],
    ['hosts: {h: [a], h: [b]}\n', 'duplicate key', 1],
  ])('refuses %j (%s) with the line', async (text, message, line) => {
    const root = makeTree(repo(['a'], { 'fleet.yaml': text }));
    const err = await loadDesiredState({ root, host: 'h', revision }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; data: { file: string; line?: number } },
    );
    expect(err).toBeDefined();
    expect(err?.code).toMatch(/SchemaError|YamlError/);
    expect(err?.data.file).toBe('fleet.yaml');
    expect(err?.data.line).toBe(line);
    expect(err?.message).toContain(message);
  });

  it('stacksForHost merges the host list and "*", deduplicated', () => {
    const fleet = parseFleet('hosts:\n  h: [b, a]\n  "*": [a, c]\n  empty:\n');
    expect(stacksForHost(fleet, 'h')).toEqual(['a', 'b', 'c']);
    expect(stacksForHost(fleet, 'empty')).toEqual(['a', 'c']);
    expect(stacksForHost(parseFleet(''), 'h')).toBeUndefined();
    expect(stacksForHost(undefined, 'h')).toBeUndefined();
  });
});
