import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import type { FSWatcher } from 'chokidar';
import { DesiredMemo } from '../commands/desired-memo.js';
import { openSource } from '../commands/target.js';
import { sync, type SyncResult } from '../commands/sync.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { describeError, DriftdError, isDriftdError } from '../errors/index.js';
import { registerSecrets } from '../util/scrub.js';
import { createDockerClient, type DockerConnection } from '../live/docker-client.js';
import { EngineWatch, ListingCache } from '../live/engine-watch.js';
import type { Listing } from '../live/inventory.js';
import { pageSource } from '../page/source.js';
import { createAgentMetrics } from '../metrics/registry.js';
import { moveStateAside, openState, type StateStore } from '../state/index.js';
import type { Logger } from '../util/logger.js';
import { Coalescer, type Trigger } from './coalescer.js';
import { startHttp } from './http.js';
import { httpSettings } from './http-settings.js';
import { currentRefusal, isUnverified } from '../commands/verify-target.js';
import { RetryTimer, startSchedule, type Schedule } from './schedule.js';
import { watchRefs } from './watch.js';
import { resolveChannels } from '../notify/channels.js';
import { Notifier } from '../notify/notifier.js';
import { cycleOf, failedCycleOf } from './notify-cycle.js';
import { hubLane, startHubReports, type HubReports } from '../hub/outbox.js';
import type { DriftResult } from '../drift/compute-drift.js';
import { buildHubReport } from './hub-report.js';
import { readCaFile } from '../util/ca-file.js';

export interface AgentOptions {
  config: ResolvedConfig;
  logger: Logger;
  /** Overrides config.intervalMs / config.schedule (flags of `driftd agent`). */
  intervalMs?: number;
  schedule?: string;
  docker?: DockerConnection;
  /** Run once at start (default true). */
  runAtStart?: boolean;
}

export interface LastRun {
  at: string;
  triggers: Trigger[];
  ok: boolean;
  exitCode?: number;
  error?: string;
  durationMs: number;
  /** Whether the stored no-change verdict decided the cycle (docs/performance.md); on a miss, why. */
  verdict?: { hit: boolean; reason?: string };
}

export interface AgentHandle {
  trigger(t: Trigger): Promise<void>;
  /** Finishes or safely abandons the stack in flight, then releases everything. */
  stop(): Promise<void>;
  readonly cycles: number;
  readonly lastRun: LastRun | undefined;
  /** A backoff retry is scheduled (after a failed run; never after a signature refusal). */
  readonly retryPending: boolean;
  readonly http?: Server;
}

/** The long-running daemon: schedule + webhooks + local-repo watch → one coalesced reconcile at a time. */
export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const { config, logger } = opts;
  // Every refusal to start (a named secret missing or empty, a public address without tokens)
  // comes before anything is opened, created or listened on.
  const httpConfig = httpSettings(config.http);
  const channels = resolveChannels(config.notifications);
  const hubToken = hubSettings(config);
  const hubCa = config.hub?.caFile !== undefined ? readCaFile(config.hub.caFile, 'hub.caFile') : undefined;
  // A reconcile is a burst of short-lived garbage (API answers, plans) between long idle waits.
  // V8 answers bursts by doubling the young generation up to 2×16 MB and keeps it for the rest of
  // the process; an agent gains nothing from that, so it stops growing here. This only stops later
  // growth: importing the bundle can already have grown it, which is why the shipped image and
  // systemd unit also cap it at process start (NODE_OPTIONS=--max-semi-space-size=2,
  // docs/performance.md "Agent memory").
  setFlagsFromString('--semi-space-growth-factor=1');
  let state = openStateMovingAsideEmpty(config.dataDir, logger);
  const source = openSource(config, logger);
  const docker = opts.docker ?? createDockerClient(config);
  const desiredMemo = new DesiredMemo();
  // The engine's event stream: a no-change cycle reuses the last container list while it shows no change.
  const engineWatch = EngineWatch.supports(docker.docker)
    ? new EngineWatch(docker.docker, { onLost: (reason, retryInMs) => logger.debug({ retryInMs }, `engine event stream closed (${reason}); listing every cycle until it is back`) })
    : undefined;
  const listing = engineWatch ? new ListingCache<Listing>(engineWatch) : undefined;
  // The state DB may be reopened after a fault (afterStateFailure): the gauges read whichever is current.
  const metrics = createAgentMetrics({
    state: {
      stackStatuses: () => state.stackStatuses(),
      currentDeployment: (stack) => state.currentDeployment(stack),
      pins: () => state.pins(),
      pending: (stack) => state.pending(stack),
      outboxCounts: () => state.outboxCounts(),
    },
    hostWindows: config.windows,
  });
  // Delivery runs apart from the reconcile; record() and the hub's report after each cycle only write the outbox.
  const hubTarget = config.hub && hubToken !== undefined ? { url: config.hub.url, token: hubToken, heartbeatMs: config.hub.heartbeatMs, timeoutMs: config.hub.timeoutMs, ...(hubCa !== undefined ? { ca: hubCa } : {}) } : undefined;
  const notifier = new Notifier({
    channels,
    ...(hubTarget ? { lanes: [hubLane(hubTarget)] } : {}),
    store: () => state,
    host: config.host,
    ...(config.statusUrl ? { statusUrl: config.statusUrl } : {}),
    logger,
  });
  notifier.onResult = (key, result) => metrics.recordNotification(key, result);
  let lastRun: LastRun | undefined;
  // What the last successful cycle knew, for the hub's status document.
  let lastTarget: { commit: string; ref?: string } | undefined;
  let lastDrift: DriftResult | undefined;
  const hub: HubReports | undefined = hubTarget
    ? startHubReports({
        url: hubTarget.url,
        heartbeatMs: hubTarget.heartbeatMs,
        outbox: notifier,
        logger,
        build: (kind) => buildHubReport({ host: config.host, kind, state, ...(lastRun ? { lastRun } : {}), ...(lastTarget ? { target: lastTarget } : {}), ...(lastDrift ? { drift: lastDrift } : {}) }),
      })
    : undefined;
  const capMs = opts.intervalMs ?? config.intervalMs ?? 3_600_000;
  const retry = new RetryTimer({ intervalMs: capMs, fire: () => fire('schedule') });

  const coalescer = new Coalescer(async (triggers, signal) => {
    const started = Date.now();
    const trigger = triggers[0] ?? 'schedule';
    retry.cancel();
    try {
      state = checkStateFile(state, config.dataDir, logger);
      const result: SyncResult = await sync({
        config,
        logger,
        trigger,
        actor: 'agent',
        command: `driftd agent (${triggers.join(', ')})`,
        state,
        source,
        docker,
        signal,
        waitForLock: true,
        desiredMemo,
        drift: true,
        ...(listing ? { listing } : {}),
      });
      retry.succeeded();
      notifier.record(cycleOf(result));
      lastTarget = result.revision;
      lastDrift = result.drift;
      metrics.recordCycle({ durationMs: Date.now() - started, exitCode: result.exitCode, outcomes: result.outcomes, plan: result.plan, ...(result.drift ? { drift: result.drift } : {}) });
      const verdict = result.verdict ? { hit: result.verdict.hit, ...(result.verdict.reason !== undefined ? { reason: result.verdict.reason } : {}) } : undefined;
      lastRun = { at: new Date(started).toISOString(), triggers, ok: true, exitCode: result.exitCode, durationMs: Date.now() - started, ...(verdict ? { verdict } : {}) };
      const changed = result.outcomes.filter((o) => o.result !== 'unchanged');
      logger.info({ triggers, revision: result.revision, durationMs: lastRun.durationMs, changed: changed.map((o) => `${o.stack}:${o.result}`) }, 'reconcile finished');
    } catch (e) {
      metrics.recordCycle({ durationMs: Date.now() - started });
      notifier.record(failedCycleOf(e));
      if (isUnverified(e)) {
        // Retrying cannot change a signature: the next poll (schedule, watch, webhook) checks again, and only a moved ref costs work.
        lastRun = { at: new Date(started).toISOString(), triggers, ok: false, error: describeError(e), durationMs: Date.now() - started };
        return;
      }
      state = afterStateFailure(state, e, config.dataDir, logger);
      const delay = retry.failed();
      lastRun = { at: new Date(started).toISOString(), triggers, ok: false, error: describeError(e), durationMs: Date.now() - started };
      const when = delay === undefined ? 'retrying at the next scheduled poll' : `retrying in ${Math.round(delay / 1000)} s`;
      logger.error({ triggers, failures: retry.failures, retryInMs: delay }, `reconcile failed: ${describeError(e)}; ${when}`);
    } finally {
      // One SQLite write: a hub that is slow or down costs the reconcile nothing.
      hub?.cycleDone();
    }
  });
  const fire = (t: Trigger): void => void coalescer.trigger(t).catch((e: unknown) => logger.error(describeError(e)));

  const intervalMs = opts.intervalMs ?? (opts.schedule ? undefined : config.intervalMs);
  const schedule: Schedule = startSchedule({
    ...(intervalMs !== undefined ? { intervalMs } : { cron: opts.schedule ?? config.schedule }),
    jitterMs: config.jitterMs,
    tick: () => fire('schedule'),
  });
  const watcher: FSWatcher | undefined = config.repoIsLocal ? watchRefs(config.repo, () => fire('watch')) : undefined;
  let http: Server | undefined;
  if (httpConfig) {
    http = await startHttp(
      httpConfig,
      {
        health: () => ({ ok: true, busy: coalescer.busy, cycles: coalescer.runs, lastRun }),
        status: () => {
          // A refused target (docs/design.md §9): why, so an operator sees it without reading logs.
          const verification = currentRefusal(config, state, source.repo);
          const notifications = channels.length > 0 || hubTarget ? state.outboxCounts() : undefined;
          return { host: config.host, lastRun, stacks: state.stackStatuses(), pins: state.pins(), ...(verification ? { verification } : {}), ...(notifications ? { notifications } : {}) };
        },
        trigger: () => fire('webhook'),
        page: pageSource({
          config,
          logger,
          state: () => state,
          docker,
          agent: () => ({ ...(lastRun ? { lastRun } : {}), ...(schedule.next() ? { nextPoll: schedule.next() } : {}), busy: coalescer.busy }),
          trigger: () => fire('user'),
          secrets: [httpConfig.readToken, httpConfig.writeToken, httpConfig.webhookSecret].filter((s): s is string => s !== undefined),
        }),
        metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }),
      },
      undefined,
      logger,
    );
  }
  logger.info(
    { repo: source.repo, host: config.host, schedule: intervalMs !== undefined ? `every ${intervalMs} ms` : (opts.schedule ?? config.schedule), http: httpConfig?.listen, watch: watcher !== undefined },
    'driftd agent started',
  );
  notifier.start();
  engineWatch?.start();
  if (opts.runAtStart !== false) fire('startup');

  return {
    trigger: (t) => coalescer.trigger(t),
    get cycles() {
      return coalescer.runs;
    },
    get lastRun() {
      return lastRun;
    },
    get retryPending() {
      return retry.pending;
    },
    ...(http ? { http } : {}),
    async stop() {
      schedule.stop();
      retry.cancel();
      await coalescer.stop();
      engineWatch?.stop();
      hub?.stop();
      await notifier.stop();
      await watcher?.close();
      await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
      metrics.close();
      state.close();
      logger.info('driftd agent stopped');
    },
  };
}

/** The agent's hub token (docs/hub.md): with `hub.url` set, a missing or empty token refuses the start. */
function hubSettings(config: ResolvedConfig): string | undefined {
  if (!config.hub) return undefined;
  const t = config.hub.token;
  if (t === undefined) throw new DriftdError('ConfigError', 'the agent cannot start: hub.url is set but no host token (hub.tokenEnv or hub.tokenFile)', { key: 'hub.tokenEnv' });
  if (t.problem !== undefined || t.value === undefined) throw new DriftdError('ConfigError', `the agent cannot start: ${t.problem ?? 'hub token missing'}`, { key: t.key });
  registerSecrets([t.value]);
  return t.value;
}

const CORRUPT = /^SQLITE_(CORRUPT|NOTADB)/;

/** Opens the state DB; an emptied (0-byte) one is moved aside with an error in the log, never silently reused. */
function openStateMovingAsideEmpty(dataDir: string, logger: Logger): StateStore {
  try {
    return openState(dataDir);
  } catch (e) {
    const data = isDriftdError(e) && e.code === 'StateError' ? e.data : undefined;
    const why = data?.reason === 'empty' ? 'empty' : CORRUPT.test(data?.code ?? '') ? 'corrupt' : undefined;
    if (!why) throw e;
    const aside = moveStateAside(dataDir, why);
    logger.error({ aside }, `${describeError(e)}; moved it aside to ${aside ?? '(gone)'} and starting a new one: the live stacks are re-recorded from their labels`);
    return openState(dataDir);
  }
}

/**
 * Once per cycle: the state.db this agent has open must still be the file at its path. Deleted,
 * replaced or emptied under the running agent, it is reopened (a new one created), never written
 * to a lost inode for the rest of the agent's life.
 */
function checkStateFile(state: StateStore, dataDir: string, logger: Logger): StateStore {
  const changed = state.replacedOnDisk();
  if (!changed) return state;
  // Emptied or overwritten in place: move the file aside BEFORE closing, so that the close-time
  // WAL checkpoint lands in the moved copy, not in the file the new database is created at.
  const aside = changed.kind === 'empty' || changed.kind === 'corrupt' ? moveStateAside(dataDir, changed.kind) : undefined;
  logger.error(
    { file: state.file, ...(aside ? { aside } : {}) },
    `${changed.message}: everything written since went to a file that no longer holds the database; ${aside ? `moved it aside to ${aside}, ` : ''}reopening it (a new one is created when needed, and the live stacks are re-recorded from their labels)`,
  );
  state.close();
  return openStateMovingAsideEmpty(dataDir, logger);
}

/** After a failed cycle: a state DB corrupted in place is moved aside and recreated, so that the next cycle can work again. */
function afterStateFailure(state: StateStore, e: unknown, dataDir: string, logger: Logger): StateStore {
  const data = isDriftdError(e) && e.code === 'StateError' ? e.data : undefined;
  if (!data || !CORRUPT.test(data.code ?? '') || data.file !== state.file) return state;
  const aside = moveStateAside(dataDir, 'corrupt');
  state.close();
  logger.error({ aside }, `state database ${state.file} is corrupt; moved it aside to ${aside ?? '(gone)'} and starting a new one: the live stacks are re-recorded from their labels at the next cycle`);
  return openState(dataDir);
}
