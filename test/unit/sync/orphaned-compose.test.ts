import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeRunsFor } from '../../../src/sync/orphaned-compose.js';

function fakeProc(processes: Record<string, string[]>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'driftd-proc-'));
  for (const [pid, argv] of Object.entries(processes)) {
    mkdirSync(path.join(root, pid));
    writeFileSync(path.join(root, pid, 'cmdline'), `${argv.join('\0')}\0`);
  }
  mkdirSync(path.join(root, 'self'));
  return root;
}

describe('composeRunsFor', () => {
  const proc = fakeProc({
    '101': ['/usr/bin/python3', '/usr/bin/docker-compose', '--ansi', 'never', '--project-name', 'web', '--file', 'driftd.compose.yaml', 'up'],
    '102': ['docker', 'compose', '--ansi', 'never', '--project-name', 'web-2', '--file', 'x', 'up'],
    '103': ['node', 'bin/driftd.js', 'sync', '--project-name', 'web'],
    '104': ['docker', 'compose', '--ansi', 'never', '--project-name', 'web', 'pull'],
  });

  it('finds the Compose runs of exactly that project', () => {
    expect(composeRunsFor('web', proc).sort()).toEqual([101, 104]);
    expect(composeRunsFor('web-2', proc)).toEqual([102]);
    expect(composeRunsFor('db', proc)).toEqual([]);
  });

  it('finds nothing where /proc cannot be read', () => {
    expect(composeRunsFor('web', '/nonexistent-proc')).toEqual([]);
  });
});
