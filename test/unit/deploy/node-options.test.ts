/**
 * Issue 20 (agent memory): the shipped agent runs node with a small V8 young generation
 * (--max-semi-space-size=2), set in NODE_OPTIONS because V8 sizes the heap when the process
 * starts (v8.setFlagsFromString at run time comes too late). The image, the systemd unit and the
 * bench's agent child must run the same flags, or the bench measures a process nobody ships.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AGENT_NODE_OPTIONS } from '../../../bench/agent-runner.js';

const root = path.resolve(import.meta.dirname, '../../..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

describe('the agent node flags', () => {
  it('the Dockerfile sets NODE_OPTIONS to the bench flags in the runtime stage', () => {
    const runtime = read('Dockerfile').split(/^FROM /m).at(-1) ?? '';
    expect(/^\s*NODE_OPTIONS=(\S+)/m.exec(runtime)?.[1]).toBe(AGENT_NODE_OPTIONS.join(' '));
  });

  it('deploy/driftd.service sets NODE_OPTIONS to the bench flags', () => {
    const lines = read('deploy/driftd.service').split('\n').filter((l) => l.startsWith('Environment='));
    expect(lines).toContain(`Environment=NODE_OPTIONS=${AGENT_NODE_OPTIONS.join(' ')}`);
  });

  it('node accepts them in NODE_OPTIONS and the young generation stays small under a burst of garbage', () => {
    // A burst of short-lived objects makes V8 grow its semi-spaces (to 2 × 16 MB by default).
    const probe =
      'let k = []; for (let i = 0; i < 3e6; i++) { k.push({ i }); if (k.length > 2e5) k = []; }' +
      "process.stdout.write(String(require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))";
    const newSpace = (nodeOptions: string): number =>
      Number(execFileSync(process.execPath, ['-e', probe], { env: { ...process.env, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' }));
    expect(newSpace(AGENT_NODE_OPTIONS.join(' '))).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(newSpace('')).toBeGreaterThan(4 * 1024 * 1024);
  });
});
