/**
 * The built CLI on a planted repo, a missing path and this project's own example repo. Runs
 * `node bin/driftd.js` (build first: `npm run build`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_KEY, ENV_SECRET, EXPECTED, plantRepo } from '../unit/validate/planted-repo.js';
import { loadScaledBudget } from '../support/budget.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO, 'bin/driftd.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function driftd(args: string[], cwd = REPO): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

describe('driftd validate (built CLI)', () => {
  let root: string;

  beforeAll(() => {
    if (!existsSync(path.join(REPO, 'dist/bundle/main.js'))) throw new Error('build driftd first: npm run build');
    root = mkdtempSync(path.join(os.tmpdir(), 'driftd-validate-cli-'));
    plantRepo(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('exits 2 and prints one file:line: severity kind: message line per planted problem', async () => {
    const run = await driftd(['validate', root]);
    expect(run.code).toBe(2);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\d+ findings \(\d+ errors, \d+ warnings\) in 13 stacks$/);
    const findings = lines.slice(0, -1);
    expect(findings).toHaveLength(EXPECTED.length);
    for (const e of EXPECTED) {
      const prefix = `${e.file}${e.line !== undefined ? `:${e.line}` : ''}: ${e.severity ?? 'error'} ${e.kind}: `;
      expect(findings.filter((l) => l.startsWith(prefix)), prefix).toHaveLength(1);
    }
    expect(run.stdout).not.toContain(AWS_KEY);
    expect(run.stdout).not.toContain(ENV_SECRET);
  });

  it('--json prints the findings and a summary', async () => {
    const run = await driftd(['validate', '--json', root]);
    expect(run.code).toBe(2);
    const out = JSON.parse(run.stdout) as { schemaVersion: number; findings: { file: string; line: number | null; kind: string }[]; summary: { findings: number } };
    expect(out.schemaVersion).toBe(1);
    expect(out.summary.findings).toBe(EXPECTED.length);
    expect(out.findings).toContainEqual(expect.objectContaining({ file: 'stacks/beta/compose.yaml', line: 5, kind: 'port-conflict' }));
    expect(out.findings).toContainEqual(expect.objectContaining({ file: 'stacks/Bad_Name', line: null, kind: 'invalid-stack-name' }));
  });

  it('a missing path: exit 1 with one sentence, no stack trace', async () => {
    const run = await driftd(['validate', path.join(root, 'nope')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual([`driftd: ${path.join(root, 'nope')} does not exist or is not a directory; give driftd validate the path of a desired-state repo checkout`]);
  });

  it('the example repo of this project is clean (PATH defaults to the current directory)', async () => {
    const run = await driftd(['validate']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^no findings in \d+ stacks\n$/);
  });

  it('compiles the compose schema and validates the example within the budget; drift-check never loads ajv', async () => {
    const probe = `
      const { createRequire } = await import('node:module');
      const require = createRequire(${JSON.stringify(`${REPO}/`)});
      await import(${JSON.stringify(path.join(REPO, 'dist/commands/drift-check.js'))});
      const ajvLoaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/ajv/'));
      const before = ajvLoaded();
      const { validateRepo } = await import(${JSON.stringify(path.join(REPO, 'dist/validate/validate-repo.js'))});
      const t = performance.now();
      const r = await validateRepo({ root: ${JSON.stringify(REPO)}, config: { latest: true, privileged: true, hostBindMounts: true, hostNetwork: true, maxFileBytes: 1048576 } });
      process.stdout.write(JSON.stringify({ before, after: ajvLoaded(), ms: performance.now() - t, findings: r.findings.length }));
    `;
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], { cwd: REPO });
      const out = JSON.parse(stdout) as { before: boolean; after: boolean; ms: number; findings: number };
      expect(out).toMatchObject({ before: false, after: true, findings: 0 });
      times.push(out.ms);
    }
    // Budget ~300 ms on an idle machine; the bound leaves room for a CI host shared with Docker tests.
    const budget = loadScaledBudget(600);
    expect(Math.min(...times), budget.note).toBeLessThan(budget.ms);
  });
});
