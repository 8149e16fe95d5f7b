/**
 * `driftd drift-check` end to end on the real engine, the real Compose CLI and a loopback Git
 * server: stacks are deployed from a test repo (by `driftd sync`, and by hand with Compose from a
 * Git checkout), changed the way people change them, and checked through the built binary.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadStack } from '../../src/compose/index.js';
import { execFileCapture } from '../../src/util/exec.js';
import { GitServer } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { randomName } from '../support/docker-resources.js';
import { COMPOSE_PROJECT_LABEL, registryDigest, useDockerTestScope } from '../support/docker.js';
import { TEST_IMAGES } from '../support/test-env.js';
import {
  composeByHand,
  driftFindings,
  DriftHost,
  ensureBuilt,
  exportFolders,
  filesContaining,
  filesUnder,
  fullStackFiles,
  onlyContainer,
  SERVICE_LABEL,
  stackOf,
  summarizeFindings,
  tinyStackFiles,
  waitForHealth,
  type CliRun,
  type JsonReport,
  type StackSecrets,
} from './drift-support.js';

const EXPORT_FILES = ['compose_sha256.txt', 'docker_state.json', 'drift_report.json', 'drift_report.md'];

const redacted = (value: string): string => `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;

describe('driftd drift-check on stacks deployed from a test repo', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  const secrets: StackSecrets = {
    hostSecret: `hostpw-${randomName(16)}`,
    envFileToken: `envtok-${randomName(16)}`,
    envFilePlain: `envplain-${randomName(16)}`,
  };
  /** Stack (= Compose project) names: unique per run, so leftovers of parallel runs never collide. */
  const S = {
    synced: env.project(),
    locked: env.project(),
    byHand: env.project(),
    stopped: env.project(),
    unhealthy: env.project(),
    envPlain: env.project(),
    envSecret: env.project(),
    removed: env.project(),
    scaled: env.project(),
    revision: env.project(),
    missing: env.project(),
  };
  const deployedBySync = [S.synced, S.locked, S.stopped, S.unhealthy, S.envPlain, S.envSecret, S.removed, S.scaled, S.revision];
  let server: GitServer;
  let remote: { path: string; url: string };
  let repo: RepoBuilder;
  let host: DriftHost;
  let v1: string;
  let syncRun: CliRun;
  const temp: string[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    server = await GitServer.start();
    remote = await server.createRepo('desired.git');
    repo = await RepoBuilder.create();
    host = new DriftHost(remote.url);
    for (const name of Object.values(S)) {
      if (name === S.missing) repo.writeStack(name, tinyStackFiles(env.labels));
      else {
        repo.writeStack(name, fullStackFiles(env.labels, secrets));
        host.writeHostEnv(name, `DB_PASSWORD=${secrets.hostSecret}\n`);
      }
    }
    // A lock for one stack: then not even image-unpinned is left.
    const lockedStack = await loadStack({ root: repo.dir, name: S.locked, envDir: host.envDir });
    const images: Record<string, { digest: string; platform: string }> = {};
    for (const image of [TEST_IMAGES.app10, TEST_IMAGES.worker10]) {
      const digest = await registryDigest(image);
      if (!digest) throw new Error(`${image} is not in the test registry`);
      images[image] = { digest, platform: 'linux/amd64' };
    }
    repo.writeLock(S.locked, { version: 1, stack: S.locked, composeSha256: lockedStack.composeSha256, images });
    await repo.commit('v1');
    v1 = await repo.tag('v1.0.0');
    await repo.push(remote.path);

    syncRun = await host.sync(deployedBySync, ['--ref-tag', 'v1.0.0']);

    // The same stack brought up by a person from a checkout, without driftd.
    const checkout = mkdtempSync(path.join(os.tmpdir(), 'driftd-checkout-'));
    temp.push(checkout);
    const clone = await execFileCapture('git', ['clone', '--quiet', '--branch', 'v1.0.0', remote.url, checkout]);
    if (clone.code !== 0) throw new Error(`git clone failed: ${clone.stderr}`);
    await composeByHand(path.join(checkout, 'stacks', S.byHand), S.byHand, ['up', '-d'], { env: { DB_PASSWORD: secrets.hostSecret } });
    await waitForHealth(env.docker, S.byHand, 'web', 'healthy');
  }, 600_000);

  afterAll(async () => {
    await server?.close();
    repo?.cleanup();
    host?.cleanup();
    for (const d of temp) rmSync(d, { recursive: true, force: true });
  });

  /** Recreates a sync-deployed service by hand from its deploy dir, with `edit` applied to the rendered compose file. */
  async function recreateByHand(stack: string, edit: (model: { services: Record<string, { environment: Record<string, string> }> }) => void): Promise<void> {
    const dir = host.deployDir(stack);
    const file = path.join(dir, 'driftd.compose.yaml');
    const model = parse(readFileSync(file, 'utf8')) as { services: Record<string, { environment: Record<string, string> }> };
    edit(model);
    writeFileSync(file, stringify(model));
    await composeByHand(dir, stack, ['up', '-d'], { files: ['driftd.compose.yaml'] });
  }

  it('a stack freshly deployed by driftd sync: exit 0, in sync, healthy, nothing but image-unpinned', async () => {
    const { run, report } = await host.check([S.synced], ['--ref-tag', 'v1.0.0']);
    expect(run.stderr).not.toMatch(/"level":(4|5|6)0/); // no warning or error logged
    const stack = stackOf(report, S.synced);
    expect(driftFindings(stack)).toEqual([]);
    // Unlocked tags may be reported as image-unpinned warnings, nothing else.
    expect(stack.findings.every((f) => f.severity === 'warning')).toBe(true);
    expect(stack).toMatchObject({ sync: 'Synced', health: 'Healthy', deployedRevision: v1, targetRevision: v1 });
    expect(report.unmanaged).toEqual([]);
    expect(run.code).toBe(0);

    // The table a person reads says the same and exits the same.
    const table = await host.run('drift-check', ['--stack', S.synced, '--ref-tag', 'v1.0.0']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${S.synced}\\s+Synced\\s+Healthy\\s+${stack.findings.length}\\s`, 'm'));
  });

  it('a locked stack freshly deployed by driftd sync: exit 0 and zero findings', async () => {
    const { run, report } = await host.check([S.locked], ['--ref-tag', 'v1.0.0']);
    expect(stackOf(report, S.locked)).toMatchObject({ sync: 'Synced', health: 'Healthy', findings: [] });
    expect(report.summary.findings).toBe(0);
    expect(run.code).toBe(0);
    // It really runs the pinned digest.
    const web = await (await onlyContainer(env.docker, S.locked, 'web')).inspect();
    expect(web.Config.Image).toBe(`${TEST_IMAGES.app10}@${await registryDigest(TEST_IMAGES.app10)}`);
  });

  it('a stack brought up by hand with docker-compose from a checkout, on a host driftd never deployed: exit 0', async () => {
    const fresh = new DriftHost(remote.url);
    try {
      fresh.writeHostEnv(S.byHand, `DB_PASSWORD=${secrets.hostSecret}\n`);
      const { run, report } = await fresh.check([S.byHand], ['--ref-tag', 'v1.0.0']);
      const stack = stackOf(report, S.byHand);
      expect(driftFindings(stack)).toEqual([]);
      expect(stack).toMatchObject({ sync: 'Synced', health: 'Healthy', targetRevision: v1 });
      expect(stack.deployedRevision).toBeUndefined();
      expect(run.code).toBe(0);
    } finally {
      fresh.cleanup();
    }
  });

  it('a stopped container → container-not-running (health Degraded; sync stays Synced; exit 2)', async () => {
    await (await onlyContainer(env.docker, S.stopped, 'worker')).stop({ t: 5 });
    const { run, report } = await host.check([S.stopped], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.stopped);
    expect(summarizeFindings(driftFindings(stack))).toEqual(['container-not-running worker']);
    expect(driftFindings(stack)[0]).toMatchObject({ severity: 'error', live: { state: 'exited', exitCode: 0 } });
    expect(stack).toMatchObject({ sync: 'Synced', health: 'Degraded' });
    expect(run.code).toBe(2);
  });

  it('a failing health check → container-unhealthy', async () => {
    // The app's health check fetches / from its httpd: take the page away.
    const web = await onlyContainer(env.docker, S.unhealthy, 'web');
    const exec = await web.exec({ Cmd: ['rm', '/www/index.html'] });
    await exec.start({ Detach: true });
    await waitForHealth(env.docker, S.unhealthy, 'web', 'unhealthy');
    const { run, report } = await host.check([S.unhealthy], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.unhealthy);
    expect(summarizeFindings(driftFindings(stack))).toEqual(['container-unhealthy web']);
    expect(driftFindings(stack)[0]).toMatchObject({ severity: 'error', live: { state: 'running', health: 'unhealthy' } });
    expect(stack).toMatchObject({ sync: 'Synced', health: 'Degraded' });
    expect(run.code).toBe(2);
  });

  it('a service recreated by hand with one env value changed → exactly one config-drift naming that key', async () => {
    await recreateByHand(S.envPlain, (m) => {
      m.services.web!.environment.GREETING = 'hello-by-hand';
    });
    const { run, report } = await host.check([S.envPlain], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.envPlain);
    expect(driftFindings(stack)).toEqual([
      expect.objectContaining({ kind: 'config-drift', service: 'web', field: 'environment.GREETING', desired: 'hello', live: 'hello-by-hand' }),
    ]);
    expect(stack.sync).toBe('OutOfSync');
    expect(run.code).toBe(2);
  });

  const rotated = `rotated-${randomName(16)}`;

  it('a secret env value changed by hand → one config-drift with both values redacted', async () => {
    await recreateByHand(S.envSecret, (m) => {
      m.services.web!.environment.DB_PASSWORD = rotated;
    });
    const { run, report } = await host.check([S.envSecret], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.envSecret);
    expect(driftFindings(stack)).toEqual([
      expect.objectContaining({
        kind: 'config-drift',
        service: 'web',
        field: 'environment.DB_PASSWORD',
        desired: redacted(secrets.hostSecret),
        live: redacted(rotated),
      }),
    ]);
    expect(run.code).toBe(2);
    for (const args of [['--json'], ['--markdown'], []]) {
      const out = await host.run('drift-check', ['--stack', S.envSecret, '--ref-tag', 'v1.0.0', '--log-level', 'trace', ...args]);
      expect(out.code).toBe(2);
      for (const secret of [rotated, secrets.hostSecret]) {
        expect(out.stdout).not.toContain(secret);
        expect(out.stderr).not.toContain(secret);
      }
    }
  });

  it('a container of an undeclared Compose project → stack-unmanaged', async () => {
    const stray = env.project();
    const c = await env.docker.createContainer({
      name: `${stray}_side_1`,
      Image: TEST_IMAGES.worker10,
      Labels: { ...env.labels, [COMPOSE_PROJECT_LABEL]: stray, [SERVICE_LABEL]: 'side' },
    });
    await c.start();
    // No --stack: the repo's whole view of this host (other projects on the shared engine show up too).
    const { run, report } = await host.check([], ['--ref-tag', 'v1.0.0']);
    expect(report.unmanaged.filter((f) => f.stack === stray)).toEqual([
      expect.objectContaining({
        kind: 'stack-unmanaged',
        severity: 'warning',
        message: `Compose project ${stray} runs 1 container on this host; the repo does not declare it`,
      }),
    ]);
    expect(run.code).toBe(2);
  });

  it('a service removed by hand → service-missing', async () => {
    await (await onlyContainer(env.docker, S.removed, 'worker')).remove({ force: true });
    const { run, report } = await host.check([S.removed], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.removed);
    expect(summarizeFindings(driftFindings(stack))).toEqual(['service-missing worker']);
    expect(stack).toMatchObject({ sync: 'OutOfSync', health: 'Missing' });
    expect(run.code).toBe(2);
  });

  it('a service scaled to 2 by hand → replicas-mismatch', async () => {
    await composeByHand(host.deployDir(S.scaled), S.scaled, ['up', '-d', '--no-recreate', '--scale', 'worker=2'], { files: ['driftd.compose.yaml'] });
    const { run, report } = await host.check([S.scaled], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.scaled);
    expect(driftFindings(stack)).toEqual([
      expect.objectContaining({ kind: 'replicas-mismatch', service: 'worker', desired: { replicas: 1 }, live: expect.objectContaining({ replicas: 2 }) }),
    ]);
    expect(stack).toMatchObject({ sync: 'OutOfSync', health: 'Healthy' });
    expect(run.code).toBe(2);
  });

  it('a stack in the repo that is not deployed → stack-missing', async () => {
    const { run, report } = await host.check([S.missing], ['--ref-tag', 'v1.0.0']);
    const stack = stackOf(report, S.missing);
    expect(driftFindings(stack)).toEqual([expect.objectContaining({ kind: 'stack-missing', severity: 'error', desired: { containers: 1 }, live: { containers: 0 } })]);
    expect(stack).toMatchObject({ sync: 'OutOfSync', health: 'Missing' });
    expect(run.code).toBe(2);
  });

  it('a new tag changing one file → revision-behind with the diff of that file only', async () => {
    const file = `stacks/${S.revision}/conf/site.conf`;
    repo.write(file, 'listen 8080;\nroot /srv/www;\n');
    const v11 = await repo.commit('v1.1: serve /srv/www');
    await repo.tag('v1.1.0');
    await repo.push(remote.path);

    const { run, report } = await host.check([S.revision], ['--ref-tag', 'v1.1.0']);
    const stack = stackOf(report, S.revision);
    expect(stack).toMatchObject({ sync: 'OutOfSync', deployedRevision: v1, targetRevision: v11 });
    const behind = stack.findings.filter((f) => f.kind === 'revision-behind');
    expect(behind).toHaveLength(1);
    expect(behind[0]!.message).toContain(`1 file changed (${file})`);
    const diff = behind[0]!.diff ?? '';
    expect(diff.split('\n').filter((l) => /^(---|\+\+\+) /.test(l))).toEqual([`--- a/${file}\t${v1.slice(0, 12)}`, `+++ b/${file}\t${v11.slice(0, 12)}`]);
    expect(diff).toContain('-root /www;\n+root /srv/www;');
    // The live stack is compared with the revision it runs: the new tag is revision-behind, not config drift.
    expect(summarizeFindings(driftFindings(stack))).toEqual(['revision-behind']);
    expect(run.code).toBe(2);

    // Other stacks' inputs did not change between the tags: no revision-behind for them.
    const other = await host.check([S.synced], ['--ref-tag', 'v1.1.0']);
    expect(driftFindings(stackOf(other.report, S.synced))).toEqual([]);
    expect(other.run.code).toBe(0);
  });

  /** `sha256sum -c` of an export's compose_sha256.txt from the root of the snapshot it describes. */
  async function verifyExport(dir: string): Promise<{ report: JsonReport; checked: string[] }> {
    expect(readdirSync(dir).sort()).toEqual(EXPORT_FILES);
    const report = JSON.parse(readFileSync(path.join(dir, 'drift_report.json'), 'utf8')) as JsonReport;
    const snapshot = path.join(host.dataDir, 'snapshots', report.revision!.commit);
    const sums = await execFileCapture('sha256sum', ['-c', path.join(dir, 'compose_sha256.txt')], { cwd: snapshot });
    expect(sums.stderr).toBe('');
    expect(sums.code).toBe(0);
    const checked = sums.stdout.trim().split('\n');
    expect(checked.every((l) => l.endsWith(': OK'))).toBe(true);
    return { report, checked: checked.map((l) => l.replace(/: OK$/, '')) };
  }

  it('drift-check --export writes the four files; compose_sha256.txt verifies with sha256sum -c from the snapshot root', async () => {
    const before = exportFolders(host.auditDir);
    const run = await host.run('drift-check', ['--stack', S.synced, '--stack', S.locked, '--ref-tag', 'v1.0.0', '--export', '--json']);
    expect(run.code).toBe(0);
    const added = exportFolders(host.auditDir).filter((n) => !before.includes(n));
    expect(added).toHaveLength(1);
    const dir = path.join(host.auditDir, 'runtime', added[0]!);
    expect(run.stderr).toContain(dir);

    const { report, checked } = await verifyExport(dir);
    expect(report.revision).toEqual({ commit: v1, ref: 'v1.0.0' });
    expect(report.stacks).toEqual((JSON.parse(run.stdout) as JsonReport).stacks);
    const inputs = (stack: string): string[] => ['.env', 'app.env', 'compose.yaml', 'conf/site.conf'].map((f) => `stacks/${stack}/${f}`);
    expect(checked).toEqual([`locks/${S.locked}.lock.json`, ...inputs(S.locked), ...inputs(S.synced)].sort());

    const md = readFileSync(path.join(dir, 'drift_report.md'), 'utf8');
    expect(md).toContain(S.synced);
    const state = JSON.parse(readFileSync(path.join(dir, 'docker_state.json'), 'utf8')) as {
      containers: { project?: string; service?: string; config?: { env: Record<string, string> } }[];
    };
    const web = state.containers.find((c) => c.project === S.synced && c.service === 'web');
    expect(web?.config?.env).toMatchObject({
      GREETING: 'hello',
      MODE: 'prod',
      DB_PASSWORD: redacted(secrets.hostSecret),
      API_TOKEN: redacted(secrets.envFileToken),
      WELCOME: redacted(secrets.envFilePlain),
    });
  });

  it('driftd export writes a verifiable export of every stack', async () => {
    const before = exportFolders(host.auditDir);
    const run = await host.run('export', ['--ref-tag', 'v1.0.0']);
    expect(run.code).toBe(0);
    const added = exportFolders(host.auditDir).filter((n) => !before.includes(n));
    expect(added).toHaveLength(1);
    const dir = path.join(host.auditDir, 'runtime', added[0]!);
    expect(run.stdout).toBe(`runtime export written to ${dir}\n`);
    const { report, checked } = await verifyExport(dir);
    expect(report.stacks.map((s) => s.stack).sort()).toEqual(Object.values(S).sort());
    expect(checked).toContain(`stacks/${S.missing}/compose.yaml`);
  });

  it('an export killed (SIGKILL) while it writes leaves no timestamp folder, only a temp folder the next export removes', async () => {
    const auditDir = path.join(host.root, 'audit-kill');
    const runtime = path.join(auditDir, 'runtime');
    mkdirSync(runtime, { recursive: true });
    const interrupted: string[][] = [];
    // An attempt whose kill lands after the rename leaves a complete export (verified below). That race
    // is the machine's timing, not a fault, so such folders are allowed and counted out, not asserted away.
    const completed: string[] = [];
    // Kill after the temp folder appears (k = 0), and after the k-th file event inside it. On a busy
    // machine a kill can land late, so the attempts go on (k cycling) until enough of them interrupted.
    const enough = (): boolean => interrupted.length >= 2 && interrupted.some((files) => files.length > 0);
    for (let attempt = 0; attempt < 12 && (attempt < 4 || !enough()); attempt++) {
      const k = attempt % 4;
      const before = new Set(readdirSync(runtime));
      const child = host.spawn('drift-check', ['--ref-tag', 'v1.0.0', '--export', '--log-level', 'silent'], { auditDir });
      const prefix = `.tmp-${child.pid}-`;
      const watchers: FSWatcher[] = [];
      let events = 0;
      const kill = (): void => {
        child.kill('SIGKILL');
      };
      watchers.push(
        // The folder this export writes into: its temp folder (or, were it written in place, a timestamp folder).
        watch(runtime, (_event, name) => {
          if (watchers.length > 1 || !name || before.has(name) || !(name.startsWith(prefix) || exportFolders(auditDir).includes(name))) return;
          if (k === 0) return kill();
          try {
            watchers.push(watch(path.join(runtime, name), () => (++events >= k ? kill() : undefined)));
          } catch {
            kill(); // already renamed: too late for this attempt
          }
        }),
      );
      const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
      for (const w of watchers) w.close();
      expect(signal).toBe('SIGKILL');

      // Never a half-written timestamp folder: each one there is complete and verifies.
      for (const name of exportFolders(auditDir)) await verifyExport(path.join(runtime, name));
      const left = readdirSync(runtime).filter((n) => n.startsWith(prefix));
      const added = exportFolders(auditDir).filter((n) => !completed.includes(n));
      completed.push(...added);
      if (added.length === 0) {
        expect(left).toHaveLength(1); // killed before the rename: its temp folder stays for the next export
        interrupted.push(readdirSync(path.join(runtime, left[0]!)).sort());
      } else {
        expect(left).toEqual([]); // renamed, then killed: nothing of it is left in a temp folder
      }
    }
    // The kills landed while the export was being written (some attempts after files were started).
    expect(interrupted.length).toBeGreaterThanOrEqual(2);
    expect(interrupted.some((files) => files.length > 0)).toBe(true);

    const ok = await host.run('drift-check', ['--ref-tag', 'v1.0.0', '--export', '--log-level', 'silent'], { auditDir });
    expect(ok.code).toBe(2); // S.missing and the hand-made changes above
    const [name, ...more] = exportFolders(auditDir).filter((n) => !completed.includes(n));
    expect(more).toEqual([]);
    await verifyExport(path.join(runtime, name!));
    expect(readdirSync(runtime).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('planted secrets appear nowhere: stdout, stderr and logs of sync and of every drift-check format, exported files, the state DB', async () => {
    // A new tag rotates the env_file secrets of one stack: its revision-behind diff covers that file.
    const newToken = `newtok-${randomName(16)}`;
    const newPlain = `newplain-${randomName(16)}`;
    repo.write(`stacks/${S.envSecret}/app.env`, `API_TOKEN=${newToken}\nWELCOME=${newPlain}\n`);
    await repo.commit('v1.2: rotate the app token');
    await repo.tag('v1.2.0');
    await repo.push(remote.path);
    const planted = [secrets.hostSecret, secrets.envFileToken, secrets.envFilePlain, rotated, newToken, newPlain];

    const auditDir = path.join(host.root, 'audit-secrets');
    const runs = [syncRun];
    for (const args of [[], ['--json'], ['--markdown'], ['--export'], ['--stack', S.envSecret, '--export', '--json']]) {
      runs.push(await host.run('drift-check', ['--ref-tag', 'v1.2.0', '--log-level', 'trace', ...args], { auditDir }));
    }
    runs.push(await host.run('export', ['--ref-tag', 'v1.2.0', '--log-level', 'trace'], { auditDir }));
    const secretStack = stackOf(JSON.parse(runs[5]!.stdout) as JsonReport, S.envSecret);
    const behind = secretStack.findings.find((f) => f.kind === 'revision-behind');
    expect(behind?.diff).toContain(`+API_TOKEN=${redacted(newToken)}`);
    expect(behind?.diff).toContain(`-WELCOME=${redacted(secrets.envFilePlain)}`);
    expect(runs.map((r) => r.code)).toEqual([0, 2, 2, 2, 2, 2, 0]);

    const exported = filesUnder(auditDir);
    expect(exported.length).toBe(3 * EXPORT_FILES.length);
    const stateDb = readdirSync(host.dataDir)
      .filter((n) => n.startsWith('state.db'))
      .map((n) => path.join(host.dataDir, n));
    for (const secret of planted) {
      for (const r of runs) {
        expect(r.stdout, `stdout of driftd ${r.argv[0]}`).not.toContain(secret);
        expect(r.stderr, `stderr of driftd ${r.argv[0]}`).not.toContain(secret);
      }
      expect(filesContaining(exported, secret)).toEqual([]);
    }
    // Values only the host knows (not committed anywhere) are not in the state DB either.
    for (const secret of [secrets.hostSecret, rotated]) expect(filesContaining(stateDb, secret)).toEqual([]);
  });
});
