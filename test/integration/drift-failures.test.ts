/**
 * `driftd drift-check` when it cannot evaluate: Docker or the desired-state repo unreachable.
 * Exit 1 with one sentence that says what to do, never a stack trace, nothing changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitServer } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { useDockerTestScope } from '../support/docker.js';
import { driftFindings, DriftHost, ensureBuilt, projectContainers, stackOf, tinyStackFiles } from './drift-support.js';

const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at file:/m;

describe('drift-check cannot evaluate', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  const stack = env.project();
  let server: GitServer;
  let remote: { path: string; url: string };
  let repo: RepoBuilder;
  let host: DriftHost;
  let v1: string;

  beforeAll(async () => {
    await ensureBuilt();
    server = await GitServer.start();
    remote = await server.createRepo('desired.git');
    repo = await RepoBuilder.create();
    repo.writeStack(stack, tinyStackFiles(env.labels));
    await repo.commit('v1');
    v1 = await repo.tag('v1.0.0');
    await repo.push(remote.path);
    host = new DriftHost(remote.url);
    await host.sync([stack]);
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    repo?.cleanup();
    host?.cleanup();
  });

  it.each([
    ['a socket that does not exist', 'unix:///nonexistent.sock'],
    ['a TCP port nobody listens on', 'tcp://127.0.0.1:1'],
  ])('Docker unreachable (%s): exit 1, "cannot reach Docker at …; start Docker or set DOCKER_HOST"', async (_what, address) => {
    for (const args of [[], ['--json'], ['--export']]) {
      const run = await host.run('drift-check', ['--stack', stack, ...args], { env: { DOCKER_HOST: address } });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`^driftd: cannot reach Docker at ${address.replace(/[/.]/g, '\\$&')}: \\S.*; start Docker or set DOCKER_HOST\\n$`));
      expect(run.stderr).not.toMatch(STACK_TRACE);
    }
  });

  it('repo unreachable (Git server down): exit 1 with the reason and the last known revision; back to normal when it returns', async () => {
    const ok = await host.check([stack]);
    expect(driftFindings(stackOf(ok.report, stack))).toEqual([]);
    expect(ok.report.revision).toEqual({ commit: v1, ref: 'v1.0.0' });
    expect(ok.run.code).toBe(0);

    await server.stop();
    try {
      for (const args of [[], ['--json']]) {
        const run = await host.run('drift-check', ['--stack', stack, ...args]);
        expect(run.code).toBe(1);
        if (args.includes('--json')) {
          // A JSON caller still gets a report: no stacks, and why (with the last known revision).
          const report = JSON.parse(run.stdout) as { revisionError?: string; stacks: unknown[] };
          expect(report.stacks).toEqual([]);
          expect(report.revisionError).toContain(`; last known revision v1.0.0 ${v1.slice(0, 12)} (`);
        } else {
          expect(run.stdout).toBe('');
        }
        expect(run.stderr).toMatch(/^driftd: .+\n$/);
        expect(run.stderr).toContain(`127.0.0.1:${server.port}`);
        expect(run.stderr).toMatch(/ECONNREFUSED|connection refused|cannot reach/i);
        expect(run.stderr).toContain(`; last known revision v1.0.0 ${v1.slice(0, 12)} (`);
        expect(run.stderr).not.toMatch(STACK_TRACE);
      }
      // Nothing was touched: the stack still runs.
      const live = await projectContainers(env.docker, stack);
      expect(live.map((c) => c.State)).toEqual(['running']);
    } finally {
      await server.start();
    }

    const again = await host.check([stack]);
    expect(again.run.code).toBe(0);
  });
});
