import { describe, expect, it } from 'vitest';
import { isIndexMediaType, isLoopbackRegistry, parseAuthChallenge, registryBaseUrl } from '../../../src/image/registry-http.js';

describe('registry http helpers', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost:5000', true],
    ['localhost', true],
    ['[::1]:5000', true],
    ['docker.io', false],
    ['ghcr.io', false],
    ['127.0.0.1.example.com', false],
    ['10.0.0.1:5000', false],
  ])('%s loopback: %s', (registry, loopback) => {
    expect(isLoopbackRegistry(registry)).toBe(loopback);
  });

  it('maps docker.io to its API host and picks the scheme', () => {
    expect(registryBaseUrl('docker.io', false)).toBe('https://registry-1.docker.io');
    expect(registryBaseUrl('127.0.0.1:5000', true)).toBe('http://127.0.0.1:5000');
    expect(registryBaseUrl('ghcr.io', false)).toBe('https://ghcr.io');
  });

  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } },
    ],
    ['Basic realm="basic-realm"', { scheme: 'basic', params: { realm: 'basic-realm' } }],
    ['Bearer realm=https://r.example/token, service=reg', { scheme: 'bearer', params: { realm: 'https://r.example/token', service: 'reg' } }],
    ['Bearer realm="a\\"b"', { scheme: 'bearer', params: { realm: 'a"b' } }],
    ['', undefined],
  ])('parses challenge %j', (header, expected) => {
    expect(parseAuthChallenge(header)).toEqual(expected);
  });

  it('knows index media types', () => {
    expect(isIndexMediaType('application/vnd.oci.image.index.v1+json')).toBe(true);
    expect(isIndexMediaType('application/vnd.docker.distribution.manifest.list.v2+json')).toBe(true);
    expect(isIndexMediaType('application/vnd.docker.distribution.manifest.v2+json')).toBe(false);
    expect(isIndexMediaType(undefined)).toBe(false);
  });
});
