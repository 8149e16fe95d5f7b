import { describe, expect, it } from 'vitest';
import { localLookupRef, pullAfterRegistry, pullStep, type LocalImage, type PullCandidate } from '../../../src/sync/pull-decision.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const present: LocalImage = { repoDigests: [`127.0.0.1:5000/driftd/app@${D1}`] };

const candidate = (image: string, pullPolicy?: string): PullCandidate => ({ service: 'web', image, ...(pullPolicy ? { pullPolicy } : {}) });

describe('pullStep: what the local image alone decides', () => {
  it.each([
    ['never, absent', candidate('app:1', 'never'), undefined, 'skip', /pull_policy: never/],
    ['build, absent', candidate('app:1', 'build'), undefined, 'skip', /pull_policy: build/],
    ['NEVER in capitals', candidate('app:1', 'NEVER'), present, 'skip', /never/],
    ['absent, no policy', candidate('app:1'), undefined, 'pull', /not on this host/],
    ['absent, missing', candidate('app:1', 'missing'), undefined, 'pull', /not on this host/],
    ['absent, pinned', candidate(`app:1@${D1}`), undefined, 'pull', /not on this host/],
    ['present, missing', candidate('app:1', 'missing'), present, 'skip', /pull_policy: missing/],
    ['present, if_not_present', candidate('app:1', 'if_not_present'), present, 'skip', /if_not_present/],
    ['present, pinned', candidate(`127.0.0.1:5000/driftd/app:1.0@${D1}`), present, 'skip', /pinned by digest/],
    ['present, pinned, always', candidate(`app@${D2}`, 'always'), { repoDigests: [] }, 'skip', /pinned by digest/],
    ['engine could not say', candidate('app:1', 'missing'), { error: 'Docker API call failed' }, 'pull', /could not be inspected \(Docker API call failed\)/],
    ['engine could not say, never', candidate('app:1', 'never'), { error: 'boom' }, 'skip', /never/],
  ] as const)('%s → %s', (_what, c, local, kind, reason) => {
    const step = pullStep(c, local);
    expect(step.kind).toBe(kind);
    expect('reason' in step ? step.reason : '').toMatch(reason);
  });

  it.each([
    ['no policy', undefined],
    ['always', 'always'],
    ['daily', 'daily'],
    ['weekly', 'weekly'],
    ['every_12h', 'every_12h'],
  ])('a present tag with %s asks the registry', (_what, policy) => {
    expect(pullStep(candidate('127.0.0.1:5000/driftd/app:1.0', policy), present)).toEqual({ kind: 'ask-registry', local: present });
  });
});

describe('pullAfterRegistry: the tag compared with what the local image was pulled or pushed by', () => {
  const c = candidate('127.0.0.1:5000/driftd/app:1.0');
  const local = { repoDigests: [`127.0.0.1:5000/driftd/app@${D1}`] };

  it('the registry names the local digest: no pull', () => {
    expect(pullAfterRegistry(c, local, { digests: [D1] })).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/current/) });
  });

  it('the local image was pulled by the index digest, the registry answers platform + index: no pull', () => {
    expect(pullAfterRegistry(c, { repoDigests: [`127.0.0.1:5000/driftd/app@${D3}`] }, { digests: [D2, D3] }).kind).toBe('skip');
  });

  it('the tag moved: pull', () => {
    expect(pullAfterRegistry(c, local, { digests: [D2] })).toMatchObject({ kind: 'pull', reason: expect.stringMatching(/newer/) });
  });

  it('the same digest under another repository does not count', () => {
    expect(pullAfterRegistry(c, { repoDigests: [`127.0.0.1:5000/driftd/other@${D1}`] }, { digests: [D1] }).kind).toBe('pull');
    expect(pullAfterRegistry(c, { repoDigests: [`localhost:5000/driftd/app@${D1}`] }, { digests: [D1] }).kind).toBe('pull');
  });

  it('Docker Hub names normalize: nginx:1.27 matches docker.io/library/nginx@…', () => {
    expect(pullAfterRegistry(candidate('nginx:1.27'), { repoDigests: [`nginx@${D1}`] }, { digests: [D1] }).kind).toBe('skip');
    expect(pullAfterRegistry(candidate('docker.io/library/nginx:1.27'), { repoDigests: [`nginx@${D1}`] }, { digests: [D1] }).kind).toBe('skip');
  });

  it('no repo digests at all (built here, never pushed): pull', () => {
    expect(pullAfterRegistry(c, { repoDigests: [] }, { digests: [D1] }).kind).toBe('pull');
  });

  it('garbage in RepoDigests is ignored', () => {
    expect(pullAfterRegistry(c, { repoDigests: ['<none>@<none>', `127.0.0.1:5000/driftd/app@${D1}`] }, { digests: [D1] }).kind).toBe('skip');
  });

  it('the registry cannot answer: pull (and the pull reports the failure)', () => {
    expect(pullAfterRegistry(c, local, { error: 'connection refused' })).toEqual({ kind: 'pull', reason: 'the registry could not be asked (connection refused)' });
  });
});

describe('localLookupRef', () => {
  it.each([
    ['nginx:1.27', 'nginx:1.27'],
    [`127.0.0.1:5000/driftd/app:1.0@${D1}`, `127.0.0.1:5000/driftd/app@${D1}`],
    [`nginx@${D1}`, `docker.io/library/nginx@${D1}`],
  ])('%s → %s', (image, expected) => {
    expect(localLookupRef(image)).toBe(expected);
  });
});
