import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildExportFiles, EXPORT_FILE_NAMES } from '../../../src/report/export-files.js';
import { exportTimestamp, writeRuntimeExport } from '../../../src/report/runtime-export.js';
import { desiredStacks, inventory, report } from './fixtures.js';

const EXPORT_NAME = /^\d{8}T\d{6}Z(-\d+)?$/;
const at = (iso: string): Date => new Date(iso);
const files = [
  { name: 'a.txt', content: 'A\n' },
  { name: 'b.json', content: '{}\n' },
];

let audit: string;
let runtime: string;
beforeEach(async () => {
  audit = await mkdtemp(path.join(os.tmpdir(), 'driftd-export-'));
  runtime = path.join(audit, 'runtime');
});
afterEach(async () => {
  await rm(audit, { recursive: true, force: true });
});

describe('exportTimestamp', () => {
  it.each([
    ['2026-11-21T10:15:00.000Z', '20261121T101500Z'],
    ['2026-01-02T03:04:05.999Z', '20260102T030405Z'],
  ])('%s → %s', (iso, name) => {
    expect(exportTimestamp(at(iso))).toBe(name);
  });

  it('refuses an invalid date', () => {
    expect(() => exportTimestamp(new Date(NaN))).toThrow(/invalid date/);
  });
});

describe('writeRuntimeExport', () => {
  it('writes every file into <auditDir>/runtime/<UTC timestamp>/ and leaves no temp folder', async () => {
    const res = await writeRuntimeExport({ auditDir: audit, now: at('2026-11-21T10:15:00Z'), files, retention: 200 });
    expect(res).toEqual({ dir: path.join(runtime, '20261121T101500Z'), name: '20261121T101500Z', pruned: [] });
    expect((await readdir(res.dir)).sort()).toEqual(['a.txt', 'b.json']);
    expect(await readFile(path.join(res.dir, 'a.txt'), 'utf8')).toBe('A\n');
    expect(await readdir(runtime)).toEqual(['20261121T101500Z']);
  });

  it('adds a suffix when the timestamp folder exists', async () => {
    const now = at('2026-11-21T10:15:00Z');
    const names = [];
    for (let i = 0; i < 3; i++) names.push((await writeRuntimeExport({ auditDir: audit, now, files, retention: 200 })).name);
    expect(names).toEqual(['20261121T101500Z', '20261121T101500Z-1', '20261121T101500Z-2']);
  });

  it('keeps the newest exports beyond retention, ordering suffixes numerically', async () => {
    await mkdir(runtime, { recursive: true });
    const existing = ['20261120T000000Z', '20261121T000000Z', '20261121T000000Z-2', '20261121T000000Z-10', '20261119T235959Z'];
    for (const name of existing) await mkdir(path.join(runtime, name));
    await writeFile(path.join(runtime, 'notes.txt'), 'not an export');
    await mkdir(path.join(runtime, 'keep-me'));
    const res = await writeRuntimeExport({ auditDir: audit, now: at('2026-11-22T00:00:00Z'), files, retention: 3 });
    expect(res.pruned).toEqual(['20261119T235959Z', '20261120T000000Z', '20261121T000000Z']);
    expect((await readdir(runtime)).sort()).toEqual(['20261121T000000Z-10', '20261121T000000Z-2', '20261122T000000Z', 'keep-me', 'notes.txt']);
  });

  it('never prunes the export it just wrote, even when the clock went backwards', async () => {
    await writeRuntimeExport({ auditDir: audit, now: at('2026-11-22T00:00:00Z'), files, retention: 1 });
    const res = await writeRuntimeExport({ auditDir: audit, now: at('2026-11-20T00:00:00Z'), files, retention: 1 });
    expect(res.pruned).toEqual(['20261122T000000Z']);
    expect(await readdir(runtime)).toEqual(['20261120T000000Z']);
  });

  it('removes temp folders of crashed writers, keeps those of live writers', async () => {
    await mkdir(runtime, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const crashed = path.join(runtime, `.tmp-${dead}-abcdef`);
    const garbage = path.join(runtime, '.tmp-garbage');
    const live = path.join(runtime, `.tmp-${process.ppid}-123456`);
    const oldLive = path.join(runtime, `.tmp-${process.ppid}-654321`);
    const ownLeftover = path.join(runtime, `.tmp-${process.pid}-0a0a0a`);
    for (const d of [crashed, garbage, live, oldLive, ownLeftover]) {
      await mkdir(d);
      await writeFile(path.join(d, 'half.json'), '{"trunc');
    }
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(oldLive, twoHoursAgo, twoHoursAgo);

    await writeRuntimeExport({ auditDir: audit, now: at('2026-11-21T10:15:00Z'), files, retention: 200 });
    expect((await readdir(runtime)).sort()).toEqual(['.tmp-' + String(process.ppid) + '-123456', '20261121T101500Z'].sort());
  });

  it.each([0, -1, 1.5, NaN])('refuses retention %s', async (retention) => {
    await expect(writeRuntimeExport({ auditDir: audit, now: new Date(), files, retention })).rejects.toMatchObject({ code: 'ExportError' });
    expect(existsSync(runtime)).toBe(false);
  });

  it.each(['../x', 'a/b', '.hidden', '', 'a.txt'])('refuses the file name %j (a.txt: duplicate)', async (name) => {
    await expect(writeRuntimeExport({ auditDir: audit, now: new Date(), files: [...files, { name, content: '' }] })).rejects.toMatchObject({ code: 'ExportError' });
    expect(existsSync(runtime)).toBe(false);
  });

  it('fails with ExportError and leaves nothing behind when the disk refuses', async () => {
    await writeFile(path.join(audit, 'runtime'), 'a file where the folder should be');
    await expect(writeRuntimeExport({ auditDir: audit, now: new Date(), files })).rejects.toMatchObject({
      code: 'ExportError',
      message: expect.stringMatching(/^cannot write the runtime export in .*runtime: .*; check free space and permissions$/) as unknown,
    });
  });
});

describe('a full export', () => {
  it('has all four files, each complete', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'driftd-export-root-'));
    try {
      for (const s of desiredStacks) {
        for (const f of s.files) {
          await mkdir(path.dirname(path.join(root, f.path)), { recursive: true });
          await writeFile(path.join(root, f.path), `# ${f.path}\n`);
        }
      }
      const exportFiles = await buildExportFiles({ report: report(), inventory, desiredStacks, snapshotRoot: root });
      const { dir } = await writeRuntimeExport({ auditDir: audit, now: at('2026-11-21T10:15:00Z'), files: exportFiles, retention: 200 });
      expect((await readdir(dir)).sort()).toEqual([...EXPORT_FILE_NAMES].sort());
      const state = JSON.parse(await readFile(path.join(dir, 'docker_state.json'), 'utf8')) as { schemaVersion: number; containers: unknown[] };
      expect(state.schemaVersion).toBe(1);
      expect(state.containers).toHaveLength(2);
      expect((JSON.parse(await readFile(path.join(dir, 'drift_report.json'), 'utf8')) as { schemaVersion: number }).schemaVersion).toBe(1);
      expect(await readFile(path.join(dir, 'drift_report.md'), 'utf8')).toMatch(/^# driftd drift report: web-01\n/);
      const check = spawnSync('sha256sum', ['-c', '--strict', path.join(dir, 'compose_sha256.txt')], { cwd: root, encoding: 'utf8' });
      expect(check.status).toBe(0);
      expect(check.stdout.trim().split('\n')).toEqual(['stacks/app/.env: OK', 'stacks/app/app.env: OK', 'stacks/app/compose.yaml: OK', 'stacks/edge/compose.yaml: OK']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('a writer killed mid-write', () => {
  const child = fileURLToPath(new URL('./support/write-big-export.ts', import.meta.url));

  it('leaves no timestamp folder, only a .tmp-* that the next write removes', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, audit, '24', '8'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));

    // Kill as soon as the temp folder holds a file: most of the 24 files are still to come.
    let seenAtKill: string[] = [];
    const deadline = Date.now() + 20_000;
    for (;;) {
      const entries = existsSync(runtime) ? await readdir(runtime) : [];
      const tmp = entries.find((e) => e.startsWith('.tmp-'));
      if (tmp && (await readdir(path.join(runtime, tmp)).catch(() => [])).length > 0) {
        proc.kill('SIGKILL');
        seenAtKill = entries;
        break;
      }
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`the writer ended before it could be killed: ${stderr}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    await exited;
    expect(proc.signalCode).toBe('SIGKILL');
    expect(seenAtKill.filter((e) => EXPORT_NAME.test(e))).toEqual([]);

    const afterCrash = await readdir(runtime);
    expect(afterCrash.filter((e) => EXPORT_NAME.test(e))).toEqual([]);
    expect(afterCrash.filter((e) => e.startsWith('.tmp-'))).toHaveLength(1);

    const { name, dir } = await writeRuntimeExport({ auditDir: audit, now: new Date(), files, retention: 200 });
    expect(await readdir(runtime)).toEqual([name]);
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'b.json']);
  }, 120_000);
});
