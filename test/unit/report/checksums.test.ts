import { execFileSync, spawnSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumStackFiles, formatSha256Sums } from '../../../src/report/checksums.js';
import { DriftdError } from '../../../src/errors/index.js';
import { sha256 } from '../../../src/util/hash.js';
import { service, stack } from './fixtures.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('formatSha256Sums', () => {
  it('writes sha256sum lines (two spaces) sorted by path, one per file, with a trailing newline', () => {
    expect(
      formatSha256Sums([
        { path: 'stacks/b/compose.yaml', sha256: B },
        { path: 'stacks/a/compose.yaml', sha256: A },
        { path: 'stacks/a/compose.yaml', sha256: A },
      ]),
    ).toBe(`${A}  stacks/a/compose.yaml\n${B}  stacks/b/compose.yaml\n`);
    expect(formatSha256Sums([])).toBe('');
  });

  it('escapes names like GNU sha256sum does', () => {
    expect(formatSha256Sums([{ path: 'x/a\\b\nc', sha256: A }])).toBe(`\\${A}  x/a\\\\b\\nc\n`);
  });

  it.each([['../etc/passwd'], ['/etc/passwd'], ['stacks/../x'], ['stacks//x'], ['./x'], [''], ['a\\b/../c'.replace('\\', '/')]])('refuses the unsafe path %j', (p) => {
    expect(() => formatSha256Sums([{ path: p, sha256: A }])).toThrow(DriftdError);
  });

  it('refuses a malformed digest and two digests for one file', () => {
    expect(() => formatSha256Sums([{ path: 'x', sha256: 'abc' }])).toThrow(/not a sha256/);
    expect(() => formatSha256Sums([{ path: 'x', sha256: A }, { path: 'x', sha256: B }])).toThrow(/two different digests/);
  });
});

describe('checksumStackFiles + sha256sum -c', () => {
  let root: string;
  let out: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'driftd-sums-root-'));
    out = await mkdtemp(path.join(os.tmpdir(), 'driftd-sums-out-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  });

  async function put(rel: string, content: string): Promise<void> {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }

  const files = ['stacks/app/compose.yaml', 'stacks/app/.env', 'stacks/app/conf/nginx.conf', 'stacks/app/with space.txt', 'stacks/app/back\\slash', 'stacks/app/new\nline', 'stacks/db/compose.yaml'];

  async function writeSums(): Promise<string> {
    for (const f of files) await put(f, `content of ${f}\n`);
    await put('locks/db.lock.json', '{"version":1}\n');
    const db = { ...stack('db', ['stacks/db/compose.yaml'], [service({ name: 'pg' })]), lock: { version: 1 as const, stack: 'db', composeSha256: 'x', images: {} } };
    const app = stack('app', files.filter((f) => f.startsWith('stacks/app/')), [service({ name: 'web' })]);
    const sums = formatSha256Sums(await checksumStackFiles([db, app], root));
    const file = path.join(out, 'compose_sha256.txt');
    await writeFile(file, sums);
    return file;
  }

  it('hashes the files on disk, includes the lock file, and verifies with the real sha256sum from the root', async () => {
    const file = await writeSums();
    const entries = await checksumStackFiles([stack('app', ['stacks/app/compose.yaml'], [])], root);
    expect(entries).toEqual([{ path: 'stacks/app/compose.yaml', sha256: sha256('content of stacks/app/compose.yaml\n') }]);

    const check = spawnSync('sha256sum', ['-c', '--strict', file], { cwd: root, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout.split('\n').filter((l) => l.endsWith(': OK'))).toHaveLength(files.length + 1);
    expect(check.stdout).toContain('locks/db.lock.json: OK');
  });

  it('fails sha256sum -c when a file changed after the export', async () => {
    const file = await writeSums();
    await appendFile(path.join(root, 'stacks/app/conf/nginx.conf'), 'tampered\n');
    const check = spawnSync('sha256sum', ['-c', file], { cwd: root, encoding: 'utf8' });
    expect(check.status).toBe(1);
    expect(check.stdout).toContain('stacks/app/conf/nginx.conf: FAILED');
  });

  it('our lines are exactly what sha256sum itself prints', async () => {
    await writeSums();
    const ours = formatSha256Sums(await checksumStackFiles([stack('x', ['stacks/app/.env', 'stacks/app/with space.txt', 'stacks/app/back\\slash'], [])], root));
    const theirs = execFileSync('sha256sum', ['stacks/app/.env', 'stacks/app/back\\slash', 'stacks/app/with space.txt'], { cwd: root, encoding: 'utf8' });
    expect(ours).toBe(theirs);
  });

  it('throws ExportError naming a missing file', async () => {
    await put('stacks/app/compose.yaml', 'x');
    await expect(checksumStackFiles([stack('app', ['stacks/app/compose.yaml', 'stacks/app/gone.env'], [])], root)).rejects.toThrow(/cannot checksum stacks\/app\/gone\.env under .*ENOENT/);
  });

  it('one symlink in a stack does not fail the export: an in-stack link is hashed as its file, an escaping one is skipped with a note', async () => {
    await put('stacks/app/compose.yaml', 'x');
    await put('stacks/db/compose.yaml', 'y');
    await symlink('compose.yaml', path.join(root, 'stacks/app/current.yaml'));
    await symlink('/etc/hostname', path.join(root, 'stacks/app/link'));
    const skipped: { path: string; reason: string }[] = [];
    const entries = await checksumStackFiles([stack('app', ['stacks/app/compose.yaml', 'stacks/app/current.yaml', 'stacks/app/link'], []), stack('db', ['stacks/db/compose.yaml'], [])], root, skipped);
    expect(entries.map((e) => e.path)).toEqual(['stacks/app/compose.yaml', 'stacks/app/current.yaml', 'stacks/db/compose.yaml']);
    expect(entries[1]?.sha256).toBe(entries[0]?.sha256);
    expect(skipped).toEqual([{ path: 'stacks/app/link', reason: expect.stringMatching(/^stacks\/app\/link is a symlink that does not end at a regular file inside stacks\/app\//) as unknown }]);
  });
});
