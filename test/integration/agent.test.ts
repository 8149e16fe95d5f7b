import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/daemon.js';
import { targetEnv } from '../support/compose-target.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { silentLogger } from '../../src/util/logger.js';
import { useDockerTestScope } from '../support/docker.js';
import { GitServer } from '../support/git-server.js';
import { RepoBuilder } from '../support/repo-builder.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { loadScaledBudget } from '../support/budget.js';
import { freePort } from '../support/free-port.js';

const BIN = path.resolve('bin/driftd.js');

function stackCompose(value: string): Record<string, string> {
  return {
    'compose.yaml': `services:\n  w:\n    image: ${TEST_IMAGES.worker10}\n    environment:\n      VALUE: "${value}"\n`,
  };
}


async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('driftd agent', () => {
  const scope = useDockerTestScope({ cleanupAfter: 'all' });

  async function revisionLabel(project: string): Promise<string | undefined> {
    const list = await scope.docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
    const c = list.find((x) => x.State === 'running');
    return c?.Labels['io.driftd.revision'];
  }

  describe('on a local-path repo', () => {
    let repo: RepoBuilder;
    let agent: ChildProcess;
    let stderr = '';
    const stack = scope.project();

    beforeAll(async () => {
      repo = await RepoBuilder.create();
      repo.writeStack(stack, stackCompose('one'));
      await repo.commit('v1');
      await repo.tag('v1.0.0');
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-agent-'));
      agent = spawn(process.execPath, [BIN, 'agent', '--repo', repo.dir, '--data-dir', dataDir, '--interval', '1h', '--host', 'h1'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, DRIFTD_LOG_LEVEL: 'info' },
      });
      agent.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    });

    afterAll(() => {
      if (agent.exitCode === null) agent.kill('SIGKILL');
      repo.cleanup();
    });

    it('deploys at start, then a new tag triggers a reconcile within seconds (chokidar on the refs)', async () => {
      const first = await repo.head();
      await waitFor('the startup deploy', async () => ((await revisionLabel(stack)) === first ? true : undefined));
      repo.writeStack(stack, stackCompose('two'));
      const second = await repo.commit('v2');
      await repo.tag('v1.1.0');
      const started = Date.now();
      await waitFor('the deploy of the new tag', async () => ((await revisionLabel(stack)) === second ? true : undefined), 120_000);
      // Within seconds (the schedule is hourly): 20 s on a quiet machine, more under load.
      const budget = loadScaledBudget(20_000);
      expect(Date.now() - started, budget.note).toBeLessThan(budget.ms);
      // The schedule is hourly: only the ref watcher can have started this run.
      await waitFor('the watch-triggered run to finish', () => Promise.resolve(/"triggers":\["watch"\]/.test(stderr) ? true : undefined), 120_000);
    });

    it('exits 0 on SIGTERM', async () => {
      const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
      agent.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('driftd agent stopped');
    });
  });

  describe('in process, on a remote repo with the HTTP API', () => {
    let server: GitServer;
    let repo: RepoBuilder;
    const stack = scope.project();

    beforeAll(async () => {
      server = await GitServer.start();
      const served = await server.createRepo('agent.git');
      repo = await RepoBuilder.create();
      repo.writeStack(stack, stackCompose('one'));
      await repo.commit('v1');
      await repo.tag('v1.0.0');
      await repo.push(served.path);
    });

    afterAll(async () => {
      await server.stop();
      repo.cleanup();
    });

    it('coalesces webhooks into one follow-up run, never two at once, and answers /healthz and /status', async () => {
      const port = await freePort();
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-agent-'));
      const configFile = path.join(dataDir, 'config.yaml');
      writeFileSync(configFile, `http:\n  listen: 127.0.0.1:${port}\n  webhookSecretEnv: HOOK_SECRET\n  readTokenEnv: READ_TOKEN\njitter: 0s\n`);
      const config = resolveConfig({
        flags: { repo: server.urlFor('agent.git'), dataDir, host: 'h1', config: configFile },
        env: { HOOK_SECRET: 'hook', READ_TOKEN: 'r3ad', ...targetEnv() },
      });
      const agent = await startAgent({ config, logger: silentLogger, runAtStart: false, intervalMs: 3_600_000 });
      try {
        const base = `http://127.0.0.1:${port}`;
        const hook = () => fetch(`${base}/webhook`, { method: 'POST', headers: { authorization: 'Bearer hook' }, body: '{}' });
        expect((await fetch(`${base}/webhook`, { method: 'POST', body: '{}' })).status).toBe(401);
        const answers = await Promise.all([hook(), hook(), hook(), hook()]);
        expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
        await waitFor('the webhook deploy', async () => ((await revisionLabel(stack)) ? true : undefined));
        await waitFor('the agent to go idle', async () => {
          const h = (await (await fetch(`${base}/healthz`)).json()) as { busy: boolean };
          return h.busy ? undefined : true;
        });
        // Four webhooks: one run plus at most one coalesced follow-up.
        expect(agent.cycles).toBeGreaterThanOrEqual(1);
        expect(agent.cycles).toBeLessThanOrEqual(2);
        expect(agent.lastRun?.ok).toBe(true);
        expect((await fetch(`${base}/status`)).status).toBe(401);
        const status = (await (await fetch(`${base}/status`, { headers: { authorization: 'Bearer r3ad' } })).json()) as { stacks: { stack: string; sync: string }[] };
        expect(status.stacks.find((s) => s.stack === stack)?.sync).toBe('Synced');
      } finally {
        await agent.stop();
      }
    });

    it('keeps running when the Git server is down and reports the failure', async () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-agent-'));
      const config = resolveConfig({ flags: { repo: server.urlFor('agent.git'), dataDir, host: 'h1' }, env: targetEnv() });
      await server.stop();
      const agent = await startAgent({ config, logger: silentLogger, runAtStart: false, intervalMs: 3_600_000 });
      try {
        await agent.trigger('schedule');
        expect(agent.lastRun?.ok).toBe(false);
        expect(agent.lastRun?.error).toMatch(/unreachable|refused|connect/i);
      } finally {
        await agent.stop();
        await server.start();
      }
    });
  });
});
