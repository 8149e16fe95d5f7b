/**
 * The agent's Prometheus metrics (DESIGN §10, GET /metrics). Counters and the reconcile histogram
 * are updated as things happen; the per-stack gauges are read from the state DB and the last
 * cycle when Prometheus scrapes, so they always say what `driftd status` says.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DriftResult } from '../drift/compute-drift.js';
import type { StackOutcome } from '../sync/reconcile.js';
import type { SyncPlan } from '../sync/model.js';
import { addTelemetrySink } from '../util/telemetry.js';
import type { SyncWindow } from '../windows/index.js';
import { findingCounts, reconcileOutcome, syncResultLabel, windowStates, type FindingCount, type WindowState } from './labels.js';

/** What the gauges read at scrape time (the state DB serves it). */
export interface MetricsState {
  stackStatuses(): { stack: string; sync: string; health: string }[];
  currentDeployment(stack: string): { revision: string; ref?: string } | undefined;
  pins(): { stack?: string }[];
  pending(stack: string): unknown;
  /** Queued notifications per channel (channel = its type and a hash of its URL). */
  outboxCounts?(): { channel: string; pending: number; givenUp: number }[];
}

/** One finished reconcile, as the agent saw it: `exitCode` undefined when it threw. */
export interface CycleRecord {
  durationMs: number;
  exitCode?: number;
  outcomes?: readonly StackOutcome[];
  plan?: SyncPlan;
  drift?: DriftResult;
}

export interface AgentMetrics {
  readonly contentType: string;
  recordCycle(cycle: CycleRecord): void;
  /** One delivery attempt of a notification channel. */
  recordNotification(channel: string, result: 'delivered' | 'failed' | 'given-up'): void;
  render(): Promise<string>;
  close(): void;
}

/** Gauges read from the state DB at scrape time: what `driftd status` says, pins, approvals. */
function stateGauges(registers: Registry[], state: MetricsState): void {
  new Gauge({
    name: 'driftd_stack_info',
    help: 'One series per stack on this host (value 1): its sync and health status and the deployed revision and tag',
    labelNames: ['stack', 'sync_status', 'health_status', 'revision', 'ref'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of state.stackStatuses()) {
        const d = state.currentDeployment(s.stack);
        this.set({ stack: s.stack, sync_status: s.sync, health_status: s.health, revision: d?.revision ?? '', ref: d?.ref ?? '' }, 1);
      }
    },
  });
  new Gauge({
    name: 'driftd_pending_approvals',
    help: 'sync: manual stacks whose new revision waits for driftd approve',
    registers,
    collect() {
      this.set(state.stackStatuses().filter((s) => state.pending(s.stack) !== undefined).length);
    },
  });
  new Gauge({
    name: 'driftd_pinned',
    help: 'Per stack: 1 when driftd rollback pinned it (or the whole host) to a tag, else 0',
    labelNames: ['stack'] as const,
    registers,
    collect() {
      this.reset();
      const pins = state.pins();
      const hostPinned = pins.some((p) => p.stack === undefined);
      const pinned = new Set(pins.map((p) => p.stack));
      for (const s of state.stackStatuses()) this.set({ stack: s.stack }, hostPinned || pinned.has(s.stack) ? 1 : 0);
    },
  });
}

/** Sync-window gauges, evaluated at scrape time against the clock. */
function windowGauges(registers: Registry[], states: () => WindowState[]): void {
  new Gauge({
    name: 'driftd_sync_window_open',
    help: 'Per stack governed by a sync window: 1 when an automatic sync may apply now, else 0',
    labelNames: ['stack'] as const,
    registers,
    collect() {
      this.reset();
      for (const w of states()) this.set({ stack: w.stack }, w.open ? 1 : 0);
    },
  });
  new Gauge({
    name: 'driftd_sync_window_next_open_timestamp_seconds',
    help: 'Per stack held back by its sync windows: when they next let a sync run, seconds since the epoch',
    labelNames: ['stack'] as const,
    registers,
    collect() {
      this.reset();
      for (const w of states()) if (!w.open && w.nextOpenMs !== undefined) this.set({ stack: w.stack }, w.nextOpenMs / 1000);
    },
  });
}

export function createAgentMetrics(opts: { state: MetricsState; hostWindows: readonly SyncWindow[]; now?: () => number }): AgentMetrics {
  const { state } = opts;
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let findings: FindingCount[] = [];
  const ownWindows = new Map<string, readonly SyncWindow[]>();

  stateGauges(registers, state);
  windowGauges(registers, () => windowStates(new Set([...state.stackStatuses().map((s) => s.stack), ...ownWindows.keys()]), opts.hostWindows, ownWindows, now()));
  new Gauge({
    name: 'driftd_drift_findings',
    help: 'Drift findings after the last reconcile, per stack, kind and severity (stack "" for projects this repo does not declare)',
    labelNames: ['stack', 'kind', 'severity'] as const,
    registers,
    collect() {
      this.reset();
      for (const f of findings) this.set({ stack: f.stack, kind: f.kind, severity: f.severity }, f.count);
    },
  });
  const duration = new Histogram({
    name: 'driftd_reconcile_duration_seconds',
    help: 'Time one reconcile took, from the Git poll to the last health gate',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });
  const reconciles = new Counter({ name: 'driftd_reconcile_total', help: 'Reconciles run, by outcome (ok, degraded: a stack failed or waits, error: the run could not complete)', labelNames: ['outcome'] as const, registers });
  const syncs = new Counter({ name: 'driftd_sync_total', help: 'Stacks that had something to apply, by result', labelNames: ['stack', 'result'] as const, registers });
  const gitRequests = new Counter({ name: 'driftd_git_requests_total', help: 'Requests to the remote Git repository: refs listings and fetches', labelNames: ['type', 'result'] as const, registers });
  const composeRuns = new Counter({ name: 'driftd_compose_runs_total', help: 'Compose CLI runs, by subcommand and result', labelNames: ['command', 'result'] as const, registers });
  const notifications = new Counter({ name: 'driftd_notifications_total', help: 'Notification delivery attempts, by channel (type:sha256 of its URL) and result (delivered, failed: retried later, given_up)', labelNames: ['channel', 'result'] as const, registers });
  new Gauge({
    name: 'driftd_notifications_queued',
    help: 'Notifications in the outbox, by channel and state (pending: to deliver, given_up: kept for status)',
    labelNames: ['channel', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const c of state.outboxCounts?.() ?? []) {
        this.set({ channel: c.channel, state: 'pending' }, c.pending);
        this.set({ channel: c.channel, state: 'given_up' }, c.givenUp);
      }
    },
  });
  const lastPoll = new Gauge({ name: 'driftd_last_successful_poll_timestamp_seconds', help: 'When a reconcile last completed (Git and Docker answered), seconds since the epoch', registers });
  const unsubscribe = addTelemetrySink({
    gitRequest: (type, result) => gitRequests.inc({ type, result }),
    composeRun: (command, result) => composeRuns.inc({ command, result }),
  });

  return {
    contentType: registry.contentType,
    recordCycle(cycle) {
      const outcome = reconcileOutcome(cycle.exitCode);
      duration.observe({ outcome }, cycle.durationMs / 1000);
      reconciles.inc({ outcome });
      if (outcome === 'error') return;
      lastPoll.set(now() / 1000);
      for (const o of cycle.outcomes ?? []) {
        const result = syncResultLabel(o.result);
        if (result) syncs.inc({ stack: o.stack, result });
      }
      if (cycle.drift) findings = findingCounts(cycle.drift);
      if (cycle.plan) ownWindows.clear();
      for (const p of cycle.plan?.stacks ?? []) {
        if (p.target) ownWindows.set(p.stack, p.target.stack.policy.windows ?? []);
      }
    },
    recordNotification: (channel, result) => notifications.inc({ channel, result: result === 'given-up' ? 'given_up' : result }),
    render: () => registry.metrics(),
    close: () => unsubscribe(),
  };
}
