/**
 * An enforced security policy at sync against the real engine: a stack whose new revision runs
 * a privileged container, or mounts the Docker socket, is refused with nothing of it touched
 * (no Compose run, same containers), a history row naming the service and the rule, exit 2;
 * a good stack beside it is applied; drift-check reports policy-violation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { fleetYaml, projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';

interface SyncJson {
  outcomes: { stack: string; action: string; result: string; message: string }[];
}

interface DriftJson {
  stacks: { stack: string; findings: { kind: string; service?: string; severity: string; message: string; field?: string }[] }[];
}

describe('sync under policy mode: enforce', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('refuses a privileged stack and a Docker-socket stack, touching neither; applies the good one; exits 2', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const [good, priv, sock] = [env.project(), env.project(), env.project()];
    const worker = (level: number, extra: string[] = []): Record<string, string> => ({
      'compose.yaml': `${w.composeFile({ worker: { image: TEST_IMAGES.worker10, environment: { LEVEL: String(level) } } })}${extra.join('\n')}${extra.length ? '\n' : ''}`,
    });
    const enforce = { policy: '{mode: enforce}' };
    const fleet = fleetYaml(w.host, [good, priv, sock], { [good]: enforce, [priv]: enforce, [sock]: enforce });

    w.repo.writeStack(good, worker(1)).writeStack(priv, worker(1)).writeStack(sock, worker(1)).writeFleet(fleet);
    const v1 = await w.release('v1.0.0');
    const first = await w.run('sync');
    expect(first.code, first.stderr).toBe(0);
    const before = { priv: (await projectContainers(env.docker, priv)).worker, sock: (await projectContainers(env.docker, sock)).worker };
    expect(before.priv?.labels['io.driftd.revision']).toBe(v1);

    // v1.1.0: every stack changes; two of them now break the policy.
    w.repo
      .writeStack(good, worker(2))
      .writeStack(priv, worker(2, ['    privileged: true']))
      .writeStack(sock, worker(2, ['    volumes:', '      - /var/run/docker.sock:/var/run/docker.sock:ro']));
    const v2 = await w.release('v1.1.0');
    w.resetComposeLog();
    const result = await w.json<SyncJson>('sync', ['--json'], 2);
    const outcome = (s: string) => result.outcomes.find((o) => o.stack === s);
    expect(outcome(good)?.result).toBe('deployed');
    expect(outcome(priv)).toMatchObject({ action: 'refuse', result: 'refused' });
    expect(outcome(priv)?.message).toBe('refused by policy (enforce): service worker: privileged');
    expect(outcome(sock)?.message).toBe('refused by policy (enforce): service worker: dockerSocket (/var/run/docker.sock); service worker: hostBindMounts (/var/run/docker.sock)');

    // Nothing of the refused stacks was touched: no Compose run (not even a pull), same containers.
    expect(w.projectCalls().map((c) => c.project)).not.toContain(priv);
    expect(w.projectCalls().map((c) => c.project)).not.toContain(sock);
    expect(w.projectCalls().map((c) => c.project)).toContain(good);
    const after = { priv: (await projectContainers(env.docker, priv)).worker, sock: (await projectContainers(env.docker, sock)).worker };
    expect(after.priv?.id).toBe(before.priv?.id);
    expect(after.sock?.id).toBe(before.sock?.id);
    expect(after.priv?.labels['io.driftd.revision']).toBe(v1);
    expect((await projectContainers(env.docker, good)).worker?.labels['io.driftd.revision']).toBe(v2);

    // A history row per refused stack, naming the service and the rule.
    const refusals = () =>
      w.readState((db) => db.prepare("SELECT stack, action, revision, result, message FROM operations WHERE result = 'refused' ORDER BY id").all()) as { stack: string; revision: string; message: string }[];
    expect(refusals().map((r) => [r.stack, r.revision, r.message])).toEqual(
      [
        [priv, v2, 'refused by policy (enforce): service worker: privileged'],
        [sock, v2, 'refused by policy (enforce): service worker: dockerSocket (/var/run/docker.sock); service worker: hostBindMounts (/var/run/docker.sock)'],
      ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string)),
    );

    // drift-check reports the violations as errors (exit 2).
    const drift = await w.json<DriftJson>('drift-check', ['--json'], 2);
    const kinds = (s: string) => drift.stacks.find((x) => x.stack === s)?.findings.filter((f) => f.kind === 'policy-violation').map((f) => [f.service, f.field, f.severity]);
    expect(kinds(priv)).toEqual([['worker', 'privileged', 'error']]);
    expect(kinds(sock)).toEqual([
      ['worker', 'dockerSocket', 'error'],
      ['worker', 'hostBindMounts', 'error'],
    ]);
    expect(kinds(good)).toEqual([]);

    // The next sync refuses again (exit 2) but does not add a second row for the same refusal.
    const again = await w.run('sync');
    expect(again.code).toBe(2);
    expect(refusals()).toHaveLength(2);
    // Four syncs and a drift-check on a shared 2-core machine: more than the default 120 s at times.
  }, 300_000);
});
