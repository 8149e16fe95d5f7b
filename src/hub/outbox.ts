/**
 * The agent's side of the hub (docs/hub.md): its status document goes through the same durable
 * outbox and delivery loop as notifications (src/notify/notifier.ts), as one more lane.
 *
 * - After every cycle the newest document is queued, latest wins: the hub only needs the newest,
 *   so the lane holds at most one row (`enqueueLatest`): an outage of a day is one row, not one
 *   per cycle, and nothing stale is replayed when the hub is back.
 * - Every `heartbeat` a fresh document of kind `heartbeat` is queued, unless one is waiting
 *   already (when it goes out it says "still here" as well).
 * - Queueing is one SQLite write; the loop delivers apart from the reconcile, with the
 *   notifications' backoff (10 s doubling) capped at the heartbeat, and never gives a failed send
 *   up (the next document supersedes it). A refusal (400, 401, 403, 413) is given up at once and
 *   logged; the next cycle or heartbeat queues a fresh one.
 * - The row holds the document only: the host token stays in memory (read from hub.tokenEnv or
 *   hub.tokenFile at start) and is added to the request when it is sent.
 */
import { describeError } from '../errors/index.js';
import type { Lane, PlannedSend } from '../notify/plan.js';
import type { OutboxRowView } from '../notify/plan.js';
import type { Logger } from '../util/logger.js';
import { redactValue, scrubValue } from '../util/scrub.js';
import { reportSchema, type Report } from './report.js';

/** The outbox's event id of the status document: one row per hub, replaced by each newer document. */
export const REPORT_EVENT_ID = 'hub-report';
export const HUB_TIMEOUT_MS = 15_000;

export interface HubTarget {
  url: string;
  /** This host's token: kept in memory, added at send time, never in a row. */
  token: string;
  heartbeatMs: number;
  /** PEM of `hub.caFile`: trusted for an https hub besides the system's CAs. */
  ca?: string;
  timeoutMs?: number;
}

/** The hub's lane key in the outbox, status and logs: `hub:sha256:<12 hex of its URL>`, as channels are named. */
export function hubLaneKey(url: string): string {
  return `hub:${redactValue(url)}`;
}

/** The longest wait between two attempts: the heartbeat (a hub that is back sees the agent within one), at least 1 s, at most an hour. */
export function hubRetryCapMs(heartbeatMs: number): number {
  return Math.max(1_000, Math.min(heartbeatMs, 3_600_000));
}

/**
 * The request for the hub's due row (pure): the stored document with `sentAt` set to the moment
 * it is sent (it may have waited out an outage), the host token as Bearer. A row that is not a
 * status document is returned as unreadable (given up).
 */
export function planReport(target: Pick<HubTarget, 'url' | 'token' | 'ca'>, due: readonly OutboxRowView[], now: number): { sends: PlannedSend[]; unreadable: number[] } {
  const sends: PlannedSend[] = [];
  const unreadable: number[] = [];
  for (const row of due) {
    let doc: Report;
    try {
      const parsed = reportSchema.safeParse(JSON.parse(row.event));
      if (!parsed.success) throw parsed.error;
      doc = parsed.data;
    } catch {
      unreadable.push(row.id);
      continue;
    }
    sends.push({
      ids: [row.id],
      attempts: row.attempts,
      eventIds: [`${doc.kind}@${doc.lastRun?.at ?? doc.sentAt}`],
      request: {
        method: 'POST',
        url: `${target.url.replace(/\/+$/, '')}/api/report`,
        headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json', 'user-agent': 'driftd' },
        body: JSON.stringify({ ...doc, sentAt: new Date(now).toISOString() }),
        ...(target.ca !== undefined ? { ca: target.ca } : {}),
      },
    });
  }
  return { sends, unreadable };
}

/** The hub as a lane of the delivery loop. */
export function hubLane(target: HubTarget): Lane {
  return {
    key: hubLaneKey(target.url),
    noun: 'hub report',
    deliveredLevel: 'debug',
    minIntervalMs: 0,
    timeoutMs: target.timeoutMs ?? HUB_TIMEOUT_MS,
    batch: 1,
    retryCapMs: hubRetryCapMs(target.heartbeatMs),
    plan: (due, now) => planReport(target, due, now),
  };
}

/** What the reports need of the outbox (the Notifier implements it; neither call throws). */
export interface ReportOutbox {
  enqueueLatest(row: { eventId: string; channel: string; event: string }): boolean;
  hasPending(channel: string): boolean;
}

export interface HubReportsOptions {
  url: string;
  heartbeatMs: number;
  outbox: ReportOutbox;
  /** Builds the current document (`kind` says why it is sent). */
  build: (kind: Report['kind']) => Report;
  logger: Pick<Logger, 'error'>;
}

export interface HubReports {
  /** A cycle finished: queue its document (replacing one not yet delivered). Never throws, never waits for the hub. */
  cycleDone(): void;
  stop(): void;
}

export function startHubReports(opts: HubReportsOptions): HubReports {
  const channel = hubLaneKey(opts.url);
  const queue = (kind: Report['kind']): void => {
    let doc: Report;
    try {
      doc = opts.build(kind);
    } catch (e) {
      opts.logger.error(`hub: the status document could not be built; not sent: ${describeError(e)}`);
      return;
    }
    opts.outbox.enqueueLatest({ eventId: REPORT_EVENT_ID, channel, event: JSON.stringify(scrubValue(doc)) });
  };
  const heartbeat = setInterval(() => {
    if (!opts.outbox.hasPending(channel)) queue('heartbeat');
  }, opts.heartbeatMs);
  heartbeat.unref();
  return {
    cycleDone: () => queue('cycle'),
    stop: () => clearInterval(heartbeat),
  };
}
