/** What verification decides, per Git object and per revision (docs/design.md §9). */
import { z } from 'zod';
import { lazy } from '../util/lazy.js';

export const VERIFY_MODES = ['off', 'tag', 'head', 'tag-and-head'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

export type SignatureKind = 'openpgp' | 'ssh';

/**
 * Why an object (or a revision) is refused:
 * unsigned, lightweight-tag (mode tag with a tag that has no tag object), unknown-key (signed, but
 * by no trusted key), bad-signature (does not match the content, wrong namespace, malformed),
 * expired-key / revoked-key (OpenPGP), unsupported (x509, an unsupported key type),
 * tag-mismatch (the signed tag object names another tag or commit than the ref), moved-tag
 * (refuseMovedTags).
 */
export const REFUSAL_REASONS = [
  'unsigned',
  'lightweight-tag',
  'unknown-key',
  'bad-signature',
  'expired-key',
  'revoked-key',
  'unsupported',
  'tag-mismatch',
  'moved-tag',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const Signer = lazy(() =>
  z.object({
    /** OpenPGP: primary key fingerprint (upper-case hex). SSH: "SHA256:…". */
    fingerprint: z.string(),
    /** OpenPGP: the signing (sub)key's fingerprint when it is not the primary key. */
    subkeyFingerprint: z.string().optional(),
    /** SSH: the allowed_signers principal(s), or the .pub comment. OpenPGP: the key's primary user ID. */
    principal: z.string().optional(),
  }),
);
export type Signer = z.infer<ReturnType<typeof Signer>>;

/** The verdict on one object's signature: cached by object id (and keyring) in the state DB. */
export const ObjectVerdict = lazy(() =>
  z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), kind: z.enum(['openpgp', 'ssh']), signer: Signer() }),
    z.object({
      ok: z.literal(false),
      reason: z.enum(REFUSAL_REASONS),
      message: z.string(),
      kind: z.enum(['openpgp', 'ssh']).optional(),
      /** For unknown-key: the fingerprint (or key id) the signature names. */
      fingerprint: z.string().optional(),
    }),
  ]),
);
export type ObjectVerdict = z.infer<ReturnType<typeof ObjectVerdict>>;

/** One verified object, as recorded with a deploy. */
export const VerifiedObject = lazy(() =>
  z.object({
    object: z.string(),
    type: z.enum(['tag', 'commit']),
    kind: z.enum(['openpgp', 'ssh']),
    signer: Signer(),
  }),
);
export type VerifiedObject = z.infer<ReturnType<typeof VerifiedObject>>;

/** Who signed what runs here: history, status, drift reports and exports carry this. */
export const Provenance = lazy(() =>
  z.object({
    mode: z.enum(VERIFY_MODES),
    commit: z.string(),
    ref: z.string().optional(),
    verified: z.array(VerifiedObject()),
    /** Set when an operator deployed it with `rollback --allow-unverified`. */
    allowedUnverified: z.boolean().optional(),
  }),
);
export type Provenance = z.infer<ReturnType<typeof Provenance>>;

export type RevisionVerdict =
  | { ok: true; provenance: Provenance }
  | { ok: false; reason: RefusalReason; message: string; commit: string; ref?: string; fingerprint?: string; object?: string };
