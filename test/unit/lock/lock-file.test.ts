import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDriftdError } from '../../../src/errors/index.js';
import { findLockEntry, parseLockFile, readLockFile, renderLockFile, writeLockFile } from '../../../src/lock/lock-file.js';
import { COMPOSE_SHA, lockOf, SHA_A, SHA_B, SHA_I } from './helpers.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'driftd-lockfile-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('renderLockFile', () => {
  it('sorts keys at every level, indents by two spaces and ends with a newline', () => {
    const text = renderLockFile({
      version: 1,
      stack: 'edge',
      images: {
        'traefik:v3.1': { platform: 'linux/amd64', indexDigest: SHA_I, digest: SHA_A },
        'nginx:1.27': { digest: SHA_B, platform: 'linux/amd64' },
      },
      composeSha256: COMPOSE_SHA,
    });
    expect(text).toBe(
      [
        '{',
        `  "composeSha256": "${COMPOSE_SHA}",`,
        '  "images": {',
        '    "nginx:1.27": {',
        `      "digest": "${SHA_B}",`,
        '      "platform": "linux/amd64"',
        '    },',
        '    "traefik:v3.1": {',
        `      "digest": "${SHA_A}",`,
        `      "indexDigest": "${SHA_I}",`,
        '      "platform": "linux/amd64"',
        '    }',
        '  },',
        '  "stack": "edge",',
        '  "version": 1',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('gives the same bytes whatever the insertion order', () => {
    const a = lockOf('s', { 'b:1': { digest: SHA_A }, 'a:1': { digest: SHA_B, platform: 'linux/amd64' } });
    const b = { images: { 'a:1': { platform: 'linux/amd64', digest: SHA_B }, 'b:1': { digest: SHA_A } }, composeSha256: COMPOSE_SHA, stack: 's', version: 1 as const };
    expect(renderLockFile(a)).toBe(renderLockFile(b));
    expect(parseLockFile(renderLockFile(a), 'locks/s.lock.json', 's')).toEqual(a);
  });
});

describe('writeLockFile', () => {
  const lock = lockOf('web', { 'nginx:1.27': { digest: SHA_A, platform: 'linux/amd64', indexDigest: SHA_I } });

  it('creates locks/, writes, and does not rewrite identical content', async () => {
    expect(await writeLockFile(root, lock)).toBe('written');
    const file = path.join(root, 'locks/web.lock.json');
    expect(await readFile(file, 'utf8')).toBe(renderLockFile(lock));
    const before = await stat(file);
    await new Promise((r) => setTimeout(r, 20));
    expect(await writeLockFile(root, { ...lock, images: { ...lock.images } })).toBe('unchanged');
    const after = await stat(file);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
  });

  it('replaces the file atomically when the content changes and leaves no temp file', async () => {
    await writeLockFile(root, lock);
    const changed = lockOf('web', { 'nginx:1.27': { digest: SHA_B, platform: 'linux/amd64' } });
    expect(await writeLockFile(root, changed)).toBe('written');
    expect(await readLockFile(root, 'web')).toEqual(changed);
    expect(await readdir(path.join(root, 'locks'))).toEqual(['web.lock.json']);
  });

  it('rewrites a file whose bytes differ only in formatting', async () => {
    await mkdir(path.join(root, 'locks'));
    await writeFile(path.join(root, 'locks/web.lock.json'), JSON.stringify(lock));
    expect(await writeLockFile(root, lock)).toBe('written');
    expect(await readFile(path.join(root, 'locks/web.lock.json'), 'utf8')).toBe(renderLockFile(lock));
  });

  it('says which file it cannot write', async () => {
    await writeFile(path.join(root, 'locks'), 'a file where the folder should be');
    await expect(writeLockFile(root, lock)).rejects.toMatchObject({ code: 'LockWriteError' });
  });
});

describe('parseLockFile / readLockFile', () => {
  it('returns undefined when there is no lock', async () => {
    expect(await readLockFile(root, 'web')).toBeUndefined();
  });

  it.each([
    ['{\n  "version": 1,\n  "stack": "web",\n}', 'locks/web.lock.json:4: not valid JSON'],
    ['{"version":2,"stack":"web","composeSha256":"' + COMPOSE_SHA + '","images":{}}', 'version'],
    ['{"version":1,"stack":"web","composeSha256":"nope","images":{}}', 'composeSha256: not a sha256'],
    ['{"version":1,"stack":"web","composeSha256":"' + COMPOSE_SHA + '","images":{"a:1":{"digest":"md5"}}}', 'images.a:1.digest: not a digest'],
    ['{"version":1,"stack":"web","composeSha256":"' + COMPOSE_SHA + '","images":{"a:1":{"digest":"' + SHA_A + '","platform":"amd64"}}}', 'platform: not a platform'],
    ['{"version":1,"stack":"web","composeSha256":"' + COMPOSE_SHA + '","images":{},"extra":1}', 'extra'],
    ['{"version":1,"stack":"api","composeSha256":"' + COMPOSE_SHA + '","images":{}}', 'the lock of stack "api", not "web"'],
  ])('refuses %j with a message naming the file (%s)', async (text, reason) => {
    await mkdir(path.join(root, 'locks'));
    await writeFile(path.join(root, 'locks/web.lock.json'), text);
    let error: unknown;
    try {
      await readLockFile(root, 'web');
    } catch (e) {
      error = e;
    }
    expect(isDriftdError(error) && error.code).toBe('InvalidLockFile');
    expect((error as Error).message).toContain('locks/web.lock.json');
    expect((error as Error).message).toContain(reason);
    expect((error as Error).message).toContain('regenerate it with driftd lock');
  });

  it('accepts composeSha256 with a sha256: prefix', () => {
    const text = JSON.stringify({ version: 1, stack: 'web', composeSha256: `sha256:${COMPOSE_SHA}`, images: {} });
    expect(parseLockFile(text, 'locks/web.lock.json').composeSha256).toBe(`sha256:${COMPOSE_SHA}`);
  });
});

describe('findLockEntry', () => {
  const lock = lockOf('web', { 'nginx:1.27': { digest: SHA_A }, 'docker.io/library/redis': { digest: SHA_B } });
  it.each([
    ['nginx:1.27', SHA_A],
    ['docker.io/library/nginx:1.27', SHA_A],
    ['redis:latest', SHA_B],
    ['redis', SHA_B],
    ['nginx:1.28', undefined],
    ['NOT VALID', undefined],
  ])('%s → %s', (image, digest) => {
    expect(findLockEntry(lock, image)?.digest).toBe(digest);
  });
  it('finds nothing without a lock', () => {
    expect(findLockEntry(undefined, 'nginx:1.27')).toBeUndefined();
  });
});
