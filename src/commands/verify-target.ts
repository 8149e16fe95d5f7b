/**
 * The one place commands meet signature verification (src/verify): a check that runs between
 * resolving a target and materializing it, the verdict cache and provenance in the state DB,
 * and the history/audit record of a refusal.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { DriftdError, isDriftdError, type ErrorDataMap } from '../errors/index.js';
import type { GitSource, ResolvedRevision } from '../source/index.js';
import type { StateStore } from '../state/index.js';
import type { Trigger } from '../state/schema.js';
import type { Logger } from '../util/logger.js';
import { Provenance, verificationEnabled, verifyRevision, type RevisionVerdict, type VerdictStore } from '../verify/index.js';

/** What a RevisionUnverified error carries (errors/index.ts). */
export type UnverifiedData = ErrorDataMap['RevisionUnverified'];

export function isUnverified(e: unknown): e is DriftdError<'RevisionUnverified'> {
  return isDriftdError(e) && e.code === 'RevisionUnverified';
}

function writable(state: StateStore | undefined): StateStore | undefined {
  return state && !state.readonly ? state : undefined;
}

/** Reads the cache from any store; writes only to a writable one (drift-check may hold a read-only handle). */
function verdictStore(state: StateStore | undefined): VerdictStore | undefined {
  if (!state) return undefined;
  const w = writable(state);
  return { getVerdict: (o, s) => state.getVerdict(o, s), putVerdict: (o, s, v) => w?.putVerdict(o, s, v) };
}

export interface TargetVerifier {
  /** Verifies a resolved revision; throws RevisionUnverified (exit 1) when it must not be deployed. */
  check(resolved: ResolvedRevision, opts?: { allowUnverified?: boolean }): Promise<Provenance | undefined>;
}

/**
 * The last accepted target per source (the agent keeps one source for its lifetime): a poll that
 * finds the same target, with the key files unchanged (by stat), does no verification work at all,
 * not even the state DB lookup. A CLI run starts empty and reads the DB cache.
 */
const accepted = new WeakMap<GitSource, { key: string; provenance: Provenance }>();

function keyFilesStamp(paths: readonly string[]): string {
  const parts: string[] = [];
  const stamp = (p: string): void => {
    try {
      const st = statSync(p);
      parts.push(`${p}:${st.ino}:${st.size}:${st.mtimeMs}`);
      if (st.isDirectory()) for (const name of readdirSync(p).sort()) stamp(path.join(p, name));
    } catch {
      parts.push(`${p}:missing`);
    }
  };
  for (const p of paths) stamp(p);
  return parts.join('|');
}

export function targetVerifier(opts: { config: ResolvedConfig; logger: Logger; source: GitSource; state?: StateStore }): TargetVerifier {
  const { config, source, logger } = opts;
  const settings = config.verify;
  return {
    async check(resolved, { allowUnverified = false } = {}) {
      if (!verificationEnabled(settings)) return undefined;
      const memoKey = JSON.stringify([settings, resolved.commit, resolved.ref, resolved.tagObject ?? '', allowUnverified, keyFilesStamp(settings.keys)]);
      const moved = resolved.warnings.some((x) => x.kind === 'tag-moved' && x.tag === resolved.ref);
      const memo = accepted.get(source);
      if (memo?.key === memoKey && !moved) return memo.provenance;
      const provenance = await checkNow(resolved, allowUnverified);
      if (provenance) accepted.set(source, { key: memoKey, provenance });
      return provenance;
    },
  };

  async function checkNow(resolved: ResolvedRevision, allowUnverified: boolean): Promise<Provenance | undefined> {
    const w = writable(opts.state);
    const base = { commit: resolved.commit, ...(resolved.ref ? { ref: resolved.ref } : {}) };
    if (allowUnverified) {
      const provenance: Provenance = { mode: settings.mode, ...base, verified: [], allowedUnverified: true };
      w?.recordProvenance(resolved.commit, provenance);
      return provenance;
    }
    const movedFrom = resolved.warnings.find((x) => x.kind === 'tag-moved' && x.tag === resolved.ref);
    const outcome = await verifyRevision(
      settings,
      {
        ...base,
        refKind: resolved.refKind,
        ...(resolved.tagObject ? { tagObject: resolved.tagObject } : {}),
        ...(movedFrom?.kind === 'tag-moved' ? { movedFrom: movedFrom.from } : {}),
      },
      { readObject: (oid) => source.readObject(oid), ...(opts.state ? { store: verdictStore(opts.state) } : {}), logger },
    );
    rememberVerification(w, source.repo, outcome.verdict);
    const verdict = outcome.verdict;
    if (verdict.ok) {
      if (w && (outcome.fresh || w.provenance(resolved.commit) === undefined)) w.recordProvenance(resolved.commit, verdict.provenance);
      return verdict.provenance;
    }
    logger.error({ reason: verdict.reason, commit: verdict.commit, ref: verdict.ref, fingerprint: verdict.fingerprint }, verdict.message);
    const { ok: _ok, message, ...data } = verdict;
    throw new DriftdError('RevisionUnverified', message, data);
  }
}

/** Writes the last verification only when it changed: a no-change poll writes nothing. */
function rememberVerification(state: StateStore | undefined, repo: string, verdict: RevisionVerdict): void {
  if (!state) return;
  const previous = state.verification(repo);
  if (JSON.stringify(previous?.verdict) !== JSON.stringify(verdict)) state.setVerification(repo, verdict);
}

/** The last verification of `repo` (status), when it was a refusal. */
export function lastRefusal(state: StateStore | undefined, repo: string): Extract<RevisionVerdict, { ok: false }> | undefined {
  const v = state?.verification(repo)?.verdict as RevisionVerdict | undefined;
  return v && v.ok === false && typeof v.message === 'string' && typeof v.commit === 'string' ? v : undefined;
}

/**
 * What the agent's HTTP status shows: the last verification of `repo` when it refused the target
 * (without `ok`), and nothing with verification off (a row left from when it was on is stale).
 */
export function currentRefusal(config: ResolvedConfig, state: StateStore | undefined, repo: string): Omit<Extract<RevisionVerdict, { ok: false }>, 'ok'> | undefined {
  if (!verificationEnabled(config.verify)) return undefined;
  const refusal = lastRefusal(state, repo);
  if (!refusal) return undefined;
  const { ok: _ok, ...rest } = refusal;
  return rest;
}

/** The recorded signer of a commit, if it was verified. */
export function provenanceOf(state: StateStore | undefined, commit: string | undefined): Provenance | undefined {
  if (!state || !commit) return undefined;
  const parsed = Provenance().safeParse(state.provenance(commit));
  return parsed.success ? parsed.data : undefined;
}

/**
 * History and audit record a refusal once, not on every poll that sees the same target: a marker
 * per refused (commit, ref, tag object, reason, signer) in the verdict table says it was recorded.
 * Only a recorder sets it (sync, the agent, rollback), so a drift-check that saw the refusal first
 * does not hide it from history. `always`: an explicit rollback is audited each time.
 */
export function recordRefusal(
  state: StateStore,
  e: DriftdError<'RevisionUnverified'>,
  who: { trigger: Trigger; actor: string; command: string },
  opts: { always?: boolean } = {},
): void {
  const marker = `recorded-refusal:${JSON.stringify([e.data.ref ?? '', e.data.object ?? '', e.data.reason, e.data.fingerprint ?? ''])}`;
  const seen = state.getVerdict(e.data.commit, marker) !== undefined;
  if (seen && !opts.always) return;
  if (!seen) state.putVerdict(e.data.commit, marker, { recorded: true });
  const op = state.startOperation({ trigger: who.trigger, actor: who.actor, command: who.command, action: 'verify', revision: e.data.commit });
  state.finishOperation(op, { result: 'failed', message: e.message });
  state.audit({ actor: who.actor, trigger: who.trigger, action: 'verify', detail: { ...e.data, result: 'refused' } });
}
