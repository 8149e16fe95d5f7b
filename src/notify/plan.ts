/**
 * What to send for a channel's due rows (pure). The generic webhook gets one request per event
 * (each with its own id: the receiver's idempotency key); a chat channel gets one message, or one
 * digest when several events are due at once (a flood of 50 drifted stacks is one Slack message,
 * never fifty). Rows whose JSON cannot be read are returned apart, to be given up.
 */
import { digestOf, formatRequest, type OutgoingRequest } from './format.js';
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
