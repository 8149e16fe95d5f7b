/**
 * The agent's listing cache (issue 20, docs/performance.md "The agent's container list and the
 * engine's event stream"). A no-change cycle used to ask the engine for every container, network and volume each
 * time; on a host with 200 containers the engine needs ~40 ms to answer the container list alone,
 * more than the rest of the cycle. The agent holds the engine's event stream (`GET /events`) open
 * instead, and reuses the last listing as long as:
 * - the stream was open from before that listing was requested until now,
 * - not one byte arrived on it since (any event of a container, network, volume, image or the
 *   daemon — the content is not even read, so a hostile or flooding stream can only cause
 *   listings, never a stale answer or memory use), and
 * - the listing is younger than `maxAgeMs` (default 5 min): a safety net for an event the engine
 *   dropped (it drops events for a subscriber that does not read within its buffer).
 * When the stream closes, fails or is not open yet, every cycle lists as before, and the watch
 * reconnects with backoff. Events between the engine's answer to the subscription and the
 * subscription itself are replayed: the stream asks for events `since` a minute before it opens.
 */
import { describeError } from '../errors/index.js';
import type { EngineApi } from './engine-api.js';

type Watchable = Required<Pick<EngineApi, 'watchEvents'>>;

/** Event types that can change what a listing holds (labels, state, health, names, networks, volumes). */
const WATCHED_TYPES = ['container', 'network', 'volume', 'image', 'daemon'];
/** Seconds of events replayed when the stream opens (the subscription race; a remote engine's clock skew). */
const SINCE_MARGIN_S = 60;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
export const LISTING_MAX_AGE_MS = 5 * 60_000;

export interface EngineWatchOptions {
  now?: () => number;
  /** Told when the stream closes or fails (and how long until the next try). */
  onLost?: (reason: string, retryInMs: number) => void;
}

export class EngineWatch {
  /** Changes on every byte of the stream, on open and on loss: a mark is valid while it is unchanged. */
  #generation = 0;
  #open = false;
  #stopped = false;
  #retryMs = RETRY_MIN_MS;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: Watchable,
    private readonly opts: EngineWatchOptions = {},
  ) {}

  /** The engine client can stream events (EngineClient can; a stand-in need not). */
  static supports(docker: EngineApi): docker is EngineApi & Watchable {
    return typeof docker.watchEvents === 'function';
  }

  start(): void {
    if (this.#stopped || this.#abort) return;
    const abort = new AbortController();
    this.#abort = abort;
    const since = Math.floor((this.opts.now ?? Date.now)() / 1000) - SINCE_MARGIN_S;
    this.docker
      .watchEvents(
        { since, filters: { type: WATCHED_TYPES }, signal: abort.signal },
        {
          onOpen: () => {
            this.#open = true;
            this.#generation += 1;
            this.#retryMs = RETRY_MIN_MS;
          },
          onData: () => {
            this.#generation += 1;
          },
        },
      )
      .then(
        () => this.#lost(abort, 'the engine ended the event stream'),
        (e: unknown) => this.#lost(abort, describeError(e)),
      );
  }

  #lost(abort: AbortController, reason: string): void {
    if (this.#abort !== abort) return;
    this.#abort = undefined;
    this.#open = false;
    this.#generation += 1;
    if (this.#stopped) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    this.opts.onLost?.(reason, delay);
    this.#timer = setTimeout(() => this.start(), delay);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    this.#open = false;
    this.#generation += 1;
    clearTimeout(this.#timer);
    const abort = this.#abort;
    this.#abort = undefined;
    abort?.abort();
  }

  get open(): boolean {
    return this.#open;
  }

  /** Taken before a listing is requested; undefined while the stream is not open (nothing can be vouched for). */
  mark(): number | undefined {
    return this.#open ? this.#generation : undefined;
  }

  /** Nothing arrived and the stream stayed open since `mark` was taken. */
  unchangedSince(mark: number): boolean {
    return this.#open && mark === this.#generation;
  }
}

/** Freezes a listing kept for reuse, so that no caller can change what the next cycle gets. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The last listing, reused while the watch vouches that nothing changed since it was requested. */
export class ListingCache<T> {
  #kept: { mark: number; at: number; value: T } | undefined;
  /** Listings answered from the cache, and listings asked of the engine (metrics, tests). */
  hits = 0;
  misses = 0;

  constructor(
    private readonly watch: EngineWatch,
    private readonly opts: { maxAgeMs?: number; now?: () => number } = {},
  ) {}

  /** The kept listing when it still holds, else undefined (and it is dropped). */
  get(): T | undefined {
    const kept = this.#kept;
    const now = (this.opts.now ?? Date.now)();
    if (kept && this.watch.unchangedSince(kept.mark) && now - kept.at < (this.opts.maxAgeMs ?? LISTING_MAX_AGE_MS)) {
      this.hits += 1;
      return kept.value;
    }
    this.#kept = undefined;
    this.misses += 1;
    return undefined;
  }

  /** Call before requesting a listing; pass what it returns to keep(). */
  begin(): { mark: number | undefined; at: number } {
    return { mark: this.watch.mark(), at: (this.opts.now ?? Date.now)() };
  }

  /** Keeps `value` if nothing changed between begin() and now; returns it frozen either way. */
  keep(started: { mark: number | undefined; at: number }, value: T): T {
    const frozen = deepFreeze(value);
    if (started.mark !== undefined && this.watch.unchangedSince(started.mark)) this.#kept = { mark: started.mark, at: started.at, value: frozen };
    return frozen;
  }
}
