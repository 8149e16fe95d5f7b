/**
 * Real agents report to a real hub (issue 17's proof): two `driftd agent` processes (hosts
 * host-a and host-b, each with its own token from the hub's agents file) deploy real stacks with
 * Compose and push their status to a `driftd hub` process over HTTP on loopback; `driftd fleet
 * status` shows those hosts and stacks (table and --json) with exit 0 while all are synced, 2 once
 * a stack waits for approval or a host falls silent, 1 while the hub is down. A host's token
 * cannot write the other host's status (403 over real HTTP). A hub that accepts and never
 * answers, then a hub that is down, hold up no reconcile; the reports go through the state DB's
 * outbox, latest wins: three cycles during the outage leave one pending row (the newest), which
 * survives a SIGKILL of the agent and is delivered after its restart once the hub is back; the
 * older two never reach the hub; the host token is in no byte of state.db.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAgent } from '../faults/support.js';
import { execFileCapture } from '../../src/util/exec.js';
import { pollUntil, useDockerTestScope } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { startHubProcess, type HubProcess } from '../support/hub-fixture.js';
import { buildCli, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

const READ = 'hub-read-token-for-real-agents';
const tokenOf = (h: string): string => `agent-token-${h}-0123456789abcdef`;
const WAIT = { timeoutMs: 240_000, intervalMs: 500 };

interface FleetHost {
  host: string;
  state: string;
  lastSeen?: string;
  lastRun?: { at: string; ok: boolean };
  target?: { commit: string; ref?: string };
  stacks: { name: string; sync: string; health: string; pending?: string; deployed?: { commit: string; ref?: string } }[];
}
interface Fleet {
  summary: { hosts: number; synced: number; outOfSync: number; silent: number };
  hosts: FleetHost[];
}

describe('real agents report to a real driftd hub', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld;
  let bin: string;
  let hubDir: string;
  let hubPort: number;
  let hub: HubProcess | undefined;
  const agents = new Map<string, HttpAgent>();
  let webA: string;
  let webB: string;
  let gated: string;
  let v1: string;

  const startHub = async (): Promise<HubProcess> =>
    (hub = await startHubProcess({ bin, config: path.join(hubDir, 'hub.yaml'), dataDir: path.join(hubDir, 'data'), port: hubPort, home: hubDir }));
  const base = (): string => `http://127.0.0.1:${hubPort}`;
  const fleet = async (): Promise<Fleet> => {
    const r = await fetch(`${base()}/api/fleet`, { headers: { authorization: `Bearer ${READ}` }, signal: AbortSignal.timeout(30_000) });
    expect(r.status).toBe(200);
    return (await r.json()) as Fleet;
  };
  const hostOf = async (h: string): Promise<FleetHost | undefined> => (await fleet()).hosts.find((x) => x.host === h);
  const dataDirOf = (h: string): string => path.join(world.dir, `data-${h}`);
  const startAgent = async (h: string): Promise<HttpAgent> => {
    const tokenFile = path.join(world.dir, `${h}.hub-token`);
    writeFileSync(tokenFile, `${tokenOf(h)}\n`, { mode: 0o600 });
    const agent = await HttpAgent.start(world, { host: h, dataDir: dataDirOf(h), extra: `hub:\n  url: ${base()}\n  tokenFile: ${tokenFile}\n  heartbeat: 5s\n  timeout: 60s\n` });
    agents.set(h, agent);
    return agent;
  };
  /** Read-only SQL on a file another process writes (WAL). */
  const query = <T>(file: string, sql: string): T[] => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 5000');
      return db.prepare(sql).all() as T[];
    } finally {
      db.close();
    }
  };
  interface HubRow {
    channel: string;
    status: string;
    attempts: number;
    next_at: string;
    event: string;
    last_error: string | null;
  }
  const hubRows = (h: string): HubRow[] =>
    query<HubRow>(path.join(dataDirOf(h), 'state.db'), `SELECT channel, status, attempts, next_at, event, last_error FROM notify_outbox WHERE channel LIKE 'hub:%' ORDER BY id`);
  /** Every report the hub stored for a host (its history), as lastRun.at of each. */
  const receivedRuns = (h: string): (string | undefined)[] =>
    query<{ report: string }>(path.join(hubDir, 'data', 'hub.db'), `SELECT report FROM reports WHERE host = '${h}' ORDER BY id`).map((r) => (JSON.parse(r.report) as { lastRun?: { at: string } }).lastRun?.at);
  const fleetStatus = (args: string[] = []) =>
    execFileCapture(process.execPath, [bin, 'fleet', 'status', '--hub', base(), ...args], { env: { PATH: process.env.PATH ?? '', HOME: hubDir, DRIFTD_HUB_TOKEN: READ }, timeoutMs: 120_000 });
  const fleetYaml = (withGated: boolean): string =>
    [
      'hosts:',
      `  host-a: [${webA}]`,
      `  host-b: [${webB}${withGated ? `, ${gated}` : ''}]`,
      'stacks:',
      `  ${webA}:\n    healthTimeout: 120s`,
      `  ${webB}:\n    healthTimeout: 120s`,
      ...(withGated ? [`  ${gated}:\n    healthTimeout: 120s\n    sync: manual`] : []),
      '',
    ].join('\n');

  beforeAll(async () => {
    bin = await buildCli();
    world = await SyncWorld.create({ labels: env.labels });
    hubDir = path.join(world.dir, 'hub');
    mkdirSync(hubDir, { recursive: true });
    writeFileSync(path.join(hubDir, 'agents.yaml'), ['host-a', 'host-b'].map((h) => `${h}: ${tokenOf(h)}\n`).join(''), { mode: 0o600 });
    writeFileSync(path.join(hubDir, 'read.token'), `${READ}\n`, { mode: 0o600 });
    // Silence needs no report for 60 s; the agents heartbeat every 5 s, so only a stopped agent goes silent.
    writeFileSync(
      path.join(hubDir, 'hub.yaml'),
      `hubServer:\n  readTokenFile: ${path.join(hubDir, 'read.token')}\n  agentTokensFile: ${path.join(hubDir, 'agents.yaml')}\n  silentAfter: 60s\n  stragglerGrace: 1h\n`,
    );
    hubPort = await freePort();
    await startHub();

    [webA, webB, gated] = [env.project(), env.project(), env.project()];
    world.repo
      .writeStack(webA, { 'compose.yaml': world.composeFile({ app: { image: TEST_IMAGES.worker10 } }) })
      .writeStack(webB, { 'compose.yaml': world.composeFile({ app: { image: TEST_IMAGES.worker10 } }) })
      .writeStack(gated, { 'compose.yaml': world.composeFile({ worker: { image: TEST_IMAGES.worker10 } }) })
      .writeFleet(fleetYaml(false));
    v1 = await world.release('v1.0.0');
    for (const h of ['host-a', 'host-b']) await startAgent(h);
    for (const a of agents.values()) await a.idleAfter(1, 600_000);
  }, 900_000);

  afterAll(async () => {
    for (const a of agents.values()) await a.stop();
    await hub?.stop();
    await world?.close();
  });

  it('shows both hosts and their stacks synced and healthy on v1.0.0; fleet status exits 0 (table and --json)', async () => {
    await pollUntil('both agents reported their deploy', async () => ((await fleet()).summary.synced === 2 ? true : undefined), WAIT);
    const f = await fleet();
    expect(f.summary).toMatchObject({ hosts: 2, synced: 2, outOfSync: 0, silent: 0 });
    expect(f.hosts.map((h) => [h.host, h.state, h.target?.ref, h.target?.commit])).toEqual([
      ['host-a', 'synced', 'v1.0.0', v1],
      ['host-b', 'synced', 'v1.0.0', v1],
    ]);
    expect(f.hosts[0]!.stacks.map((s) => [s.name, s.sync, s.health, s.deployed?.commit])).toEqual([[webA, 'Synced', 'Healthy', v1]]);
    expect(f.hosts[1]!.stacks.map((s) => [s.name, s.sync, s.health, s.deployed?.commit])).toEqual([[webB, 'Synced', 'Healthy', v1]]);

    const table = await fleetStatus();
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('2 hosts: 2 synced, 0 out of sync, 0 silent, 0 stragglers');
    expect(table.stdout).toContain(`newest target v1.0.0 ${v1.slice(0, 12)}: 2/2 hosts synced, 0 rolled back, 0 pending`);
    expect(table.stdout).toMatch(new RegExp(`host-a\\s+synced\\s+v1\\.0\\.0 ${v1.slice(0, 12)}\\s+\\S+\\s+1\\s+-`));
    expect(table.stdout).toMatch(new RegExp(`host-b\\s+synced\\s+v1\\.0\\.0 ${v1.slice(0, 12)}\\s+\\S+\\s+1\\s+-`));
    const json = await fleetStatus(['--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as Fleet;
    expect(parsed.hosts.map((h) => [h.host, h.state, h.stacks.map((s) => `${s.name}:${s.sync}/${s.health}`)])).toEqual([
      ['host-a', 'synced', [`${webA}:Synced/Healthy`]],
      ['host-b', 'synced', [`${webB}:Synced/Healthy`]],
    ]);
  });

  it("a host's token cannot write the other host's status: 403 over HTTP, the stored status stays the agent's", async () => {
    const forged = {
      schemaVersion: 1,
      host: 'host-b',
      kind: 'cycle',
      sentAt: new Date().toISOString(),
      version: '0.1.0',
      target: { commit: v1, ref: 'v1.0.0' },
      stacks: [{ name: webB, sync: 'OutOfSync', health: 'Degraded', findings: 9 }],
    };
    const post = (token: string): Promise<Response> =>
      fetch(`${base()}/api/report`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(forged) });
    const r = await post(tokenOf('host-a'));
    expect(r.status).toBe(403);
    expect(await r.text()).toContain('may only report for host host-a');
    expect((await post('not-a-token-of-this-hub-0123456789')).status).toBe(401);
    const b = await hostOf('host-b');
    expect(b?.stacks.map((s) => [s.name, s.sync, s.health])).toEqual([[webB, 'Synced', 'Healthy']]);
  });

  it('a stack waiting for approval makes its host out of sync: fleet status exits 2 and names the stack', async () => {
    world.repo.writeFleet(fleetYaml(true));
    const v11 = await world.release('v1.1.0');
    for (const a of agents.values()) await a.cycle();
    await pollUntil('host-b to report the gated stack', async () => ((await hostOf('host-b'))?.state === 'out-of-sync' ? true : undefined), WAIT);
    const b = await hostOf('host-b');
    expect(b?.target).toEqual({ commit: v11, ref: 'v1.1.0' });
    expect(b?.stacks.find((s) => s.name === gated)).toMatchObject({ sync: 'OutOfSync', pending: v11 });
    await pollUntil('host-a to report v1.1.0', async () => ((await hostOf('host-a'))?.target?.commit === v11 ? true : undefined), WAIT);
    expect((await hostOf('host-a'))?.state).toBe('synced');
    const table = await fleetStatus();
    expect(table.code).toBe(2);
    expect(table.stdout).toContain('2 hosts: 1 synced, 1 out of sync, 0 silent');
    expect(table.stdout).toMatch(new RegExp(`host-b\\s+out-of-sync\\s+v1\\.1\\.0 ${v11.slice(0, 12)}.*${gated}:OutOfSync/`));
    const json = await fleetStatus(['--json']);
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as Fleet).hosts.find((h) => h.host === 'host-b')?.state).toBe('out-of-sync');
  });

  it('with the hub hanging, then down, cycles go on and the outbox holds one report, the newest; after a SIGKILL and a restart with the hub back it is delivered, the stale ones never', async () => {
    const a = agents.get('host-a')!;
    await hub!.stop();
    hub = undefined;
    const down = await fleetStatus();
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('did not answer');
    // First a "hub" that accepts and never answers, then none at all: a reconcile that waited for
    // the hub would never finish.
    const held: Socket[] = [];
    let firstClosedAt: number | undefined;
    const hang = createServer((sock) => {
      held.push(sock);
      sock.on('error', () => undefined);
      sock.on('close', () => (firstClosedAt ??= Date.now()));
    });
    await new Promise<void>((resolve) => hang.listen(hubPort, '127.0.0.1', resolve));
    const runs: string[] = [];
    const cycle = async (): Promise<void> => {
      await a.cycle();
      const h = (await (await a.get('/healthz')).json()) as { lastRun?: { at: string; ok: boolean } };
      expect(h.lastRun?.ok).toBe(true);
      runs.push(h.lastRun!.at);
    };
    await cycle();
    await pollUntil('the report to hang at the silent hub', () => Promise.resolve(held.length > 0 ? true : undefined), WAIT);
    await cycle();
    // The second cycle finished while the report was still hanging (the agent cuts it after hub.timeout, 60 s here).
    expect(firstClosedAt).toBeUndefined();
    for (const sock of held) sock.destroy();
    await new Promise<void>((resolve) => hang.close(() => resolve()));
    await cycle();
    expect(a.alive()).toBe(true);
    expect(new Set(runs).size).toBe(3);
    // One row, not three: the newest document, with the failed attempts of the older ones (the backoff goes on).
    const [row, ...more] = await pollUntil('a failed attempt on the pending report', () => {
      const rows = hubRows('host-a');
      return Promise.resolve(rows[0] && rows[0].attempts >= 1 && rows[0].last_error?.includes('connection refused') && JSON.parse(rows[0].event).lastRun?.at === runs[2] ? rows : undefined);
    }, WAIT);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ status: 'pending', channel: expect.stringMatching(/^hub:sha256:[0-9a-f]{12}$/) as unknown });
    expect(row!.last_error).toContain('connection refused');
    expect(JSON.parse(row!.event)).toMatchObject({ host: 'host-a', kind: 'cycle' });
    // The agent's /status shows the pending report with the notifications' outbox.
    const status = (await (await a.get('/status')).json()) as { notifications?: { channel: string; pending: number }[] };
    expect(status.notifications).toEqual([expect.objectContaining({ channel: row!.channel, pending: 1 })]);

    await a.stop('SIGKILL');
    agents.delete('host-a');
    // The host token is in no byte the agent wrote (database, WAL), though its report is queued there.
    for (const f of ['state.db', 'state.db-wal']) {
      const file = path.join(dataDirOf('host-a'), f);
      if (existsSync(file)) expect(readFileSync(file).includes(tokenOf('host-a')), `${f} holds the token`).toBe(false);
    }
    expect(hubRows('host-a')).toHaveLength(1);
    // `driftd status` (another process, on the state DB) lists the pending report with the outbox.
    const st = await world.run('status', ['--json'], { host: 'host-a', dataDir: dataDirOf('host-a') });
    expect((JSON.parse(st.stdout) as { notifications?: unknown[] }).notifications).toEqual([
      expect.objectContaining({ channel: row!.channel, pending: 1, givenUp: 0, lastError: expect.stringContaining('connection refused') as unknown }),
    ]);
    const text = await world.run('status', [], { host: 'host-a', dataDir: dataDirOf('host-a') });
    expect(text.stdout).toMatch(/notifications:\nCHANNEL\s+PENDING\s+OLDEST PENDING\s+GIVEN UP\s+LAST ERROR\nhub:sha256:[0-9a-f]{12}\s+1\s+\S+ ago\s+0\s+connection refused/);
    await startHub();
    // The row's next attempt is due before the restart, so the restarted agent's loop sends it before
    // its startup cycle can queue a newer one (which would rightly replace it).
    const due = Date.parse(hubRows('host-a')[0]!.next_at);
    await pollUntil('the pending report to be due', () => Promise.resolve(Date.now() > due + 100 ? true : undefined), WAIT);
    const restarted = await startAgent('host-a');
    await pollUntil('the outage report to reach the restarted hub', () => Promise.resolve(receivedRuns('host-a').includes(runs[2]) ? true : undefined), WAIT);
    const received = receivedRuns('host-a');
    expect(received).not.toContain(runs[0]);
    expect(received).not.toContain(runs[1]);
    await restarted.idleAfter(1, 600_000);
    await pollUntil('the outbox to empty', () => Promise.resolve(hubRows('host-a').length === 0 ? true : undefined), WAIT);
    const arrived = await pollUntil('the startup cycle to reach the hub', async () => {
      const h = await hostOf('host-a');
      return h?.lastRun && h.lastRun.at > runs[2]! ? h : undefined;
    }, WAIT);
    expect(arrived.state).toBe('synced');
  });

  it('an agent that stops goes silent: fleet status exits 2 and says so', async () => {
    await agents.get('host-b')!.stop();
    agents.delete('host-b');
    await pollUntil('host-b to go silent', async () => ((await hostOf('host-b'))?.state === 'silent' ? true : undefined), { timeoutMs: 300_000, intervalMs: 1_000 });
    expect((await hostOf('host-a'))?.state).toBe('synced');
    const table = await fleetStatus();
    expect(table.code).toBe(2);
    expect(table.stdout).toMatch(/host-b\s+silent/);
    expect(table.stdout).toContain('1 silent');
  });
});
