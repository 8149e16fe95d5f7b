import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY_COMPOSE_FILE, syncDeployDir } from '../../../src/sync/deploy-dir.js';

function stackDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-stack-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

describe('syncDeployDir', () => {
  it('copies stack files, writes the resolved compose file, and leaves .env and compose sources out', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    const src = stackDir({ 'compose.yaml': 'x', '.env': 'A=1', 'conf/app.conf': 'one' });
    const r = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'services: {}\n' });
    expect(r.written).toEqual(['conf/app.conf', DEPLOY_COMPOSE_FILE]);
    expect(readFileSync(path.join(r.dir, 'conf/app.conf'), 'utf8')).toBe('one');
    expect(existsSync(path.join(r.dir, '.env'))).toBe(false);
    expect(existsSync(path.join(r.dir, 'compose.yaml'))).toBe(false);
  });

  it('keeps unchanged files in place (same inode) and rewrites only changed ones', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    const src = stackDir({ 'a.conf': 'a', 'b.conf': 'b' });
    const first = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
    const inodeA = statSync(path.join(first.dir, 'a.conf')).ino;
    writeFileSync(path.join(src, 'b.conf'), 'b2');
    const second = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
    expect(second.written).toEqual(['b.conf']);
    expect(statSync(path.join(second.dir, 'a.conf')).ino).toBe(inodeA);
    expect(second.dir).toBe(first.dir);
  });

  it('a container that edited its deploy dir (a mounted file, the resolved compose file, a new file) is undone before the next up', () => {
    // docs/security.md: the deploy dir is rewritten from the snapshot before every compose up.
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    const src = stackDir({ 'conf/app.conf': 'from the repo' });
    const first = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'services: {}\n' });
    writeFileSync(path.join(first.dir, 'conf/app.conf'), 'edited by a container');
    writeFileSync(path.join(first.dir, DEPLOY_COMPOSE_FILE), 'services: {evil: {image: x, privileged: true}}\n');
    writeFileSync(path.join(first.dir, 'conf/planted.env'), 'X=1');
    const next = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'services: {}\n' });
    expect(next.written).toEqual(['conf/app.conf', DEPLOY_COMPOSE_FILE]);
    expect(next.removed).toEqual(['conf/planted.env']);
    expect(readFileSync(path.join(next.dir, 'conf/app.conf'), 'utf8')).toBe('from the repo');
    expect(readFileSync(path.join(next.dir, DEPLOY_COMPOSE_FILE), 'utf8')).toBe('services: {}\n');
  });

  it('removes files that left the stack', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    const src = stackDir({ 'a.conf': 'a', 'old/b.conf': 'b' });
    syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
    const next = stackDir({ 'a.conf': 'a' });
    const r = syncDeployDir({ dataDir, stack: 'web', stackDir: next, composeYaml: 'v1' });
    expect(r.removed).toEqual(['old/b.conf']);
  });

  it('keeps executable bits of scripts', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
    const src = stackDir({ 'run.sh': '#!/bin/sh\n' });
    chmodSync(path.join(src, 'run.sh'), 0o755);
    const r = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
    expect(statSync(path.join(r.dir, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  describe('a container with a read-write bind mount plants links: nothing outside the deploy dir is written', () => {
    /** A watched host folder standing for /etc: its listing, contents and modes must not change. */
    function watched(): { dir: string; state: () => string } {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-victim-'));
      writeFileSync(path.join(dir, 'app.conf'), 'host file\n');
      writeFileSync(path.join(dir, 'driftd.compose.yaml'), 'host file\n');
      chmodSync(path.join(dir, 'app.conf'), 0o640);
      const state = () =>
        JSON.stringify(
          readdirSync(dir)
            .sort()
            .map((n) => [n, lstatSync(path.join(dir, n)).mode, lstatSync(path.join(dir, n)).isFile() ? readFileSync(path.join(dir, n), 'utf8') : 'dir']),
        );
      return { dir, state };
    }

    it('a subfolder swapped for a symlink is replaced by a real folder; writes and removals never go through it', () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
      const host = watched();
      const before = host.state();
      const src = stackDir({ 'conf/app.conf': 'one', 'conf/old.conf': 'old' });
      const first = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
      // The container swaps conf/ for a link to the host folder (mode 0644 differs from the host file's 0640).
      renameSync(path.join(first.dir, 'conf'), path.join(first.dir, 'conf.moved'));
      symlinkSync(host.dir, path.join(first.dir, 'conf'));
      rmSync(path.join(src, 'conf/old.conf'));
      writeFileSync(path.join(src, 'conf/app.conf'), 'two');
      const second = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
      expect(host.state()).toBe(before);
      expect(lstatSync(path.join(second.dir, 'conf')).isDirectory()).toBe(true);
      expect(readFileSync(path.join(second.dir, 'conf/app.conf'), 'utf8')).toBe('two');
    });

    it('a link planted where a file goes (same content: only its mode would change) is replaced, its target untouched', () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
      const host = watched();
      const before = host.state();
      const src = stackDir({ 'app.conf': 'host file\n' });
      const first = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'host file\n' });
      for (const name of ['app.conf', 'driftd.compose.yaml']) {
        rmSync(path.join(first.dir, name));
        symlinkSync(path.join(host.dir, name), path.join(first.dir, name));
      }
      syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'host file\n' });
      expect(host.state()).toBe(before);
      expect(lstatSync(path.join(first.dir, 'app.conf')).isFile()).toBe(true);
      expect(statSync(path.join(first.dir, DEPLOY_COMPOSE_FILE)).mode & 0o777).toBe(0o600);
    });

    it('planted temp names (the old predictable <file>.driftd-tmp) are never opened', () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
      const host = watched();
      const before = host.state();
      const src = stackDir({ 'app.conf': 'one' });
      const first = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v1' });
      symlinkSync(path.join(host.dir, 'app.conf'), path.join(first.dir, 'app.conf.driftd-tmp'));
      symlinkSync(path.join(host.dir, 'driftd.compose.yaml'), path.join(first.dir, `${DEPLOY_COMPOSE_FILE}.driftd-tmp`));
      writeFileSync(path.join(src, 'app.conf'), 'two');
      const second = syncDeployDir({ dataDir, stack: 'web', stackDir: src, composeYaml: 'v2' });
      expect(second.written).toEqual(['app.conf', DEPLOY_COMPOSE_FILE]);
      expect(host.state()).toBe(before);
    });

    it('a missing subfolder whose parent is a planted link is created inside, not through the link', () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-data-'));
      const host = watched();
      const before = host.state();
      const first = syncDeployDir({ dataDir, stack: 'web', stackDir: stackDir({ 'a.conf': 'a' }), composeYaml: 'v1' });
      symlinkSync(host.dir, path.join(first.dir, 'deep'));
      syncDeployDir({ dataDir, stack: 'web', stackDir: stackDir({ 'a.conf': 'a', 'deep/new/x.conf': 'x' }), composeYaml: 'v1' });
      expect(host.state()).toBe(before);
      expect(readdirSync(host.dir).sort()).toEqual(['app.conf', 'driftd.compose.yaml']);
      expect(readFileSync(path.join(first.dir, 'deep/new/x.conf'), 'utf8')).toBe('x');
    });
  });
});

