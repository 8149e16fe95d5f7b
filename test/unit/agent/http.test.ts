import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseListen, startHttp, webhookAuthorized } from '../../../src/agent/http.js';
import { backoffDelay } from '../../../src/agent/schedule.js';

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:9797', { host: '127.0.0.1', port: 9797 }],
    ['[::1]:80', { host: '::1', port: 80 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('%s', (listen, want) => expect(parseListen(listen)).toEqual(want));

  it.each(['9797', 'host:', 'host:99999', ':80'])('refuses %s', (listen) => {
    expect(() => parseListen(listen)).toThrow(/must be host:port/);
  });
});

describe('webhookAuthorized', () => {
  const body = Buffer.from('{"ref":"refs/tags/v1"}');
  const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
  it.each([
    ['no secret configured', undefined, {}, true],
    ['bearer token', 's3cret', { authorization: 'Bearer s3cret' }, true],
    ['wrong bearer token', 's3cret', { authorization: 'Bearer nope' }, false],
    ['HMAC signature', 's3cret', { 'x-hub-signature-256': sig }, true],
    ['wrong HMAC signature', 's3cret', { 'x-hub-signature-256': 'sha256=00' }, false],
    ['nothing given', 's3cret', {}, false],
  ])('%s', (_name, secret, headers, ok) => {
    expect(webhookAuthorized(secret, headers, body)).toBe(ok);
  });
});

describe('backoffDelay', () => {
  it.each([
    [0, 0],
    [1, 30_000],
    [2, 60_000],
    [3, 120_000],
    [10, 3_600_000],
  ])('after %i failures → %i ms', (failures, want) => expect(backoffDelay(failures, 3_600_000)).toBe(want));
});

describe('agent HTTP API', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it('serves health and status, and queues a reconcile on an authorized webhook only', async () => {
    let triggers = 0;
    const server = await startHttp('127.0.0.1:0', { health: () => ({ ok: true }), status: () => ({ stacks: [] }), trigger: () => (triggers += 1) }, 'tok');
    close = () => new Promise((r) => server.close(() => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${base}/status`)).json()).toEqual({ stacks: [] });
    expect((await fetch(`${base}/webhook`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(triggers).toBe(0);
    expect((await fetch(`${base}/webhook`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer tok' } })).status).toBe(202);
    expect(triggers).toBe(1);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
