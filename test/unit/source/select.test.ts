import { describe, expect, it } from 'vitest';
import type { RefPolicy } from '../../../src/config/resolve.js';
import { DriftdError, isDriftdError } from '../../../src/errors/index.js';
import type { RepoRefs } from '../../../src/source/refs.js';
import { rangeAsksForPrerelease, refNameProblem, selectRevision, splitVersionTag, tagVersion, validatePolicy } from '../../../src/source/select.js';

/** A fake commit id derived from a label, so expectations read as names. */
const c = (label: string): string => label.padEnd(40, '0').replace(/[^0-9a-f]/g, 'f').slice(0, 40);

function repo(tags: string[], opts: { head?: string; branches?: Record<string, string>; annotated?: string[] } = {}): RepoRefs {
  return {
    ...(opts.head === undefined ? {} : { head: opts.head }),
    branches: opts.branches ?? {},
    tags: Object.fromEntries(
      tags.map((t) => [t, { object: opts.annotated?.includes(t) ? c(`a${t}`) : c(t), commit: c(t) }]),
    ),
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isDriftdError(e) ? e.code : 'not-a-DriftdError';
  }
}

const WHERE = 'http://git.example/desired.git';

describe('selectRevision: semver ranges', () => {
  const cases: { name: string; tags: string[]; range: string; prefix: string; want: string }[] = [
    { name: 'highest in range, v prefix', tags: ['v1.0.0', 'v1.2.0', 'v1.10.0', 'v2.0.0'], range: '>=1.0.0 <2', prefix: 'v', want: 'v1.10.0' },
    { name: 'numeric, not lexical, order', tags: ['v1.9.0', 'v1.10.0', 'v1.2.0'], range: '*', prefix: 'v', want: 'v1.10.0' },
    { name: 'no prefix', tags: ['1.0.0', '1.1.0', 'v9.0.0'], range: '^1', prefix: '', want: '1.1.0' },
    { name: 'no prefix ignores v-tags', tags: ['1.0.0', 'v1.5.0'], range: '^1', prefix: '', want: '1.0.0' },
    { name: '"main" prefix', tags: ['main1.0.1', 'main1.0.2', 'v5.0.0', 'dev1.9.9'], range: '1.0.x', prefix: 'main', want: 'main1.0.2' },
    { name: 'prefix with slash', tags: ['release/1.0.0', 'release/1.3.0', '1.9.0'], range: '>=1', prefix: 'release/', want: 'release/1.3.0' },
    { name: 'non-semver tags ignored', tags: ['v1.0', 'v1', 'latest', 'v01.2.3', 'v1.2.3.4', 'vv1.2.3', 'v1.1.0'], range: '*', prefix: 'v', want: 'v1.1.0' },
    { name: 'prefix must match exactly', tags: ['main-1.0.0', 'main1.0.0'], range: '*', prefix: 'main', want: 'main1.0.0' },
    { name: 'pre-releases skipped by default', tags: ['v1.0.0', 'v1.1.0-rc.1', 'v2.0.0-beta'], range: '>=1', prefix: 'v', want: 'v1.0.0' },
    { name: 'range with a pre-release includes them', tags: ['v1.0.0', 'v1.1.0-rc.1', 'v1.1.0-rc.2'], range: '>=1.1.0-rc.0', prefix: 'v', want: 'v1.1.0-rc.2' },
    { name: 'pre-release range reaches other x.y.z', tags: ['v1.0.0', 'v1.2.0-beta.1'], range: '>=1.0.0-0 <2', prefix: 'v', want: 'v1.2.0-beta.1' },
    { name: 'release beats its own pre-release', tags: ['v1.1.0-rc.1', 'v1.1.0'], range: '>=1.1.0-rc.0', prefix: 'v', want: 'v1.1.0' },
    { name: 'build metadata accepted', tags: ['v1.0.0+build.1', 'v0.9.0'], range: '*', prefix: 'v', want: 'v1.0.0+build.1' },
    { name: 'tilde range', tags: ['v1.4.0', 'v1.4.9', 'v1.5.0'], range: '~1.4', prefix: 'v', want: 'v1.4.9' },
    { name: 'exact version as range', tags: ['v1.4.0', 'v1.4.9'], range: '1.4.0', prefix: 'v', want: 'v1.4.0' },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const s = selectRevision(repo(t.tags), { kind: 'semver', range: t.range, prefix: t.prefix }, WHERE);
      expect(s).toEqual({ commit: c(t.want), ref: t.want, refKind: 'tag', fullRef: `refs/tags/${t.want}` });
    });
  }

  it('equal versions pick the same tag whatever the listing order', () => {
    const a = selectRevision(repo(['v1.0.0+b', 'v1.0.0+a']), { kind: 'semver', range: '*', prefix: 'v' }, WHERE);
    const b = selectRevision(repo(['v1.0.0+a', 'v1.0.0+b']), { kind: 'semver', range: '*', prefix: 'v' }, WHERE);
    expect(a.ref).toBe(b.ref);
  });

  it('no matching tag: GitRefNotFound naming range and prefix', () => {
    const p: RefPolicy = { kind: 'semver', range: '>=3', prefix: 'v' };
    expect(codeOf(() => selectRevision(repo(['v1.0.0', 'v2.0.0']), p, WHERE))).toBe('GitRefNotFound');
    expect(() => selectRevision(repo([]), p, WHERE)).toThrow(/no tag with prefix "v" in .* matches semver range ">=3"/);
  });

  it('invalid range: InvalidRef', () => {
    expect(codeOf(() => selectRevision(repo(['v1.0.0']), { kind: 'semver', range: 'not a range!', prefix: 'v' }, WHERE))).toBe('InvalidRef');
  });

  it('invalid prefix: InvalidRef', () => {
    expect(codeOf(() => selectRevision(repo(['v1.0.0']), { kind: 'semver', range: '*', prefix: 'a b' }, WHERE))).toBe('InvalidRef');
  });
});

describe('selectRevision: semver with no prefix set accepts an optional leading "v"', () => {
  // prefix undefined = no --tag-prefix; a set prefix ('' included) keeps its exact meaning.
  const cases: { name: string; tags: string[]; range: string; prefix?: string; want: string }[] = [
    { name: 'v-tags match a plain range (the issue\'s case)', tags: ['v1.0.0', 'v1.1.0'], range: '>=1.0.0', want: 'v1.1.0' },
    { name: 'bare tags still match', tags: ['1.0.0', '1.2.0'], range: '^1', want: '1.2.0' },
    { name: 'bare and v-tags mixed: the highest version wins', tags: ['1.0.0', 'v1.5.0', '1.4.0'], range: '^1', want: 'v1.5.0' },
    { name: 'same version bare and with v: the v-tag, whatever the order', tags: ['v1.0.0', '1.0.0'], range: '*', want: 'v1.0.0' },
    { name: 'range bounds apply to v-tags', tags: ['v1.0.0', 'v2.0.0', 'v1.9.9'], range: '>=1.0.0 <2', want: 'v1.9.9' },
    { name: 'only one "v": vv1.2.3 and V1.2.3 are not versions', tags: ['vv9.0.0', 'V9.0.0', 'v1.0.0'], range: '*', want: 'v1.0.0' },
    { name: 'other prefixes are not optional', tags: ['main9.0.0', 'release/9.0.0', 'v1.0.0'], range: '*', want: 'v1.0.0' },
    { name: 'pre-releases skipped with v too', tags: ['v1.0.0', 'v1.1.0-rc.1'], range: '>=1', want: 'v1.0.0' },
    { name: 'pre-release range includes v pre-releases', tags: ['v1.0.0', 'v1.1.0-rc.1'], range: '>=1.1.0-rc.0', want: 'v1.1.0-rc.1' },
    { name: 'explicit prefix "v": exact, bare tags ignored', tags: ['v1.0.0', '1.5.0'], range: '^1', prefix: 'v', want: 'v1.0.0' },
    { name: 'explicit empty prefix: exact, v-tags ignored', tags: ['1.0.0', 'v1.5.0'], range: '^1', prefix: '', want: '1.0.0' },
    { name: 'explicit prefix "main": v-tags ignored', tags: ['main1.0.0', 'v1.5.0'], range: '^1', prefix: 'main', want: 'main1.0.0' },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const policy: RefPolicy = { kind: 'semver', range: t.range, ...(t.prefix === undefined ? {} : { prefix: t.prefix }) };
      expect(selectRevision(repo(t.tags), policy, WHERE)).toEqual({ commit: c(t.want), ref: t.want, refKind: 'tag', fullRef: `refs/tags/${t.want}` });
    });
  }
});

describe('selectRevision: no semver match names the tags that almost matched', () => {
  const cases: { name: string; tags: string[]; range: string; prefix?: string; message: string }[] = [
    {
      name: 'v-tags under an explicit empty prefix',
      tags: ['v1.0.0', 'v1.1.0'],
      range: '>=1.0.0',
      prefix: '',
      message: 'tags v1.1.0, v1.0.0 exist: did you mean --tag-prefix v?',
    },
    {
      name: 'bare tags under an explicit "v" prefix',
      tags: ['1.0.0', '1.1.0'],
      range: '>=1.0.0',
      prefix: 'v',
      message: 'tags 1.1.0, 1.0.0 exist: did you mean no --tag-prefix?',
    },
    { name: 'tags under another prefix', tags: ['main1.0.1', 'main1.0.2', 'x'], range: '1.0.x', message: 'tags main1.0.2, main1.0.1 exist: did you mean --tag-prefix main?' },
    { name: 'a prefix with a slash', tags: ['release/2.0.0'], range: '>=2', prefix: 'v', message: 'tag release/2.0.0 exists: did you mean --tag-prefix release/?' },
    { name: 'the prefix with the most matches is suggested', tags: ['a1.0.0', 'b1.0.0', 'b1.1.0'], range: '^1', message: 'did you mean --tag-prefix b?' },
    { name: 'tags out of range under another prefix are not suggested', tags: ['main1.0.0', 'v1.0.0'], range: '>=2', message: 'tag v1.0.0 exists, none in the range: push a matching tag or widen the range' },
    {
      name: 'only pre-releases in range',
      tags: ['v2.0.0-rc.1', 'v2.0.0-rc.2', 'v1.0.0'],
      range: '>=2',
      message: 'tags v2.0.0-rc.2, v2.0.0-rc.1 exist: pre-releases count only when the range names one (e.g. ">=2.0.0-0")',
    },
    { name: 'right prefix, out of range', tags: ['v1.0.0', 'v1.1.0'], range: '>=2', message: 'tags v1.1.0, v1.0.0 exist, none in the range: push a matching tag or widen the range' },
    {
      name: 'long lists are cut at five',
      tags: ['1', '2', '3', '4', '5', '6', '7'].map((n) => `v0.${n}.0`),
      range: '>=1',
      message: 'tags v0.7.0, v0.6.0, v0.5.0, v0.4.0, v0.3.0 and 2 more exist, none in the range',
    },
    { name: 'no version tags at all: the plain advice', tags: ['latest', 'prod'], range: '*', message: 'matches semver range "*"; push a matching tag or widen the range' },
    { name: 'a prefix that needs quoting', tags: ['a@b1.0.0'], range: '*', prefix: 'v', message: 'did you mean --tag-prefix a@b?' },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const policy: RefPolicy = { kind: 'semver', range: t.range, ...(t.prefix === undefined ? {} : { prefix: t.prefix }) };
      let err: unknown;
      try {
        selectRevision(repo(t.tags), policy, WHERE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DriftdError);
      expect((err as DriftdError).code).toBe('GitRefNotFound');
      expect((err as DriftdError).message).toContain(t.message);
    });
  }

  it('hostile tag names are listed as names, never evaluated (quoted prefix, prototype keys)', () => {
    const refs = repo(['__proto__1.0.0', 'constructor1.0.0']);
    expect(() => selectRevision(refs, { kind: 'semver', range: '*', prefix: 'v' }, WHERE)).toThrow(/did you mean --tag-prefix (__proto__|constructor)\?/);
  });
});

describe('splitVersionTag', () => {
  const cases: [string, [string, string] | undefined][] = [
    ['v1.2.3', ['v', '1.2.3']],
    ['1.2.3', ['', '1.2.3']],
    ['main1.0.1', ['main', '1.0.1']],
    ['v11.0.0', ['v', '11.0.0']],
    ['release/2.0.0-rc.1', ['release/', '2.0.0-rc.1']],
    ['app-1.2', undefined],
    ['latest', undefined],
  ];
  for (const [tag, want] of cases) {
    it(`${tag} → ${JSON.stringify(want)}`, () => {
      const got = splitVersionTag(tag);
      expect(got && [got.prefix, got.version.version]).toEqual(want);
    });
  }
});

describe('selectRevision: pinned tag, branch', () => {
  it('annotated and lightweight tags both select the peeled commit', () => {
    const refs = repo(['v1.0.0', 'v1.1.0'], { annotated: ['v1.1.0'] });
    expect(selectRevision(refs, { kind: 'tag', tag: 'v1.0.0' }, WHERE).commit).toBe(c('v1.0.0'));
    expect(selectRevision(refs, { kind: 'tag', tag: 'v1.1.0' }, WHERE)).toEqual({ commit: c('v1.1.0'), ref: 'v1.1.0', refKind: 'tag', fullRef: 'refs/tags/v1.1.0' });
  });

  it('a pinned tag is used even when it is not semver', () => {
    expect(selectRevision(repo(['prod-2024']), { kind: 'tag', tag: 'prod-2024' }, WHERE).ref).toBe('prod-2024');
  });

  it('missing tag: GitRefNotFound with a clear sentence', () => {
    expect(codeOf(() => selectRevision(repo(['v1.0.0']), { kind: 'tag', tag: 'v9.9.9' }, WHERE))).toBe('GitRefNotFound');
    expect(() => selectRevision(repo([]), { kind: 'tag', tag: 'v9.9.9' }, WHERE)).toThrow(`tag "v9.9.9" does not exist in ${WHERE}`);
  });

  it('branch head', () => {
    const refs = repo([], { branches: { main: c('m'), 'feature/x': c('fx') } });
    expect(selectRevision(refs, { kind: 'branch', branch: 'main' }, WHERE)).toEqual({ commit: c('m'), ref: 'main', refKind: 'branch', fullRef: 'refs/heads/main' });
    expect(selectRevision(refs, { kind: 'branch', branch: 'feature/x' }, WHERE).commit).toBe(c('fx'));
    expect(codeOf(() => selectRevision(refs, { kind: 'branch', branch: 'dev' }, WHERE))).toBe('GitRefNotFound');
  });

  const invalid: RefPolicy[] = [
    { kind: 'tag', tag: 'v1..0' },
    { kind: 'tag', tag: '--upload-pack=evil' },
    { kind: 'tag', tag: 'v1 0' },
    { kind: 'tag', tag: '' },
    { kind: 'branch', branch: 'main.lock' },
    { kind: 'branch', branch: 'a:b' },
  ];
  for (const p of invalid) {
    it(`invalid name ${JSON.stringify(p)}: InvalidRef, before looking at refs`, () => {
      expect(codeOf(() => validatePolicy(p))).toBe('InvalidRef');
      expect(codeOf(() => selectRevision(repo(['v1.0.0']), p, WHERE))).toBe('InvalidRef');
    });
  }
});

describe('selectRevision: auto', () => {
  const cases: { name: string; refs: RepoRefs; want: { ref: string; refKind: string; commit: string } }[] = [
    { name: 'highest semver tag, v optional', refs: repo(['1.2.0', 'v1.10.0', 'v1.9.0'], { head: c('h') }), want: { ref: 'v1.10.0', refKind: 'tag', commit: c('v1.10.0') } },
    { name: 'bare semver tags', refs: repo(['0.1.0', '0.2.0'], { head: c('h') }), want: { ref: '0.2.0', refKind: 'tag', commit: c('0.2.0') } },
    { name: 'pre-releases skipped', refs: repo(['v1.0.0', 'v2.0.0-rc.1'], { head: c('h') }), want: { ref: 'v1.0.0', refKind: 'tag', commit: c('v1.0.0') } },
    { name: 'no tags: HEAD', refs: repo([], { head: c('h') }), want: { ref: 'HEAD', refKind: 'head', commit: c('h') } },
    { name: 'only non-semver tags: HEAD', refs: repo(['prod', 'main1.0.0'], { head: c('h') }), want: { ref: 'HEAD', refKind: 'head', commit: c('h') } },
    { name: 'only pre-releases: HEAD', refs: repo(['v1.0.0-rc.1'], { head: c('h') }), want: { ref: 'HEAD', refKind: 'head', commit: c('h') } },
  ];
  for (const t of cases) {
    it(t.name, () => {
      expect(selectRevision(t.refs, { kind: 'auto' }, WHERE)).toMatchObject(t.want);
    });
  }

  it('empty repo: GitRefNotFound', () => {
    expect(codeOf(() => selectRevision(repo([]), { kind: 'auto' }, WHERE))).toBe('GitRefNotFound');
  });
});

describe('refNameProblem (git check-ref-format)', () => {
  const valid = ['v1.0.0', 'main', 'release/1.0', 'feature/a-b_c', 'main1.0.1', 'v1.0.0+build.5', 'x@y'];
  const invalid = ['', '@', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[b', 'a\\b', '-x', '/a', 'a/', 'a//b', 'a.', '.a', 'a/.b', 'x.lock', 'a/x.lock/b', 'a@{1}', 'tab\there', 'nul\u0000', 'del\u007f', 'x'.repeat(256)];
  for (const name of valid) it(`accepts ${JSON.stringify(name)}`, () => expect(refNameProblem(name)).toBeUndefined());
  for (const name of invalid) it(`refuses ${JSON.stringify(name.slice(0, 20))}`, () => expect(refNameProblem(name)).toBeTypeOf('string'));
});

describe('tagVersion', () => {
  const cases: [string, string, string | undefined][] = [
    ['v1.2.3', 'v', '1.2.3'],
    ['1.2.3', '', '1.2.3'],
    ['v1.2.3', '', undefined],
    ['main1.0.1', 'main', '1.0.1'],
    ['v1.2.3-rc.1', 'v', '1.2.3-rc.1'],
    ['v1.2', 'v', undefined],
    ['v01.2.3', 'v', undefined],
    ['v1.2.3-', 'v', undefined],
    ['=1.2.3', '', undefined],
    ['x1.2.3', 'v', undefined],
  ];
  for (const [tag, prefix, want] of cases) {
    it(`${tag} with prefix "${prefix}" → ${want ?? 'not a version'}`, () => expect(tagVersion(tag, prefix)?.version).toBe(want));
  }
});

describe('rangeAsksForPrerelease', () => {
  const cases: [string, boolean][] = [
    ['*', false],
    ['>=1.0.0 <2', false],
    ['^1.2', false],
    ['>=1.0.0-0', true],
    ['1.0.0-rc.1 - 2.0.0', true],
    ['^1 || >=3.0.0-beta', true],
    ['1.0.0 - 2.0.0', false],
    ['<2.0.0', false],
  ];
  for (const [range, want] of cases) it(`${range} → ${want}`, () => expect(rangeAsksForPrerelease(range)).toBe(want));
});
