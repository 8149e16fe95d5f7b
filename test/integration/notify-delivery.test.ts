/**
 * The notification loop against REAL receivers (HTTP servers on 127.0.0.1 in this test) and a
 * real state DB: the payload of every channel type and the webhook's HMAC; a receiver down then
 * up; a receiver that hangs next to one that answers; a flood; a 4xx that is given up; and no
 * secret (URL token, HMAC key, a registered value) in logs, the outbox, or the receivers' bodies.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveChannels } from '../../src/notify/channels.js';
import type { CycleView, StackView } from '../../src/notify/derive.js';
import type { ChannelSetting, ChannelType } from '../../src/notify/model.js';
import { Notifier } from '../../src/notify/notifier.js';
import { openState, type StateStore } from '../../src/state/index.js';
import { createLogger } from '../../src/util/logger.js';
import { registerSecrets } from '../../src/util/scrub.js';
import { freePort } from '../support/free-port.js';
import { Receiver } from '../support/notify-receiver.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'T0KEN-in-the-url-8c1f2a9d';
const HMAC_KEY = 'hmac-key-for-the-webhook-5b7e';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function world(settings: Omit<ChannelSetting, 'name'>[]): { notifier: Notifier; store: StateStore; logs: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'driftd-notify-'));
  const store = openState(path.join(dir, 'data'));
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', pretty: false, destination: new Writable({ write: (c: Buffer, _e, cb) => (logs.push(c.toString()), cb()) }) });
  const channels = resolveChannels(settings.map((s, i) => ({ ...s, name: `notifications[${i}]` })));
  const notifier = new Notifier({ channels, store: () => store, host: 'web-01', statusUrl: 'https://status.example/driftd', logger });
  notifier.start();
  cleanups.push(async () => {
    await notifier.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { notifier, store, logs };
}

const channel = (type: ChannelType, url: string, extra: Partial<ChannelSetting> = {}): Omit<ChannelSetting, 'name'> => ({ type, url: { key: 'url', value: url }, minIntervalMs: 0, timeoutMs: 2000, ...extra });
const view = (stack: string, v: Partial<StackView> = {}): StackView => ({ stack, sync: 'Synced', health: 'Healthy', kinds: [], ...v });
const cycle = (stacks: StackView[], outcomes: Extract<CycleView, { ok: true }>['outcomes'] = []): CycleView => ({ ok: true, outcomes, stacks });

/** Waits (a ceiling, not a budget) until `cond` holds. */
const until = (what: string, cond: () => unknown, ms: number): Promise<true> => waitFor(what, () => Promise.resolve(cond() ? (true as const) : undefined), ms);

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  cleanups.push(() => r.stop());
  return r;
}

describe('notification delivery to real receivers', () => {
  it('every channel type gets its own payload shape; the webhook is signed with HMAC-SHA256 of the raw body', async () => {
    const r = await receiver();
    const types: ChannelType[] = ['webhook', 'slack', 'discord', 'teams', 'ntfy', 'gotify', 'apprise'];
    const { notifier, logs } = world(types.map((t) => channel(t, r.url(`/${t}/${TOKEN}`), t === 'webhook' ? { secret: { key: 's', value: HMAC_KEY } } : {})));
    notifier.record(cycle([view('edge')]));
    const events = notifier.record(
      cycle([view('edge', { sync: 'OutOfSync', health: 'Healthy' })], [{ stack: 'edge', result: 'rolled-back', message: 'health gate failed for v2.0.0: app unhealthy; rolled back to v1.0.0', revision: 'b'.repeat(40), tag: 'v2.0.0' }]),
    );
    expect(events.map((e) => e.event)).toEqual(['rolled-back']);
    await until('all seven channels', () => types.every((t) => r.on(`/${t}/${TOKEN}`).length === 1), 30_000);

    const [hook] = r.on(`/webhook/${TOKEN}`);
    const body = JSON.parse(hook!.body) as Record<string, unknown>;
    expect(body).toEqual({
      schemaVersion: 1,
      id: events[0]!.id,
      event: 'rolled-back',
      host: 'web-01',
      stack: 'edge',
      revision: 'b'.repeat(40),
      tag: 'v2.0.0',
      message: 'edge: health gate failed for v2.0.0: app unhealthy; rolled back to v1.0.0',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
      link: 'https://status.example/driftd',
    });
    expect(hook!.headers['x-driftd-signature-256']).toBe(`sha256=${createHmac('sha256', HMAC_KEY).update(hook!.body).digest('hex')}`);
    expect(hook!.headers['x-driftd-delivery']).toBe(events[0]!.id);
    expect(hook!.headers['x-driftd-event']).toBe('rolled-back');
    expect(hook!.headers['content-type']).toBe('application/json');

    const slack = r.json<{ text: string; blocks: { type: string }[] }>(`/slack/${TOKEN}`)[0]!;
    expect(slack.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(slack.text).toContain('driftd web-01: edge rolled back');
    const discord = r.json<{ embeds: { title: string; color: number; url: string }[] }>(`/discord/${TOKEN}`)[0]!;
    expect(discord.embeds[0]).toMatchObject({ title: 'driftd web-01: edge rolled back', color: 0xc62828, url: 'https://status.example/driftd' });
    const teams = r.json<{ type: string; attachments: { contentType: string; content: { type: string } }[] }>(`/teams/${TOKEN}`)[0]!;
    expect(teams).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } }] });
    const [ntfy] = r.on(`/ntfy/${TOKEN}`);
    expect(ntfy!.headers).toMatchObject({ title: 'driftd web-01: edge rolled back', priority: '5', tags: 'driftd,rolled-back', click: 'https://status.example/driftd' });
    expect(ntfy!.body).toContain('rolled back to v1.0.0');
    expect(r.json(`/gotify/${TOKEN}`)[0]).toMatchObject({ title: 'driftd web-01: edge rolled back', priority: 8 });
    expect(r.json(`/apprise/${TOKEN}`)[0]).toMatchObject({ title: 'driftd web-01: edge rolled back', type: 'failure', format: 'text' });
    for (const req of r.requests) expect(req.headers['x-driftd-signature-256'] === undefined).toBe(req.path.startsWith('/webhook/') ? false : true);

    // No secret in the logs: the URL token and the HMAC key are registered with the scrubber.
    expect(logs.join('')).toContain('notification delivered');
    expect(logs.join('')).not.toContain(TOKEN);
    expect(logs.join('')).not.toContain(HMAC_KEY);
  }, 60_000);

  it('a receiver that is down gets the event once it is back (backoff), exactly once', async () => {
    const port = await freePort();
    const { notifier, store, logs } = world([channel('webhook', `http://127.0.0.1:${port}/hook/${TOKEN}`)]);
    const [event] = notifier.record(cycle([view('db', { health: 'Degraded', kinds: ['container-not-running'] })]));
    expect(event?.event).toBe('health-degraded');
    await until('a failed attempt', () => store.outboxCounts()[0]?.lastError, 30_000);
    expect(store.outboxCounts()[0]).toMatchObject({ pending: 1, givenUp: 0, lastError: 'connection refused (ECONNREFUSED)' });
    const r = new Receiver();
    await r.start(port);
    cleanups.push(() => r.stop());
    await until('the delivery after the receiver came back', () => r.on(`/hook/${TOKEN}`).length > 0, 60_000);
    await until('the outbox emptied', () => (store.outboxCounts()[0]?.pending ?? 0) === 0, 10_000);
    expect(r.uniqueDeliveries(`/hook/${TOKEN}`)).toEqual([event!.id]);
    expect(r.on(`/hook/${TOKEN}`)).toHaveLength(1);
    expect(logs.join('')).toMatch(/notification failed \(connection refused \(ECONNREFUSED\)\); retrying in 10 s/);
    expect(logs.join('')).not.toContain(TOKEN);
  }, 90_000);

  it('a receiver that hangs is cut at its timeout and holds only its own channel; record() never waits for it', async () => {
    const r = await receiver();
    r.answer(`/hang/${TOKEN}`, 'hang');
    const { notifier, store } = world([channel('webhook', r.url(`/hang/${TOKEN}`), { timeoutMs: 1000 }), channel('webhook', r.url('/fine'))]);
    const started = Date.now();
    notifier.record(cycle([view('web', { sync: 'OutOfSync', kinds: ['config-drift'] })]));
    // Everything record() does is a few SQLite statements: it is back before the hung request ends.
    expect(Date.now() - started).toBeLessThan(1000);
    await until('the healthy channel', () => r.on('/fine').length === 1, 30_000);
    expect(r.on(`/hang/${TOKEN}`).length).toBeGreaterThanOrEqual(1);
    await until('the hung request recorded as failed', () => store.outboxCounts().find((c) => c.lastError !== undefined), 30_000);
    const hung = store.outboxCounts().find((c) => c.lastError !== undefined)!;
    expect(hung).toMatchObject({ pending: 1, lastError: 'no answer within 1 s' });
    // Another cycle's event reaches the healthy channel while the hung one waits for its retry.
    notifier.record(cycle([view('web')]));
    await until('the second event', () => r.on('/fine').length === 2, 30_000);
  }, 60_000);

  it('a flood: 60 stacks drift at once → one Slack digest, 60 webhook events; the same state again → nothing', async () => {
    const r = await receiver();
    const { notifier } = world([channel('slack', r.url('/slack'), { minIntervalMs: 3000 }), channel('webhook', r.url('/hook'))]);
    const names = Array.from({ length: 60 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    notifier.record(cycle(names.map((n) => view(n))));
    const drifted = cycle(names.map((n) => view(n, { sync: 'OutOfSync', kinds: ['image-drift'] })));
    expect(notifier.record(drifted)).toHaveLength(60);
    for (let i = 0; i < 5; i++) expect(notifier.record(drifted)).toEqual([]);
    await until('60 webhook events', () => r.uniqueDeliveries('/hook').length === 60, 60_000);
    await until('the digest', () => r.on('/slack').length >= 1, 30_000);
    // Longer than minInterval: nothing more comes.
    await new Promise((res) => setTimeout(res, 4000));
    expect(r.on('/slack')).toHaveLength(1);
    expect(r.on('/hook')).toHaveLength(60);
    const digest = r.json<{ text: string; blocks: { text?: { text: string } }[] }>('/slack')[0]!;
    expect(digest.text).toContain('driftd web-01: 60 events');
    expect(digest.blocks[1]?.text?.text).toContain('… and 40 more');
    // Resolved: one event per stack again, folded into one digest after minInterval.
    expect(notifier.record(cycle(names.map((n) => view(n))))).toHaveLength(60);
    await until('the second digest', () => r.on('/slack').length === 2, 30_000);
    expect(r.on('/slack')[1]!.at - r.on('/slack')[0]!.at).toBeGreaterThanOrEqual(2900);
  }, 120_000);

  it('hostile values: a 4xx is given up at once, secrets in messages never reach a receiver, an answer echoing the token is scrubbed', async () => {
    const r = await receiver();
    registerSecrets(['db-password-canary-4711']);
    r.answer('/gone', { status: 410, body: `unknown hook ${TOKEN}` });
    const { notifier, store, logs } = world([channel('webhook', r.url('/gone')), channel('webhook', r.url(`/ok/${TOKEN}`))]);
    notifier.record(cycle([view('__proto__')]));
    notifier.record(cycle([view('__proto__', { sync: 'OutOfSync' })], [{ stack: '__proto__', result: 'failed', message: 'compose up failed: password db-password-canary-4711 rejected\u0000\u001b[31m', revision: 'c'.repeat(40) }]));
    await until('given up', () => store.outboxCounts().find((c) => c.givenUp === 1), 30_000);
    await until('delivered', () => r.on(`/ok/${TOKEN}`).length === 1, 30_000);
    expect(r.on('/gone')).toHaveLength(1);
    const gone = store.outboxCounts().find((c) => c.givenUp === 1)!;
    expect(gone.lastError).toMatch(/^HTTP 410: unknown hook/);
    const everything = [JSON.stringify(store.outboxCounts()), logs.join(''), ...r.requests.map((q) => q.body)].join('\n');
    expect(everything).not.toContain('db-password-canary-4711');
    expect(JSON.stringify(store.outboxCounts())).not.toContain(TOKEN);
    expect(logs.join('')).not.toContain(TOKEN);
    expect(JSON.parse(r.on(`/ok/${TOKEN}`)[0]!.body)).toMatchObject({ event: 'sync-failed', stack: '__proto__' });
  }, 60_000);
});
