/**
 * The revision verdict (docs/design.md §9), pure: the verify mode, what the ref is, and the verdicts on
 * the objects that mode needs → deploy it (with its provenance) or refuse it (with the reason).
 * Flux's semantics: `tag` needs an annotated tag signed by a trusted key, `head` a signed commit,
 * `tag-and-head` both.
 */
import type { ObjectVerdict, RevisionVerdict, VerifiedObject, VerifyMode } from './model.js';
import { shortCommit } from '../util/text.js';

export interface VerdictInput {
  mode: VerifyMode;
  commit: string;
  ref?: string;
  refKind: 'tag' | 'branch' | 'head';
  /** The tag object's id when the ref is an annotated tag (absent for a lightweight tag, a branch or HEAD). */
  tagObject?: string;
  tag?: ObjectVerdict;
  head?: ObjectVerdict;
  /** The tag moved to this commit since the last poll (or a refusal of that move is remembered). */
  moved?: { from?: string };
  refuseMovedTags: boolean;
}

export const needsTag = (mode: VerifyMode): boolean => mode === 'tag' || mode === 'tag-and-head';
export const needsHead = (mode: VerifyMode): boolean => mode === 'head' || mode === 'tag-and-head';

function describe(input: VerdictInput): string {
  return `${input.ref ? `${input.ref} ` : ''}(${shortCommit(input.commit)})`;
}

export function decideRevision(input: VerdictInput): RevisionVerdict {
  const where = { commit: input.commit, ...(input.ref ? { ref: input.ref } : {}) };
  const refuse = (reason: Extract<RevisionVerdict, { ok: false }>['reason'], message: string, extra: { fingerprint?: string; object?: string } = {}): RevisionVerdict => ({
    ok: false,
    reason,
    message: `${describe(input)} is not deployed: ${message}`,
    ...where,
    ...extra,
  });
  if (input.moved && input.mode === 'off' && input.refuseMovedTags) {
    const from = input.moved.from ? ` from ${shortCommit(input.moved.from)}` : '';
    return refuse('moved-tag', `tag ${input.ref ?? ''} moved${from} to another commit and refuseMovedTags is on; re-create a new tag, or point the tag back`);
  }
  const verified: VerifiedObject[] = [];
  if (needsTag(input.mode)) {
    if (input.refKind !== 'tag') return refuse('unsigned', `verify.mode ${input.mode} deploys only signed annotated tags, and ${input.ref ?? 'HEAD'} is a ${input.refKind === 'head' ? 'HEAD commit' : 'branch'}`);
    if (!input.tagObject) return refuse('lightweight-tag', `tag ${input.ref ?? ''} is a lightweight tag; verify.mode ${input.mode} needs an annotated tag signed by a trusted key (git tag -s)`);
    const tag = input.tag;
    if (!tag) return refuse('unsigned', 'the tag object was not verified');
    if (!tag.ok) return refuse(tag.reason, `tag object ${shortCommit(input.tagObject)}: ${tag.message}`, { object: input.tagObject, ...(tag.fingerprint ? { fingerprint: tag.fingerprint } : {}) });
    verified.push({ object: input.tagObject, type: 'tag', kind: tag.kind, signer: tag.signer });
  }
  if (needsHead(input.mode)) {
    const head = input.head;
    if (!head) return refuse('unsigned', 'the commit was not verified');
    if (!head.ok) return refuse(head.reason, `commit: ${head.message}`, { object: input.commit, ...(head.fingerprint ? { fingerprint: head.fingerprint } : {}) });
    verified.push({ object: input.commit, type: 'commit', kind: head.kind, signer: head.signer });
  }
  return { ok: true, provenance: { mode: input.mode, ...where, verified } };
}
