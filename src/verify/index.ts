/** Signed revisions (docs/design.md §9): the rest of driftd imports from here. */
export { parseKeyring, readKeyFiles, type KeyProblem } from './keys.js';
export { Provenance, REFUSAL_REASONS, VERIFY_MODES, type RefusalReason, type RevisionVerdict, type Signer, type VerifiedObject, type VerifyMode } from './model.js';
export { decideRevision } from './verdict.js';
export { verificationEnabled, verifyRevision, type VerdictStore, type VerifySettings, type VerifyTarget } from './verifier.js';
