import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve.js';
import { allowlistedEnv, withoutPrivateEnv } from '../../../src/util/child-env.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const base: NodeJS.ProcessEnv = {
  PATH: '/usr/bin',
  HOME: '/root',
  DOCKER_HOST: 'unix:///x.sock',
  DOCKER_CONFIG: '/cfg',
  HTTP_PROXY: 'http://proxy:3128',
  https_proxy: 'http://proxy:3128',
  NO_PROXY: 'localhost',
  DRIFTD_GIT_TOKEN: 'tok',
  DRIFTD_WEBHOOK: 'hook',
  driftd_lower: 'x',
  MY_GIT_TOKEN: 'custom',
  AWS_SECRET_ACCESS_KEY: 'aws',
  COMPOSE_FILE: 'evil.yaml',
  APP_REGION: 'eu',
};

describe('allowlistedEnv', () => {
  it('passes PATH, HOME, DOCKER_* and proxy variables only', () => {
    expect(Object.keys(allowlistedEnv(base)).sort()).toEqual(['DOCKER_CONFIG', 'DOCKER_HOST', 'HOME', 'HTTP_PROXY', 'NO_PROXY', 'PATH', 'https_proxy']);
  });
  it('adds passEnv names, but never DRIFTD_* or a private name even when listed', () => {
    const env = allowlistedEnv(base, { passEnv: ['APP_REGION', 'DRIFTD_GIT_TOKEN', 'MY_GIT_TOKEN'], privateNames: ['MY_GIT_TOKEN'] });
    expect(env.APP_REGION).toBe('eu');
    expect(env.DRIFTD_GIT_TOKEN).toBeUndefined();
    expect(env.MY_GIT_TOKEN).toBeUndefined();
  });
  it('is safe with prototype-key variable names', () => {
    const env = allowlistedEnv({ ...base, constructor: 'c' }, { passEnv: ['constructor'] });
    expect(Object.hasOwn(env, 'constructor')).toBe(true);
    expect(env.constructor).toBe('c');
  });
});

describe('withoutPrivateEnv (interpolation under allowProcessEnv)', () => {
  it('drops DRIFTD_* and the private names, keeps the rest', () => {
    const env = withoutPrivateEnv(base, ['MY_GIT_TOKEN']);
    expect(env.DRIFTD_GIT_TOKEN).toBeUndefined();
    expect(env.driftd_lower).toBeUndefined();
    expect(env.MY_GIT_TOKEN).toBeUndefined();
    expect(env.APP_REGION).toBe('eu');
    expect(env.AWS_SECRET_ACCESS_KEY).toBe('aws');
  });
});

describe('compose.passEnv in the config', () => {
  const write = (yaml: string): string => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'driftd-cfg-')), 'config.yaml');
    writeFileSync(file, yaml);
    return file;
  };
  it('is read, and the credential variables are private', () => {
    const config = resolveConfig({ flags: { config: write('compose:\n  passEnv: [APP_REGION]\ngit:\n  tokenEnv: MY_GIT_TOKEN\nhttp:\n  webhookSecretEnv: HOOK\n  readTokenEnv: READ_TOK\n  writeTokenEnv: WRITE_TOK\n') }, env: {} });
    expect(config.composePassEnv).toEqual(['APP_REGION']);
    expect(config.privateEnvNames).toEqual(expect.arrayContaining(['MY_GIT_TOKEN', 'DRIFTD_GIT_PASSWORD', 'HOOK', 'READ_TOK', 'WRITE_TOK']));
  });
  it.each(['DRIFTD_GIT_TOKEN', 'driftd_x', 'MY_GIT_TOKEN'])('refuses %s', (name) => {
    expect(() => resolveConfig({ flags: { config: write(`compose:\n  passEnv: [${name}]\ngit:\n  tokenEnv: MY_GIT_TOKEN\n`) }, env: {} })).toThrow(/compose\.passEnv/);
  });
});
