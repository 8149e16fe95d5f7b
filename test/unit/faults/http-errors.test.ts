/** Issue 13, finding 2: no HTTP request may crash the agent; a handler's error is a JSON 500 and a log line. */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttp } from '../../../src/agent/http.js';
import { DriftdError } from '../../../src/errors/index.js';

describe('agent HTTP API under a failing handler', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it('answers 500 with the error as JSON, logs it, and keeps serving', async () => {
    const logged: unknown[][] = [];
    const settings = { listen: '127.0.0.1:0', host: '127.0.0.1', port: 0, readToken: 'r3ad', webhookSecret: 'h00k' };
    const api = {
      health: () => ({ ok: true }),
      status: () => {
        throw new DriftdError('StateError', 'state database /d/state.db is corrupt or not a SQLite database');
      },
      trigger: () => {
        throw new Error('queue broken');
      },
    };
    const server = await startHttp(settings, api, undefined, { error: (...args: unknown[]) => void logged.push(args) });
    close = () => new Promise((r) => server.close(() => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${base}/status`, { headers: { authorization: 'Bearer r3ad' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ error: 'state database /d/state.db is corrupt or not a SQLite database' });
    // A trigger that throws is logged; the agent keeps serving.
    const hook = await fetch(`${base}/webhook`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer h00k' } });
    expect(hook.status).toBeLessThan(600);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(logged.map((l) => l[1])).toEqual(['HTTP GET /status failed: state database /d/state.db is corrupt or not a SQLite database', 'webhook trigger failed: queue broken']);
  });
});
