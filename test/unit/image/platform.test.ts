import { describe, expect, it } from 'vitest';
import { enginePlatform, formatPlatform, selectPlatformManifest, type IndexEntry } from '../../../src/image/platform.js';
import { parseIndex } from '../../../src/image/registry-http.js';
import { fixtureText } from '../lock/helpers.js';

describe('platforms', () => {
  it.each([
    [{ os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'x86_64' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'aarch64' }, 'linux/arm64'],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'linux/arm64'],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    [{ os: 'Linux', architecture: 'AMD64', variant: '' }, 'linux/amd64'],
  ])('formats %j as %s', (p, text) => {
    expect(formatPlatform(p)).toBe(text);
  });

  it.each([
    [{ Os: 'linux', Arch: 'amd64' }, { Architecture: 'x86_64' }, 'linux/amd64'],
    [{ Os: 'linux', Arch: 'arm64' }, { Architecture: 'aarch64' }, 'linux/arm64'],
    [{ Os: 'linux', Arch: 'arm' }, { Architecture: 'armv7l' }, 'linux/arm/v7'],
    [{ Os: 'linux', Arch: 'arm' }, { Architecture: 'armv6l' }, 'linux/arm/v6'],
    [{}, { OSType: 'linux', Architecture: 'x86_64' }, 'linux/amd64'],
  ])('engine version %j + info %j → %s', (version, info, expected) => {
    expect(formatPlatform(enginePlatform(version, info))).toBe(expected);
  });
});

describe('selectPlatformManifest', () => {
  const hub = parseIndex(fixtureText('registry-hub-style-index.json'), 'hub');
  const pick = (entries: IndexEntry[], os: string, architecture: string, variant?: string): string | undefined => {
    const e = selectPlatformManifest(entries, { os, architecture, ...(variant ? { variant } : {}) });
    return e?.platform ? formatPlatform(e.platform) : undefined;
  };

  it.each([
    ['linux', 'amd64', undefined, 'linux/amd64'],
    ['linux', 'arm64', undefined, 'linux/arm64'],
    ['linux', 'arm64', 'v8', 'linux/arm64'],
    ['linux', 'arm', 'v7', 'linux/arm/v7'],
    // An armv6 CPU cannot run v7 code but runs v5.
    ['linux', 'arm', 'v6', 'linux/arm/v5'],
    ['linux', 'arm', 'v8', 'linux/arm/v7'],
    ['linux', 'riscv64', undefined, undefined],
    ['windows', 'amd64', undefined, undefined],
  ])('%s/%s/%s → %s', (os, arch, variant, expected) => {
    expect(pick(hub, os, arch, variant)).toBe(expected);
  });

  it('never picks attestation manifests (platform unknown/unknown)', () => {
    const attestations = hub.filter((e) => e.platform?.os === 'unknown');
    expect(attestations.length).toBeGreaterThan(0);
    expect(pick(attestations, 'linux', 'amd64')).toBeUndefined();
  });

  it('prefers an entry without variant over a mismatching variant', () => {
    const entries: IndexEntry[] = [
      { digest: 'sha256:1', platform: { os: 'linux', architecture: 'amd64', variant: 'v3' } },
      { digest: 'sha256:2', platform: { os: 'linux', architecture: 'amd64' } },
    ];
    expect(selectPlatformManifest(entries, { os: 'linux', architecture: 'amd64' })?.digest).toBe('sha256:2');
    expect(selectPlatformManifest(entries, { os: 'linux', architecture: 'amd64', variant: 'v3' })?.digest).toBe('sha256:1');
  });
});
