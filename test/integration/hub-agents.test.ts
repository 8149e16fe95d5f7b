/**
 * Real agents report to a real hub (issue 17's proof): two `driftd agent` processes (hosts
 * host-a and host-b, each with its own token from the hub's agents file) deploy real stacks with
 * Compose and push their status to a `driftd hub` process over HTTP on loopback; `driftd fleet
 * status` shows those hosts and stacks (table and --json) with exit 0 while all are synced, 2 once
 * a stack waits for approval or a host falls silent, 1 while the hub is down. A host's token
 * cannot write the other host's status (403 over real HTTP). A hub that is down does not hold up
 * a reconcile, and the status of the cycle run during the outage arrives once the hub is back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
    for (const h of ['host-a', 'host-b']) {
      const tokenFile = path.join(world.dir, `${h}.hub-token`);
      writeFileSync(tokenFile, `${tokenOf(h)}\n`, { mode: 0o600 });
      const agent = await HttpAgent.start(world, { host: h, dataDir: path.join(world.dir, `data-${h}`), extra: `hub:\n  url: ${base()}\n  tokenFile: ${tokenFile}\n  heartbeat: 5s\n` });
      agents.set(h, agent);
    }
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

  it('with the hub down a reconcile still finishes and fleet status exits 1; the outage cycle reaches the hub once it is back', async () => {
    const a = agents.get('host-a')!;
    await hub!.stop();
    hub = undefined;
    const down = await fleetStatus();
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('did not answer');
    // The hub stays down until this cycle is over: a reconcile that waited for the hub would never finish.
    const before = new Date().toISOString();
    await a.cycle();
    expect(a.alive()).toBe(true);
    await startHub();
    // Sent by the agent's retry (or its next heartbeat) — nothing is sent to it by the test.
    const arrived = await pollUntil(
      'the outage cycle to reach the restarted hub',
      async () => {
        const h = await hostOf('host-a');
        return h?.lastRun && h.lastRun.at >= before ? h : undefined;
      },
      WAIT,
    );
    expect(arrived.state).toBe('synced');
    expect(arrived.lastRun?.ok).toBe(true);
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
