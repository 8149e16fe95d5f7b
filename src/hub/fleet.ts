/**
 * The fleet model (docs/hub.md): pure, from the latest report of every host and the hub's clock.
 * Who is silent (no report within `silentAfterMs`, or never), which target is the fleet's newest
 * (the one the hub first saw most recently), who straggles (not synced on it once
 * `stragglerGraceMs` has passed since it appeared), drift counts per stack, and the newest
 * target's rollout ("v1.4.2: 183/200 hosts synced, 2 rolled back, 15 pending").
 */
import type { Report, ReportStack } from './report.js';

export interface HostRecord {
  host: string;
  report: Report;
  /** When the hub received it (the hub's clock, never the agent's `sentAt`). */
  receivedAt: string;
}

export interface FleetInput {
  now: number;
  /** The latest report per host. */
  records: readonly HostRecord[];
  /** Hosts the hub has a token for: one that never reported is silent too. */
  knownHosts: readonly string[];
  /** When the hub first saw each target commit in a report. */
  firstSeen: ReadonlyMap<string, string>;
  silentAfterMs: number;
  stragglerGraceMs: number;
}

export type HostState = 'synced' | 'out-of-sync' | 'silent';

export interface HostView {
  host: string;
  state: HostState;
  /** Not on the newest target (or not synced on it) after the grace period. */
  straggler: boolean;
  lastSeen?: string;
  version?: string;
  target?: { commit: string; ref?: string };
  targetError?: string;
  lastRun?: Report['lastRun'];
  stacks: ReportStack[];
  counts: { stacks: number; outOfSync: number; unhealthy: number; findings: number; rolledBack: number };
}

export interface StackSummary {
  stack: string;
  hosts: number;
  outOfSync: number;
  unhealthy: number;
  /** Drift findings across the fleet (last cycle of every host). */
  findings: number;
}

export interface Rollout {
  commit: string;
  ref?: string;
  firstSeen: string;
  /** Every host the hub knows (silent ones included): the rollout is done when synced === hosts. */
  hosts: number;
  synced: number;
  rolledBack: number;
  pending: number;
}

export interface FleetView {
  generatedAt: string;
  hosts: HostView[];
  /** Every stack any host reports, sorted. */
  stacks: string[];
  stackSummary: StackSummary[];
  newest?: Rollout;
  /** Every target some host is on, newest first, with how many hosts target it. */
  targets: { commit: string; ref?: string; firstSeen: string; hosts: number }[];
  summary: { hosts: number; synced: number; outOfSync: number; silent: number; stragglers: number };
}

const stackOk = (s: ReportStack): boolean => s.sync === 'Synced' && s.health === 'Healthy';
const unhealthy = (s: ReportStack): boolean => s.health === 'Degraded' || s.health === 'Missing';
/** A stack whose target revision failed its health gate and was rolled back to an earlier one. */
export const rolledBack = (s: ReportStack): boolean => s.last?.action === 'rollback' && s.desired !== undefined && s.deployed?.commit !== s.desired.commit;

/** Every stack of the host deployed at the host's target and Synced (no target, nothing to be on). */
function onTarget(r: Report, commit: string): boolean {
  return r.target?.commit === commit && r.stacks.every((s) => stackOk(s) && (s.desired === undefined || s.desired.commit !== commit || s.deployed?.commit === commit));
}

function hostView(rec: HostRecord | undefined, host: string, input: FleetInput): HostView {
  if (!rec) return { host, state: 'silent', straggler: false, stacks: [], counts: { stacks: 0, outOfSync: 0, unhealthy: 0, findings: 0, rolledBack: 0 } };
  const r = rec.report;
  const silent = input.now - Date.parse(rec.receivedAt) > input.silentAfterMs;
  const problem = r.targetError !== undefined || r.stacks.some((s) => !stackOk(s));
  return {
    host,
    state: silent ? 'silent' : problem ? 'out-of-sync' : 'synced',
    straggler: false,
    lastSeen: rec.receivedAt,
    version: r.version,
    ...(r.target ? { target: r.target } : {}),
    ...(r.targetError !== undefined ? { targetError: r.targetError } : {}),
    ...(r.lastRun ? { lastRun: r.lastRun } : {}),
    stacks: [...r.stacks].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    counts: {
      stacks: r.stacks.length,
      outOfSync: r.stacks.filter((s) => s.sync !== 'Synced').length,
      unhealthy: r.stacks.filter(unhealthy).length,
      findings: r.stacks.reduce((n, s) => n + s.findings, 0),
      rolledBack: r.stacks.filter(rolledBack).length,
    },
  };
}

export function buildFleet(input: FleetInput): FleetView {
  const byHost = new Map(input.records.map((r) => [r.host, r]));
  const names = [...new Set([...input.knownHosts, ...byHost.keys()])].sort();
  const hosts = names.map((h) => hostView(byHost.get(h), h, input));

  // Targets of the hosts that still report, newest (first seen most recently) first.
  const targets = new Map<string, { commit: string; ref?: string; firstSeen: string; hosts: number }>();
  for (const h of hosts) {
    if (h.state === 'silent' || !h.target) continue;
    const t = targets.get(h.target.commit) ?? { ...h.target, firstSeen: input.firstSeen.get(h.target.commit) ?? new Date(input.now).toISOString(), hosts: 0 };
    t.hosts += 1;
    targets.set(h.target.commit, t);
  }
  const ordered = [...targets.values()].sort((a, b) => Date.parse(b.firstSeen) - Date.parse(a.firstSeen) || (b.ref ?? '').localeCompare(a.ref ?? '', 'en', { numeric: true }));
  const top = ordered[0];

  let newest: Rollout | undefined;
  if (top) {
    const reports = hosts.map((h) => byHost.get(h.host)?.report);
    const synced = reports.filter((r) => r !== undefined && onTarget(r, top.commit)).length;
    const back = hosts.filter((h) => h.state !== 'silent' && h.target?.commit === top.commit && h.counts.rolledBack > 0).length;
    newest = { commit: top.commit, ...(top.ref ? { ref: top.ref } : {}), firstSeen: top.firstSeen, hosts: hosts.length, synced, rolledBack: back, pending: hosts.length - synced - back };
    if (input.now - Date.parse(top.firstSeen) > input.stragglerGraceMs) {
      for (const h of hosts) {
        const r = byHost.get(h.host)?.report;
        if (h.state !== 'silent' && r && !onTarget(r, top.commit)) h.straggler = true;
      }
    }
  }

  const stacks = [...new Set(hosts.flatMap((h) => h.stacks.map((s) => s.name)))].sort();
  const summaries = new Map<string, StackSummary>(stacks.map((s) => [s, { stack: s, hosts: 0, outOfSync: 0, unhealthy: 0, findings: 0 }]));
  for (const h of hosts) {
    for (const s of h.stacks) {
      const sum = summaries.get(s.name);
      if (!sum) continue;
      sum.hosts += 1;
      if (s.sync !== 'Synced') sum.outOfSync += 1;
      if (unhealthy(s)) sum.unhealthy += 1;
      sum.findings += s.findings;
    }
  }

  return {
    generatedAt: new Date(input.now).toISOString(),
    hosts,
    stacks,
    stackSummary: [...summaries.values()],
    ...(newest ? { newest } : {}),
    targets: ordered,
    summary: {
      hosts: hosts.length,
      synced: hosts.filter((h) => h.state === 'synced').length,
      outOfSync: hosts.filter((h) => h.state === 'out-of-sync').length,
      silent: hosts.filter((h) => h.state === 'silent').length,
      stragglers: hosts.filter((h) => h.straggler).length,
    },
  };
}

export const STATUS_FILTERS = ['all', 'problems', 'out-of-sync', 'silent', 'stragglers', 'synced'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export interface FleetFilter {
  /** Substring of the host name. */
  host?: string;
  /** Only this stack's column, and only hosts that run it. */
  stack?: string;
  status: StatusFilter;
  offset: number;
  limit: number;
}

export interface FilteredFleet {
  hosts: HostView[];
  stacks: string[];
  /** Hosts that match before paging. */
  matched: number;
}

/** The hosts and stack columns a page shows: filters first, then one page of `limit` rows. */
export function filterFleet(view: FleetView, f: FleetFilter): FilteredFleet {
  const keep = (h: HostView): boolean => {
    if (f.host !== undefined && !h.host.toLowerCase().includes(f.host.toLowerCase())) return false;
    if (f.stack !== undefined && !h.stacks.some((s) => s.name === f.stack)) return false;
    switch (f.status) {
      case 'problems':
        return h.state !== 'synced' || h.straggler;
      case 'out-of-sync':
        return h.state === 'out-of-sync';
      case 'silent':
        return h.state === 'silent';
      case 'stragglers':
        return h.straggler;
      case 'synced':
        return h.state === 'synced' && !h.straggler;
      default:
        return true;
    }
  };
  const matched = view.hosts.filter(keep);
  return {
    hosts: matched.slice(f.offset, f.offset + f.limit),
    stacks: f.stack !== undefined ? view.stacks.filter((s) => s === f.stack) : view.stacks,
    matched: matched.length,
  };
}

/** `driftd fleet status` exit code: 0 every host synced (none silent, none straggling), else 2. */
export function fleetExitCode(view: Pick<FleetView, 'summary'>): 0 | 2 {
  const s = view.summary;
  return s.outOfSync === 0 && s.silent === 0 && s.stragglers === 0 ? 0 : 2;
}
