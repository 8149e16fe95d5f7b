/**
 * What to send for a channel's due rows (pure). The generic webhook gets one request per event
 * (each with its own id: the receiver's idempotency key); a chat channel gets one message, or one
 * digest when several events are due at once (a flood of 50 drifted stacks is one Slack message,
 * never fifty). Rows whose JSON cannot be read are returned apart, to be given up.
 */
import { digestOf, formatRequest, MAX_ATTEMPTS, type OutgoingRequest } from './format.js';
import type { Channel, NotificationEvent } from './model.js';
import { EVENT_TYPES } from './model.js';

export interface OutboxRowView {
  id: number;
  event: string;
  attempts: number;
}

export interface PlannedSend {
  /** The outbox rows this request delivers. */
  ids: number[];
  /** Attempts so far of the most-tried row (for the backoff). */
  attempts: number;
  eventIds: string[];
  request: OutgoingRequest;
}

/** How many due rows one step of a channel reads: a webhook sends them one by one, a chat channel folds them into one digest. */
export const BATCH: Record<'webhook' | 'chat', number> = { webhook: 20, chat: 100 };

function parseEvent(text: string): NotificationEvent | undefined {
  try {
    const e = JSON.parse(text) as Partial<NotificationEvent>;
    if (typeof e.id !== 'string' || typeof e.message !== 'string' || typeof e.host !== 'string' || !(EVENT_TYPES as readonly string[]).includes(e.event ?? '')) return undefined;
    return e as NotificationEvent;
  } catch {
    return undefined;
  }
}

/**
 * One destination the delivery loop serves from the outbox: each notification channel, and the
 * hub (src/hub/outbox.ts). The loop is the same for all (due rows, one send at a time, the lane
 * waits as a whole on a failure, a row leaves only after a 2xx); a lane says how it turns due rows
 * into requests and how long its backoff may grow.
 */
export interface Lane {
  /** The channel key of its rows in the outbox (never a URL). */
  key: string;
  /** What a row is, for log lines: `notification`, `hub report`. */
  noun: string;
  /** The level of the "delivered" log line (a heartbeat every few minutes is not news). */
  deliveredLevel: 'info' | 'debug';
  minIntervalMs: number;
  timeoutMs: number;
  /** Due rows read per step. */
  batch: number;
  /** The longest wait between two attempts. */
  retryCapMs: number;
  /** A retryable failure is given up after this many attempts; undefined: never (a newer row supersedes it instead). */
  maxAttempts?: number;
  plan(due: readonly OutboxRowView[], now: number): { sends: PlannedSend[]; unreadable: number[] };
}

/** A notification channel as a lane of the delivery loop: 10 s doubling, at most an hour, given up after MAX_ATTEMPTS. */
export function channelLane(channel: Channel): Lane {
  return {
    key: channel.key,
    noun: 'notification',
    deliveredLevel: 'info',
    minIntervalMs: channel.minIntervalMs,
    timeoutMs: channel.timeoutMs,
    batch: channel.type === 'webhook' ? BATCH.webhook : BATCH.chat,
    retryCapMs: 3_600_000,
    maxAttempts: MAX_ATTEMPTS,
    plan: (due) => planSends(channel, due),
  };
}

export function planSends(channel: Pick<Channel, 'type' | 'url' | 'secret'>, due: readonly OutboxRowView[]): { sends: PlannedSend[]; unreadable: number[] } {
  const unreadable: number[] = [];
  const rows: { row: OutboxRowView; event: NotificationEvent }[] = [];
  for (const row of due) {
    const event = parseEvent(row.event);
    if (event) rows.push({ row, event });
    else unreadable.push(row.id);
  }
  if (rows.length === 0) return { sends: [], unreadable };
  if (channel.type === 'webhook' || rows.length === 1) {
    return {
      sends: rows.map(({ row, event }) => ({ ids: [row.id], attempts: row.attempts, eventIds: [event.id], request: formatRequest(channel.type, channel.url, event, channel.secret) })),
      unreadable,
    };
  }
  const digest = digestOf(rows.map((r) => r.event));
  return {
    sends: [
      {
        ids: rows.map((r) => r.row.id),
        attempts: Math.max(...rows.map((r) => r.row.attempts)),
        eventIds: rows.map((r) => r.event.id),
        request: formatRequest(channel.type, channel.url, digest.event, channel.secret, digest.title),
      },
    ],
    unreadable,
  };
}
