/**
 * OpenPGP signatures (`git commit -S`, `git tag -s` with gpg), verified with the `openpgp`
 * package. Key validity follows gpg: the signing key (or subkey) must have been valid when the
 * signature was made (a signature made after the key expired fails, one made before does not),
 * and a revoked key or subkey fails whenever the signature was made.
 */
import type * as openpgp from 'openpgp';
import type { ObjectVerdict } from './model.js';
import { describeError } from '../errors/index.js';

/** Loaded on first use (~110 ms to import): only a revision whose signature must be checked, or OpenPGP keys to read, need it. */
let loaded: Promise<typeof openpgp> | undefined;
const pgp = (): Promise<typeof openpgp> => (loaded ??= import('openpgp'));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

function primaryUser(key: openpgp.PublicKey): string | undefined {
  return key.getUserIDs()[0];
}

/** Reads every key of every armored block; a block that does not parse throws with its message. */
export async function readPgpKeys(armored: string): Promise<openpgp.PublicKey[]> {
  return (await pgp()).readKeys({ armoredKeys: armored });
}

export async function verifyPgp(payload: Uint8Array, armoredSignature: string, keys: readonly openpgp.PublicKey[]): Promise<ObjectVerdict> {
  let signature: openpgp.Signature;
  try {
    signature = await (await pgp()).readSignature({ armoredSignature });
  } catch (e) {
    return { ok: false, reason: 'bad-signature', kind: 'openpgp', message: `the OpenPGP signature cannot be read: ${describeError(e)}` };
  }
  const packet = signature.packets[0];
  if (!packet || signature.packets.length !== 1) {
    return { ok: false, reason: 'bad-signature', kind: 'openpgp', message: 'the OpenPGP signature must hold exactly one signature packet' };
  }
  const issuer = packet.issuerFingerprint ? hex(packet.issuerFingerprint) : packet.issuerKeyID.toHex().toUpperCase();
  const key = keys.find((k) => k.getKeys(packet.issuerKeyID).length > 0);
  if (!key) {
    return { ok: false, reason: 'unknown-key', kind: 'openpgp', fingerprint: issuer, message: `signed by OpenPGP key ${issuer}, which is not a trusted key` };
  }
  const signingKey = key.getKeys(packet.issuerKeyID)[0]!;
  const fingerprint = key.getFingerprint().toUpperCase();
  const subkey = signingKey.getFingerprint().toUpperCase();
  // Revocation is checked now, not at signing time: gpg refuses a revoked key's signatures (REVKEYSIG).
  const revoked = (await key.isRevoked()) || (signingKey !== key && (await (signingKey as openpgp.Subkey).isRevoked(undefined as never, undefined as never)));
  if (revoked) {
    return {
      ok: false,
      reason: 'revoked-key',
      kind: 'openpgp',
      fingerprint: subkey,
      message: `signed by OpenPGP ${signingKey === key ? 'key' : 'subkey'} ${subkey}, which has been revoked`,
    };
  }
  try {
    const lib = await pgp();
    const message = await lib.createMessage({ binary: payload });
    const result = await lib.verify({ message, signature, verificationKeys: [key], format: 'binary', expectSigned: true });
    await result.signatures[0]?.verified;
  } catch (e) {
    const why = describeError(e);
    if (/expired/i.test(why)) {
      return { ok: false, reason: 'expired-key', kind: 'openpgp', fingerprint: subkey, message: `signed by OpenPGP key ${subkey} after it expired (${why})` };
    }
    if (/revoked/i.test(why)) return { ok: false, reason: 'revoked-key', kind: 'openpgp', fingerprint: subkey, message: `OpenPGP key ${subkey}: ${why}` };
    return { ok: false, reason: 'bad-signature', kind: 'openpgp', fingerprint: subkey, message: `the OpenPGP signature by ${subkey} does not match the signed content (${why})` };
  }
  const user = primaryUser(key);
  return {
    ok: true,
    kind: 'openpgp',
    signer: { fingerprint, ...(subkey !== fingerprint ? { subkeyFingerprint: subkey } : {}), ...(user ? { principal: user } : {}) },
  };
}
