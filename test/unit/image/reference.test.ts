import { describe, expect, it } from 'vitest';
import { isDriftdError } from '../../../src/errors/index.js';
import {
  effectiveTag,
  familiarName,
  formatFamiliar,
  formatFull,
  isFloatingRef,
  normalizeImageRef,
  parseImageRef,
  parseRepoDigest,
  sameRepository,
} from '../../../src/image/reference.js';

const D = `sha256:${'0123456789abcdef'.repeat(4)}`;

describe('parseImageRef', () => {
  it.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx' }, 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }, 'docker.io/library/nginx:1.27', 'nginx:1.27'],
    ['library/nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }, 'docker.io/library/nginx:1.27', 'nginx:1.27'],
    ['docker.io/nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }, 'docker.io/library/nginx:1.27', 'nginx:1.27'],
    ['index.docker.io/library/nginx', { registry: 'docker.io', repository: 'library/nginx' }, 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['traefik/whoami:v1.10', { registry: 'docker.io', repository: 'traefik/whoami', tag: 'v1.10' }, 'docker.io/traefik/whoami:v1.10', 'traefik/whoami:v1.10'],
    ['ghcr.io/org/app:1.0', { registry: 'ghcr.io', repository: 'org/app', tag: '1.0' }, 'ghcr.io/org/app:1.0', 'ghcr.io/org/app:1.0'],
    ['ghcr.io/app', { registry: 'ghcr.io', repository: 'app' }, 'ghcr.io/app:latest', 'ghcr.io/app:latest'],
    ['127.0.0.1:5000/driftd/app:1.0', { registry: '127.0.0.1:5000', repository: 'driftd/app', tag: '1.0' }, '127.0.0.1:5000/driftd/app:1.0', '127.0.0.1:5000/driftd/app:1.0'],
    ['127.0.0.1:5000/driftd/app', { registry: '127.0.0.1:5000', repository: 'driftd/app' }, '127.0.0.1:5000/driftd/app:latest', '127.0.0.1:5000/driftd/app:latest'],
    ['localhost/app:dev', { registry: 'localhost', repository: 'app', tag: 'dev' }, 'localhost/app:dev', 'localhost/app:dev'],
    ['localhost:5000/a/b/c:x_y.z-1', { registry: 'localhost:5000', repository: 'a/b/c', tag: 'x_y.z-1' }, 'localhost:5000/a/b/c:x_y.z-1', 'localhost:5000/a/b/c:x_y.z-1'],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1' }, '[::1]:5000/app:1', '[::1]:5000/app:1'],
    [`nginx@${D}`, { registry: 'docker.io', repository: 'library/nginx', digest: D }, `docker.io/library/nginx@${D}`, `nginx@${D}`],
    [`nginx:1.27@${D}`, { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', digest: D }, `docker.io/library/nginx:1.27@${D}`, `nginx:1.27@${D}`],
    [`127.0.0.1:5000/driftd/app:1.0@${D}`, { registry: '127.0.0.1:5000', repository: 'driftd/app', tag: '1.0', digest: D }, `127.0.0.1:5000/driftd/app:1.0@${D}`, `127.0.0.1:5000/driftd/app:1.0@${D}`],
    ['my_org/my-app__x:1', { registry: 'docker.io', repository: 'my_org/my-app__x', tag: '1' }, 'docker.io/my_org/my-app__x:1', 'my_org/my-app__x:1'],
  ])('%s', (input, parsed, full, familiar) => {
    const ref = parseImageRef(input);
    expect(ref).toEqual(parsed);
    expect(formatFull(ref)).toBe(full);
    expect(formatFamiliar(ref)).toBe(familiar);
    expect(normalizeImageRef(input)).toBe(full);
    // Round trip: the familiar form parses back to the same reference.
    expect(normalizeImageRef(familiar)).toBe(full);
  });

  it.each([
    ['', 'empty'],
    [' nginx', 'spaces'],
    ['Nginx:1', 'lowercase'],
    ['nginx:', 'not a valid tag'],
    ['nginx:-x', 'not a valid tag'],
    ['nginx@sha256:xyz', 'not a digest'],
    ['foo//bar', 'not a valid name component'],
    ['-bad.io/x', 'not a valid registry host'],
    ['a'.repeat(256), 'longer than 255'],
    ['nginx:1.0:2.0', 'not a valid'],
  ])('refuses %j (%s)', (input, reason) => {
    let error: unknown;
    try {
      parseImageRef(input);
    } catch (e) {
      error = e;
    }
    expect(isDriftdError(error)).toBe(true);
    if (isDriftdError(error)) {
      expect(error.code).toBe('InvalidImageRef');
      expect(error.message).toContain(reason);
      expect(error.message).toContain('fix the image in the compose file');
    }
  });
});

describe('names and tags', () => {
  it.each([
    ['nginx', 'nginx', 'latest', true],
    ['nginx:latest', 'nginx', 'latest', true],
    ['nginx:1.27', 'nginx', '1.27', false],
    [`nginx@${D}`, 'nginx', undefined, false],
    [`nginx:latest@${D}`, 'nginx', 'latest', false],
    ['user/app', 'user/app', 'latest', true],
    ['docker.io/library/a/b:1', 'library/a/b', '1', false],
    ['127.0.0.1:5000/driftd/app:1.0', '127.0.0.1:5000/driftd/app', '1.0', false],
  ])('%s → familiar %s, tag %s, floating %s', (input, familiar, tag, floating) => {
    const ref = parseImageRef(input);
    expect(familiarName(ref)).toBe(familiar);
    expect(effectiveTag(ref)).toBe(tag);
    expect(isFloatingRef(ref)).toBe(floating);
  });

  it('compares repositories across spellings and parses repo digests', () => {
    expect(sameRepository(parseImageRef('nginx:1'), parseImageRef('docker.io/library/nginx:2'))).toBe(true);
    expect(sameRepository(parseImageRef('nginx'), parseImageRef('ghcr.io/nginx'))).toBe(false);
    expect(parseRepoDigest(`127.0.0.1:5000/driftd/app@${D}`)).toEqual({ registry: '127.0.0.1:5000', repository: 'driftd/app', digest: D });
    expect(parseRepoDigest('nginx:1.27')).toBeUndefined();
    expect(parseRepoDigest('<none>@<none>')).toBeUndefined();
  });
});
