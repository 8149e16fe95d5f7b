import { describe, expect, it } from 'vitest';
import { DriftdError } from '../../../src/errors/index.js';
import { MemoryDigestCache, type DigestCache } from '../../../src/image/digest-cache.js';
import { normalizeImageRef } from '../../../src/image/reference.js';
import { DEFAULT_OUTDATED_INTERVAL_MS, registryDigests } from '../../../src/commands/registry-digests.js';
import type { DigestResolver, ResolvedImage } from '../../../src/image/resolver.js';
import type { StateStore } from '../../../src/state/store.js';
import { desired, lockOf, SHA_A, SHA_B, SHA_I, svc } from '../lock/helpers.js';

// The state store is the production cache: it must keep satisfying the interface.
const _stateStoreIsADigestCache = (s: StateStore): DigestCache => s;
void _stateStoreIsADigestCache;

class CountingResolver implements DigestResolver {
  calls = 0;
  constructor(public answer: ResolvedImage | Error) {}
  platform() {
    return Promise.resolve({ os: 'linux', architecture: 'arm', variant: 'v7' });
  }
  resolve(): Promise<ResolvedImage> {
    this.calls += 1;
    return this.answer instanceof Error ? Promise.reject(this.answer) : Promise.resolve(this.answer);
  }
}

const APP = '127.0.0.1:5000/driftd/app:1.0';
const stack = desired('web', [svc('app', APP), svc('unlocked', 'nginx:1.27')], lockOf('web', { [APP]: { digest: SHA_A } }));

describe('registryDigests', () => {
  it('asks the registry at most once per interval, from the cache in between', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const clock = () => now;
    const cache = new MemoryDigestCache(clock);
    const resolver = new CountingResolver({ source: 'registry', digest: SHA_B, indexDigest: SHA_I, platform: 'linux/arm/v7' });
    const ask = () => registryDigests({ stacks: [stack], resolver, cache, now: clock });

    const first = await ask();
    expect(first.digests).toEqual(new Map([[APP, { digest: SHA_B, indexDigest: SHA_I }]]));
    expect([first.fetched, first.cached, resolver.calls]).toEqual([1, 0, 1]);
    // Keyed by normalized reference and platform.
    expect(cache.getCachedDigest(normalizeImageRef(APP), 'linux/arm/v7', 1000, now)).toEqual({ digest: SHA_B, indexDigest: SHA_I });

    now = new Date(now.getTime() + DEFAULT_OUTDATED_INTERVAL_MS - 1000);
    const second = await ask();
    expect([second.fetched, second.cached, resolver.calls]).toEqual([0, 1, 1]);
    expect(second.digests.get(APP)).toEqual({ digest: SHA_B, indexDigest: SHA_I });

    now = new Date(now.getTime() + 2000);
    resolver.answer = { source: 'registry', digest: SHA_A, platform: 'linux/arm/v7' };
    const third = await ask();
    expect([third.fetched, third.cached, resolver.calls]).toEqual([1, 0, 2]);
    expect(third.digests.get(APP)).toEqual({ digest: SHA_A });
  });

  it('honours a configured interval', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const clock = () => now;
    const cache = new MemoryDigestCache(clock);
    const resolver = new CountingResolver({ source: 'registry', digest: SHA_B, platform: 'linux/arm/v7' });
    await registryDigests({ stacks: [stack], resolver, cache, now: clock, intervalMs: 60_000 });
    now = new Date(now.getTime() + 61_000);
    await registryDigests({ stacks: [stack], resolver, cache, now: clock, intervalMs: 60_000 });
    expect(resolver.calls).toBe(2);
  });

  it('only looks up locked images, and nothing at all without locks', async () => {
    const resolver = new CountingResolver({ source: 'registry', digest: SHA_B, platform: 'linux/arm/v7' });
    const none = await registryDigests({ stacks: [desired('x', [svc('a', 'nginx:1.27')])], resolver });
    expect([none.digests.size, resolver.calls]).toEqual([0, 0]);
    await registryDigests({ stacks: [stack], resolver });
    expect(resolver.calls).toBe(1);
  });

  it('a registry error makes that image unknowable, not the whole check; other errors propagate', async () => {
    const down = new CountingResolver(new DriftdError('RegistryError', 'cannot resolve image x: connection refused', { image: 'x' }));
    const result = await registryDigests({ stacks: [stack], resolver: down });
    expect(result.digests.size).toBe(0);
    expect(result.errors).toEqual([{ image: APP, message: 'cannot resolve image x: connection refused' }]);
    const docker = new CountingResolver(new DriftdError('DockerUnreachable', 'cannot reach Docker', { address: 'unix:///x.sock' }));
    await expect(registryDigests({ stacks: [stack], resolver: docker })).rejects.toMatchObject({ code: 'DockerUnreachable' });
  });
});
