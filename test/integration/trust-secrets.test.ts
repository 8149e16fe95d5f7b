/**
 * DESIGN §3/§8, issue 11 item 4: one end-to-end proof that no secret reaches any output.
 * Distinct canaries are planted in every place a secret can come from — a secret-keyed env
 * value, the committed .env (secret key, substituted into a URL and a plain label), an env_file,
 * the host-local env file (substituted into a plain label), a Compose secret file, a registry
 * auth file, a Git URL credential and the HTTP read token / webhook secret — and every command
 * runs at debug log level: render, validate, drift-check in every format with --export, sync,
 * status, history, export, lock --check, and the agent with /status, /healthz, /metrics and the
 * status page (overview, stack page, history). A hand-made drift puts one more canary only in the
 * live container (a secret-keyed env value changed by hand), so config-drift findings, exports and
 * the agent's repair carry a live secret too. Then stdout, stderr, every HTTP answer, the state DB
 * bytes, the data dir and every export are searched for each canary.
 *
 * Not searched: what driftd must hand to Compose and Git (deploy/, snapshots/, the Git mirror):
 * those are the stack's inputs, not outputs, and they hold the values by necessity.
 */
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { useDockerTestScope } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { fleetYaml, SyncWorld, type CliResult } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { composeByHand, filesUnder } from './drift-support.js';

const C = {
  env: 'cnry-env-5b1e0c7d',
  dotenv: 'cnry-dotenv-8e2f44a1',
  envFile: 'cnry-envfile-3c9d7a62',
  hostEnv: 'cnry-hostenv-a17f0e93',
  secretFile: 'cnry-secretfile-6d42b8c0',
  secretFile2: 'cnry-secretfile2-0be93d17',
  registry: 'cnry-registry-9f31c5e2',
  gitUrl: 'cnry-giturl-47ad20e8',
  readToken: 'cnry-readtoken-2e8b6f15',
  webhook: 'cnry-webhook-d05c9a37',
  live: 'cnry-live-71c4e2b9',
};

describe('no secret reaches any output', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld | undefined;
  afterAll(async () => {
    await world?.close();
  });

  it('plants canaries everywhere, runs every command and the agent, and finds none of them', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const stack = env.project();
    const labels = Object.entries(env.labels).map(([k, v]) => `      ${k}: "${v}"\n`).join('');
    const compose = (v: string): string =>
      `services:\n  worker:\n    image: ${TEST_IMAGES.worker10}\n    network_mode: none\n    labels:\n${labels}` +
      `      my.note: "host \${HOST_SECRET}"\n      my.db: "postgres://app:\${DB_PASSWORD}@db/app"\n      my.version: "${v}"\n` +
      `    environment:\n      API_TOKEN: "${C.env}"\n      DATABASE_URL: "postgres://app:\${DB_PASSWORD}@db/app"\n      MODE: "plain"\n` +
      `    env_file: [app.env]\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw.txt\n`;
    w.repo.writeStack(stack, {
      'compose.yaml': compose('1'),
      '.env': `DB_PASSWORD=${C.dotenv}\n`,
      'app.env': `FROM_FILE=${C.envFile}\n`,
      'pw.txt': `${C.secretFile}\n`,
    });
    w.repo.writeFleet(fleetYaml(w.host, [stack]));
    await w.release('v1.0.0');

    const envDir = path.join(w.dir, 'envdir');
    mkdirSync(envDir, { recursive: true });
    writeFileSync(path.join(envDir, `${stack}.env`), `HOST_SECRET=${C.hostEnv}\n`);
    const dockerConfig = path.join(w.dir, 'docker-config');
    mkdirSync(dockerConfig, { recursive: true });
    writeFileSync(path.join(dockerConfig, 'config.json'), JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from(`ci:${C.registry}`).toString('base64') } } }));
    const port = await freePort();
    const config = path.join(w.dir, 'config.yaml');
    writeFileSync(config, `envDir: ${envDir}\nhttp:\n  listen: 127.0.0.1:${port}\n  readTokenEnv: READ_TOKEN\n  webhookSecretEnv: HOOK_SECRET\n`);
    const url = new URL(w.served.url);
    url.username = 'bot';
    url.password = C.gitUrl;
    const opts = { config, repo: url.toString(), env: { DRIFTD_LOG_LEVEL: 'debug', DOCKER_CONFIG: dockerConfig, READ_TOKEN: C.readToken, HOOK_SECRET: C.webhook } };

    const outputs: [string, CliResult][] = [];
    const run = async (label: string, args: string[]): Promise<CliResult> => {
      const [command, ...rest] = args as [string, ...string[]];
      const r = await w.run(command, rest, opts);
      outputs.push([label, r]);
      return r;
    };

    expect((await run('render', ['render'])).code).toBe(0);
    await run('validate', ['validate', w.repo.dir]);
    await run('drift-check', ['drift-check']);
    expect((await run('sync', ['sync', '--json'])).code).toBe(0);
    // A hand-made drift: the secret-keyed API_TOKEN changed by hand in the live container only.
    const deployDir = path.join(w.dataDir, 'deploy', stack);
    const deployFile = path.join(deployDir, 'driftd.compose.yaml');
    const model = parse(readFileSync(deployFile, 'utf8')) as { services: Record<string, { environment: Record<string, string> }> };
    model.services.worker!.environment.API_TOKEN = C.live;
    writeFileSync(deployFile, stringify(model));
    await composeByHand(deployDir, stack, ['up', '-d'], { files: ['driftd.compose.yaml'] });
    const handDrift = await run('drift-check --json (hand-made drift)', ['drift-check', '--json']);
    expect(handDrift.stdout).toContain('environment.API_TOKEN');
    // A new revision changes the secret file and the committed .env: revision-behind diffs of both.
    w.repo.writeStack(stack, { 'compose.yaml': compose('2'), '.env': `DB_PASSWORD=${C.dotenv}x\n`, 'app.env': `FROM_FILE=${C.envFile}\n`, 'pw.txt': `${C.secretFile2}\n` });
    await w.release('v2.0.0');
    for (const fmt of [[], ['--json'], ['--markdown']]) {
      const r = await run(`drift-check ${fmt.join(' ')}`, ['drift-check', ...fmt, '--export']);
      expect(r.code, r.stderr).toBe(2);
    }
    expect(outputs.at(-2)?.[1].stdout).toContain('revision-behind');
    await run('lock --check', ['lock', '--check']);
    await run('export', ['export']);

    const agent = w.start('agent', ['--interval', '1h'], opts);
    let agentStatus = '';
    let healthz = '';
    const reads: [string, string][] = [];
    try {
      const until = Date.now() + 300_000;
      for (;;) {
        try {
          const h = await fetch(`http://127.0.0.1:${port}/healthz`);
          healthz = await h.text();
          const body = JSON.parse(healthz) as { busy: boolean; cycles: number };
          if (!body.busy && body.cycles >= 1) break;
        } catch {
          // not up yet
        }
        if (Date.now() > until) throw new Error('the agent did not finish a cycle');
        await new Promise((r) => setTimeout(r, 500));
      }
      const denied = await fetch(`http://127.0.0.1:${port}/status`);
      expect(denied.status).toBe(401);
      const res = await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: `Bearer ${C.readToken}` } });
      expect(res.status).toBe(200);
      agentStatus = await res.text();
      expect(agentStatus).toContain(stack);
      // Every other read endpoint: the metrics and the status page, with the read token.
      for (const url of ['/metrics', '/', `/stacks/${stack}`, '/history']) {
        const page = await fetch(`http://127.0.0.1:${port}${url}`, { headers: { authorization: `Bearer ${C.readToken}` } });
        const text = await page.text();
        expect(page.status, `GET ${url}`).toBe(200);
        reads.push([`GET ${url}`, text]);
      }
      expect(reads.find(([u]) => u === `GET /stacks/${stack}`)?.[1]).toContain(stack);
    } finally {
      agent.child.kill('SIGTERM');
      outputs.push(['agent', await agent.done]);
    }
    await run('status', ['status']);
    await run('status --json', ['status', '--json']);
    await run('history', ['history']);
    await run('history --json', ['history', '--json']);

    // The secrets did get used: the deployed model holds them (positive control).
    const deployed = readFileSync(path.join(w.dataDir, 'deploy', stack, 'driftd.compose.yaml'), 'utf8');
    expect(deployed).toContain(C.env);
    expect(deployed).toContain(C.hostEnv);
    // The logs were at debug level.
    expect(outputs.find(([l]) => l === 'sync')?.[1].stderr).toMatch(/"level":20/);

    const hits: string[] = [];
    const texts: [string, string][] = [
      ...outputs.flatMap(([label, r]): [string, string][] => [[`${label} stdout`, r.stdout], [`${label} stderr`, r.stderr]]),
      ['GET /status', agentStatus],
      ['GET /healthz', healthz],
      ...reads,
    ];
    const inputs = (rel: string): boolean => /^(deploy|snapshots|git)(\/|$)/.test(rel);
    const files = filesUnder(w.dataDir, inputs);
    expect(files.some((f) => f.endsWith('state.db'))).toBe(true);
    expect(files.filter((f) => f.includes(`${path.sep}runtime${path.sep}`) && f.endsWith('drift_report.json')).length).toBeGreaterThanOrEqual(4);
    for (const f of files) if (statSync(f).size < 64 * 1024 * 1024) texts.push([path.relative(w.dataDir, f), readFileSync(f).toString('latin1')]);
    for (const [where, text] of texts) {
      for (const [name, canary] of Object.entries(C)) {
        const forms = [canary, Buffer.from(canary).toString('base64').replace(/=+$/, ''), Buffer.from(`ci:${canary}`).toString('base64').replace(/=+$/, '')];
        if (forms.some((f) => text.includes(f))) hits.push(`${name} in ${where}`);
      }
    }
    expect(hits).toEqual([]);
  }, 1_200_000);
});
