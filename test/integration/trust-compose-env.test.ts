/**
 * docs/design.md §8: Compose runs with an allowlisted environment. A repo that names driftd's own
 * variables (`secrets: {t: {environment: DRIFTD_GIT_TOKEN}}`, `${DRIFTD_GIT_TOKEN}`, the
 * configured `git.tokenEnv`) never gets their values into a container; a variable the operator
 * lists in `compose.passEnv` does (the positive control that the mechanism is what decides).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

const GIT_TOKEN = 'gittok-4c1f9a7e2b';
const CUSTOM_TOKEN = 'customtok-8d2e61b0';
const REGION = 'region-eu-west-77';

function labelsYaml(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `      ${k}: "${v}"\n`)
    .join('');
}

/** Reads a file inside a running container ("" when it is missing). */
function readInContainer(id: string, file: string): string {
  try {
    return execFileSync('docker', ['exec', id, 'cat', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function containerEnv(id: string): string {
  return execFileSync('docker', ['inspect', '--format', '{{json .Config.Env}}', id], { encoding: 'utf8' });
}

describe('Compose runs with an allowlisted environment', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('never hands DRIFTD_* or the Git credentials to a container; compose.passEnv variables pass', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const [grab, interp] = [env.project(), env.project()];
    // A stack that asks Compose for driftd's Git token as a file-less secret.
    w.repo.writeStack(grab, {
      'compose.yaml': `services:\n  worker:\n    image: ${TEST_IMAGES.worker10}\n    network_mode: none\n    labels:\n${labelsYaml(env.labels)}    secrets: [t]\nsecrets:\n  t:\n    environment: DRIFTD_GIT_TOKEN\n`,
    });
    // A stack that interpolates them, and uses a passEnv variable both ways.
    w.repo.writeStack(interp, {
      'compose.yaml':
        `services:\n  worker:\n    image: ${TEST_IMAGES.worker10}\n    network_mode: none\n    labels:\n${labelsYaml(env.labels)}` +
        `    environment:\n      FROM_DRIFTD: "x\${DRIFTD_GIT_TOKEN:-}x"\n      FROM_CUSTOM: "y\${MY_GIT_TOKEN:-}y"\n      REGION: "\${APP_REGION}"\n` +
        `    secrets: [r]\nsecrets:\n  r:\n    environment: APP_REGION\n`,
    });
    w.repo.writeFleet(fleetYaml(w.host, [grab, interp]));
    await w.release('v1.0.0');
    const config = path.join(w.dir, 'config.yaml');
    writeFileSync(config, 'allowProcessEnv: true\ngit:\n  tokenEnv: MY_GIT_TOKEN\ncompose:\n  passEnv: [APP_REGION]\n');
    const runEnv = { DRIFTD_GIT_TOKEN: GIT_TOKEN, MY_GIT_TOKEN: CUSTOM_TOKEN, APP_REGION: REGION };

    const r = await w.run('sync', ['--json'], { config, env: runEnv });
    const outcomes = (JSON.parse(r.stdout) as { outcomes: { stack: string; result: string; message: string }[] }).outcomes;
    // Compose cannot find DRIFTD_GIT_TOKEN: the stack that wants it fails, the other deploys.
    expect(outcomes.find((o) => o.stack === grab)?.result, r.stdout).toBe('failed');
    expect(outcomes.find((o) => o.stack === grab)?.message).toMatch(/DRIFTD_GIT_TOKEN/);
    expect(outcomes.find((o) => o.stack === interp)?.result, r.stdout).toBe('deployed');

    for (const c of Object.values(await projectContainers(env.docker, grab))) {
      expect(containerEnv(c.id)).not.toContain(GIT_TOKEN);
      if (c.state === 'running') expect(readInContainer(c.id, '/run/secrets/t')).not.toContain(GIT_TOKEN);
    }
    const worker = (await projectContainers(env.docker, interp)).worker;
    expect(worker?.state).toBe('running');
    const seen = containerEnv(worker!.id);
    expect(seen).toContain('"FROM_DRIFTD=xx"');
    expect(seen).toContain('"FROM_CUSTOM=yy"');
    expect(seen).toContain(`"REGION=${REGION}"`);
    expect(readInContainer(worker!.id, '/run/secrets/r')).toBe(REGION);
    for (const secret of [GIT_TOKEN, CUSTOM_TOKEN]) expect(seen).not.toContain(secret);
    // Nothing driftd printed carries the tokens either.
    for (const secret of [GIT_TOKEN, CUSTOM_TOKEN]) expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('refuses a compose.passEnv that names a DRIFTD_* or credential variable', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const config = path.join(w.dir, 'config.yaml');
    for (const bad of ['DRIFTD_GIT_TOKEN', 'MY_GIT_TOKEN']) {
      writeFileSync(config, `git:\n  tokenEnv: MY_GIT_TOKEN\ncompose:\n  passEnv: [${bad}]\n`);
      const r = await w.run('status', [], { config });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`compose.passEnv: ${bad}`);
    }
  });
});
