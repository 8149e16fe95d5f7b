/** git/last-good.json is written when the last good revision changes, not at every poll that finds the same one. */
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadLastGood, saveLastGood } from '../../../src/source/last-good.js';

const REPO = 'http://git.test/fleet.git';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('saveLastGood', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const dataDir = (): string => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'driftd-last-good-'));
    dirs.push(d);
    return d;
  };
  const file = (d: string): string => path.join(d, 'git', 'last-good.json');

  it('writes a new revision, and leaves the file alone (same bytes, same inode, its first `at`) while the revision stays the same', async () => {
    const d = dataDir();
    expect(await saveLastGood(d, REPO, { commit: A, ref: 'v1', refKind: 'tag' }, new Date('2026-01-01T00:00:00Z'))).toBe(true);
    const before = readFileSync(file(d), 'utf8');
    const ino = statSync(file(d)).ino;
    for (let i = 0; i < 3; i++) expect(await saveLastGood(d, REPO, { commit: A, ref: 'v1', refKind: 'tag' }, new Date('2026-01-02T00:00:00Z'))).toBe(false);
    expect(readFileSync(file(d), 'utf8')).toBe(before);
    expect(statSync(file(d)).ino).toBe(ino);
    expect(await loadLastGood(d, REPO)).toEqual({ commit: A, ref: 'v1', refKind: 'tag', at: '2026-01-01T00:00:00.000Z' });
  });

  it('writes again for another commit, another ref name or kind at the same commit, another repo, and a file that was deleted or damaged', async () => {
    const d = dataDir();
    const at = new Date('2026-01-01T00:00:00Z');
    expect(await saveLastGood(d, REPO, { commit: A, ref: 'v1', refKind: 'tag' }, at)).toBe(true);
    expect(await saveLastGood(d, REPO, { commit: B, ref: 'v1', refKind: 'tag' }, at)).toBe(true);
    expect(await saveLastGood(d, REPO, { commit: B, ref: 'v2', refKind: 'tag' }, at)).toBe(true);
    expect(await saveLastGood(d, REPO, { commit: B, ref: 'v2', refKind: 'branch' }, at)).toBe(true);
    expect(await saveLastGood(d, REPO, { commit: B, refKind: 'head' }, at)).toBe(true);
    expect(await saveLastGood(d, `${REPO}.other`, { commit: B, refKind: 'head' }, at)).toBe(true);
    expect(await loadLastGood(d, `${REPO}.other`)).toMatchObject({ commit: B, refKind: 'head' });
    unlinkSync(file(d));
    expect(await saveLastGood(d, `${REPO}.other`, { commit: B, refKind: 'head' }, at)).toBe(true);
    writeFileSync(file(d), '{"version":1,');
    expect(await saveLastGood(d, `${REPO}.other`, { commit: B, refKind: 'head' }, at)).toBe(true);
    expect(await loadLastGood(d, `${REPO}.other`)).toMatchObject({ commit: B, refKind: 'head' });
  });
});
