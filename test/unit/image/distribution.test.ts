import { describe, expect, it } from 'vitest';
import { isDriftdError } from '../../../src/errors/index.js';
import {
  distributionSchema,
  indexOnlyResolution,
  interpretDistribution,
  resolveFromIndex,
  type DistributionAnswer,
} from '../../../src/image/distribution.js';
import { parseIndex } from '../../../src/image/registry-http.js';
import { sha256 } from '../../../src/util/hash.js';
import { fixture, fixtureText } from '../lock/helpers.js';

// Recorded from dockerd 20.10 and the distribution v2 registry of the test environment:
// app:1.0 pushed as a single manifest, then a manifest list and an OCI index over it (amd64)
// and worker:1.0 (labelled arm64/v8).
const APP_AMD64 = 'sha256:1d1a4d207ab1a33a358ebaddec8b16af28f1f0c7f058717166e87c3fa34761f7';
const WORKER_ARM64 = 'sha256:6cca2ac6a328f9147240f9b5df669bc3c8765edd80a0f1412c275f257095c67d';
const MANIFEST_LIST = 'sha256:4eb1f90dc3bd5066a3a10f54f3e1cd0897a91f4a5c2ec27d19871dc131fbd9c0';
const OCI_INDEX = 'sha256:0ced3a97283d74ab1062e79a6398f5e6e32bbc322e9e96bd25d2fed742d8a0af';
const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64' };

function interpret(name: string, host = AMD64): DistributionAnswer {
  return interpretDistribution(distributionSchema.parse(fixture(name)), host);
}

describe('interpretDistribution (recorded engine answers)', () => {
  it('a single-platform manifest resolves at once: its digest, its platform, no index', () => {
    expect(interpret('distribution-single-manifest.json')).toEqual({
      kind: 'manifest',
      resolution: { digest: APP_AMD64, platform: 'linux/amd64' },
    });
  });

  it.each([
    ['distribution-manifest-list.json', MANIFEST_LIST],
    ['distribution-oci-index.json', OCI_INDEX],
  ])('%s names an index with its platforms', (name, digest) => {
    expect(interpret(name)).toEqual({
      kind: 'index',
      indexDigest: digest,
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
  });

  it('accepts an engine answer without Platforms', () => {
    const answer = interpretDistribution(
      distributionSchema.parse({ Descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: APP_AMD64, size: 1 }, Platforms: null }),
      ARM64,
    );
    expect(answer).toEqual({ kind: 'manifest', resolution: { digest: APP_AMD64, platform: 'linux/arm64' } });
  });

  it('refuses an answer without a digest', () => {
    expect(distributionSchema.safeParse({ Descriptor: { mediaType: 'x', digest: 'nope' } }).success).toBe(false);
  });
});

describe('resolveFromIndex (recorded registry bodies)', () => {
  it('the recorded bodies are byte-exact: they hash to the digests the registry gave them', () => {
    expect(`sha256:${sha256(fixtureText('registry-manifest-list.json'))}`).toBe(MANIFEST_LIST);
    expect(`sha256:${sha256(fixtureText('registry-oci-index.json'))}`).toBe(OCI_INDEX);
  });

  it.each([
    ['registry-manifest-list.json', MANIFEST_LIST],
    ['registry-oci-index.json', OCI_INDEX],
  ])('%s: amd64 host gets the amd64 manifest, arm64 host the arm64 one, both keep the index digest', (name, indexDigest) => {
    const entries = parseIndex(fixtureText(name), 'img');
    expect(resolveFromIndex('img', indexDigest, entries, AMD64)).toEqual({ digest: APP_AMD64, indexDigest, platform: 'linux/amd64' });
    expect(resolveFromIndex('img', indexDigest, entries, { ...ARM64, variant: 'v8' })).toEqual({ digest: WORKER_ARM64, indexDigest, platform: 'linux/arm64' });
  });

  it('an index without this host platform is a RegistryError naming the image and what it offers', () => {
    const entries = parseIndex(fixtureText('registry-hub-style-index.json'), 'img');
    try {
      resolveFromIndex('nginx:1.27', OCI_INDEX, entries, { os: 'linux', architecture: 'riscv64' });
      expect.unreachable();
    } catch (e) {
      expect(isDriftdError(e) && e.code).toBe('RegistryError');
      expect((e as Error).message).toContain('nginx:1.27 has no variant for this host');
      expect((e as Error).message).toContain('linux/riscv64');
      expect((e as Error).message).toContain('linux/arm/v7');
      expect((e as Error).message).not.toContain('unknown/unknown');
    }
  });

  it('records the index digest in both fields when the index cannot be read', () => {
    expect(indexOnlyResolution(OCI_INDEX, AMD64)).toEqual({ digest: OCI_INDEX, indexDigest: OCI_INDEX, platform: 'linux/amd64' });
  });

  it('refuses a body that is not an index', () => {
    expect(() => parseIndex('{"schemaVersion":2,"config":{}}', 'img')).toThrow(/no manifests list/);
    expect(() => parseIndex('not json', 'img')).toThrow(/not JSON/);
  });
});
