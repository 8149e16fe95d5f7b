/**
 * The status document this agent pushes to its hub (hub/report.ts, docs/hub.md): per stack the
 * recorded sync and health, desired and deployed revision, the last cycle's drift findings (count
 * and worst kind), pin, pending approval and last operation, from the agent's state DB and its
 * last reconcile. Long texts are cut to the schema's limits so the hub never refuses a real agent.
 */
import type { DriftResult } from '../drift/compute-drift.js';
import { SEVERITY_RANK, type Finding } from '../drift/model.js';
import { REPORT_MAX_STACKS, REPORT_SCHEMA_VERSION, type Report, type ReportStack } from '../hub/report.js';
import type { StateStore } from '../state/index.js';
import { VERSION } from '../version.js';

const TEXT_MAX = 2000;
const cut = (s: string | null | undefined, max = TEXT_MAX): string | undefined => (s ? (s.length > max ? `${s.slice(0, max - 1)}…` : s) : undefined);
const FULL_COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export interface HubReportInput {
  host: string;
  kind: Report['kind'];
  state: StateStore;
  lastRun?: { at: string; ok: boolean; error?: string; durationMs: number };
  target?: { commit: string; ref?: string };
  drift?: DriftResult;
}

function revision(commit: string | null | undefined, ref?: string | null): ReportStack['desired'] {
  if (!commit || !FULL_COMMIT.test(commit)) return undefined;
  const r = cut(ref, 255);
  return { commit, ...(r ? { ref: r } : {}) };
}

function worst(findings: readonly Finding[]): Finding | undefined {
  return [...findings].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0];
}

export function buildHubReport(input: HubReportInput): Report {
  const { state } = input;
  const pins = state.pins();
  const hostPin = pins.find((p) => !p.stack);
  const drift = new Map((input.drift?.stacks ?? []).map((s) => [s.stack, s]));
  const stacks = state
    .stackStatuses()
    .slice(0, REPORT_MAX_STACKS)
    .map((s): ReportStack => {
      const deployed = state.currentDeployment(s.stack);
      const pending = state.pending(s.stack)?.revision;
      const pin = pins.find((p) => p.stack === s.stack) ?? hostPin;
      const last = state.history({ stack: s.stack, limit: 1 })[0];
      const findings = drift.get(s.stack)?.findings ?? [];
      const w = worst(findings);
      const desired = revision(s.revision, input.target?.commit === s.revision ? input.target?.ref : undefined);
      const dep = revision(deployed?.revision, deployed?.ref);
      const reason = cut(s.reason);
      return {
        name: s.stack,
        ...(desired ? { desired } : {}),
        ...(dep ? { deployed: dep } : {}),
        sync: s.sync,
        health: s.health,
        ...(reason ? { reason } : {}),
        findings: findings.length,
        ...(w ? { worstKind: w.kind, worstSeverity: w.severity } : {}),
        ...(pin ? { pin: cut(pin.tag, 255) ?? '' } : {}),
        ...(pending && FULL_COMMIT.test(pending) ? { pending } : {}),
        ...(last ? { last: { action: last.action, result: last.result, at: last.finishedAt ?? last.startedAt, ...(last.message ? { message: cut(last.message) ?? '' } : {}) } } : {}),
      };
    });
  const target = input.target ? revision(input.target.commit, input.target.ref) : undefined;
  const error = input.lastRun && !input.lastRun.ok ? cut(input.lastRun.error) : undefined;
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    host: input.host,
    kind: input.kind,
    sentAt: new Date().toISOString(),
    version: VERSION,
    ...(target ? { target } : {}),
    ...(error ? { targetError: error } : {}),
    ...(input.lastRun ? { lastRun: { at: input.lastRun.at, ok: input.lastRun.ok, durationMs: input.lastRun.durationMs, ...(error ? { error } : {}) } } : {}),
    stacks,
  };
}
