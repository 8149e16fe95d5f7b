/**
 * The agent's notification loop (docs/notifications.md). `record()` is called after each
 * reconcile: it derives the events (one per state change) and writes them with the new memory to
 * the outbox in one transaction — synchronous, a few SQLite statements, never a network call.
 * Delivery runs apart, one loop per channel: a receiver that hangs is cut at its timeout and
 * holds only its own channel; one that is down is retried with backoff (10 s doubling, capped at
 * an hour, given up after MAX_ATTEMPTS); the reconcile never waits for any of it. A row leaves the
 * outbox only after a 2xx answer, so an agent killed in between delivers it again after the
 * restart, with the same event id.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors/index.js';
import type { Logger } from '../util/logger.js';
import { scrub } from '../util/scrub.js';
import { wants } from './channels.js';
import { deriveEvents, memoryFrom, type CycleView, type DerivedEvent } from './derive.js';
import { retryDelayMs } from './format.js';
import { SCHEMA_VERSION, type Channel, type NotificationEvent } from './model.js';
import { channelLane, type Lane, type OutboxRowView } from './plan.js';
import { send, type SendResult } from './send.js';

/** The state DB's outbox, as the loop uses it (src/state/store.ts implements it). */
export interface OutboxStore {
  notifyMemory(): unknown;
  enqueueNotifications(memory: unknown, rows: readonly { eventId: string; channel: string; event: string }[], capPerChannel: number): Record<string, number>;
  enqueueLatest(row: { eventId: string; channel: string; event: string }): void;
  outboxDue(channel: string, limit: number, now?: Date): (OutboxRowView & { eventId: string })[];
  outboxNextAt(channel: string): string | undefined;
  outboxDelivered(ids: readonly number[]): void;
  outboxFailed(ids: readonly number[], error: string, nextAt: Date | undefined): void;
  pruneOutbox(channels: readonly string[], keepGivenUp?: number): number;
}

export interface NotifierOptions {
  channels: readonly Channel[];
  /** Other destinations served by the same loop from the same outbox (the hub's status reports). */
  lanes?: readonly Lane[];
  /** The agent may reopen its state DB after a fault: always the current one. */
  store: () => OutboxStore;
  host: string;
  statusUrl?: string;
  logger: Logger;
  now?: () => number;
  /** Pending rows kept per channel; the oldest beyond it are dropped (and logged). */
  capPerChannel?: number;
  /** source-unreachable after this many failed polls in a row. */
  unreachableAfter?: number;
}

export type DeliveryResult = 'delivered' | 'failed' | 'given-up';

/** Longest idle sleep of a channel loop (it also wakes on every recorded cycle). */
const IDLE_MS = 60_000;
/** A loop whose state DB failed waits this long before it reads again. */
const STORE_RETRY_MS = 5_000;
/** A retry never waits longer than this, whatever Retry-After says. */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** Longest message text kept per event (chat services cut far below). */
const MAX_MESSAGE = 2_000;

export class Notifier {
  readonly #opts: NotifierOptions;
  readonly #now: () => number;
  readonly #abort = new AbortController();
  readonly #blockedUntil = new Map<string, number>();
  readonly #lastSent = new Map<string, number>();
  readonly #wakers = new Set<() => void>();
  #loops: Promise<void>[] = [];
  #stopped = false;
  /** Bumped by every wake: a loop that was mid-step when new events came does not go to sleep on them. */
  #generation = 0;
  /** Called after every delivery attempt with the lane's key (the agent's metrics). */
  onResult?: (key: string, result: DeliveryResult) => void;
  readonly #lanes: readonly Lane[];

  constructor(opts: NotifierOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#lanes = [...opts.channels.map(channelLane), ...(opts.lanes ?? [])];
  }

  get channels(): readonly Channel[] {
    return this.#opts.channels;
  }

  /** Drops rows of channels no longer configured, then starts one loop per lane (each channel, the hub). */
  start(): void {
    if (this.#lanes.length === 0) return;
    try {
      const gone = this.#opts.store().pruneOutbox(this.#lanes.map((l) => l.key));
      if (gone > 0) this.#opts.logger.warn({ dropped: gone }, `notifications: dropped ${gone} queued notification(s) of channels no longer configured or given up long ago`);
    } catch (e) {
      this.#opts.logger.error(`notifications: could not prune the outbox: ${describeError(e)}`);
    }
    this.#loops = this.#lanes.map((l) => this.#loop(l));
  }

  /**
   * Latest wins: `row` replaces its lane's undelivered row of the same event id (the hub's status
   * document), then the lane is woken. Synchronous, one SQLite transaction; never throws.
   */
  enqueueLatest(row: { eventId: string; channel: string; event: string }): boolean {
    try {
      this.#opts.store().enqueueLatest(row);
      this.#wake();
      return true;
    } catch (e) {
      this.#opts.logger.error({ channel: row.channel }, `could not queue a status report: ${describeError(e)}`);
      return false;
    }
  }

  /**
   * After a reconcile (or a failed poll): the events of this cycle and the new memory, in one
   * transaction. Never throws: notifications must not fail a reconcile.
   */
  record(cycle: CycleView): NotificationEvent[] {
    if (this.#opts.channels.length === 0) return [];
    try {
      const store = this.#opts.store();
      const at = new Date(this.#now()).toISOString();
      const derived = deriveEvents(memoryFrom(store.notifyMemory()), cycle, { now: at, ...(this.#opts.unreachableAfter !== undefined ? { unreachableAfter: this.#opts.unreachableAfter } : {}) });
      const events = derived.events.map((d) => this.#event(d, at));
      const rows = events.flatMap((e) => this.#opts.channels.filter((c) => wants(c, e)).map((c) => ({ eventId: e.id, channel: c.key, event: JSON.stringify(e) })));
      const dropped = store.enqueueNotifications(derived.memory, rows, this.#opts.capPerChannel ?? 500);
      for (const [channel, n] of Object.entries(dropped)) this.#opts.logger.warn({ channel, dropped: n }, `notifications: outbox of ${channel} full, dropped its ${n} oldest`);
      if (events.length > 0) this.#opts.logger.info({ events: events.map((e) => `${e.event}${e.stack ? `:${e.stack}` : ''}`), queued: rows.length }, 'notifications queued');
      this.#wake();
      return events;
    } catch (e) {
      this.#opts.logger.error(`notifications: could not queue this cycle's events: ${describeError(e)}`);
      return [];
    }
  }

  /** Whether a lane has a row waiting for delivery (false when the state DB cannot say: the caller then queues, which logs the fault). */
  hasPending(channel: string): boolean {
    try {
      return this.#opts.store().outboxNextAt(channel) !== undefined;
    } catch {
      return false;
    }
  }

  /** Aborts requests in flight (their rows stay queued for the next start) and waits for the loops. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#wake();
    await Promise.allSettled(this.#loops);
  }

  #event(d: DerivedEvent, time: string): NotificationEvent {
    const message = scrub(d.message);
    return {
      schemaVersion: SCHEMA_VERSION,
      id: randomUUID(),
      event: d.event,
      host: this.#opts.host,
      ...(d.stack ? { stack: d.stack } : {}),
      ...(d.revision ? { revision: d.revision } : {}),
      ...(d.tag ? { tag: d.tag } : {}),
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
      time,
      ...(this.#opts.statusUrl ? { link: this.#opts.statusUrl } : {}),
    };
  }

  #wake(): void {
    this.#generation++;
    for (const w of [...this.#wakers]) w();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(ms, IDLE_MS)));
      this.#wakers.add(done);
    });
  }

  async #loop(lane: Lane): Promise<void> {
    while (!this.#stopped) {
      const generation = this.#generation;
      let wait: number;
      try {
        wait = await this.#step(lane);
      } catch (e) {
        this.#opts.logger.error({ channel: lane.key }, `${lane.noun}s: ${describeError(e)}`);
        wait = STORE_RETRY_MS;
      }
      if (wait > 0 && generation === this.#generation) await this.#sleep(wait);
    }
  }

  /** One step of a lane: send what is due (or wait). Returns how long to wait before the next. */
  async #step(lane: Lane): Promise<number> {
    const now = this.#now();
    const blocked = (this.#blockedUntil.get(lane.key) ?? 0) - now;
    if (blocked > 0) return blocked;
    const gap = (this.#lastSent.get(lane.key) ?? -Infinity) + lane.minIntervalMs - now;
    if (gap > 0) return gap;
    const store = this.#opts.store();
    const due = store.outboxDue(lane.key, lane.batch, new Date(now));
    if (due.length === 0) {
      const next = store.outboxNextAt(lane.key);
      return next === undefined ? IDLE_MS : Math.max(50, Date.parse(next) - now);
    }
    const { sends, unreadable } = lane.plan(due, now);
    if (unreadable.length > 0) store.outboxFailed(unreadable, `the queued ${lane.noun} could not be read`, undefined);
    for (const s of sends) {
      if (this.#stopped) return 0;
      const r = await send(s.request, lane.timeoutMs, this.#abort.signal);
      if (this.#stopped && !r.ok) return 0; // cut by stop(): left queued as it was
      const store = this.#opts.store();
      if (r.ok) {
        store.outboxDelivered(s.ids);
        this.#lastSent.set(lane.key, this.#now());
        this.#opts.logger[lane.deliveredLevel]({ channel: lane.key, ids: s.eventIds, status: r.status }, `${lane.noun} delivered${lane.batch > 1 ? ` (${s.eventIds.length} event${s.eventIds.length === 1 ? '' : 's'})` : ''}`);
        this.onResult?.(lane.key, 'delivered');
        if (lane.minIntervalMs > 0) return lane.minIntervalMs;
        continue;
      }
      return this.#failed(lane, s.ids, s.attempts + 1, r);
    }
    return 0;
  }

  #failed(lane: Lane, ids: number[], attempts: number, r: SendResult): number {
    const error = r.error ?? 'failed';
    const giveUp = !r.retryable || (lane.maxAttempts !== undefined && attempts >= lane.maxAttempts);
    const delay = Math.max(retryDelayMs(attempts, undefined, lane.retryCapMs), Math.min(r.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
    this.#opts.store().outboxFailed(ids, error, giveUp ? undefined : new Date(this.#now() + delay));
    this.onResult?.(lane.key, giveUp ? 'given-up' : 'failed');
    if (giveUp) {
      this.#opts.logger.error({ channel: lane.key, attempts }, `${lane.noun} given up after ${attempts} attempt(s): ${error}`);
      return 0;
    }
    // The whole lane waits: a receiver that is down is not hit once per queued event.
    this.#blockedUntil.set(lane.key, this.#now() + delay);
    this.#opts.logger.warn({ channel: lane.key, attempts, retryInMs: delay }, `${lane.noun} failed (${error}); retrying in ${Math.round(delay / 1000)} s`);
    return delay;
  }
}
