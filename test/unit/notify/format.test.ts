import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatRequest, retryDelayMs, signature, titleOf } from '../../../src/notify/format.js';
import { CHANNEL_TYPES, SCHEMA_VERSION, type NotificationEvent } from '../../../src/notify/model.js';

const event: NotificationEvent = {
  schemaVersion: SCHEMA_VERSION,
  id: '0b5c8f0e-8a3b-4c1e-9d7f-2f6a1c3e5b7d',
  event: 'rolled-back',
  host: 'web-01',
  stack: 'edge',
  revision: 'a'.repeat(40),
  tag: 'v1.4.2',
  message: 'health gate failed for v1.4.2: app unhealthy; rolled back to v1.4.1',
  time: '2026-12-05T10:00:00.000Z',
  link: 'https://status.example/driftd',
};

describe('formatRequest', () => {
  it('webhook: the event as JSON (schemaVersion, id, event, host, stack, revision, tag, message, time) signed like GitHub', () => {
    const r = formatRequest('webhook', 'https://hooks.example/x', event, 'k3y');
    expect(JSON.parse(r.body)).toEqual(event);
    expect(r.headers['x-driftd-signature-256']).toBe(`sha256=${createHmac('sha256', 'k3y').update(r.body).digest('hex')}`);
    expect(r.headers['x-driftd-delivery']).toBe(event.id);
    expect(formatRequest('webhook', 'https://hooks.example/x', event).headers).not.toHaveProperty('x-driftd-signature-256');
    expect(signature('k3y', 'a')).not.toBe(signature('k3y', 'b'));
  });

  it('slack: Block Kit with a header, the message and the facts', () => {
    const body = JSON.parse(formatRequest('slack', 'https://hooks.slack.com/services/T/B/X', event).body) as { text: string; blocks: { type: string }[] };
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(body.text).toContain('driftd web-01: edge rolled back');
    expect(JSON.stringify(body.blocks[2])).toContain('<https://status.example/driftd|status>');
  });

  it('discord: one embed, red for a failure, with the link', () => {
    const body = JSON.parse(formatRequest('discord', 'https://discord.com/api/webhooks/1/x', event).body) as { embeds: { color: number; url: string; fields: { name: string }[] }[] };
    expect(body.embeds[0]).toMatchObject({ color: 0xc62828, url: event.link });
    expect(body.embeds[0]?.fields.map((f) => f.name)).toEqual(['host', 'stack', 'tag', 'revision', 'event']);
  });

  it('teams: an Adaptive Card message for a workflow webhook', () => {
    const body = JSON.parse(formatRequest('teams', 'https://prod.workflows.example/x', event).body) as { type: string; attachments: { contentType: string; content: { type: string; actions: unknown[] } }[] };
    expect(body.type).toBe('message');
    expect(body.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0]?.content.type).toBe('AdaptiveCard');
    expect(body.attachments[0]?.content.actions).toHaveLength(1);
  });

  it('ntfy: the message as the body, title/priority/tags/click as headers (Latin-1 safe)', () => {
    const r = formatRequest('ntfy', 'https://ntfy.sh/driftd-topic', { ...event, stack: 'édge' });
    expect(r.body).toBe(event.message);
    expect(r.headers).toMatchObject({ title: 'driftd web-01: ?dge rolled back', priority: '5', tags: 'driftd,rolled-back', click: event.link });
  });

  it('gotify and apprise: JSON with title, message/body and a level', () => {
    expect(JSON.parse(formatRequest('gotify', 'https://gotify.example/message?token=t', event).body)).toMatchObject({ title: titleOf(event), message: event.message, priority: 8 });
    expect(JSON.parse(formatRequest('apprise', 'http://apprise:8000/notify/driftd', event).body)).toMatchObject({ title: titleOf(event), type: 'failure', format: 'text' });
  });

  it.each(CHANNEL_TYPES)('%s: POSTs to the configured URL', (type) => {
    const r = formatRequest(type, 'https://x.example/p?token=t', event);
    expect(r).toMatchObject({ method: 'POST', url: 'https://x.example/p?token=t' });
    expect(r.body).toContain('rolled back to v1.4.1');
  });
});

describe('retries', () => {
  it.each([
    [1, 10_000],
    [2, 20_000],
    [5, 160_000],
    [10, 3_600_000],
    [50, 3_600_000],
  ])('attempt %i waits %i ms', (attempt, ms) => expect(retryDelayMs(attempt)).toBe(ms));
});
