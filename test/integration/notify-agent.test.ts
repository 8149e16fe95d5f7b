/**
 * Notifications end to end (issue 16 §2): a REAL `driftd agent` process (the built CLI) polling a
 * real Git smart-HTTP server, deploying on the real engine, and a webhook receiver (a Node HTTP
 * server in this test on 127.0.0.1).
 *
 * 1. deploy → `sync-succeeded`; the app recreated by hand with another image → `drift-detected`
 *    once across several polls, and `drift-resolved` once it is put back by hand; a release whose image turns
 *    unhealthy → `rolled-back` once; the container stopped and started by hand →
 *    `health-degraded`/`health-recovered` once each; the Git server down for 5 polls →
 *    `source-unreachable` once (after the 3rd), `source-recovered`; a second channel that filters
 *    by events and stack gets only those. Every body has the documented schema (version 1) and an
 *    `X-Driftd-Signature-256` HMAC the test computes itself; no secret (the stack's env, the
 *    webhook URL's token, the HMAC key, the HTTP tokens) is in any body or in the agent's log.
 * 2. Exactly once across a SIGKILL: the receiver refuses (500), then holds the retry; the agent is
 *    killed while the event is pending in the state DB; meanwhile the deploy was recorded (a
 *    receiver that is down never delays a reconcile). After a restart the receiver accepts: the
 *    event id is accepted exactly once, every attempt carried the same id, the outbox is empty.
 */
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { parseExposition, type Exposition } from '../support/prometheus.js';
import { Receiver, type Received } from '../support/notify-receiver.js';
import { fleetYaml, projectContainers, SyncWorld, type CliResult, type RunningCli } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { waitFor } from '../support/wait-for.js';
import type { NotificationEvent } from '../../src/notify/model.js';
import { composeByHand } from './drift-support.js';

const URL_TOKEN = 'url-token-c0ffee-5e1f9a7b';
const HMAC_KEY = 'hmac-key-agent-proof-44d1c8';
const READ = 'read-token-notify-agent-8b2e';
const HOOK = 'hook-secret-notify-agent-19fa';
const STACK_SECRET = 'stack-env-canary-7a0d3e55';
const STATUS_URL = 'https://status.example/driftd';

type Body = NotificationEvent;

/** An agent config: HTTP on a free port, one signed webhook channel whose URL and key come from variables. */
function agentConfig(dir: string, port: number, timeout = '10s', extra: readonly string[] = []): string {
  const file = path.join(dir, `agent-${port}.yaml`);
  writeFileSync(
    file,
    [
      'http:',
      `  listen: 127.0.0.1:${port}`,
      '  readTokenEnv: NOTIFY_READ',
      '  webhookSecretEnv: NOTIFY_HOOK',
      `statusUrl: ${STATUS_URL}`,
      'notifications:',
      '  - type: webhook',
      '    urlEnv: NOTIFY_URL',
      '    secretEnv: NOTIFY_SECRET',
      `    timeout: ${timeout}`,
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}

interface AgentStatus {
  stacks: { stack: string; sync: string; health: string; revision?: string }[];
  notifications?: { channel: string; pending: number; givenUp: number; lastError?: string }[];
}

/** A running agent's HTTP surface: cycles from /healthz, a poll through POST /sync, /status with the read token. */
class AgentHttp {
  constructor(readonly base: string) {}

  async health(): Promise<{ cycles: number; busy: boolean }> {
    return (await fetch(`${this.base}/healthz`)).json() as Promise<{ cycles: number; busy: boolean }>;
  }

  /** Waits until `n` reconciles are finished and the agent is idle (a ceiling, not a budget). */
  cyclesDone(n: number, ms = 240_000): Promise<true> {
    return waitFor(`reconcile ${n}`, async () => {
      const h = await this.health();
      return h.cycles >= n && !h.busy ? true : undefined;
    }, ms);
  }

  async poll(): Promise<void> {
    const r = await fetch(`${this.base}/sync`, { method: 'POST', headers: { authorization: `Bearer ${HOOK}` } });
    expect(r.status).toBe(202);
  }

  /** Triggers `n` more polls, one after the other, and waits for each. */
  async polls(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const before = (await this.health()).cycles;
      await this.poll();
      await this.cyclesDone(before + 1);
    }
  }

  async metrics(): Promise<Exposition> {
    const r = await fetch(`${this.base}/metrics`, { headers: { authorization: `Bearer ${READ}` } });
    expect(r.status).toBe(200);
    return parseExposition(await r.text());
  }

  async status(): Promise<AgentStatus> {
    const r = await fetch(`${this.base}/status`, { headers: { authorization: `Bearer ${READ}` } });
    expect(r.status).toBe(200);
    return r.json() as Promise<AgentStatus>;
  }
}

const bodyOf = (r: Received): Body => JSON.parse(r.body) as Body;
const signature = (raw: string): string => `sha256=${createHmac('sha256', HMAC_KEY).update(raw).digest('hex')}`;
const until = <T>(what: string, fn: () => T | undefined | false, ms: number): Promise<T> => waitFor(what, () => Promise.resolve(fn() || undefined), ms);

function startAgent(w: SyncWorld, config: string, hookUrl: string, env: NodeJS.ProcessEnv = {}): RunningCli {
  // A long schedule: every poll below is triggered (POST /sync), so the test counts them exactly.
  return w.start('agent', ['--interval', '1h'], {
    config,
    env: { NOTIFY_READ: READ, NOTIFY_HOOK: HOOK, NOTIFY_URL: hookUrl, NOTIFY_SECRET: HMAC_KEY, DRIFTD_LOG_LEVEL: 'debug', ...env },
  });
}

/** Kills what a test left running (an agent, the receiver, the world); each may be unset when its setup failed. */
async function teardown(agent: RunningCli | undefined, receiver: Receiver | undefined, w: SyncWorld | undefined): Promise<void> {
  agent?.child.kill('SIGKILL');
  await agent?.done;
  await receiver?.stop();
  await w?.close();
}

/** No secret in what the receiver got nor in what the agent printed. */
function expectNoSecret(texts: readonly string[]): void {
  const all = texts.join('\n');
  for (const secret of [URL_TOKEN, HMAC_KEY, READ, HOOK, STACK_SECRET]) expect(all, `leaked ${secret}`).not.toContain(secret);
}

describe('notifications from a real agent', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let w: SyncWorld;
  let receiver: Receiver;
  let agent: RunningCli | undefined;
  let result: CliResult | undefined;
  let http: AgentHttp;
  const p = env.project();
  const hookPath = `/hooks/${URL_TOKEN}`;
  const filteredPath = `/filtered/${URL_TOKEN}`;

  beforeAll(async () => {
    w = await SyncWorld.create({ labels: env.labels });
    receiver = await new Receiver().start();
    const port = await freePort();
    http = new AgentHttp(`http://127.0.0.1:${port}`);
    // A secret-keyed value in the stack's environment: it must never reach a notification or the log.
    w.repo
      .writeStack(p, { 'compose.yaml': w.composeFile({ app: { image: TEST_IMAGES.worker10, environment: { API_TOKEN: STACK_SECRET } } }) })
      .writeFleet(fleetYaml(w.host, [p], { [p]: { healthTimeout: '90s' } }));
    await w.release('v1.0.0');
    // A second channel that filters: only rolled-back and source-unreachable, only this stack (an event of no stack passes a stack filter).
    const filtered = ['  - type: webhook', '    urlEnv: NOTIFY_URL_FILTERED', '    events: [rolled-back, source-unreachable]', `    stacks: [${p}]`];
    agent = startAgent(w, agentConfig(w.dir, port, '10s', filtered), receiver.url(hookPath), { NOTIFY_URL_FILTERED: receiver.url(filteredPath) });
  }, 300_000);

  afterAll(() => teardown(agent, receiver, w));

  const events = (): Body[] => receiver.on(hookPath).map(bodyOf);
  const named = (event: string): Body[] => events().filter((b) => b.event === event && b.stack === p);

  it('deploy, hand-made drift (once over several polls), its repair and a rolled-back release: one signed message each, no secret anywhere', async () => {
    const v1 = await w.repo.head();
    await http.cyclesDone(1);
    await until('sync-succeeded', () => named('sync-succeeded').length === 1, 60_000);
    const [deployed] = receiver.on(hookPath);
    expect(bodyOf(deployed!)).toEqual({
      schemaVersion: 1,
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) as string,
      event: 'sync-succeeded',
      host: w.host,
      stack: p,
      revision: v1,
      tag: 'v1.0.0',
      message: expect.stringContaining(`${p} deployed v1.0.0`) as string,
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
      link: STATUS_URL,
    });

    // A hand edit: the app recreated by hand with another image (Compose run by a person on
    // driftd's own deploy file, so driftd's labels stay and no redeploy is planned; selfHeal is
    // off): the agent reports config-drift and leaves it alone.
    const deployDir = path.join(w.dataDir, 'deploy', p);
    const deployFile = readFileSync(path.join(deployDir, 'driftd.compose.yaml'), 'utf8');
    expect(deployFile).toContain(TEST_IMAGES.worker10);
    const handFile = path.join(w.dir, 'hand.compose.yaml');
    writeFileSync(handFile, deployFile.replaceAll(TEST_IMAGES.worker10, TEST_IMAGES.app10));
    await composeByHand(deployDir, p, ['up', '-d'], { files: [handFile] });
    await http.polls(1);
    await until('drift-detected', () => named('drift-detected').length === 1, 60_000);
    expect(named('drift-detected')[0]!.message).toContain('config-drift');
    // It stays drifted for several polls: nothing more.
    await http.polls(3);
    expect(named('drift-detected')).toHaveLength(1);
    expect(named('sync-succeeded')).toHaveLength(1);

    // Repaired by hand (driftd's file again): resolved, once.
    await composeByHand(deployDir, p, ['up', '-d'], { files: ['driftd.compose.yaml'] });
    await http.polls(1);
    await until('drift-resolved', () => named('drift-resolved').length === 1, 60_000);
    await http.polls(2);
    expect(named('drift-resolved')).toHaveLength(1);

    // The container stopped by hand (selfHeal off: reported, not restarted): degraded once, recovered once.
    const app = (await projectContainers(env.docker, p)).app!;
    await env.docker.getContainer(app.id).stop({ t: 1 });
    await http.polls(1);
    await until('health-degraded', () => named('health-degraded').length === 1, 60_000);
    expect(named('health-degraded')[0]!.message).toContain('container-not-running');
    await http.polls(2);
    await env.docker.getContainer(app.id).start();
    await http.polls(1);
    await until('health-recovered', () => named('health-recovered').length === 1, 60_000);
    expect(named('health-degraded')).toHaveLength(1);

    // The Git server down: source-unreachable after 3 failed polls in a row (once, however long), source-recovered once it answers.
    await w.server.stop();
    await http.polls(5);
    await until('source-unreachable', () => events().some((b) => b.event === 'source-unreachable'), 60_000);
    // Told at the third failure in a row (an automatic retry between the polls would count too, never change N).
    expect(events().find((b) => b.event === 'source-unreachable')!.message).toMatch(/^3 polls failed since /);
    await w.server.start();
    await http.polls(1);
    await until('source-recovered', () => events().some((b) => b.event === 'source-recovered'), 60_000);
    expect(events().filter((b) => b.event === 'source-unreachable')).toHaveLength(1);
    expect(events().find((b) => b.event === 'source-recovered')).not.toHaveProperty('stack');

    // A release whose image turns unhealthy: the gate fails, v1 is restored — one rolled-back, however often it is polled after.
    w.repo.writeStack(p, { 'compose.yaml': w.composeFile({ app: { image: TEST_IMAGES.appUnhealthy, environment: { API_TOKEN: STACK_SECRET } } }) });
    const v2 = await w.release('v2.0.0');
    await http.polls(1);
    await until('rolled-back', () => named('rolled-back').length === 1, 120_000);
    const rolled = named('rolled-back')[0]!;
    expect(rolled).toMatchObject({ schemaVersion: 1, host: w.host, stack: p, revision: v2, tag: 'v2.0.0', link: STATUS_URL });
    expect(rolled.message).toMatch(/roll/i);
    await http.polls(2);
    // Let any late delivery arrive before counting (the queue is empty when /status says so).
    await waitFor('an empty outbox', async () => ((await http.status()).notifications?.every((c) => c.pending === 0) ? true : undefined), 60_000);

    expect(events().map((b) => b.event)).toEqual(['sync-succeeded', 'drift-detected', 'drift-resolved', 'health-degraded', 'health-recovered', 'source-unreachable', 'source-recovered', 'rolled-back']);
    expect(events().filter((b) => b.stack !== p).map((b) => b.event)).toEqual(['source-unreachable', 'source-recovered']);
    // The filtered channel got only what it asked for, unsigned (it has no key).
    await until('the filtered channel', () => receiver.on(filteredPath).length === 2, 60_000);
    expect(receiver.json<Body>(filteredPath).map((b) => b.event)).toEqual(['source-unreachable', 'rolled-back']);
    expect(receiver.on(filteredPath).map((r) => r.headers['x-driftd-signature-256'])).toEqual([undefined, undefined]);
    const received = receiver.on(hookPath);
    expect(receiver.uniqueDeliveries(hookPath)).toHaveLength(received.length);
    for (const r of received) {
      const b = bodyOf(r);
      expect(b.schemaVersion).toBe(1);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-driftd-signature-256']).toBe(signature(r.body));
      expect(r.headers['x-driftd-delivery']).toBe(b.id);
      expect(r.headers['x-driftd-event']).toBe(b.event);
    }
    // The signature is over the raw body: one changed byte does not verify.
    expect(signature(`${received[0]!.body} `)).not.toBe(received[0]!.headers['x-driftd-signature-256']);

    agent!.child.kill('SIGTERM');
    result = await agent!.done;
    agent = undefined;
    expect(result.stderr + result.stdout).toContain('notification delivered');
    expectNoSecret([...receiver.requests.map((r) => r.body), ...receiver.requests.map((r) => JSON.stringify(r.headers)), result.stdout, result.stderr]);
  }, 900_000);
});

describe('exactly once across a SIGKILL', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let w: SyncWorld;
  let receiver: Receiver;
  let agent: RunningCli | undefined;
  const logs: string[] = [];
  const p = env.project();
  const hookPath = `/kill/${URL_TOKEN}`;

  beforeAll(async () => {
    w = await SyncWorld.create({ labels: env.labels });
    receiver = await new Receiver().start();
    w.repo.writeStack(p, { 'compose.yaml': w.composeFile({ app: { image: TEST_IMAGES.worker10 } }) }).writeFleet(fleetYaml(w.host, [p]));
    await w.release('v1.0.0');
  }, 300_000);

  afterAll(() => teardown(agent, receiver, w));

  const outbox = (): { event_id: string; status: string; attempts: number; last_error: string | null }[] =>
    w.readState((db) => db.prepare('SELECT event_id, status, attempts, last_error FROM notify_outbox ORDER BY id').all() as { event_id: string; status: string; attempts: number; last_error: string | null }[]);

  it('refused, then held, then killed: after the restart the event is accepted exactly once, and the deploy never waited for it', async () => {
    const v1 = await w.repo.head();
    receiver.answer(hookPath, 500);
    const port = await freePort();
    const http = new AgentHttp(`http://127.0.0.1:${port}`);
    // A long timeout: the held request is still held when the agent is killed.
    const config = agentConfig(w.dir, port, '60s');
    agent = startAgent(w, config, receiver.url(hookPath));

    // The receiver refuses: the event waits in the outbox, with the error, while the deploy is recorded and done.
    await until('a refused delivery', () => receiver.on(hookPath).some((r) => r.status === 500), 240_000);
    await until('the failure recorded', () => outbox()[0]?.last_error, 30_000);
    const [row] = outbox();
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: 'HTTP 500: ok' });
    await http.cyclesDone(1);
    const recorded = await http.status();
    expect(recorded.stacks.find((s) => s.stack === p)).toMatchObject({ sync: 'Synced', health: 'Healthy', revision: v1 });
    expect(recorded.notifications).toEqual([expect.objectContaining({ pending: 1, givenUp: 0, lastError: 'HTTP 500: ok' })]);
    const channelKey = recorded.notifications![0]!.channel;
    const m = await http.metrics();
    expect(m.value('driftd_notifications_total', { channel: channelKey, result: 'failed' })).toBe(1);
    expect(m.value('driftd_notifications_queued', { channel: channelKey, state: 'pending' })).toBe(1);
    expect(m.value('driftd_sync_total', { stack: p, result: 'succeeded' })).toBe(1);
    // Another poll finishes while delivery keeps failing: a receiver that is down never holds a reconcile.
    await http.polls(1);
    expect(outbox()).toMatchObject([{ status: 'pending' }]);

    // `driftd status` (another process, on the state DB) shows the outbox: pending, its age, the last error.
    const st = await w.json<{ notifications?: { channel: string; pending: number; givenUp: number; oldestPendingAgeSeconds?: number; lastError?: string }[] }>('status');
    expect(st.notifications).toEqual([{ channel: expect.stringMatching(/^webhook:sha256:[0-9a-f]{12}$/) as string, pending: 1, givenUp: 0, oldestPending: expect.any(String) as string, oldestPendingAgeSeconds: expect.any(Number) as number, lastError: 'HTTP 500: ok' }]);
    const text = await w.run('status');
    expect(text.stdout).toMatch(/notifications:\nCHANNEL\s+PENDING\s+OLDEST PENDING\s+GIVEN UP\s+LAST ERROR\nwebhook:sha256:[0-9a-f]{12}\s+1\s+\S+ ago\s+0\s+HTTP 500: ok/);

    // The retry (after the 10 s backoff) is held by the receiver; the agent dies while it waits.
    receiver.answer(hookPath, 'hang');
    await until('the held retry', () => receiver.on(hookPath).length >= 2, 120_000);
    agent.child.kill('SIGKILL');
    const killed = await agent.done;
    agent = undefined;
    expect(killed.signal).toBe('SIGKILL');
    logs.push(killed.stdout, killed.stderr);
    expect(outbox()).toMatchObject([{ event_id: row!.event_id, status: 'pending' }]);

    // Restarted, and the receiver accepts now.
    receiver.answer(hookPath, 200);
    agent = startAgent(w, config, receiver.url(hookPath));
    await until('the accepted delivery', () => receiver.accepted(hookPath).length === 1, 120_000);
    await until('the row delivered (removed from the outbox)', () => outbox().length === 0, 30_000);
    // More polls after the restart: the deploy is not notified again (the memory survived too).
    await http.cyclesDone(1);
    await http.polls(2);
    expect(outbox()).toEqual([]);

    const all = receiver.on(hookPath);
    expect(all.map((r) => r.status)).toEqual([500, undefined, 200]);
    expect(receiver.accepted(hookPath)).toHaveLength(1);
    expect(receiver.uniqueDeliveries(hookPath)).toEqual([row!.event_id]);
    expect(all.map((r) => bodyOf(r).id)).toEqual([row!.event_id, row!.event_id, row!.event_id]);
    expect(bodyOf(receiver.accepted(hookPath)[0]!)).toMatchObject({ event: 'sync-succeeded', stack: p, revision: v1 });
    for (const r of all) expect(r.headers['x-driftd-signature-256']).toBe(signature(r.body));

    agent.child.kill('SIGTERM');
    const last = await agent.done;
    agent = undefined;
    logs.push(last.stdout, last.stderr);
    expectNoSecret([...all.map((r) => r.body), ...logs, st && JSON.stringify(st), text.stdout, text.stderr]);
  }, 900_000);
});
