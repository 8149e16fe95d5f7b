/**
 * The agent's side of the hub (docs/hub.md): pushes the newest status document after every
 * cycle and a heartbeat every `heartbeatMs`, never blocking a reconcile. One send at a time;
 * a newer cycle while one is in flight only marks the document dirty (the next send builds the
 * newest one, so nothing stale is ever queued). A failed send (no answer, 5xx, 429) retries with
 * exponential backoff up to the heartbeat interval; a refusal (400, 401, 403, 413) is logged and
 * not retried until the next cycle, since only a config change can fix it.
 */
import { requestText } from '../util/http-request.js';
import { scrubValue } from '../util/scrub.js';
import type { Logger } from '../util/logger.js';
import type { Report } from './report.js';

export interface HubReporterOptions {
  url: string;
  token: string;
  heartbeatMs: number;
  /** Builds the current document (`kind` says why it is sent). */
  build: (kind: Report['kind']) => Report;
  logger: Pick<Logger, 'warn' | 'error' | 'debug'>;
  timeoutMs?: number;
  /** First retry delay (doubles up to heartbeatMs). */
  retryBaseMs?: number;
  /** PEM of `hub.caFile`: trusted for an https hub besides the system's CAs. */
  ca?: string;
}

export interface HubReporter {
  /** A cycle finished: send its status (or mark it for the send after the one in flight). */
  cycleDone(): void;
  readonly sent: number;
  readonly failures: number;
  stop(): Promise<void>;
}

const RETRYABLE = (status: number): boolean => status === 429 || status >= 500;

export function startHubReporter(opts: HubReporterOptions): HubReporter {
  const endpoint = `${opts.url.replace(/\/+$/, '')}/api/report`;
  const base = opts.retryBaseMs ?? 1000;
  let pending: Report['kind'] | undefined;
  let inFlight: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let sent = 0;
  let failures = 0;
  let stopped = false;
  const abort = new AbortController();

  const post = async (doc: Report): Promise<{ ok: boolean; retry: boolean; status?: number; error?: string }> => {
    try {
      const res = await requestText(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(scrubValue(doc)),
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(opts.timeoutMs ?? 15_000)]),
        maxBytes: 64 * 1024,
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      });
      if (res.status >= 200 && res.status < 300) return { ok: true, retry: false, status: res.status };
      return { ok: false, retry: RETRYABLE(res.status), status: res.status, error: res.text.slice(0, 300) };
    } catch (e) {
      return { ok: false, retry: true, error: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) };
    }
  };

  const run = async (): Promise<void> => {
    while (pending !== undefined && !stopped) {
      const kind = pending;
      pending = undefined;
      let doc: Report;
      try {
        doc = opts.build(kind);
      } catch (e) {
        opts.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'hub: the status document could not be built; not sent');
        return;
      }
      const r = await post(doc);
      if (r.ok) {
        sent += 1;
        attempt = 0;
        continue;
      }
      failures += 1;
      if (!r.retry) {
        opts.logger.error({ hub: opts.url, status: r.status, answer: r.error }, `hub: the report was refused (HTTP ${r.status ?? '?'}); not retried until the next cycle`);
        continue;
      }
      attempt += 1;
      const delay = Math.min(opts.heartbeatMs, base * 2 ** Math.min(attempt - 1, 20));
      opts.logger.warn({ hub: opts.url, status: r.status, error: r.error, retryInMs: delay }, 'hub: the report did not go through; retrying');
      pending ??= kind;
      if (stopped) return;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        kick();
      }, delay);
      retryTimer.unref();
      return;
    }
  };

  const kick = (): void => {
    if (inFlight || retryTimer || stopped) return;
    inFlight = run().finally(() => {
      inFlight = undefined;
      if (pending !== undefined && !retryTimer) kick();
    });
  };

  const heartbeat = setInterval(() => {
    pending ??= 'heartbeat';
    kick();
  }, opts.heartbeatMs);
  heartbeat.unref();

  return {
    cycleDone() {
      pending = 'cycle';
      // A cycle's news goes out now, not after a backoff meant for an older document.
      if (retryTimer) {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      }
      kick();
    },
    get sent() {
      return sent;
    },
    get failures() {
      return failures;
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      if (retryTimer) clearTimeout(retryTimer);
      abort.abort();
      await inFlight?.catch(() => undefined);
    },
  };
}
