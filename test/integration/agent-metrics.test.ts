/**
 * GET /metrics on a real `driftd agent` process, polling a real Git smart-HTTP server and
 * deploying on the real engine: deploy → a container stopped by hand → a release whose image
 * turns unhealthy (rolled back) → a pin → the Git server down. After each step the exposition is
 * read with Prometheus' own parser and the values are asserted. The endpoint's auth is the read
 * token's, like /status.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait-for.js';
import { parseExposition, type Exposition } from '../support/prometheus.js';
import { fleetYaml, projectContainers, SyncWorld, type RunningCli } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

const READ = 'read-token-for-metrics';
const HOOK = 'hook-secret-for-metrics';


describe('GET /metrics', () => {
  const env = useDockerTestScope();
  let w: SyncWorld;
  let agent: RunningCli;
  let base: string;
  const p = env.project();

  beforeAll(async () => {
    w = await SyncWorld.create({ labels: env.labels });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = path.join(w.dir, 'agent.yaml');
    writeFileSync(config, `http:\n  listen: 127.0.0.1:${port}\n  readTokenEnv: METRICS_READ\n  webhookSecretEnv: METRICS_HOOK\n`);
    w.repo.writeStack(p, { 'compose.yaml': w.composeFile({ app: { image: TEST_IMAGES.worker10 } }) }).writeFleet(fleetYaml(w.host, [p], { [p]: { healthTimeout: '90s' } }));
    await w.release('v1.0.0');
    agent = w.start('agent', ['--interval', '1h'], { config, env: { METRICS_READ: READ, METRICS_HOOK: HOOK } });
  }, 300_000);

  afterAll(async () => {
    agent.child.kill('SIGKILL');
    await agent.done;
    await w.close();
  });

  const cycles = async (): Promise<{ cycles: number; busy: boolean }> => (await fetch(`${base}/healthz`)).json() as Promise<{ cycles: number; busy: boolean }>;
  /** Waits until the agent has finished `n` reconciles and is idle. */
  const cyclesDone = (n: number): Promise<true> =>
    waitFor(`reconcile ${n}`, async () => {
      const h = await cycles();
      return h.cycles >= n && !h.busy ? true : undefined;
    }, 240_000);
  const trigger = async (): Promise<void> => {
    const r = await fetch(`${base}/sync`, { method: 'POST', headers: { authorization: `Bearer ${HOOK}` } });
    expect(r.status).toBe(202);
  };
  const scrape = async (): Promise<Exposition> => {
    const r = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${READ}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await r.text());
  };

  it('counts a deploy, a drift, a rolled-back release, a pin and a Git outage', async () => {
    const v1 = await w.repo.head();
    const t0 = Date.now() / 1000;
    await cyclesDone(1);
    let m = await scrape();
    expect(m.value('driftd_stack_info', { stack: p })).toBe(1);
    const status = await (await fetch(`${base}/status`, { headers: { authorization: `Bearer ${READ}` } })).text();
    expect(m.samples('driftd_stack_info', { stack: p })[0]?.labels, status).toEqual({ stack: p, sync_status: 'Synced', health_status: 'Healthy', revision: v1, ref: 'v1.0.0' });
    expect(m.value('driftd_sync_total', { stack: p, result: 'succeeded' })).toBe(1);
    expect(m.value('driftd_reconcile_total', { outcome: 'ok' })).toBe(1);
    expect(m.value('driftd_reconcile_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(m.value('driftd_reconcile_duration_seconds_bucket', { outcome: 'ok', le: '+Inf' })).toBe(1);
    expect(m.value('driftd_reconcile_duration_seconds_sum', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(m.family('driftd_reconcile_duration_seconds')?.type).toBe('histogram');
    expect(m.value('driftd_git_requests_total', { type: 'refs', result: 'ok' })).toBe(1);
    expect(m.value('driftd_git_requests_total', { type: 'fetch', result: 'ok' })).toBe(1);
    expect(m.value('driftd_compose_runs_total', { command: 'up', result: 'ok' })).toBe(1);
    expect(m.value('driftd_last_successful_poll_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(t0));
    expect(m.value('driftd_pending_approvals')).toBe(0);
    expect(m.value('driftd_pinned', { stack: p })).toBe(0);
    expect(m.samples('driftd_drift_findings', { stack: p, severity: 'error' })).toEqual([]);
    // Process metrics (prom-client's defaults).
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(m.samples('process_cpu_seconds_total').length).toBe(1);
    expect(m.family('nodejs_heap_size_total_bytes')?.type).toBe('gauge');

    // Drift: a container stopped by hand (selfHeal off: reported, not repaired).
    const app = (await projectContainers(env.docker, p)).app;
    await env.docker.getContainer(app!.id).stop({ t: 1 });
    await trigger();
    await cyclesDone(2);
    m = await scrape();
    expect(m.value('driftd_drift_findings', { stack: p, kind: 'container-not-running', severity: 'error' })).toBe(1);
    expect(m.samples('driftd_stack_info', { stack: p })[0]?.labels).toMatchObject({ sync_status: 'Synced', health_status: 'Degraded' });
    expect(m.value('driftd_sync_total', { stack: p, result: 'succeeded' })).toBe(1);
    expect(m.value('driftd_reconcile_total', { outcome: 'ok' })).toBe(2);
    expect(m.value('driftd_git_requests_total', { type: 'refs', result: 'ok' })).toBe(2);
    // The target did not move: nothing was fetched again.
    expect(m.value('driftd_git_requests_total', { type: 'fetch', result: 'ok' })).toBe(1);

    // A release whose image turns unhealthy: the gate fails, v1 comes back.
    w.repo.writeStack(p, { 'compose.yaml': w.composeFile({ app: { image: TEST_IMAGES.appUnhealthy } }) });
    await w.release('v2.0.0');
    await trigger();
    await cyclesDone(3);
    m = await scrape();
    expect(m.value('driftd_sync_total', { stack: p, result: 'rolled_back' })).toBe(1);
    expect(m.value('driftd_reconcile_total', { outcome: 'degraded' })).toBe(1);
    expect(m.value('driftd_reconcile_duration_seconds_count', { outcome: 'degraded' })).toBe(1);
    expect(m.samples('driftd_stack_info', { stack: p })[0]?.labels).toMatchObject({ sync_status: 'OutOfSync', health_status: 'Healthy', revision: v1, ref: 'v1.0.0' });
    expect(m.value('driftd_drift_findings', { stack: p, kind: 'revision-behind', severity: 'warning' })).toBe(1);
    expect(m.value('driftd_drift_findings', { stack: p, kind: 'container-not-running', severity: 'error' })).toBeUndefined();
    expect(m.value('driftd_compose_runs_total', { command: 'up', result: 'ok' })).toBe(3);

    // A pin (driftd rollback, another process on the same data dir) shows at the next scrape.
    const pinned = await w.run('rollback', ['v1.0.0', '--stack', p]);
    expect(pinned.code, pinned.stderr).toBe(0);
    m = await scrape();
    expect(m.value('driftd_pinned', { stack: p })).toBe(1);

    // Git down: the poll fails, counted as an error, and the last successful poll stays put.
    const lastGood = m.value('driftd_last_successful_poll_timestamp_seconds');
    await w.server.stop();
    await trigger();
    await cyclesDone(4);
    m = await scrape();
    expect(m.value('driftd_reconcile_total', { outcome: 'error' })).toBe(1);
    expect(m.value('driftd_git_requests_total', { type: 'refs', result: 'error' })).toBe(1);
    expect(m.value('driftd_last_successful_poll_timestamp_seconds')).toBe(lastGood);
    await w.server.start();

    // Bounded labels: no series carries a message, a path or a URL.
    for (const f of m.families) for (const s of f.samples) for (const v of Object.values(s.labels)) expect(v).toMatch(/^[A-Za-z0-9_.+:-]{0,64}$/);
  }, 900_000);

  it.each([
    ['no token', {}, 401],
    ['the webhook secret', { authorization: `Bearer ${HOOK}` }, 401],
    ['a wrong token', { authorization: 'Bearer nope' }, 401],
  ])('refuses %s', async (_name, headers: Record<string, string>, status) => {
    const r = await fetch(`${base}/metrics`, { headers });
    expect(r.status).toBe(status);
    expect(await r.text()).not.toContain('driftd_');
  });
});
