/**
 * Post-deploy checks in the health gate, against the real engine and Compose: a busybox httpd
 * (the test app image) serves a CGI health endpoint from the stack's files. v1 passes; v2 answers
 * 500 and is rolled back; v3 answers the wrong version and is rolled back. History names the
 * check, the last status and a scrubbed body excerpt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useDockerTestScope } from '../support/docker.js';
import { projectContainers, SyncWorld } from '../support/sync-harness.js';
import { TEST_IMAGES } from '../support/test-env.js';
import { freePort } from '../support/free-port.js';

interface SyncJson {
  outcomes: { stack: string; result: string; message: string }[];
}


const SECRET = 'hunter2-very-secret';

function cgi(status: string, body: string): string {
  // CRLF header lines: busybox passes them through, and Node's HTTP parser insists on them.
  return `#!/bin/sh\nprintf 'Status: ${status}\\r\\nContent-Type: application/json\\r\\n\\r\\n'\necho '${body}'\n`;
}

describe('post-deploy checks', () => {
  const env = useDockerTestScope();
  let world: SyncWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('v1 passes; v2 answering 500 and v3 answering the wrong version are rolled back, with the check in history', async () => {
    const w = (world = await SyncWorld.create({ labels: env.labels }));
    const p = env.project();
    const port = await freePort();
    const labels = Object.entries(env.labels).map(([k, v]) => `      ${k}: "${v}"`).join('\n');
    const compose = [
      'services:',
      '  app:',
      `    image: ${TEST_IMAGES.app10}`,
      '    network_mode: host',
      `    command: ["sh", "-c", "mkdir -p /srv/cgi-bin && cp /conf/health.cgi /srv/cgi-bin/health && chmod +x /srv/cgi-bin/health && exec httpd -f -p 127.0.0.1:${port} -h /srv"]`,
      '    healthcheck: {disable: true}',
      '    environment:',
      `      DB_PASSWORD: "${SECRET}"`,
      '    volumes: ["./conf:/conf:ro"]',
      '    labels:',
      labels,
      '',
    ].join('\n');
    const fleet = [
      'hosts:',
      `  ${w.host}: [${p}]`,
      'stacks:',
      `  ${p}:`,
      '    healthTimeout: 20s',
      // Long enough for busybox httpd to answer on a machine at load 100+ (6 s failed v1 there);
      // v2 and v3 wait it out before they fail.
      '    checksTimeout: 30s',
      '    checks:',
      `      - {http: "http://127.0.0.1:${port}/cgi-bin/health", expectStatus: 200, json: {path: .version, equals: "\${DRIFTD_TAG}"}, timeout: 2s}`,
      `      - {tcp: "127.0.0.1:${port}"}`,
      '      - {exec: {service: app, command: ["test", "-x", "/srv/cgi-bin/health"]}}',
      '',
    ].join('\n');
    const release = async (tag: string, script: string): Promise<string> => {
      w.repo.writeStack(p, { 'compose.yaml': compose, 'conf/health.cgi': script }).writeFleet(fleet);
      return w.release(tag);
    };
    const revisionRunning = async (): Promise<string | undefined> => (await projectContainers(env.docker, p)).app?.labels['io.driftd.revision'];

    const v1 = await release('v1.0.0', cgi('200 OK', '{"status":"ok","version":"v1.0.0"}'));
    const first = await w.json<SyncJson>('sync');
    expect(first.outcomes).toEqual([expect.objectContaining({ stack: p, result: 'deployed' })]);
    expect(await revisionRunning()).toBe(v1);

    await release('v2.0.0', cgi('500 Internal Server Error', `{"status":"down","error":"db refused: password=${SECRET}"}`));
    const broken = await w.json<SyncJson>('sync', [], 2);
    expect(broken.outcomes).toEqual([expect.objectContaining({ stack: p, result: 'rolled-back' })]);
    const m2 = broken.outcomes[0]?.message ?? '';
    expect(m2).toContain(`check http http://127.0.0.1:${port}/cgi-bin/health failed: answered 500, expected 200 (last status 500); body: "{\\"status\\":\\"down\\",\\"error\\":\\"db refused: password=sha256:`);
    expect(m2).toMatch(/rolled back to v1\.0\.0/);
    expect(m2).not.toContain(SECRET);
    expect(await revisionRunning()).toBe(v1);

    await release('v3.0.0', cgi('200 OK', '{"status":"ok","version":"v2.0.0"}'));
    const wrong = await w.json<SyncJson>('sync', [], 2);
    expect(wrong.outcomes).toEqual([expect.objectContaining({ stack: p, result: 'rolled-back' })]);
    expect(wrong.outcomes[0]?.message).toContain('JSON .version is "v2.0.0", expected "v3.0.0"');
    expect(await revisionRunning()).toBe(v1);

    // drift-check --checks runs them once against what is live, with the target's variables.
    const report = await w.json<{ stacks: { stack: string; findings: { kind: string; severity: string; message: string }[] }[] }>('drift-check', ['--checks'], 2);
    const checkFailed = report.stacks.find((s) => s.stack === p)?.findings.filter((f) => f.kind === 'check-failed');
    expect(checkFailed).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringContaining('JSON .version is "v1.0.0", expected "v3.0.0"') as string })]);

    // History: each failed deploy names its check; nothing in the state DB carries the secret.
    const ops = w.readState((db) => db.prepare(`SELECT action, result, message, output FROM operations WHERE stack = ? ORDER BY id`).all(p) as { action: string; result: string; message: string | null; output: string | null }[]);
    const failed = ops.filter((o) => o.action === 'deploy' && o.result === 'failed').map((o) => o.message ?? '');
    expect(failed).toHaveLength(2);
    expect(failed[0]).toContain('answered 500, expected 200 (last status 500)');
    expect(failed[1]).toContain('JSON .version is "v2.0.0", expected "v3.0.0"');
    expect(ops.filter((o) => o.action === 'rollback').map((o) => o.result)).toEqual(['succeeded', 'succeeded']);
    expect(JSON.stringify(ops)).not.toContain(SECRET);
    // Three syncs, two with a rollback, on a shared 2-core machine: a generous ceiling.
  }, 900_000);
});
