/**
 * Issue 11 item 3 on the real engine: Object.prototype keys are valid Compose names. A project
 * literally named `constructor` (services `__proto__` and `toString`, labels and env keys named
 * like prototype members) started by hand next to a driftd stack must not break anything:
 * drift-check names it as unmanaged and evaluates the driftd stack, sync deploys the driftd stack,
 * a `__proto__` label round-trips through the engine without turning into drift, and status and
 * the agent's /status work. Then driftd deploys a stack named `constructor` itself and every
 * view names it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { freePort } from '../support/free-port.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { composeByHand } from './drift-support.js';

const HAND = 'constructor';
const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

/** A compose file whose services are named `services` and carry every prototype-key label and env key. */
function protoCompose(services: string[], labels: Readonly<Record<string, string>>): string {
  const lines = ['services:'];
  for (const s of services) {
    lines.push(`  ${s}:`, `    image: ${TEST_IMAGES.worker10}`, '    network_mode: none', '    labels:');
    for (const [k, v] of Object.entries(labels)) lines.push(`      ${k}: "${v}"`);
    for (const n of NAMES) lines.push(`      ${n}: "label-${n}"`);
    lines.push('    environment:');
    for (const n of NAMES) lines.push(`      ${n}: "env-${n}"`);
  }
  return `${lines.join('\n')}\n`;
}

interface DriftJson {
  stacks: { stack: string; sync: string; findings: { kind: string; field?: string }[] }[];
  unmanaged: { stack: string; kind: string }[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('Compose names that are Object.prototype keys', () => {
  const env = useDockerTestScope({ cleanupAfter: 'all' });
  let world: SyncWorld | undefined;
  afterAll(async () => {
    await world?.close();
  });

  it('a hand-started project "constructor" beside a driftd stack; then a driftd stack "constructor"', async () => {
    env.track(HAND);
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const stack = env.project();

    // By hand, as an operator would: `docker compose -p constructor up -d`.
    const handDir = mkdtempSync(path.join(os.tmpdir(), 'driftd-proto-'));
    writeFileSync(path.join(handDir, 'compose.yaml'), protoCompose(['__proto__', 'toString'], env.labels));
    await composeByHand(handDir, HAND, ['up', '-d']);
    const hand = await projectContainers(env.docker, HAND);
    expect(Object.keys(hand).sort()).toEqual(['__proto__', 'toString']);

    w.repo.writeStack(stack, { 'compose.yaml': protoCompose(['__proto__', 'web'], env.labels) });
    w.repo.writeFleet(fleetYaml(w.host, [stack]));
    await w.release('v1.0.0');

    // drift-check: the driftd stack is evaluated (missing), the hand project is named as unmanaged.
    const before = await w.run('drift-check', ['--json']);
    expect(before.code, before.stderr).toBe(2);
    const report = JSON.parse(before.stdout) as DriftJson;
    expect(report.stacks.find((s) => s.stack === stack)?.findings.map((f) => f.kind)).toContain('stack-missing');
    expect(report.unmanaged.filter((f) => f.stack === HAND).map((f) => f.kind)).toEqual(['stack-unmanaged']);
    const table = await w.run('drift-check', []);
    expect(table.stdout).toContain(HAND);

    const sync = await w.run('sync', ['--json']);
    expect(sync.code, `${sync.stdout}\n${sync.stderr}`).toBe(0);
    const deployed = await projectContainers(env.docker, stack);
    expect(Object.keys(deployed).sort()).toEqual(['__proto__', 'web']);
    expect(deployed.__proto__?.labels.__proto__).toBe('label-__proto__');
    // The hand project was not touched.
    expect(Object.values(await projectContainers(env.docker, HAND)).map((c) => c.id).sort()).toEqual(Object.values(hand).map((c) => c.id).sort());

    // A __proto__ label and env key read back from the engine match the repo: no drift.
    const after = await w.run('drift-check', ['--json', '--stack', stack]);
    expect(after.code, after.stdout).toBe(0);
    const clean = JSON.parse(after.stdout) as DriftJson;
    expect(clean.stacks.map((s) => [s.stack, s.sync, s.findings.filter((f) => f.kind === 'config-drift')])).toEqual([[stack, 'Synced', []]]);

    const status = await w.json<{ stacks: { stack: string; sync: string }[] }>('status');
    expect(status.stacks.map((s) => [s.stack, s.sync])).toEqual([[stack, 'Synced']]);

    // Now driftd deploys a stack named "constructor" itself (the hand project goes first).
    await composeByHand(handDir, HAND, ['down']);
    w.repo.writeStack(HAND, { 'compose.yaml': protoCompose(['__proto__', 'toString'], env.labels) });
    w.repo.writeFleet(fleetYaml(w.host, [stack, HAND]));
    await w.release('v2.0.0');

    const port = await freePort();
    const config = path.join(w.dir, 'agent.yaml');
    writeFileSync(config, `http:\n  listen: 127.0.0.1:${port}\n  readTokenEnv: READ_TOKEN\n`);
    const agent = w.start('agent', ['--interval', '1h'], { config, env: { READ_TOKEN: 'r3ad-proto' } });
    try {
      const view = await waitFor('the agent to deploy "constructor" and serve /status', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/status`, { headers: { authorization: 'Bearer r3ad-proto' } });
        if (res.status !== 200) return undefined;
        const body = (await res.json()) as { stacks: { stack: string; sync: string; health: string }[] };
        const mine = body.stacks.find((s) => s.stack === HAND);
        return mine?.sync === 'Synced' ? body : undefined;
      });
      expect(view.stacks.map((s) => s.stack).sort()).toEqual([HAND, stack].sort());
    } finally {
      agent.child.kill('SIGTERM');
      await agent.done;
    }
    const managed = await projectContainers(env.docker, HAND);
    expect(Object.keys(managed).sort()).toEqual(['__proto__', 'toString']);
    expect(managed['toString']?.labels['io.driftd.stack']).toBe(HAND);

    const final = await w.run('drift-check', ['--json', '--stack', stack, '--stack', HAND]);
    expect(final.code, final.stdout).toBe(0);
    expect((JSON.parse(final.stdout) as DriftJson).stacks.map((s) => [s.stack, s.sync]).sort()).toEqual([[HAND, 'Synced'], [stack, 'Synced']].sort());
    const st = await w.json<{ stacks: { stack: string; sync: string }[] }>('status');
    expect(st.stacks.map((s) => [s.stack, s.sync]).sort()).toEqual([[HAND, 'Synced'], [stack, 'Synced']].sort());
    const hist = await w.run('history', []);
    expect(hist.code).toBe(0);
    expect(hist.stdout).toContain(HAND);
  }, 900_000);
});
