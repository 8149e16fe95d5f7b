import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
});
