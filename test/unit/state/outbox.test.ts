import { describe, expect, it } from 'vitest';
import { openState } from '../../../src/state/open.js';
import { registerSecrets } from '../../../src/util/scrub.js';
import { freshStore } from './helpers.js';

const row = (eventId: string, channel = 'webhook:sha256:aaaaaaaaaaaa', event = `{"id":"${eventId}"}`) => ({ eventId, channel, event });

describe('notification outbox', () => {
  it('keeps the memory and the rows of one cycle together; an (event, channel) pair is one row', () => {
    const { store } = freshStore();
    expect(store.notifyMemory()).toBeUndefined();
    store.enqueueNotifications({ stacks: { web: { sync: 'OutOfSync' } } }, [row('e1'), row('e1'), row('e1', 'slack:sha256:bbbbbbbbbbbb')], 100);
    expect(store.notifyMemory()).toEqual({ stacks: { web: { sync: 'OutOfSync' } } });
    expect(store.outboxDue('webhook:sha256:aaaaaaaaaaaa', 10).map((r) => r.eventId)).toEqual(['e1']);
    expect(store.outboxCounts().map((c) => [c.channel, c.pending])).toEqual([
      ['slack:sha256:bbbbbbbbbbbb', 1],
      ['webhook:sha256:aaaaaaaaaaaa', 1],
    ]);
  });

  it('survives a reopen (the agent killed between the event and the delivery)', () => {
    const { store, dataDir } = freshStore();
    store.enqueueNotifications({}, [row('e1'), row('e2')], 100);
    store.close();
    const again = openState(dataDir);
    try {
      expect(again.outboxDue('webhook:sha256:aaaaaaaaaaaa', 10).map((r) => r.eventId)).toEqual(['e1', 'e2']);
    } finally {
      again.close();
    }
  });

  it('a failed delivery waits for its next attempt; a given-up one stays for status but is never due again', () => {
    const { store, clock } = freshStore();
    store.enqueueNotifications({}, [row('e1'), row('e2')], 100);
    const [e1, e2] = store.outboxDue('webhook:sha256:aaaaaaaaaaaa', 10);
    store.outboxFailed([e1!.id], 'HTTP 503', new Date(clock.now().getTime() + 10_000));
    store.outboxFailed([e2!.id], 'HTTP 400', undefined);
    expect(store.outboxDue('webhook:sha256:aaaaaaaaaaaa', 10)).toEqual([]);
    expect(store.outboxNextAt('webhook:sha256:aaaaaaaaaaaa')).toBe('2026-01-01T00:00:10.000Z');
    clock.advance(10_000);
    expect(store.outboxDue('webhook:sha256:aaaaaaaaaaaa', 10)).toEqual([expect.objectContaining({ eventId: 'e1', attempts: 1, lastError: 'HTTP 503' })]);
    expect(store.outboxCounts()[0]).toMatchObject({ pending: 1, givenUp: 1, lastError: 'HTTP 400' });
    store.outboxDelivered([e1!.id]);
    expect(store.outboxCounts()[0]).toMatchObject({ pending: 0, givenUp: 1 });
  });

  it('is bounded: a channel keeps its newest pending rows and reports how many it dropped', () => {
    const { store } = freshStore();
    const dropped = store.enqueueNotifications({}, Array.from({ length: 30 }, (_, i) => row(`e${i}`)), 20);
    expect(dropped).toEqual({ 'webhook:sha256:aaaaaaaaaaaa': 10 });
    const due = store.outboxDue('webhook:sha256:aaaaaaaaaaaa', 100);
    expect(due).toHaveLength(20);
    expect(due[0]?.eventId).toBe('e10');
  });

  it('drops the rows of channels no longer configured, and old given-up rows', () => {
    const { store } = freshStore();
    store.enqueueNotifications({}, [row('a', 'gone:1'), row('b', 'kept:1'), row('c', 'kept:1'), row('d', 'kept:1')], 100);
    const [b, c] = store.outboxDue('kept:1', 10);
    store.outboxFailed([b!.id, c!.id], 'x', undefined);
    expect(store.pruneOutbox(['kept:1', '__proto__'], 1)).toBe(2);
    expect(store.outboxCounts()).toEqual([expect.objectContaining({ channel: 'kept:1', pending: 1, givenUp: 1 })]);
  });

  it('stores errors and events through the secret scrubber', () => {
    const { store } = freshStore();
    registerSecrets(['hunter2-outbox-secret']);
    store.enqueueNotifications({}, [row('e1', 'c:1', '{"message":"token hunter2-outbox-secret"}')], 100);
    const [e] = store.outboxDue('c:1', 1);
    expect(e?.event).not.toContain('hunter2-outbox-secret');
    store.outboxFailed([e!.id], 'POST https://hooks.example/hunter2-outbox-secret failed', new Date());
    expect(JSON.stringify(store.outboxCounts())).not.toContain('hunter2-outbox-secret');
  });

  it('latest wins: a newer document replaces the undelivered one (one row, not one per cycle), keeping its backoff', () => {
    const { store, clock } = freshStore();
    const hub = 'hub:sha256:cccccccccccc';
    store.enqueueLatest({ eventId: 'hub-report', channel: hub, event: '{"n":1}' });
    const [first] = store.outboxDue(hub, 10);
    store.outboxFailed([first!.id], 'connection refused (ECONNREFUSED)', new Date(clock.now().getTime() + 20_000));
    clock.advance(5_000);
    for (let n = 2; n <= 50; n++) store.enqueueLatest({ eventId: 'hub-report', channel: hub, event: `{"n":${n}}` });
    // Other channels and notifications are untouched by it.
    store.enqueueNotifications({}, [row('e1')], 100);
    expect(store.outboxCounts().find((c) => c.channel === hub)).toEqual({
      channel: hub,
      pending: 1,
      givenUp: 0,
      oldestPending: '2026-01-01T00:00:00.000Z',
      lastError: 'connection refused (ECONNREFUSED)',
    });
    expect(store.outboxDue(hub, 10)).toEqual([]);
    expect(store.outboxNextAt(hub)).toBe('2026-01-01T00:00:20.000Z');
    clock.advance(15_000);
    const due = store.outboxDue(hub, 10);
    expect(due.map((r) => [r.event, r.attempts])).toEqual([['{"n":50}', 1]]);
    expect(due[0]!.id).not.toBe(first!.id);
  });

  it('latest wins: a send of the replaced document that succeeds afterwards does not delete the newer one', () => {
    const { store } = freshStore();
    const hub = 'hub:sha256:cccccccccccc';
    store.enqueueLatest({ eventId: 'hub-report', channel: hub, event: '{"n":1}' });
    const [inFlight] = store.outboxDue(hub, 10);
    store.enqueueLatest({ eventId: 'hub-report', channel: hub, event: '{"n":2}' });
    store.outboxDelivered([inFlight!.id]);
    expect(store.outboxDue(hub, 10).map((r) => r.event)).toEqual(['{"n":2}']);
    store.outboxDelivered(store.outboxDue(hub, 10).map((r) => r.id));
    expect(store.outboxNextAt(hub)).toBeUndefined();
  });

  it('latest wins: after a refusal (given up) a newer document starts afresh, due at once; it survives a reopen', () => {
    const { store, clock, dataDir } = freshStore();
    const hub = 'hub:sha256:cccccccccccc';
    store.enqueueLatest({ eventId: 'hub-report', channel: hub, event: '{"n":1}' });
    const [first] = store.outboxDue(hub, 10);
    store.outboxFailed([first!.id], 'HTTP 401', undefined);
    clock.advance(60_000);
    store.enqueueLatest({ eventId: 'hub-report', channel: hub, event: '{"n":2}' });
    expect(store.outboxDue(hub, 10).map((r) => [r.event, r.attempts, r.status, r.createdAt])).toEqual([['{"n":2}', 0, 'pending', '2026-01-01T00:01:00.000Z']]);
    store.close();
    const again = openState(dataDir);
    try {
      expect(again.outboxDue(hub, 10).map((r) => r.event)).toEqual(['{"n":2}']);
    } finally {
      again.close();
    }
  });
});
