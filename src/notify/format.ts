/**
 * One event → one HTTP request per channel type (pure). The generic webhook carries the event
 * as JSON with an HMAC signature; the chat services get their own message shapes. Text reaching
 * here has been through the scrubber already (scrub.ts).
 */
import { createHash, createHmac } from 'node:crypto';
import type { ChannelType, EventType, NotificationEvent } from './model.js';

export interface OutgoingRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
  /** PEM of a CA trusted for this https request besides the system's (the hub's `hub.caFile`). */
  ca?: string;
}

const TITLES: Record<EventType, string> = {
  'sync-succeeded': 'deployed',
  'sync-failed': 'deploy failed',
  'rolled-back': 'rolled back',
  'drift-detected': 'drift detected',
  'drift-resolved': 'drift resolved',
  'approval-needed': 'approval needed',
  'revision-refused': 'revision refused',
  'source-unreachable': 'repository unreachable',
  'source-recovered': 'repository reachable again',
  'health-degraded': 'health degraded',
  'health-recovered': 'health recovered',
};

type Level = 'success' | 'info' | 'warning' | 'failure';
const LEVELS: Record<EventType, Level> = {
  'sync-succeeded': 'success',
  'sync-failed': 'failure',
  'rolled-back': 'failure',
  'drift-detected': 'warning',
  'drift-resolved': 'success',
  'approval-needed': 'info',
  'revision-refused': 'failure',
  'source-unreachable': 'failure',
  'source-recovered': 'success',
  'health-degraded': 'failure',
  'health-recovered': 'success',
};

/** "driftd web-01: edge rolled back" */
export function titleOf(e: NotificationEvent): string {
  return `driftd ${e.host}: ${e.stack ? `${e.stack} ` : ''}${TITLES[e.event]}`;
}

const LEVEL_RANK: Record<Level, number> = { success: 0, info: 1, warning: 2, failure: 3 };
/** Lines of a digest beyond this are counted, not listed (chat services cap message sizes). */
export const DIGEST_LINES = 20;

/**
 * Several events due at once for one chat channel, as one message: the title counts them, the
 * body has one line per event (the first DIGEST_LINES), the level is the worst of them. Its id is
 * derived from the events' ids, so the same backlog after a restart is the same message.
 */
export function digestOf(events: readonly NotificationEvent[]): { event: NotificationEvent; title: string } {
  const first = events[0] as NotificationEvent;
  const worst = events.reduce((w, e) => (LEVEL_RANK[LEVELS[e.event]] > LEVEL_RANK[LEVELS[w.event]] ? e : w), first);
  const lines = events.slice(0, DIGEST_LINES).map((e) => `• ${e.stack ? `${e.stack}: ` : ''}${TITLES[e.event]} — ${e.message}`);
  if (events.length > DIGEST_LINES) lines.push(`… and ${events.length - DIGEST_LINES} more`);
  const stacks = new Set(events.map((e) => e.stack));
  const id = createHash('sha256').update(events.map((e) => e.id).join(',')).digest('hex').slice(0, 32);
  const event: NotificationEvent = {
    schemaVersion: first.schemaVersion,
    id: `digest-${id}`,
    event: worst.event,
    host: first.host,
    ...(stacks.size === 1 && first.stack ? { stack: first.stack } : {}),
    message: lines.join('\n'),
    time: events[events.length - 1]?.time ?? first.time,
    ...(first.link ? { link: first.link } : {}),
  };
  return { event, title: `driftd ${first.host}: ${events.length} events` };
}

function facts(e: NotificationEvent): [string, string][] {
  const out: [string, string][] = [['host', e.host]];
  if (e.stack) out.push(['stack', e.stack]);
  if (e.tag) out.push(['tag', e.tag]);
  if (e.revision) out.push(['revision', e.revision.slice(0, 12)]);
  out.push(['event', e.event]);
  return out;
}

const COLORS: Record<Level, number> = { success: 0x2e7d32, info: 0x1565c0, warning: 0xf9a825, failure: 0xc62828 };
const NTFY_PRIORITY: Record<Level, string> = { success: '3', info: '3', warning: '4', failure: '5' };
const GOTIFY_PRIORITY: Record<Level, number> = { success: 4, info: 4, warning: 6, failure: 8 };

/** HTTP header values are Latin-1: anything else (a stack named in another script never is, but a message may) becomes '?'. */
const headerSafe = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 250);

const json = (url: string, body: unknown, extra: Record<string, string> = {}): OutgoingRequest => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', 'user-agent': 'driftd', ...extra },
  body: JSON.stringify(body),
});

/** `sha256=<hex HMAC-SHA256 of the body>`, as GitHub's X-Hub-Signature-256. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** `title` overrides the event's own (a digest's). */
export function formatRequest(type: ChannelType, url: string, e: NotificationEvent, secret?: string, title = titleOf(e)): OutgoingRequest {
  const level = LEVELS[e.event];
  const link = e.link;
  switch (type) {
    case 'webhook': {
      const req = json(url, e, { 'x-driftd-event': e.event, 'x-driftd-delivery': e.id });
      if (secret !== undefined) req.headers['x-driftd-signature-256'] = signature(secret, req.body);
      return req;
    }
    case 'slack':
      return json(url, {
        text: `${title}: ${e.message}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: e.message.slice(0, 2900) } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: facts(e).map(([k, v]) => `*${k}* ${v}`).join(' · ') + (link ? ` · <${link}|status>` : '') }] },
        ],
      });
    case 'discord':
      return json(url, {
        embeds: [
          {
            title: title.slice(0, 256),
            description: e.message.slice(0, 4000),
            color: COLORS[level],
            fields: facts(e).map(([name, value]) => ({ name, value, inline: true })),
            timestamp: e.time,
            ...(link ? { url: link } : {}),
          },
        ],
      });
    case 'teams':
      return json(url, {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: title, weight: 'Bolder', size: 'Medium', wrap: true },
                { type: 'TextBlock', text: e.message, wrap: true },
                { type: 'FactSet', facts: facts(e).map(([t, v]) => ({ title: t, value: v })) },
              ],
              ...(link ? { actions: [{ type: 'Action.OpenUrl', title: 'Status', url: link }] } : {}),
            },
          },
        ],
      });
    case 'ntfy':
      return {
        method: 'POST',
        url,
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          'user-agent': 'driftd',
          title: headerSafe(title),
          priority: NTFY_PRIORITY[level],
          tags: headerSafe(`driftd,${e.event}`),
          ...(link ? { click: headerSafe(link) } : {}),
        },
        body: e.message,
      };
    case 'gotify':
      return json(url, {
        title,
        message: e.message,
        priority: GOTIFY_PRIORITY[level],
        ...(link ? { extras: { 'client::notification': { click: { url: link } } } } : {}),
      });
    case 'apprise':
      return json(url, { title, body: link ? `${e.message}\n${link}` : e.message, type: level, format: 'text' });
  }
}

/** Delay before retry `attempt` (1-based) of a failed delivery: 10 s doubling, capped at an hour. */
export function retryDelayMs(attempt: number, baseMs = 10_000, capMs = 3_600_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)));
}

/** Deliveries given up after this many attempts (about 4.5 hours of retries). */
export const MAX_ATTEMPTS = 12;
