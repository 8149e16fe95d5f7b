import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/resolve.js';
import { channelProblems, resolveChannels, wants } from '../../../src/notify/channels.js';
import type { ChannelSetting } from '../../../src/notify/model.js';
import { scrub } from '../../../src/util/scrub.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const setting = (over: Partial<ChannelSetting> = {}): ChannelSetting => ({ name: 'notifications[0]', type: 'webhook', url: { key: 'notifications[0].url', value: 'https://hooks.example/T0123/B0456/abcdefghijklmnopqrstuvwx' }, ...over });

function configWith(yaml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-notify-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  return resolveConfig({ flags: { config: file, repo: dir, dataDir: path.join(dir, 'data') }, env, cwd: dir });
}

describe('notification channels', () => {
  it('resolves from the config: URL from env, key from env, filters, durations; the names are kept from Compose', () => {
    const c = configWith(
      'notifications:\n  - {type: webhook, urlEnv: HOOK_URL, secretEnv: HOOK_KEY, events: [sync-failed], stacks: [edge], minInterval: 2s, timeout: 3s}\n  - {type: slack, urlEnv: SLACK_URL}\nstatusUrl: https://status.example/driftd\n',
      { HOOK_URL: 'http://127.0.0.1:9/hook', HOOK_KEY: 'k3y-value-123', SLACK_URL: 'https://hooks.slack.example/services/T000/B000/XXXXXXXXXXXXXXXXXXXX' },
    );
    expect(c.statusUrl).toBe('https://status.example/driftd');
    expect(c.privateEnvNames).toEqual(expect.arrayContaining(['HOOK_URL', 'HOOK_KEY', 'SLACK_URL']));
    const [hook, slack] = resolveChannels(c.notifications);
    expect(hook).toMatchObject({ type: 'webhook', url: 'http://127.0.0.1:9/hook', secret: 'k3y-value-123', minIntervalMs: 2000, timeoutMs: 3000 });
    expect(hook?.key).toMatch(/^webhook:sha256:[0-9a-f]{12}$/);
    expect(slack).toMatchObject({ type: 'slack', minIntervalMs: 10_000, timeoutMs: 10_000 });
    expect(wants(hook!, { event: 'sync-failed', stack: 'edge' })).toBe(true);
    expect(wants(hook!, { event: 'sync-failed', stack: 'db' })).toBe(false);
    expect(wants(hook!, { event: 'drift-detected', stack: 'edge' })).toBe(false);
    expect(wants(hook!, { event: 'sync-failed' })).toBe(true);
    expect(wants(slack!, { event: 'health-degraded', stack: '__proto__' })).toBe(true);
  });

  it('the config file refuses inline URLs, unknown events, both urlEnv and urlFile, a secret on a chat channel', () => {
    expect(() => configWith('notifications:\n  - {type: webhook, url: "https://x.example"}\n')).toThrow(/url/);
    expect(() => configWith('notifications:\n  - {type: webhook, urlEnv: A, events: [everything]}\n')).toThrow(/events/);
    expect(() => configWith('notifications:\n  - {type: webhook, urlEnv: A, urlFile: /x}\n')).toThrow(/exactly one of urlEnv and urlFile/);
    expect(() => configWith('notifications:\n  - {type: slack, urlEnv: A, secretEnv: B}\n')).toThrow(/webhook only/);
    expect(() => configWith('notifications:\n  - {type: sms, urlEnv: A}\n')).toThrow(/type/);
  });

  it.each([
    [{ url: { key: 'notifications[0].url', problem: 'notifications[0].urlEnv names the environment variable HOOK, which is not set' } }, /HOOK, which is not set/],
    [{ url: { key: 'k', value: 'file:///etc/passwd' } }, /must be http:\/\/ or https:\/\/ \(it is file:\)/],
    [{ url: { key: 'k', value: 'javascript:alert(1)' } }, /must be http/],
    [{ url: { key: 'k', value: 'not a url at all' } }, /whitespace/],
    [{ url: { key: 'k', value: 'https://x.example/a\r\nX-Injected: 1' } }, /line break/],
    [{ url: { key: 'k', value: 'hooks.example/no-scheme' } }, /not a valid URL/],
    [{ secret: { key: 'notifications[0].secret', problem: 'notifications[0].secretFile /nope cannot be read (ENOENT)' } }, /cannot be read/],
  ])('refuses a hostile or broken value without printing it: %j', (over, message) => {
    const s = setting(over);
    const problems = channelProblems([s]);
    expect(problems[0]?.message).toMatch(message);
    for (const p of problems) expect(p.message).not.toContain('etc/passwd');
    expect(() => resolveChannels([s])).toThrow(/the agent cannot start/);
  });

  it('registers the URL, its token-bearing parts and the key with the one scrubber', () => {
    const secretPath = 'T0123/B0456/zyxwvutsrqponmlkjihgfedc';
    resolveChannels([setting({ url: { key: 'k', value: `https://user:pa55w0rd-x@hooks.example/${secretPath}?token=tok-ABCDEF-123` }, secret: { key: 's', value: 'hmac-key-987654' } })]);
    const out = scrub(`POST https://hooks.example/${secretPath}?token=tok-ABCDEF-123 failed; path ${secretPath.split('/')[2]}; key hmac-key-987654; tok-ABCDEF-123`);
    for (const s of ['zyxwvutsrqponmlkjihgfedc', 'tok-ABCDEF-123', 'hmac-key-987654']) expect(out).not.toContain(s);
  });

  it('two channels on one URL get distinct keys', () => {
    const [a, b] = resolveChannels([setting(), setting({ name: 'notifications[1]', events: ['sync-failed'] })]);
    expect(a?.key).not.toBe(b?.key);
  });
});
