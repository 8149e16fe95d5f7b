import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpSettings, isLoopback } from '../../../src/agent/http-settings.js';
import { resolveConfig } from '../../../src/config/resolve.js';
import { tempDir } from '../state/helpers.js';

function configWith(http: string, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, `http:\n${http}`);
  return { dir, config: resolveConfig({ flags: { config: file, repo: dir, dataDir: dir }, env }) };
}

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])('%s is loopback', (h) => expect(isLoopback(h)).toBe(true));
  it.each(['0.0.0.0', '::', '10.0.0.1', '192.168.1.5', '::ffff:10.0.0.1', 'example.org', 'localhost.evil.example', '128.0.0.1'])('%s is not', (h) => expect(isLoopback(h)).toBe(false));
});

describe('httpSettings (the agent refuses to start)', () => {
  it('allows loopback with no secret at all (every guarded endpoint then refuses)', () => {
    const { config } = configWith('  listen: 127.0.0.1:9797\n');
    expect(httpSettings(config.http)).toEqual({ listen: '127.0.0.1:9797', host: '127.0.0.1', port: 9797 });
  });

  it.each(['0.0.0.0:9797', '[::]:9797', '10.1.2.3:80', 'myhost:9797'])('refuses %s without both a read token and a webhook secret', (listen) => {
    for (const extra of ['', '  readTokenEnv: R\n', '  webhookSecretEnv: W\n']) {
      const { config } = configWith(`  listen: "${listen}"\n${extra}`, { R: 'r', W: 'w' });
      expect(() => httpSettings(config.http)).toThrow(/^the agent cannot start: http\.listen .* is not a loopback address, so it needs both a read token/);
    }
    const { config } = configWith(`  listen: "${listen}"\n  readTokenEnv: R\n  webhookSecretEnv: W\n`, { R: 'r', W: 'w' });
    expect(httpSettings(config.http)).toMatchObject({ readToken: 'r', webhookSecret: 'w' });
  });

  it('http.metrics: open serves /metrics without a token; token (the default) does not; anything else is a config error', () => {
    expect(httpSettings(configWith('  listen: 127.0.0.1:9797\n  metrics: open\n').config.http)).toMatchObject({ metricsOpen: true });
    expect(httpSettings(configWith('  listen: 127.0.0.1:9797\n  metrics: token\n').config.http)).not.toHaveProperty('metricsOpen');
    expect(() => configWith('  listen: 127.0.0.1:9797\n  metrics: public\n')).toThrow(/metrics/);
  });

  it('reads secrets from files, without the trailing newline; the read token may equal the webhook secret', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'tok'), 'same-secret\n');
    const { config } = configWith(`  listen: 0.0.0.0:1\n  readTokenFile: ${dir}/tok\n  webhookSecretFile: ${dir}/tok\n  writeTokenEnv: WR\n`, { WR: 'w' });
    expect(httpSettings(config.http)).toMatchObject({ readToken: 'same-secret', webhookSecret: 'same-secret', writeToken: 'w' });
  });

  it.each([
    ['a variable that is not set', '  webhookSecretEnv: DRIFTD_HOOK\n', {}, /http\.webhookSecretEnv names the environment variable DRIFTD_HOOK, which is not set/],
    ['a misspelled variable', '  webhookSecretEnv: DRIFTD_HOOCK\n', { DRIFTD_HOOK: 'x' }, /DRIFTD_HOOCK, which is not set/],
    ['an empty variable', '  readTokenEnv: R\n', { R: '' }, /http\.readTokenEnv names the environment variable R, which is empty/],
    ['a blank variable', '  writeTokenEnv: W\n', { W: '  ' }, /http\.writeTokenEnv .* is empty/],
    ['a missing file', '  readTokenFile: /nonexistent/driftd-token\n', {}, /http\.readTokenFile \/nonexistent\/driftd-token cannot be read \(ENOENT\)/],
    ['both env and file', '  readTokenEnv: R\n  readTokenFile: /x\n', { R: 'r' }, /set only one of http\.readTokenEnv and http\.readTokenFile/],
  ])('refuses %s, even on loopback', (_name, extra, env, message) => {
    const { config } = configWith(`  listen: 127.0.0.1:9797\n${extra}`, env);
    expect(() => httpSettings(config.http)).toThrow(message);
  });

  it('refuses an empty secret file', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'empty'), '\n');
    const { config } = configWith(`  listen: 127.0.0.1:1\n  webhookSecretFile: ${dir}/empty\n`);
    expect(() => httpSettings(config.http)).toThrow(/http\.webhookSecretFile .*empty is empty/);
  });

  it('does not make other commands fail on a missing secret: only the agent checks', () => {
    expect(() => configWith('  listen: 0.0.0.0:1\n  webhookSecretEnv: NOPE\n')).not.toThrow();
  });
});
