import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readGuard, secretEquals, signatureMatches, webhookDecision } from '../../../src/agent/http-auth.js';
import { startHttp, type AgentApi } from '../../../src/agent/http.js';
import { parseListen, type HttpSettings } from '../../../src/agent/http-settings.js';
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

describe('guards', () => {
  it('compares secrets of any length without throwing', () => {
    expect(secretEquals('abc', 'abc')).toBe(true);
    expect(secretEquals('abc', 'abcd')).toBe(false);
    expect(secretEquals('', 'abc')).toBe(false);
  });

  it.each([
    ['no token configured', undefined, {}, 403],
    ['no header', 'r3ad', {}, 401],
    ['wrong token', 'r3ad', { authorization: 'Bearer nope' }, 401],
    ['wrong scheme', 'r3ad', { authorization: 'Basic r3ad' }, 401],
    ['right token', 'r3ad', { authorization: 'Bearer r3ad' }, undefined],
    ['right token, lower-case scheme', 'r3ad', { authorization: 'bearer r3ad' }, undefined],
  ])('read guard: %s', (_name, token, headers, status) => {
    expect(readGuard(token)(headers)?.status).toBe(status);
  });

  const body = Buffer.from('{"ref":"refs/tags/v1"}');
  const sig = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
  it.each([
    ['no secret configured, even with a token', undefined, { authorization: 'Bearer s3cret' }, 'deny'],
    ['no secret configured, even signed', undefined, { 'x-hub-signature-256': sig }, 'deny'],
    ['bearer token', 's3cret', { authorization: 'Bearer s3cret' }, 'accept'],
    ['wrong bearer token', 's3cret', { authorization: 'Bearer nope' }, 'deny'],
    ['wrong bearer token beside a signature', 's3cret', { authorization: 'Bearer nope', 'x-hub-signature-256': sig }, 'deny'],
    ['a signature: the body decides', 's3cret', { 'x-hub-signature-256': sig }, 'read-body'],
    ['nothing given', 's3cret', {}, 'deny'],
  ])('webhook: %s', (_name, secret, headers, kind) => {
    expect(webhookDecision(secret, headers).kind).toBe(kind);
  });

  it('checks the HMAC of the body', () => {
    expect(signatureMatches('s3cret', sig, body)).toBe(true);
    expect(signatureMatches('s3cret', sig, Buffer.from('{"ref":"refs/tags/v2"}'))).toBe(false);
    expect(signatureMatches('other', sig, body)).toBe(false);
    expect(signatureMatches('s3cret', 'sha256=00', body)).toBe(false);
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

/** Writes raw bytes and collects what comes back until the server closes the connection. */
function raw(port: number, request: string, timeoutMs = 20_000): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    socket.on('data', (b: Buffer) => (text += b.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
    socket.write(request);
  });
}

describe('agent HTTP API', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  async function start(settings: Omit<HttpSettings, 'listen' | 'host' | 'port'>): Promise<{ base: string; port: number; triggers: () => number }> {
    let triggers = 0;
    const api: AgentApi = {
      health: () => ({ ok: true }),
      status: () => ({ stacks: [] }),
      trigger: () => (triggers += 1),
      metrics: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'driftd_up 1\n' }),
    };
    server = await startHttp({ listen: '127.0.0.1:0', host: '127.0.0.1', port: 0, ...settings }, api);
    const port = (server.address() as AddressInfo).port;
    return { base: `http://127.0.0.1:${port}`, port, triggers: () => triggers };
  }

  it('keeps /healthz open and /status (and /api/status) behind the read token', async () => {
    const { base } = await start({ readToken: 'r3ad', webhookSecret: 'hook' });
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const anonymous = await fetch(`${base}/status`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await anonymous.text()).not.toContain('stacks');
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer hook' } })).status).toBe(401);
    for (const url of ['/status', '/api/status', '/status?x=1']) {
      const ok = await fetch(`${base}${url}`, { headers: { authorization: 'Bearer r3ad' } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ stacks: [] });
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('guards /metrics like /status, unless http.metrics is open', async () => {
    const guarded = await start({ readToken: 'r3ad', webhookSecret: 'hook' });
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Bearer hook' }] as Record<string, string>[]) {
      const r = await fetch(`${guarded.base}/metrics`, { headers });
      expect(r.status).toBe(401);
      expect(await r.text()).not.toContain('driftd_up');
    }
    const ok = await fetch(`${guarded.base}/metrics`, { headers: { authorization: 'Bearer r3ad' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await ok.text()).toBe('driftd_up 1\n');
    await new Promise((r) => server?.close(r));
    const closed = await start({});
    expect((await fetch(`${closed.base}/metrics`)).status).toBe(403);
    await new Promise((r) => server?.close(r));
    const open = await start({ readToken: 'r3ad', metricsOpen: true });
    const anonymous = await fetch(`${open.base}/metrics`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.text()).toBe('driftd_up 1\n');
    // Open metrics open nothing else.
    expect((await fetch(`${open.base}/status`)).status).toBe(401);
  });

  it('fails closed with nothing configured: /status and webhooks refused with a reason, /healthz open', async () => {
    const { base, triggers } = await start({});
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const status = await fetch(`${base}/status`);
    expect(status.status).toBe(403);
    expect(((await status.json()) as { error: string }).error).toMatch(/no read token is configured/);
    for (const url of ['/webhook', '/sync']) {
      const hook = await fetch(`${base}${url}`, { method: 'POST', body: '{}', headers: { authorization: 'Bearer anything' } });
      expect(hook.status).toBe(403);
      expect(((await hook.json()) as { error: string }).error).toMatch(/no webhook secret is configured/);
    }
    expect(triggers()).toBe(0);
  });

  it('queues a reconcile on the right Bearer token or HMAC signature only', async () => {
    const { base, triggers } = await start({ webhookSecret: 'hook' });
    const post = (url: string, headers: Record<string, string>, body = '{"ref":"refs/tags/v1"}') => fetch(`${base}${url}`, { method: 'POST', body, headers });
    expect((await post('/webhook', {})).status).toBe(401);
    expect((await post('/webhook', { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post('/webhook', { 'x-hub-signature-256': 'sha256=00' })).status).toBe(401);
    const wrongKey = `sha256=${createHmac('sha256', 'other').update('{"ref":"refs/tags/v1"}').digest('hex')}`;
    expect((await post('/webhook', { 'x-hub-signature-256': wrongKey })).status).toBe(401);
    expect(triggers()).toBe(0);
    expect((await post('/webhook', { authorization: 'Bearer hook' })).status).toBe(202);
    expect((await post('/sync', { authorization: 'Bearer hook' })).status).toBe(202);
    const good = `sha256=${createHmac('sha256', 'hook').update('{"ref":"refs/tags/v1"}').digest('hex')}`;
    expect((await post('/webhook', { 'x-hub-signature-256': good })).status).toBe(202);
    // The signature covers the body: the same signature over another body is refused.
    expect((await post('/webhook', { 'x-hub-signature-256': good }, '{"ref":"refs/tags/v2"}')).status).toBe(401);
    expect(triggers()).toBe(3);
  });

  it('refuses a bad Bearer token from the headers alone, before any of a 1 GiB body arrives', async () => {
    const { port, triggers } = await start({ webhookSecret: 'hook' });
    // The body is announced but never sent: a server that read it first would wait for it.
    const answer = await raw(port, 'POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 1073741824\r\n\r\n');
    expect(answer.text).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.text).toMatch(/connection: close/i);
    expect(answer.ms).toBeLessThan(4_000); // well under the 5 s header / 10 s request timeouts
    // So is a request with no credentials, and one with no secret configured at all.
    expect((await raw(port, 'POST /sync HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n')).text).toMatch(/^HTTP\/1\.1 401 /);
    expect(triggers()).toBe(0);
  });

  it('caps signed bodies at 1 MiB, by Content-Length before reading and while reading a chunked one', async () => {
    const { base, port, triggers } = await start({ webhookSecret: 'hook' });
    const announced = await raw(port, 'POST /webhook HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256=00\r\nContent-Length: 1048577\r\n\r\n');
    expect(announced.text).toMatch(/^HTTP\/1\.1 413 /);
    const big = Buffer.alloc(1024 * 1024 + 10, 'a');
    const sig = `sha256=${createHmac('sha256', 'hook').update(big).digest('hex')}`;
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 64 * 1024) c.enqueue(big.subarray(i, i + 64 * 1024));
        c.close();
      },
    });
    const res = await fetch(`${base}/webhook`, { method: 'POST', body: chunked, headers: { 'x-hub-signature-256': sig }, duplex: 'half' }).catch(() => undefined);
    if (res) expect(res.status).toBe(413);
    expect(triggers()).toBe(0);
  });

  it('closes a connection that never finishes its headers within the header timeout', async () => {
    const { port } = await start({ webhookSecret: 'hook' });
    const answer = await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 30_000);
    // Node answers 408 (or just closes); either way the connection does not stay.
    expect(answer.ms).toBeGreaterThanOrEqual(4_000);
    expect(answer.ms).toBeLessThan(25_000);
  }, 40_000);
});
