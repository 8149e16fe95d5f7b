import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig, type GlobalFlags } from '../../../src/config/resolve.js';
import { DriftdError } from '../../../src/errors/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(yaml: string): string {
  const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

const resolve = (flags: GlobalFlags, env: NodeJS.ProcessEnv = {}) =>
  resolveConfig({ flags: { config: '/dev/null', ...flags }, env, cwd: dir });

describe('compose.command and DRIFTD_COMPOSE_COMMAND', () => {
  const cases: { name: string; env?: string; file?: string; want: string }[] = [
    { name: 'default', want: 'auto' },
    { name: 'env forces v1', env: 'docker-compose', want: 'docker-compose' },
    { name: 'env forces v2', env: 'docker compose', want: 'docker compose' },
    { name: 'file only', file: 'docker-compose', want: 'docker-compose' },
    { name: 'env beats the file', env: 'docker compose', file: 'docker-compose', want: 'docker compose' },
    { name: 'env "auto" beats the file', env: 'auto', file: 'docker-compose', want: 'auto' },
    { name: 'an empty env variable is unset', env: '', file: 'docker-compose', want: 'docker-compose' },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const config = t.file ? configFile(`compose:\n  command: ${t.file}\n`) : '/dev/null';
      const env = t.env === undefined ? {} : { DRIFTD_COMPOSE_COMMAND: t.env };
      expect(resolve({ config }, env).composeCommand).toBe(t.want);
    });
  }

  it('an unknown value is a UsageError naming the variable and the choices', () => {
    for (const bad of ['docker', 'docker-compose; rm -rf /', 'podman compose']) {
      let err: unknown;
      try {
        resolve({}, { DRIFTD_COMPOSE_COMMAND: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DriftdError);
      expect((err as DriftdError).code).toBe('UsageError');
      expect((err as DriftdError).message).toMatch(/^DRIFTD_COMPOSE_COMMAND must be one of "auto", "docker compose", "docker-compose", got /);
    }
  });
});

describe('--tag-prefix: unset (optional "v") versus set (exact, "" included)', () => {
  const cases: { name: string; flags?: GlobalFlags; env?: NodeJS.ProcessEnv; file?: string; want: string | undefined }[] = [
    { name: 'nothing set', want: undefined },
    { name: 'flag v', flags: { tagPrefix: 'v' }, want: 'v' },
    { name: 'explicit empty flag', flags: { tagPrefix: '' }, want: '' },
    { name: 'env main', env: { DRIFTD_TAG_PREFIX: 'main' }, want: 'main' },
    { name: 'empty env is unset', env: { DRIFTD_TAG_PREFIX: '' }, want: undefined },
    { name: 'file empty string is explicit', file: 'ref:\n  semver: ">=1"\n  tagPrefix: ""\n', want: '' },
    { name: 'flag beats env and file', flags: { tagPrefix: 'x' }, env: { DRIFTD_TAG_PREFIX: 'y' }, file: 'ref:\n  tagPrefix: z\n', want: 'x' },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const config = t.file ? configFile(t.file) : '/dev/null';
      const ref = resolve({ refSemver: '>=1.0.0', config, ...t.flags }, t.env).ref;
      expect(ref.kind).toBe('semver');
      expect(ref.kind === 'semver' ? ref.prefix : 'n/a').toBe(t.want);
      expect(ref.kind === 'semver' && 'prefix' in ref).toBe(t.want !== undefined);
    });
  }
});

describe('hub.timeout', () => {
  const hub = (extra: string) => resolve({ config: configFile(`hub:\n  url: http://127.0.0.1:9798/\n  tokenEnv: HUB_TOKEN\n${extra}`) }, { HUB_TOKEN: 'host-token-0123456789abcdef' }).hub;
  it('defaults to 15 s, takes a duration, and stays within 100 ms..60 s (a hung hub must not hold its lane for long)', () => {
    expect(hub('')).toMatchObject({ url: 'http://127.0.0.1:9798', heartbeatMs: 300_000, timeoutMs: 15_000 });
    expect(hub('  timeout: 30s\n')?.timeoutMs).toBe(30_000);
    expect(hub('  timeout: 10m\n')?.timeoutMs).toBe(60_000);
    expect(hub('  timeout: 1ms\n')?.timeoutMs).toBe(100);
  });
});
