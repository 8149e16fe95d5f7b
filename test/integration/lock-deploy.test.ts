import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryDigest, registryTag, uniqueTag, useDockerTestScope } from '../support/docker.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { TEST_IMAGES } from '../support/test-env.js';

const BIN = path.resolve('bin/driftd.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('locks end to end: lock, deploy the digest, a moved tag, re-lock', () => {
  const scope = useDockerTestScope({ cleanupAfter: 'all' });
  const stack = scope.project();
  let repo: RepoBuilder;
  let dataDir: string;
  let image: string;

  const driftd = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args, '--repo', repo.dir, '--data-dir', dataDir, '--host', 'h1'], { env: { ...process.env, DRIFTD_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  async function runningImage(): Promise<{ image: string; repoDigests: string[] }> {
    const [c] = await scope.docker.listContainers({ filters: { label: [`com.docker.compose.project=${stack}`] } });
    if (!c) throw new Error(`no container for ${stack}`);
    const inspect = await scope.docker.getImage(c.ImageID).inspect();
    return { image: c.Image, repoDigests: inspect.RepoDigests };
  }

  const lockedDigest = (): string => {
    const lock = JSON.parse(readFileSync(path.join(repo.dir, 'locks', `${stack}.lock.json`), 'utf8')) as { images: Record<string, { digest: string }> };
    return lock.images[image]!.digest;
  };

  beforeAll(async () => {
    image = await registryTag(TEST_IMAGES.app10, uniqueTag());
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-lock-e2e-'));
    repo = await RepoBuilder.create();
    repo.writeStack(stack, { 'compose.yaml': `services:\n  app:\n    image: ${image}\n    labels:\n      io.driftd.test: "1"\n` });
    await repo.commit('stack');
  });

  afterAll(() => repo.cleanup());

  it('locks the registry digest; sync runs exactly that digest; drift-check is clean', async () => {
    const locked = await driftd('lock');
    expect(locked.code).toBe(0);
    expect(lockedDigest()).toBe(await registryDigest(image));
    await repo.commit('lock');
    await repo.tag('v1.0.0');
    expect((await driftd('lock', '--check')).code).toBe(0);
    expect((await driftd('sync')).code).toBe(0);
    const running = await runningImage();
    expect(running.image).toBe(`${image}@${lockedDigest()}`);
    const check = await driftd('drift-check', '--stack', stack, '--json');
    expect(check.code).toBe(0);
    expect(check.stdout).not.toContain('"kind": "image-');
  });

  it('the tag moves in the registry: lock --check exits 2, drift-check reports image-outdated, sync keeps the locked digest', async () => {
    const before = lockedDigest();
    await registryTag(TEST_IMAGES.app11, image.split(':').pop()!);
    expect(await registryDigest(image)).not.toBe(before);
    const check = await driftd('lock', '--check');
    expect(check.code).toBe(2);
    expect(check.stdout).toContain('image-outdated');
    const drift = await driftd('drift-check', '--stack', stack, '--json');
    const report = JSON.parse(drift.stdout) as { stacks: { findings: { kind: string }[] }[] };
    expect(report.stacks[0]!.findings.map((f) => f.kind)).toContain('image-outdated');
    expect((await driftd('sync')).code).toBe(0);
    expect((await runningImage()).image).toBe(`${image}@${before}`);
  });

  it('re-lock writes the new digest; sync moves the stack to it; drift-check exit 0', async () => {
    expect((await driftd('lock')).code).toBe(0);
    const fresh = lockedDigest();
    expect(fresh).toBe(await registryDigest(image));
    await repo.commit('relock');
    await repo.tag('v1.1.0');
    expect((await driftd('sync')).code).toBe(0);
    expect((await runningImage()).image).toBe(`${image}@${fresh}`);
    expect((await driftd('drift-check', '--stack', stack)).code).toBe(0);
  });
});
