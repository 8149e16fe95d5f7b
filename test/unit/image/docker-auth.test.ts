import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCredentialSource, dockerConfigPath, toAuthConfig, type HelperRunner } from '../../../src/image/docker-auth.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'driftd-dockercfg-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function source(config: unknown, runHelper?: HelperRunner) {
  await writeFile(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return createCredentialSource({ env: { DOCKER_CONFIG: dir }, ...(runHelper ? { runHelper } : {}) });
}

describe('dockerConfigPath', () => {
  it('uses DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/etc/dc' })).toBe('/etc/dc/config.json');
    expect(dockerConfigPath({ HOME: '/home/op' })).toBe('/home/op/.docker/config.json');
  });
});

describe('createCredentialSource', () => {
  it('decodes base64 user:password auths, matching keys with or without scheme and path', async () => {
    const creds = await source({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        'https://ghcr.io/v2/': { auth: b64('gh:tok') },
        '127.0.0.1:5000': { username: 'u', password: 'p' },
      },
    });
    expect(await creds.credentialsFor('docker.io')).toEqual({ serverAddress: 'https://index.docker.io/v1/', username: 'hubuser', password: 'hub:pass' });
    expect(await creds.credentialsFor('ghcr.io')).toEqual({ serverAddress: 'ghcr.io', username: 'gh', password: 'tok' });
    expect(await creds.credentialsFor('127.0.0.1:5000')).toEqual({ serverAddress: '127.0.0.1:5000', username: 'u', password: 'p' });
    expect(await creds.credentialsFor('quay.io')).toBeUndefined();
  });

  it('passes identity tokens on', async () => {
    const creds = await source({ auths: { 'registry.example': { identitytoken: 'refresh-me' } } });
    const c = await creds.credentialsFor('registry.example');
    expect(c).toEqual({ serverAddress: 'registry.example', identityToken: 'refresh-me' });
    expect(toAuthConfig(c!)).toEqual({ identitytoken: 'refresh-me', serveraddress: 'registry.example' });
  });

  it('builds the engine AuthConfig for user/password', () => {
    expect(toAuthConfig({ serverAddress: 'r', username: 'u', password: 'p' })).toEqual({ username: 'u', password: 'p', serveraddress: 'r' });
  });

  it('is anonymous without a config file', async () => {
    const creds = createCredentialSource({ env: { DOCKER_CONFIG: path.join(dir, 'none') } });
    expect(await creds.credentialsFor('docker.io')).toBeUndefined();
  });

  it('asks credential helpers (per registry first, then the store)', async () => {
    const calls: string[] = [];
    const run: HelperRunner = (helper, server) => {
      calls.push(`${helper} ${server}`);
      if (helper === 'gcloud') return Promise.resolve({ code: 0, stdout: JSON.stringify({ ServerURL: server, Username: 'oauth2', Secret: 's3' }), stderr: '' });
      if (server === 'nothing.example') return Promise.resolve({ code: 1, stdout: 'credentials not found in native keychain', stderr: '' });
      return Promise.resolve({ code: 0, stdout: JSON.stringify({ ServerURL: server, Username: '<token>', Secret: 'idtok' }), stderr: '' });
    };
    const creds = await source({ credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop', auths: { 'https://index.docker.io/v1/': {} } }, run);
    expect(await creds.credentialsFor('gcr.io')).toEqual({ serverAddress: 'gcr.io', username: 'oauth2', password: 's3' });
    expect(await creds.credentialsFor('docker.io')).toEqual({ serverAddress: 'https://index.docker.io/v1/', identityToken: 'idtok' });
    expect(await creds.credentialsFor('nothing.example')).toBeUndefined();
    // Memoized: one helper call per registry.
    await creds.credentialsFor('gcr.io');
    expect(calls).toEqual(['gcloud gcr.io', 'desktop https://index.docker.io/v1/', 'desktop nothing.example']);
  });

  it.each([
    ['{not json', 'is not valid JSON'],
    [{ auths: { 'r.example': { auth: b64('no-colon') } } }, 'auths."r.example".auth is not base64 of user:password'],
    [{ auths: 'x' }, 'auths has an unexpected shape'],
  ])('refuses a broken config with a ConfigError naming the file, never a secret (%j)', async (config, reason) => {
    const creds = await source(config);
    const err = await creds.credentialsFor('r.example').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'ConfigError' });
    expect((err as Error).message).toContain(path.join(dir, 'config.json'));
    expect((err as Error).message).toContain(reason);
    expect((err as Error).message).not.toContain('no-colon');
  });

  it('reports a failing helper without its output', async () => {
    const creds = await source({ credsStore: 'broken' }, () => Promise.resolve({ code: 3, stdout: 'secret-ish output', stderr: '' }));
    const err = await creds.credentialsFor('r.example').catch((e: unknown) => e);
    expect((err as Error).message).toContain('docker-credential-broken failed for r.example (exit 3)');
    expect((err as Error).message).not.toContain('secret-ish');
  });
});
