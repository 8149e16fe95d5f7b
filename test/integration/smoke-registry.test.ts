import { describe, expect, it } from 'vitest';
import { registryDigest, registryTag, testDockerClient, uniqueTag } from '../support/docker.js';
import { REGISTRY_URL, TEST_IMAGES, TEST_REPOS } from '../support/test-env.js';

const docker = testDockerClient();

/** What the engine's distribution endpoint (GET /distribution/{name}/json) says the registry serves. */
async function engineDigest(ref: string): Promise<string> {
  const info = await docker.getImage(ref).distribution();
  return info.Descriptor.digest;
}

describe('the test registry and the engine distribution endpoint', () => {
  it('answers the v2 API without auth', async () => {
    const res = await fetch(`${REGISTRY_URL}/v2/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('serves every test image, each with its own digest', async () => {
    const digests = new Map<string, string | undefined>();
    for (const ref of Object.values(TEST_IMAGES)) digests.set(ref, await registryDigest(ref));
    for (const [ref, digest] of digests) expect(digest, ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(new Set(digests.values()).size).toBe(digests.size);
  });

  it('the engine resolves app:1.0 to the digest the registry serves for the tag', async () => {
    const fromRegistry = await registryDigest(TEST_IMAGES.app10);
    expect(await engineDigest(TEST_IMAGES.app10)).toBe(fromRegistry);
  });

  it('app:1.0 and app:1.1 resolve to different digests through the engine', async () => {
    const [a, b] = [await engineDigest(TEST_IMAGES.app10), await engineDigest(TEST_IMAGES.app11)];
    expect(a).toMatch(/^sha256:/);
    expect(b).toMatch(/^sha256:/);
    expect(a).not.toBe(b);
  });

  it('a fresh tag can be moved to other content, and the engine sees the move', async () => {
    const tag = uniqueTag();
    const ref = await registryTag(TEST_IMAGES.app10, tag);
    expect(ref).toBe(`${TEST_REPOS.app}:${tag}`);
    expect(await engineDigest(ref)).toBe(await registryDigest(TEST_IMAGES.app10));

    await registryTag(TEST_IMAGES.app11, tag);
    expect(await engineDigest(ref)).toBe(await registryDigest(TEST_IMAGES.app11));
    expect(await registryDigest(TEST_IMAGES.app10)).not.toBe(await registryDigest(ref));
  });

  it('reports a tag the registry does not have', async () => {
    expect(await registryDigest(`${TEST_REPOS.app}:${uniqueTag()}`)).toBeUndefined();
    await expect(engineDigest(`${TEST_REPOS.app}:${uniqueTag()}`)).rejects.toThrow(/manifest unknown|not found/i);
  });
});
