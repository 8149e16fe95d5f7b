import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareTags, rememberTags } from '../../../src/source/tag-memory.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const WHERE = 'http://git.example/r.git';

describe('compareTags', () => {
  const cases: { name: string; previous: Record<string, string> | undefined; current: Record<string, string>; want: Record<string, string>[] }[] = [
    { name: 'first poll: nothing to compare', previous: undefined, current: { v1: A }, want: [] },
    { name: 'unchanged', previous: { v1: A, v2: B }, current: { v1: A, v2: B }, want: [] },
    { name: 'new tag is normal', previous: { v1: A }, current: { v1: A, v2: B }, want: [] },
    { name: 'moved tag', previous: { v1: A }, current: { v1: C }, want: [{ kind: 'tag-moved', tag: 'v1', from: A, to: C }] },
    { name: 'deleted tag', previous: { v1: A, v2: B }, current: { v2: B }, want: [{ kind: 'tag-deleted', tag: 'v1', commit: A }] },
    {
      name: 'several, sorted by tag',
      previous: { 'v2.0.0': B, 'v1.0.0': A, 'v3.0.0': C },
      current: { 'v1.0.0': C, 'v3.0.0': C },
      want: [
        { kind: 'tag-moved', tag: 'v1.0.0', from: A, to: C },
        { kind: 'tag-deleted', tag: 'v2.0.0', commit: B },
      ],
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const got = compareTags(t.previous, t.current, WHERE);
      expect(got.map(({ message: _message, ...rest }) => rest)).toEqual(t.want);
    });
  }

  it('messages name the tag, both commits and the repo', () => {
    const [moved] = compareTags({ v1: A }, { v1: C }, WHERE);
    expect(moved?.message).toContain('"v1"');
    expect(moved?.message).toContain(A.slice(0, 12));
    expect(moved?.message).toContain(C.slice(0, 12));
    expect(moved?.message).toContain(WHERE);
  });
});

describe('rememberTags', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each movement once, per repo', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-tags-'));
    const file = path.join(dir, 'git', 'seen-tags.json');
    const never = (): void => {
      throw new Error('unexpected reset');
    };
    expect(await rememberTags(file, 'r1', { v1: A }, never)).toEqual([]);
    expect(await rememberTags(file, 'r2', { v1: B }, never)).toEqual([]);
    expect(await rememberTags(file, 'r1', { v1: C }, never)).toEqual([expect.objectContaining({ kind: 'tag-moved', from: A, to: C })]);
    expect(await rememberTags(file, 'r1', { v1: C }, never)).toEqual([]);
    expect(await rememberTags(file, 'r1', {}, never)).toEqual([expect.objectContaining({ kind: 'tag-deleted', commit: C })]);
    expect(await rememberTags(file, 'r1', {}, never)).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ version: 1, repos: { r1: {}, r2: { v1: B } } });
  });

  it('an unreadable memory is reset, not fatal', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-tags-'));
    const file = path.join(dir, 'seen-tags.json');
    writeFileSync(file, '{ not json');
    const resets: string[] = [];
    expect(await rememberTags(file, 'r1', { v1: A }, (r) => resets.push(r))).toEqual([]);
    expect(resets).toHaveLength(1);
    expect(await rememberTags(file, 'r1', { v1: B }, (r) => resets.push(r))).toHaveLength(1);
    expect(resets).toHaveLength(1);
  });
});
