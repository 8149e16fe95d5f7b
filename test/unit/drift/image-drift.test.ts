import { describe, expect, it } from 'vitest';
import { compareImage, imageFindings } from '../../../src/drift/image-drift.js';
import { staleLockFindings, unpinnedFindings } from '../../../src/drift/lock-findings.js';
import type { Finding } from '../../../src/drift/model.js';
import { container, desired, fixture, image, inventory, lockOf, SHA_A, SHA_B, SHA_C, SHA_I, SHA_J, svc } from '../lock/helpers.js';

// Recorded: the image inspect of 127.0.0.1:5000/driftd/locktest-fixture:oci-index after
// `docker pull` by tag. The engine keeps the index digest (pulled by) and the platform digest
// (pushed by) in RepoDigests, plus digests of other repositories sharing the image.
interface Inspect {
  Id: string;
  RepoDigests: string[];
  Os: string;
  Architecture: string;
}
const pulledByIndex = fixture<Inspect>('inspect-pulled-by-index.json');
const REPO = '127.0.0.1:5000/driftd/locktest-fixture';
const APP_AMD64 = 'sha256:1d1a4d207ab1a33a358ebaddec8b16af28f1f0c7f058717166e87c3fa34761f7';
const WORKER_ARM64 = 'sha256:6cca2ac6a328f9147240f9b5df669bc3c8765edd80a0f1412c275f257095c67d';
const OCI_INDEX = 'sha256:0ced3a97283d74ab1062e79a6398f5e6e32bbc322e9e96bd25d2fed742d8a0af';
const live = { repoDigests: pulledByIndex.RepoDigests, os: pulledByIndex.Os, architecture: pulledByIndex.Architecture };

describe('compareImage (platform-aware)', () => {
  it.each([
    ['lock holds platform + index digest, container from the tag', { digest: APP_AMD64, indexDigest: OCI_INDEX, platform: 'linux/amd64' }, `${REPO}:oci-index`, 'match'],
    ['lock holds the platform digest only, container from the index digest', { digest: APP_AMD64, platform: 'linux/amd64' }, `${REPO}:oci-index@${OCI_INDEX}`, 'match'],
    ['lock holds the index digest only, container from the tag', { digest: OCI_INDEX }, `${REPO}:oci-index`, 'match'],
    ['lock holds platform + index, container created from the index digest', { digest: APP_AMD64, indexDigest: OCI_INDEX }, `${REPO}:oci-index@${OCI_INDEX}`, 'match'],
    ['lock holds platform + index, container created from the platform digest', { digest: APP_AMD64, indexDigest: OCI_INDEX }, `${REPO}@${APP_AMD64}`, 'match'],
    ['lock holds the index digest in both fields (index was unreadable)', { digest: OCI_INDEX, indexDigest: OCI_INDEX }, `${REPO}:oci-index`, 'match'],
    ['lock holds only the index digest as digest (offline lock)', { digest: OCI_INDEX }, `${REPO}:oci-index`, 'match'],
    ['lock holds another platform of the same index', { digest: WORKER_ARM64, platform: 'linux/arm64' }, `${REPO}:oci-index`, 'drift'],
    ['lock holds another image entirely', { digest: SHA_A, indexDigest: SHA_I }, `${REPO}:oci-index`, 'drift'],
  ])('%s → %s', (_name, lockEntry, containerImageRef, expected) => {
    expect(compareImage({ lockEntry, liveImage: live, containerImageRef, image: `${REPO}:oci-index` })).toBe(expected);
  });

  it('only repo digests of the locked repository count', () => {
    // app@APP_AMD64 is in RepoDigests too, but under another repository.
    expect(compareImage({ lockEntry: { digest: APP_AMD64 }, liveImage: live, containerImageRef: '127.0.0.1:5000/driftd/other:1', image: '127.0.0.1:5000/driftd/other:1' })).toBe('drift');
    expect(compareImage({ lockEntry: { digest: APP_AMD64 }, liveImage: live, containerImageRef: '127.0.0.1:5000/driftd/app:1.0' })).toBe('match');
  });

  it('is unknown without evidence: image gone, or built here without repo digests', () => {
    expect(compareImage({ lockEntry: { digest: SHA_A }, liveImage: undefined, containerImageRef: 'app:1' })).toBe('unknown');
    expect(compareImage({ lockEntry: { digest: SHA_A }, liveImage: { repoDigests: [] }, containerImageRef: 'app:1' })).toBe('unknown');
    expect(compareImage({ lockEntry: { digest: SHA_A }, liveImage: undefined, containerImageRef: `app:1@${SHA_A}` })).toBe('match');
    expect(compareImage({ lockEntry: { digest: SHA_A }, liveImage: undefined, containerImageRef: `app:1@${SHA_B}` })).toBe('drift');
  });

  it('a host that pulled only by index digest matches a lock with both digests, not one with the platform digest alone', () => {
    const onlyIndex = { repoDigests: [`${REPO}@${OCI_INDEX}`], os: 'linux', architecture: 'amd64' };
    expect(compareImage({ lockEntry: { digest: APP_AMD64, indexDigest: OCI_INDEX }, liveImage: onlyIndex, containerImageRef: `${REPO}:oci-index` })).toBe('match');
    expect(compareImage({ lockEntry: { digest: APP_AMD64 }, liveImage: onlyIndex, containerImageRef: `${REPO}:oci-index` })).toBe('drift');
  });
});

describe('imageFindings and the lock findings', () => {
  const kinds = (fs: Finding[]): string[] => fs.map((f) => `${f.kind}:${f.service ?? '-'}`);
  const appImage = image('sha256:img-app', [`127.0.0.1:5000/driftd/app@${SHA_A}`, `127.0.0.1:5000/driftd/app@${SHA_I}`]);
  const workerImage = image('sha256:img-worker', [`127.0.0.1:5000/driftd/worker@${SHA_C}`]);
  const locked = lockOf('web', { '127.0.0.1:5000/driftd/app:1.0': { digest: SHA_A, indexDigest: SHA_I, platform: 'linux/amd64' } });
  const stack = desired('web', [svc('app', '127.0.0.1:5000/driftd/app:1.0')], locked);

  it('nothing to say when the running image is the locked one and the registry agrees', () => {
    const inv = inventory([container('web', 'app', '127.0.0.1:5000/driftd/app:1.0', 'sha256:img-app')], [appImage]);
    expect(imageFindings({ stack, live: inv, registryDigests: new Map([['127.0.0.1:5000/driftd/app:1.0', { digest: SHA_A, indexDigest: SHA_I }]]) })).toEqual([]);
  });

  it('image-drift when a container of the service runs another image', () => {
    const inv = inventory(
      [container('web', 'app', '127.0.0.1:5000/driftd/app:1.0', 'sha256:img-app', 1), container('web', 'app', '127.0.0.1:5000/driftd/worker:1.0', 'sha256:img-worker', 2)],
      [appImage, workerImage],
    );
    const fs = imageFindings({ stack, live: inv });
    expect(kinds(fs)).toEqual(['image-drift:app']);
    expect(fs[0]!.severity).toBe('error');
    expect(fs[0]!.message).toContain('web-app-2 runs 127.0.0.1:5000/driftd/worker:1.0 (127.0.0.1:5000/driftd/worker@sha256:cccccccccccc) linux/amd64');
    expect(fs[0]!.message).toContain('the lock pins 127.0.0.1:5000/driftd/app:1.0@sha256:aaaaaaaaaaaa (index sha256:111111111111)');
    expect(fs[0]!.message).not.toContain('web-app-1');
  });

  it('image-outdated once per image when the registry serves another digest for the tag', () => {
    const two = desired('web', [svc('app', '127.0.0.1:5000/driftd/app:1.0'), svc('app2', '127.0.0.1:5000/driftd/app:1.0')], locked);
    const fs = imageFindings({ stack: two, live: inventory([], []), registryDigests: new Map([['127.0.0.1:5000/driftd/app:1.0', { digest: SHA_B, indexDigest: SHA_J }]]) });
    expect(kinds(fs)).toEqual(['image-outdated:-']);
    expect(fs[0]!.message).toContain('the registry now serves sha256:222222222222 for 127.0.0.1:5000/driftd/app:1.0 (locked: sha256:111111111111, used by app, app2)');
  });

  it('not outdated when only the spelling of the reference differs', () => {
    const lock = lockOf('web', { 'nginx:1.27': { digest: SHA_A } });
    const s = desired('web', [svc('web', 'docker.io/library/nginx:1.27')], lock);
    expect(imageFindings({ stack: s, live: inventory([], []), registryDigests: new Map([['nginx:1.27', { digest: SHA_A }]]) })).toEqual([]);
  });

  it('image-unpinned: no lock, no entry, :latest or tagless — once per service, reasons combined', () => {
    const lock = lockOf('mix', { 'redis:latest': { digest: SHA_B } });
    const s = desired(
      'mix',
      [svc('a', 'nginx:1.27'), svc('b', 'redis'), svc('c', 'busybox:latest'), svc('d', `alpine:3.20@${SHA_C}`)],
      lock,
    );
    // drift-check leaves these to computeDrift; lock --check uses unpinnedFindings directly.
    expect(imageFindings({ stack: s, live: inventory([], []) })).toEqual([]);
    const fs = unpinnedFindings(s, lock, { floating: true });
    expect(kinds(fs)).toEqual(['image-unpinned:a', 'image-unpinned:b', 'image-unpinned:c']);
    expect(kinds(unpinnedFindings(s, lock, { floating: false }))).toEqual(['image-unpinned:a', 'image-unpinned:c']);
    expect(fs[0]!.message).toBe('image nginx:1.27 of service a has no entry in locks/mix.lock.json; pin a version tag and run driftd lock');
    expect(fs[1]!.message).toContain('has no tag (means :latest)');
    expect(fs[2]!.message).toContain('has no entry in locks/mix.lock.json and uses the floating tag :latest');
    const nolock = unpinnedFindings(desired('n', [svc('a', 'nginx:1.27')]), undefined, { floating: true });
    expect(nolock.map((f) => f.message)).toEqual(['image nginx:1.27 of service a is not locked (no locks/n.lock.json); pin a version tag and run driftd lock']);
  });

  it('a digest written in the compose file governs image-drift without a lock', () => {
    const s = desired('d', [svc('app', `127.0.0.1:5000/driftd/app:1.0@${SHA_B}`)]);
    const inv = inventory([container('d', 'app', '127.0.0.1:5000/driftd/app:1.0', 'sha256:img-app')], [appImage]);
    expect(kinds(imageFindings({ stack: s, live: inv }))).toEqual(['image-drift:app']);
  });

  it('lock-stale when the compose inputs changed or the lock pins images no service uses', () => {
    const lock = lockOf('web', { '127.0.0.1:5000/driftd/app:1.0': { digest: SHA_A }, 'old:1': { digest: SHA_B } }, 'e'.repeat(64));
    const s = desired('web', [svc('app', '127.0.0.1:5000/driftd/app:1.0')], lock);
    expect(imageFindings({ stack: s, live: inventory([], []) })).toEqual([]);
    const fs = staleLockFindings(s, lock);
    expect(kinds(fs)).toEqual(['lock-stale:-', 'lock-stale:-']);
    expect(fs[0]!.message).toContain('locks/web.lock.json was made for other compose inputs (composeSha256 eeeeeeeeeeee…, now ffffffffffff…)');
    expect(fs[1]!.message).toContain('pins old:1, which no service of the stack uses');
  });
});
