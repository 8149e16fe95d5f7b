/** One Git object's signature → a verdict against the trusted keys. */
import type { Keyring, SshTrust } from './keys.js';
import type { ObjectVerdict } from './model.js';
import { verifyPgp } from './openpgp.js';
import { parseSignedObject, type SignedObject } from './raw-object.js';
import { parseSshSignature, sshFingerprint, SshFormatError, verifySshSignature, type SshSignature } from './sshsig.js';
import { describeError } from '../errors/index.js';

/** Git signs with the "git" namespace (gpg-interface.c); a signature for another namespace (e.g. "file") is not a Git signature. */
export const GIT_NAMESPACE = 'git';

function allowedAt(entry: SshTrust, time: number | undefined): boolean {
  if (entry.namespaces && !entry.namespaces.includes(GIT_NAMESPACE)) return false;
  if (entry.validAfter !== undefined && (time === undefined || time < entry.validAfter)) return false;
  if (entry.validBefore !== undefined && (time === undefined || time > entry.validBefore)) return false;
  return true;
}

export function verifySsh(signed: Pick<SignedObject, 'payload' | 'timestamp'>, armored: string, trusted: readonly SshTrust[]): ObjectVerdict {
  let sig: SshSignature;
  try {
    sig = parseSshSignature(armored);
  } catch (e) {
    return { ok: false, reason: 'bad-signature', kind: 'ssh', message: `the SSH signature cannot be read: ${describeError(e)}` };
  }
  const fingerprint = sshFingerprint(sig.publicKey);
  const entries = trusted.filter((t) => t.key.blob.equals(sig.publicKey));
  if (entries.length === 0) return { ok: false, reason: 'unknown-key', kind: 'ssh', fingerprint, message: `signed by SSH key ${fingerprint}, which is not in the allowed signers` };
  const entry = entries.find((e) => allowedAt(e, signed.timestamp));
  if (!entry) {
    return {
      ok: false,
      reason: 'expired-key',
      kind: 'ssh',
      fingerprint,
      message: `SSH key ${fingerprint} is trusted only for other namespaces or another validity period than this signature's (${entries[0]!.source})`,
    };
  }
  if (sig.namespace !== GIT_NAMESPACE) {
    return { ok: false, reason: 'bad-signature', kind: 'ssh', fingerprint, message: `the SSH signature was made for namespace "${sig.namespace}", not "${GIT_NAMESPACE}"` };
  }
  let valid: boolean;
  try {
    valid = verifySshSignature(sig, signed.payload, GIT_NAMESPACE);
  } catch (e) {
    if (!(e instanceof SshFormatError)) throw e;
    return { ok: false, reason: 'bad-signature', kind: 'ssh', fingerprint, message: `the SSH signature cannot be checked: ${e.message}` };
  }
  if (!valid) return { ok: false, reason: 'bad-signature', kind: 'ssh', fingerprint, message: `the SSH signature by ${fingerprint} does not match the signed content` };
  return { ok: true, kind: 'ssh', signer: { fingerprint, ...(entry.principal ? { principal: entry.principal } : {}) } };
}

/** Verifies a raw commit or tag object (the bytes after Git's "<type> <size>\0" header). */
export async function verifyObject(type: 'commit' | 'tag', raw: Uint8Array, keyring: Keyring): Promise<{ verdict: ObjectVerdict; signed: SignedObject }> {
  const signed = parseSignedObject(type, raw);
  const sig = signed.signature;
  if (!sig) return { signed, verdict: { ok: false, reason: 'unsigned', message: `the ${type} is not signed` } };
  switch (sig.format) {
    case 'openpgp':
      return { signed, verdict: await verifyPgp(signed.payload, sig.armored, keyring.pgp) };
    case 'ssh':
      return { signed, verdict: verifySsh(signed, sig.armored, keyring.ssh) };
    case 'x509':
      return { signed, verdict: { ok: false, reason: 'unsupported', message: `the ${type} carries an X.509 (gpgsm) signature; driftd verifies OpenPGP and SSH signatures` } };
  }
}
