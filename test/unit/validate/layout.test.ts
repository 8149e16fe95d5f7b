import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateRepo } from '../../../src/validate/validate-repo.js';
import type { Tree } from '../compose/fixture.js';
import { CONFIG, brief, compose, lint, NGINX } from './helpers.js';

const LOCK = (stack: string) => `${JSON.stringify({ version: 1, stack, composeSha256: 'a'.repeat(64), images: {} })}\n`;

interface Case {
  name: string;
  files: Tree;
  want: string[];
  maxFileBytes?: number;
}

const CASES: Case[] = [
  // stack names
  ...['Web', '-web', 'web.app', 'x'.repeat(64)].map((n) => ({ name: `stack name ${n.slice(0, 10)}`, files: { [`stacks/${n}/compose.yaml`]: NGINX }, want: [`stacks/${n} invalid-stack-name`] })),
  { name: 'valid stack names', files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a_b-1/compose.yaml': NGINX, [`stacks/${'x'.repeat(63)}/compose.yaml`]: NGINX }, want: [] },

  // symlinks
  { name: 'a symlink out of the repo', files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/passwd': { symlink: '/etc/passwd' } }, want: ['stacks/a/passwd unsafe-path'] },
  { name: 'a symlink into another stack', files: { 'stacks/a/compose.yaml': NGINX, 'stacks/b/compose.yaml': NGINX, 'stacks/a/b.yaml': { symlink: '../b/compose.yaml' } }, want: ['stacks/a/b.yaml unsafe-path'] },
  { name: 'a dangling symlink', files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/gone': { symlink: 'nothing-here' } }, want: ['stacks/a/gone unsafe-path'] },
  {
    name: 'every bad symlink of a stack, not only the first',
    files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/x/one': { symlink: '/etc/hosts' }, 'stacks/a/y/two': { symlink: '/etc/passwd' } },
    want: ['stacks/a/x/one unsafe-path', 'stacks/a/y/two unsafe-path'],
  },
  {
    name: 'symlinks to a file and a folder inside the stack',
    files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/conf/real.conf': 'x\n', 'stacks/a/link.conf': { symlink: 'conf/real.conf' }, 'stacks/a/conf2': { symlink: 'conf' } },
    want: [],
  },
  { name: 'a stack folder that is a symlink', files: { 'elsewhere/compose.yaml': NGINX, 'stacks/a': { symlink: '../elsewhere' } }, want: ['stacks/a unsafe-path'] },

  // sizes
  { name: 'a file over the limit', maxFileBytes: 100, files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/blob.bin': 'x'.repeat(101) }, want: ['stacks/a/blob.bin file-too-large'] },
  { name: 'a file at the limit', maxFileBytes: 100, files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/blob.bin': 'x'.repeat(100) }, want: [] },
  { name: 'a compose file over the limit, reported once', maxFileBytes: 100, files: { 'stacks/a/compose.yaml': NGINX + `# ${'x'.repeat(100)}\n` }, want: ['stacks/a/compose.yaml file-too-large'] },
  { name: 'a lock file over the limit', maxFileBytes: 100, files: { 'stacks/a/compose.yaml': NGINX, 'locks/a.lock.json': `${LOCK('a')}${' '.repeat(100)}` }, want: ['locks/a.lock.json file-too-large'] },

  // YAML
  { name: 'a duplicate key', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: nginx:1.27.3', '  app:', '    image: nginx:1.27.4') }, want: ['stacks/a/compose.yaml:4 yaml-error'] },
  { name: 'a syntax error', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: [nginx') }, want: ['stacks/a/compose.yaml:4 yaml-error'] },
  { name: 'several documents', files: { 'stacks/a/compose.yaml': `${NGINX}---\n${NGINX}` }, want: ['stacks/a/compose.yaml:4 yaml-error'] },
  {
    name: 'an alias bomb',
    files: { 'stacks/a/compose.yaml': compose('x-a: &a [1,1,1,1,1,1,1,1,1,1]', 'x-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'x-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'x-d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]', NGINX) },
    want: ['stacks/a/compose.yaml:2 yaml-error'],
  },
  { name: 'a Compose !reset tag', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: nginx:1.27.3', '    ports: !reset []') }, want: ['stacks/a/compose.yaml:4 compose-error'] },

  // interpolation
  { name: 'an invalid template', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: "nginx:${TAG"') }, want: ['stacks/a/compose.yaml:3 interpolation-error'] },
  { name: 'a missing required variable', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: nginx:${TAG:?set TAG}') }, want: ['stacks/a/compose.yaml:3 interpolation-error'] },
  { name: 'a required variable the .env sets', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: nginx:${TAG:?set TAG}'), 'stacks/a/.env': 'TAG=1.27.3\n' }, want: [] },
  { name: 'an error in .env', files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/.env': 'A=1\nB=${C:?need C}\n' }, want: ['stacks/a/.env:2 interpolation-error'] },

  // what the loader refuses
  { name: 'no compose file', files: { 'stacks/a/README.md': 'x\n' }, want: ['stacks/a compose-error'] },
  { name: 'build without image', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    build: .') }, want: ['stacks/a/compose.yaml:2 compose-error'] },
  { name: 'an undeclared named volume', files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: nginx:1.27.3', '    volumes: ["data:/data"]') }, want: ['stacks/a/compose.yaml:4 compose-error'] },
  {
    name: 'a compose file that precedence ignores',
    files: { 'stacks/a/compose.yaml': NGINX, 'stacks/a/docker-compose.yml': NGINX, 'stacks/a/compose.override.yaml': NGINX, 'stacks/a/docker-compose.override.yml': NGINX },
    want: ['stacks/a/docker-compose.override.yml compose-file-ignored', 'stacks/a/docker-compose.yml compose-file-ignored'],
  },

  // locks
  { name: 'a valid lock', files: { 'stacks/a/compose.yaml': NGINX, 'locks/a.lock.json': LOCK('a') }, want: [] },
  { name: 'a lock that is not JSON', files: { 'stacks/a/compose.yaml': NGINX, 'locks/a.lock.json': '{\n  "version": 1,\n  oops\n}\n' }, want: ['locks/a.lock.json:3 lock-invalid'] },
  { name: 'a lock off the schema', files: { 'stacks/a/compose.yaml': NGINX, 'locks/a.lock.json': LOCK('a').replace('"version":1', '"version":2') }, want: ['locks/a.lock.json lock-invalid'] },
  { name: 'the lock of another stack', files: { 'stacks/a/compose.yaml': NGINX, 'stacks/b/compose.yaml': NGINX, 'locks/a.lock.json': LOCK('b') }, want: ['locks/a.lock.json lock-invalid'] },
  { name: 'a lock without its stack', files: { 'stacks/a/compose.yaml': NGINX, 'locks/old.lock.json': LOCK('old') }, want: ['locks/old.lock.json lock-orphan'] },
  { name: 'a symlinked lock', files: { 'stacks/a/compose.yaml': NGINX, 'locks/real.json': LOCK('a'), 'locks/a.lock.json': { symlink: 'real.json' } }, want: ['locks/a.lock.json unsafe-path'] },
  {
    name: 'an invalid lock does not hide the stack\'s own problems',
    files: { 'stacks/a/compose.yaml': compose('services:', '  app:', '    image: nginx:latest'), 'locks/a.lock.json': '[]' },
    want: ['locks/a.lock.json lock-invalid', 'stacks/a/compose.yaml:3 image-latest'],
  },

  // fleet.yaml
  { name: 'fleet.yaml is not YAML', files: { 'stacks/a/compose.yaml': NGINX, 'fleet.yaml': 'hosts:\n  h1: [a\n' }, want: ['fleet.yaml:3 yaml-error'] },
  { name: 'fleet.yaml with an unknown key', files: { 'stacks/a/compose.yaml': NGINX, 'fleet.yaml': 'hosts:\n  h1: [a]\nstack:\n  a: {}\n' }, want: ['fleet.yaml:4 fleet-invalid'] },
  {
    name: 'fleet.yaml naming stacks that do not exist',
    files: { 'stacks/a/compose.yaml': NGINX, 'fleet.yaml': 'hosts:\n  h1:\n    - a\n    - b\nstacks:\n  c:\n    sync: manual\n' },
    want: ['fleet.yaml:4 fleet-unknown-stack', 'fleet.yaml:6 fleet-unknown-stack'],
  },
];

describe('layout, YAML, interpolation, loader, locks and fleet findings', () => {
  it.each(CASES)('$name', async ({ files, want, maxFileBytes }) => {
    const result = await lint(files, maxFileBytes !== undefined ? { maxFileBytes } : {});
    expect(result.findings.map(brief)).toEqual(want);
  });

  it('a finding for a missing fleet stack is an error, for a stray policy a warning', async () => {
    const result = await lint({ 'stacks/a/compose.yaml': NGINX, 'fleet.yaml': 'hosts:\n  h1: [b]\nstacks:\n  c: {}\n' });
    expect(result.findings.map((f) => `${f.line ?? ''} ${f.severity}`)).toEqual(['2 error', '4 warning']);
  });
});

describe('what is not a desired-state repo', () => {
  it('a missing path is an error (exit 1), not a finding', async () => {
    await expect(validateRepo({ root: '/nonexistent/driftd-repo', config: CONFIG })).rejects.toMatchObject({
      code: 'RepoNotFound',
      exitCode: 1,
      message: '/nonexistent/driftd-repo does not exist or is not a directory; give driftd validate the path of a desired-state repo checkout',
    });
  });

  it('a directory without stacks/ is an error', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'driftd-empty-'));
    await expect(validateRepo({ root, config: CONFIG })).rejects.toMatchObject({ code: 'RepoNotFound', message: expect.stringMatching(/has no stacks\/ folder/) as unknown });
  });
});
