/**
 * The agent's HTTP API as a real `driftd agent` process: it refuses to start open or with a
 * named secret missing, and a flood of slow and held connections neither grows its memory
 * beyond a bound nor keeps /healthz from answering afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoBuilder } from '../support/repo-builder.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait-for.js';

const BIN = path.resolve('bin/driftd.js');


function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}


describe('driftd agent HTTP API', () => {
  let repo: RepoBuilder;
  let dir: string;

  beforeAll(async () => {
    repo = await RepoBuilder.create();
    repo.write('README.md', 'no stacks\n');
    await repo.commit('v1');
    await repo.tag('v1.0.0');
    dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-agent-http-'));
  });

  afterAll(() => repo.cleanup());

  describe('refuses to start (exit 1, one sentence, nothing created)', () => {
    it.each([
      ['on 0.0.0.0 with no secret', 'listen: 0.0.0.0:PORT', {}, /^driftd: the agent cannot start: http\.listen 0\.0\.0\.0:\d+ is not a loopback address, so it needs both a read token/],
      ['on 0.0.0.0 with a webhook secret but no read token', 'listen: 0.0.0.0:PORT\n  webhookSecretEnv: HOOK', { HOOK: 'h' }, /is not a loopback address/],
      ['with a misspelled webhook secret variable', 'listen: 127.0.0.1:PORT\n  webhookSecretEnv: DRIFTD_HOOCK', { DRIFTD_HOOK: 'h' }, /^driftd: the agent cannot start: http\.webhookSecretEnv names the environment variable DRIFTD_HOOCK, which is not set/],
      ['with an empty read token file', 'listen: 127.0.0.1:PORT\n  readTokenFile: EMPTY', {}, /^driftd: the agent cannot start: http\.readTokenFile .* is empty/],
      ['with an empty write token variable', 'listen: 127.0.0.1:PORT\n  writeTokenEnv: WRITE', { WRITE: '' }, /http\.writeTokenEnv names the environment variable WRITE, which is empty/],
    ])('%s', async (name, http, env, message) => {
      const port = await freePort();
      const empty = path.join(dir, 'empty-token');
      writeFileSync(empty, '');
      const config = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(config, `http:\n  ${http.replace('PORT', String(port)).replace('EMPTY', empty)}\n`);
      const dataDir = path.join(dir, `data-${name.replace(/\W+/g, '-')}`);
      const r = await run(['agent', '--config', config, '--repo', repo.dir, '--data-dir', dataDir, '--interval', '1h', '--log-level', 'error'], env);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(dataDir)).toBe(false);
    });
  });

  describe('under a flood of slow and held connections', () => {
    let agent: ChildProcess;
    let port: number;
    let stderr = '';

    beforeAll(async () => {
      port = await freePort();
      const config = path.join(dir, 'flood.yaml');
      writeFileSync(config, `http:\n  listen: 127.0.0.1:${port}\n  readTokenEnv: READ\n  webhookSecretEnv: HOOK\n`);
      agent = spawn(process.execPath, [BIN, 'agent', '--config', config, '--repo', repo.dir, '--data-dir', path.join(dir, 'flood-data'), '--interval', '1h', '--log-level', 'warn'], {
        env: { PATH: process.env.PATH, READ: 'r3ad', HOOK: 'hook', DOCKER_HOST: process.env.DOCKER_HOST },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      agent.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
      await waitFor('the agent to answer /healthz and finish its startup run', async () => {
        const h = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { busy: boolean; cycles: number };
        return !h.busy && h.cycles >= 1 ? true : undefined;
      });
    });

    afterAll(() => {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    });

    it('stays under a stated RSS bound and answers /healthz afterwards', async () => {
      // Let the startup run's garbage settle before the baseline.
      await new Promise((r) => setTimeout(r, 2_000));
      const before = rssBytes(agent.pid as number);
      const body = Buffer.alloc(1024 * 1024 - 1024, 'x');
      const signature = `sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}`;
      const sockets: Socket[] = [];
      const closed: Promise<void>[] = [];
      const open = (request: string, payload?: Buffer): void => {
        const s = connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.resume(); // read what the agent answers, so its FIN is seen and the socket closes
        closed.push(new Promise((r) => s.on('close', () => r())));
        s.on('connect', () => {
          s.write(request);
          if (payload) s.write(payload);
        });
        sockets.push(s);
      };
      const started = Date.now();
      // 400 connections in all: signed webhooks that send almost all of a 1 MiB body and hold,
      // header trickles that never end, and unauthenticated posts that announce 1 MiB and hold.
      for (let i = 0; i < 150; i += 1) {
        open(`POST /webhook HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: ${signature}\r\nContent-Length: ${1024 * 1024}\r\n\r\n`, body);
      }
      for (let i = 0; i < 150; i += 1) open('GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      for (let i = 0; i < 100; i += 1) open(`POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * 1024}\r\n\r\n`, body.subarray(0, 64 * 1024));
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(agent.pid as number))), 100);
      try {
        // Every connection is cut by the server (connection cap, header or request timeout):
        // none is left holding memory. The ceiling is generous; the timeouts are 5 s and 10 s.
        await Promise.race([Promise.all(closed), new Promise((_, reject) => setTimeout(() => reject(new Error('flood connections still open after 60 s')), 60_000))]);
      } finally {
        clearInterval(sampler);
        for (const s of sockets) s.destroy();
      }
      const heldMs = Date.now() - started;
      peak = Math.max(peak, rssBytes(agent.pid as number));
      const growth = peak - before;
      console.log(`flood: 400 connections, RSS ${Math.round(before / 2 ** 20)} MB before, peak ${Math.round(peak / 2 ** 20)} MB (+${Math.round(growth / 2 ** 20)} MB), all closed by the agent after ${heldMs} ms`);
      // Stated bound: at most 8 signed bodies of 1 MiB are buffered at once and at most 64
      // connections are held; 48 MB leaves room for V8's heap growth on top of that.
      expect(growth).toBeLessThan(48 * 2 ** 20);
      const health = await waitFor('/healthz after the flood', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        return res.status === 200 ? ((await res.json()) as { ok: boolean }) : undefined;
      }, 30_000);
      expect(health.ok).toBe(true);
      const status = await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: 'Bearer r3ad' } });
      expect(status.status).toBe(200);
      expect(agent.exitCode).toBeNull();
      expect(stderr).not.toMatch(/"level":(50|60)/);
    }, 120_000);
  });
});
