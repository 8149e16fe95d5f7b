/**
 * The page's data, from the agent's own parts: the state DB it holds open, `driftd status`
 * (target revision, pins, last operations) and `driftd drift-check` (live findings, containers),
 * each memoised for a few seconds so an auto-refreshing page costs the host next to nothing.
 */
import { driftCheck, type DriftCheckResult } from '../commands/drift-check.js';
import { approve } from '../commands/pins.js';
import { status, type StatusResult } from '../commands/status.js';
import { provenanceOf } from '../commands/verify-target.js';
import { isValidStackName } from '../compose/index.js';
import type { RefPolicy, ResolvedConfig } from '../config/resolve.js';
import type { Finding, StackStatus } from '../drift/model.js';
import { describeError, DriftdError } from '../errors/index.js';
import type { DockerConnection } from '../live/docker-client.js';
import type { LiveInventory } from '../live/model.js';
import { prepareReport, worstSeverity } from '../report/prepare.js';
import { secretIndexFromStacks } from '../report/secrets.js';
import type { StateStore } from '../state/index.js';
import type { Logger } from '../util/logger.js';
import { verificationEnabled } from '../verify/index.js';
import { VERSION } from '../version.js';
import { memo } from './memo.js';
import type { ContainerView, HistoryFilter, Overview, PageHeader, PageSource, StackRow } from './model.js';
import { scrubDeep } from '../util/scrub.js';

export interface AgentView {
  lastRun?: { at: string; ok: boolean; error?: string; durationMs: number };
  nextPoll?: Date;
  busy: boolean;
}

export interface PageSourceDeps {
  config: ResolvedConfig;
  logger: Logger;
  /** The agent's open state DB (a getter: the agent replaces it when the file was moved or corrupted). */
  state: () => StateStore;
  docker: DockerConnection;
  agent: () => AgentView;
  /** Queues a reconcile (after an approval). */
  trigger: () => void;
  /** The agent's own secrets (tokens): never shown, wherever they might turn up. */
  secrets: readonly string[];
  /** How long a drift-check answer is reused (default 10 s). */
  driftTtlMs?: number;
}

export function describeRefPolicy(ref: RefPolicy): string {
  switch (ref.kind) {
    case 'tag':
      return `tag ${ref.tag}`;
    case 'semver':
      return `semver ${ref.range}${ref.prefix !== undefined ? ` (prefix "${ref.prefix}")` : ''}`;
    case 'branch':
      return `branch ${ref.branch}`;
    default:
      return 'highest semver tag (else HEAD)';
  }
}

const HISTORY_SCAN = 2000;
export const STACK_HISTORY_ROWS = 50;

interface Drift {
  stacks: Map<string, StackStatus>;
  unmanaged: Finding[];
  inventory: LiveInventory;
  secrets: string[];
}

function toDrift(r: DriftCheckResult): Drift {
  const index = secretIndexFromStacks(r.desired.stacks);
  const report = prepareReport(r.report, index);
  return { stacks: new Map(report.stacks.map((s) => [s.stack, s])), unmanaged: report.unmanaged, inventory: r.inventory, secrets: index.values };
}

function worst(findings: readonly Finding[]): Finding | undefined {
  const sev = worstSeverity(findings);
  return findings.find((f) => f.severity === sev);
}

function containersOf(inventory: LiveInventory, stack: string): ContainerView[] {
  return inventory.containers
    .filter((c) => c.project === stack)
    .sort((a, b) => (a.service ?? '').localeCompare(b.service ?? '') || (a.number ?? 0) - (b.number ?? 0) || a.name.localeCompare(b.name))
    .map((c) => ({
      name: c.name,
      ...(c.service !== undefined ? { service: c.service } : {}),
      image: c.image,
      imageId: c.imageId,
      digests: inventory.images[c.imageId]?.repoDigests ?? [],
      state: c.state,
      health: c.health,
      ...(c.labels['io.driftd.revision'] ? { revision: c.labels['io.driftd.revision'] } : {}),
      createdAt: c.createdAt,
    }));
}

export function pageSource(deps: PageSourceDeps): PageSource {
  const { config, logger } = deps;
  const state = (): StateStore => deps.state();
  const ttl = deps.driftTtlMs ?? 10_000;
  const statusMemo = memo<StatusResult>(ttl, () => status({ config, logger }));
  const driftMemo = memo<Drift>(ttl, async (key) =>
    toDrift(await driftCheck({ config, logger, docker: deps.docker, ...(key === '*' ? {} : { stacks: [key] }) })),
  );
  const drift = (key: string): Promise<Drift | string> => driftMemo(key).catch((e: unknown) => describeError(e));

  /** The target's signer from the provenance recorded when it was verified (design §9); none with verification off. */
  const signature = (s: StatusResult): PageHeader['signature'] => {
    if (!verificationEnabled(config.verify)) return undefined;
    if (s.verification) return { state: 'refused', message: s.verification.message };
    const p = provenanceOf(state(), s.target?.commit);
    if (!p || p.verified.length === 0) return { state: 'unverified' };
    return {
      state: 'verified',
      signers: p.verified.map((v) => ({ object: v.type, kind: v.kind, fingerprint: v.signer.fingerprint, ...(v.signer.principal ? { principal: v.signer.principal } : {}) })),
    };
  };

  const header = (s: StatusResult): PageHeader => {
    const agent = deps.agent();
    const signed = signature(s);
    return {
      host: config.host,
      version: VERSION,
      refPolicy: describeRefPolicy(config.ref),
      ...(s.target ? { target: s.target } : {}),
      ...(s.targetError ? { targetError: s.targetError } : {}),
      ...(signed ? { signature: signed } : {}),
      ...(agent.lastRun ? { lastPoll: agent.lastRun } : {}),
      ...(agent.nextPoll ? { nextPoll: agent.nextPoll.toISOString() } : {}),
      busy: agent.busy,
      pins: state().pins().map((p) => ({ ...(p.stack ? { stack: p.stack } : {}), tag: p.tag, commit: p.commit, by: p.by, at: p.at })),
      windows: config.windows.map((w) => ({ kind: w.kind, schedule: w.schedule, durationMs: w.durationMs, timezone: w.timezone, stacks: w.stacks })),
      generatedAt: new Date().toISOString(),
    };
  };

  const rows = (s: StatusResult, d: Drift | string): StackRow[] => {
    const live = typeof d === 'string' ? new Map<string, StackStatus>() : d.stacks;
    const names = [...new Set([...s.stacks.map((x) => x.stack), ...live.keys()])].sort();
    return names.map((name) => {
      const recorded = s.stacks.find((x) => x.stack === name);
      const now = live.get(name);
      const findings = now?.findings ?? [];
      const w = worst(findings);
      const reason = now?.reason ?? recorded?.reason;
      const desired = now?.targetRevision ?? recorded?.desiredRevision;
      return {
        name,
        ...(desired ? { desired: { commit: desired, ...(s.target?.commit === desired && s.target.ref ? { ref: s.target.ref } : {}) } } : {}),
        ...(recorded?.deployedRevision ? { deployed: { commit: recorded.deployedRevision, ...(recorded.deployedRef ? { ref: recorded.deployedRef } : {}) } } : {}),
        sync: now?.sync ?? recorded?.sync ?? 'Unknown',
        health: now?.health ?? recorded?.health ?? 'Unknown',
        ...(reason ? { reason } : {}),
        ...(w ? { worst: w } : {}),
        findingCount: findings.length,
        ...(recorded?.lastOperation ? { last: recorded.lastOperation } : {}),
        ...(recorded?.pending ? { pending: recorded.pending } : {}),
        ...(recorded?.pin ? { pin: recorded.pin } : {}),
      };
    });
  };

  const secretsOf = (d: Drift | string): string[] => [...deps.secrets, ...(typeof d === 'string' ? [] : d.secrets)];

  return {
    async overview() {
      const [s, d] = await Promise.all([statusMemo('status'), drift('*')]);
      const model: Overview = {
        header: header(s),
        stacks: rows(s, d),
        unmanaged: typeof d === 'string' ? [] : d.unmanaged,
        ...(typeof d === 'string' ? { driftError: d } : {}),
      };
      return scrubDeep(model, secretsOf(d));
    },

    async stack(name) {
      if (!isValidStackName(name)) return undefined;
      const [s, d] = await Promise.all([statusMemo('status'), drift(name)]);
      const row = rows(s, d).find((r) => r.name === name);
      if (!row) return undefined;
      const history = state().history({ stack: name, limit: STACK_HISTORY_ROWS });
      const failure = history.find((o) => (o.result === 'failed' || o.result === 'refused') && o.output);
      return scrubDeep(
        {
          header: header(s),
          row,
          findings: typeof d === 'string' ? [] : (d.stacks.get(name)?.findings ?? []),
          ...(typeof d === 'string' ? { driftError: d } : {}),
          containers: typeof d === 'string' ? [] : containersOf(d.inventory, name),
          history,
          ...(failure ? { failure } : {}),
        },
        secretsOf(d),
      );
    },

    async history(filter: HistoryFilter) {
      const s = await statusMemo('status');
      const all = state().history({ ...(filter.stack ? { stack: filter.stack } : {}), limit: HISTORY_SCAN });
      const rows = all
        .filter((o) => (!filter.action || o.action === filter.action) && (!filter.result || o.result === filter.result) && (!filter.trigger || o.trigger === filter.trigger))
        .slice(0, filter.limit)
        .map(({ output: _output, ...o }) => o);
      const stacks = [...new Set([...s.stacks.map((x) => x.stack), ...state().history({ limit: HISTORY_SCAN }).map((o) => o.stack).filter((x): x is string => !!x)])].sort();
      return scrubDeep({ header: header(s), filter, rows, stacks }, deps.secrets);
    },

    approve(stack, revision, actor) {
      const pending = state().pending(stack)?.revision;
      if (!pending) return Promise.reject(new DriftdError('NotFound', `stack ${stack} has no revision waiting for approval`, { stack }));
      if (revision !== undefined && revision !== pending) {
        return Promise.reject(new DriftdError('InvalidRef', `the revision waiting for approval is now ${pending.slice(0, 12)}; reload the page`, { stack }));
      }
      try {
        const r = approve({ config, stack, revision: pending, actor, trigger: 'user', state: state() });
        deps.trigger();
        return Promise.resolve(r);
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
  };
}
