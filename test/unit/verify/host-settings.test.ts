/**
 * `verify:` and `refuseMovedTags` are host settings (docs/design.md §9): resolved from driftd's config
 * only, refused in fleet.yaml (a revision cannot switch off the check that decides whether it
 * runs), and `driftd validate` reports every key file, line or block that does not parse.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateCommand } from '../../../src/commands/validate.js';
import { parseFleet } from '../../../src/compose/fleet.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { isDriftdError } from '../../../src/errors/index.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-verify-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A folder under the test dir holding `files`; returns its path. */
function folder(files: Record<string, string>): string {
  const d = path.join(dir, `f${(n += 1)}`);
  mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(d, name), text);
  return d;
}
function config(yaml: string) {
  const d = folder({ 'config.yaml': yaml });
  return resolveConfig({ flags: { config: path.join(d, 'config.yaml'), repo: dir, dataDir: path.join(d, 'data') }, env: {}, cwd: '/' });
}

describe('verify settings in the host config', () => {
  it('default: off, no keys, moved tags only warned about', () => {
    expect(config('{}\n').verify).toEqual({ mode: 'off', keys: [], refuseMovedTags: false });
  });

  it('key paths are relative to the config file; a string is one path', () => {
    const c = config('verify:\n  mode: tag-and-head\n  keys: keys\nrefuseMovedTags: true\n');
    expect(c.verify.mode).toBe('tag-and-head');
    expect(c.verify.keys).toHaveLength(1);
    expect(path.basename(c.verify.keys[0]!)).toBe('keys');
    expect(path.isAbsolute(c.verify.keys[0]!)).toBe(true);
    expect(c.verify.refuseMovedTags).toBe(true);
  });

  it('a mode without keys is a config error naming verify.keys, not a silent refusal of everything', () => {
    for (const mode of ['tag', 'head', 'tag-and-head']) {
      let caught: unknown;
      try {
        config(`verify:\n  mode: ${mode}\n`);
      } catch (e) {
        caught = e;
      }
      expect(isDriftdError(caught), mode).toBe(true);
      expect((caught as Error).message).toMatch(/verify\.keys/);
    }
  });

  it('an unknown mode is refused', () => {
    expect(() => config('verify:\n  mode: HEAD\n  keys: [k]\n')).toThrow(/verify\.mode/);
  });
});

describe('fleet.yaml may not weaken verification', () => {
  const cases: [string, string, RegExp][] = [
    ['top-level verify off', 'verify:\n  mode: off\n', /fleet\.yaml:[12]: verify: "verify" is a host setting/],
    ['top-level refuseMovedTags', 'hosts:\n  a: [web]\nrefuseMovedTags: false\n', /fleet\.yaml:3: refuseMovedTags: /],
    ['per stack', 'stacks:\n  web:\n    sync: auto\n    verify: {mode: off}\n', /fleet\.yaml:4: stacks\.web\.verify: "verify" is a host setting/],
    ['per stack, even an empty value', 'stacks:\n  web:\n    refuseMovedTags:\n', /stacks\.web\.refuseMovedTags/],
    ['even the stricter value', 'verify:\n  mode: tag-and-head\n  keys: [/tmp]\n', /host setting/],
  ];
  for (const [name, yaml, want] of cases) {
    it(name, () => {
      expect(() => parseFleet(yaml)).toThrow(want);
    });
  }

  it('a stack named like the key, or a prototype key, is not confused with it', () => {
    expect(parseFleet('hosts:\n  a: [verify]\nstacks:\n  verify:\n    sync: manual\n').policies.verify?.sync).toBe('manual');
    expect(() => parseFleet('__proto__:\n  verify: {mode: off}\n')).toThrow(/fleet\.yaml/);
  });
});

describe('driftd validate checks verify.keys', () => {
  const repo = folder({});
  mkdirSync(path.join(repo, 'stacks'));
  const validate = async (keys: string[]) => {
    const d = folder({ 'config.yaml': `verify:\n  mode: tag\n  keys: [${keys.map((k) => JSON.stringify(k)).join(', ')}]\n` });
    const c = resolveConfig({ flags: { config: path.join(d, 'config.yaml'), repo, dataDir: path.join(d, 'data') }, env: {}, cwd: '/' });
    const r = await validateCommand({ config: c, path: repo });
    return { result: r, keyFindings: r.findings.filter((f) => f.kind === 'verify-key-invalid') };
  };

  it('good keys (a .pub, an allowed_signers file) give no finding', async () => {
    const keys = folder({});
    copyFileSync(path.join(FIXTURES, 'ed25519.pub'), path.join(keys, 'ed25519.pub'));
    copyFileSync(path.join(FIXTURES, 'allowed_signers_all'), path.join(keys, 'allowed_signers'));
    const { keyFindings } = await validate([keys]);
    expect(keyFindings).toEqual([]);
  });

  it('reports each broken file, line or block as an error, and exits 2', async () => {
    const keys = folder({
      'broken.asc': '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all!\n-----END PGP PUBLIC KEY BLOCK-----\n',
      'allowed_signers': `# comment\nops@example.test ssh-ed25519 AAAAnotakey\nops@example.test cert-authority ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB\n`,
    });
    const missing = path.join(dir, 'no-such-key.pub');
    const { result, keyFindings } = await validate([keys, missing]);
    expect(result.exitCode).toBe(2);
    expect(keyFindings.every((f) => f.severity === 'error' && f.message.startsWith('verify.keys: '))).toBe(true);
    const at = keyFindings.map((f) => `${path.basename(f.file)}${f.line !== undefined ? `:${f.line}` : ''}`).sort();
    expect(at).toEqual(['allowed_signers:2', 'allowed_signers:3', 'broken.asc', 'no-such-key.pub'].sort());
  });

  it('an empty key folder is reported', async () => {
    const { keyFindings } = await validate([folder({ 'README.txt': 'keys go here\n' })]);
    expect(keyFindings.map((f) => f.message).join('\n')).toMatch(/holds no \.asc, \.pub or allowed_signers file/);
  });
});
