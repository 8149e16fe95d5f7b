import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateRepo } from '../../../src/validate/validate-repo.js';
import { formatValidateText } from '../../../src/validate/format.js';
import { CONFIG, brief } from './helpers.js';
import { AWS_KEY, ENV_SECRET, EXPECTED, plantRepo } from './planted-repo.js';

const EXAMPLE_REPO = path.resolve(import.meta.dirname, '../../..');

describe('validateRepo on a repo planted with every problem', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'driftd-planted-'));
  plantRepo(root);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports each planted problem at its file and line, and nothing else', async () => {
    const result = await validateRepo({ root, config: CONFIG });
    const expected = EXPECTED.map((e) => `${e.file}${e.line !== undefined ? `:${e.line}` : ''} ${e.kind}`).sort();
    expect(result.findings.map(brief).sort()).toEqual(expected);
    for (const e of EXPECTED) {
      const f = result.findings.find((x) => x.kind === e.kind && x.file === e.file && x.line === e.line);
      expect(f?.severity, `${e.file} ${e.kind}`).toBe(e.severity ?? 'error');
    }
    expect(result.exitCode).toBe(2);
    expect(result.summary).toEqual({
      stacks: 13,
      findings: EXPECTED.length,
      bySeverity: { error: EXPECTED.filter((e) => (e.severity ?? 'error') === 'error').length, warning: EXPECTED.filter((e) => e.severity === 'warning').length },
    });
  });

  it('never prints a secret value', async () => {
    const text = formatValidateText(await validateRepo({ root, config: CONFIG }));
    expect(text).not.toContain(AWS_KEY);
    expect(text).not.toContain(ENV_SECRET);
    expect(text).not.toMatch(/MIIBOgIBAAJBAKj34/);
  });

  it('drops each policy warning its config switch turns off', async () => {
    const result = await validateRepo({ root, config: { ...CONFIG, latest: false, privileged: false, hostBindMounts: false, hostNetwork: false }, policy: { dockerSocket: false } });
    const kinds = new Set(result.findings.map((f) => f.kind));
    for (const k of ['image-latest', 'privileged', 'host-bind-mount', 'host-network', 'docker-socket']) expect(kinds.has(k as never), k).toBe(false);
    expect(result.findings.filter((f) => f.severity === 'warning').map(brief)).toEqual(['locks/ghost.lock.json lock-orphan']);
  });

  it('with a host filter, checks only that host\'s conflicts', async () => {
    const conflicts = (r: Awaited<ReturnType<typeof validateRepo>>) => r.findings.filter((f) => f.kind.endsWith('-conflict')).map(brief);
    expect(conflicts(await validateRepo({ root, config: CONFIG, hostFilter: 'web-02' }))).toEqual([]);
    expect(conflicts(await validateRepo({ root, config: CONFIG, hostFilter: 'web-01' }))).toHaveLength(3);
  });
});

describe('validateRepo on the example repo of this project', () => {
  it('finds nothing in stacks/, locks/ and fleet.yaml', async () => {
    const result = await validateRepo({ root: EXAMPLE_REPO, config: CONFIG });
    expect(result.findings).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.summary.stacks).toBeGreaterThan(0);
  });
});
