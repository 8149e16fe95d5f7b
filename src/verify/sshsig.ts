/**
 * SSH signatures as `ssh-keygen -Y sign` writes them (OpenSSH PROTOCOL.sshsig), verified with
 * node:crypto: Ed25519, ECDSA (nistp256/384/521) and RSA with rsa-sha2-256/512. Every length
 * is bounds-checked: the blob comes from a Git object anyone with push access can write.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

export class SshFormatError extends Error {}

const MAX_FIELD = 64 * 1024;

/** Reads SSH wire-format fields (RFC 4251) from a buffer, refusing anything out of bounds. */
export class SshReader {
  #pos = 0;
  constructor(private readonly buf: Buffer) {}

  bytes(n: number): Buffer {
    if (n < 0 || this.#pos + n > this.buf.length) throw new SshFormatError('truncated SSH data');
    const out = this.buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  uint32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  string(): Buffer {
    const len = this.uint32();
    if (len > MAX_FIELD) throw new SshFormatError(`SSH field of ${len} bytes is too large`);
    return this.bytes(len);
  }

  text(): string {
    return this.string().toString('utf8');
  }

  done(): boolean {
    return this.#pos === this.buf.length;
  }
}

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

export interface SshSignature {
  version: number;
  /** The signer's public key (SSH wire format). */
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: string;
  /** The inner signature: its algorithm name and raw bytes. */
  sigAlgorithm: string;
  sigBytes: Buffer;
}

const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

/** Parses an armored SSHSIG (as appended to a tag or held in a commit's gpgsig header). */
export function parseSshSignature(armored: string): SshSignature {
  const text = armored.trim();
  if (!text.startsWith(BEGIN)) throw new SshFormatError('not an SSH signature (no BEGIN SSH SIGNATURE line)');
  const endAt = text.indexOf(END);
  if (endAt === -1) throw new SshFormatError('SSH signature has no END SSH SIGNATURE line');
  if (text.slice(endAt + END.length).trim() !== '') throw new SshFormatError('data after the END SSH SIGNATURE line');
  const body = text.slice(BEGIN.length, endAt).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new SshFormatError('SSH signature is not valid base64');
  const blob = Buffer.from(body, 'base64');
  const r = new SshReader(blob);
  if (r.bytes(6).toString('latin1') !== 'SSHSIG') throw new SshFormatError('SSH signature does not start with the SSHSIG magic');
  const version = r.uint32();
  if (version !== 1) throw new SshFormatError(`SSH signature version ${version} is not supported (only 1)`);
  const publicKey = Buffer.from(r.string());
  const namespace = r.text();
  r.string(); // reserved
  const hashAlgorithm = r.text();
  const inner = new SshReader(Buffer.from(r.string()));
  if (!r.done()) throw new SshFormatError('trailing data after the SSH signature');
  const sigAlgorithm = inner.text();
  const sigBytes = Buffer.from(inner.string());
  return { version, publicKey, namespace, hashAlgorithm, sigAlgorithm, sigBytes };
}

/** "SHA256:<base64, no padding>" as `ssh-keygen -l` prints it. */
export function sshFingerprint(publicKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKey).digest('base64').replace(/=+$/, '')}`;
}

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

/** Strips the sign byte of an SSH mpint. */
function unsigned(mpint: Buffer): Buffer {
  let i = 0;
  while (i < mpint.length - 1 && mpint[i] === 0) i++;
  return mpint.subarray(i);
}

function leftPad(b: Buffer, size: number): Buffer {
  if (b.length > size) throw new SshFormatError('ECDSA signature value is too long');
  return Buffer.concat([Buffer.alloc(size - b.length), b]);
}

const CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

export interface SshPublicKey {
  type: string;
  blob: Buffer;
  key: KeyObject;
}

/** An SSH public key blob → a node:crypto key. Unsupported types (sk-*, DSA, certificates) throw. */
export function parseSshPublicKey(blob: Buffer): SshPublicKey {
  const r = new SshReader(blob);
  const type = r.text();
  let key: KeyObject;
  if (type === 'ssh-ed25519') {
    const x = r.string();
    if (x.length !== 32) throw new SshFormatError('Ed25519 key is not 32 bytes');
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(x) }, format: 'jwk' });
  } else if (type.startsWith('ecdsa-sha2-')) {
    const curveName = r.text();
    const curve = CURVES[curveName];
    if (!curve || type !== `ecdsa-sha2-${curveName}`) throw new SshFormatError(`ECDSA curve ${curveName} is not supported`);
    const q = r.string();
    if (q.length !== 1 + 2 * curve.size || q[0] !== 0x04) throw new SshFormatError('ECDSA key is not an uncompressed point of its curve');
    key = createPublicKey({
      key: { kty: 'EC', crv: curve.crv, x: b64url(q.subarray(1, 1 + curve.size)), y: b64url(q.subarray(1 + curve.size)) },
      format: 'jwk',
    });
  } else if (type === 'ssh-rsa') {
    const e = unsigned(r.string());
    const n = unsigned(r.string());
    if (n.length * 8 < 2048 - 8) throw new SshFormatError('RSA keys shorter than 2048 bits are refused');
    key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
  } else {
    throw new SshFormatError(`SSH key type ${type} is not supported (use Ed25519, ECDSA or RSA)`);
  }
  if (!r.done()) throw new SshFormatError(`trailing data after the ${type} key`);
  return { type, blob, key };
}

/** The bytes an SSHSIG signature covers (PROTOCOL.sshsig: magic, namespace, reserved, hash algorithm, H(message)). */
export function signedData(namespace: string, hashAlgorithm: string, message: Uint8Array): Buffer {
  const digest = createHash(hashAlgorithm).update(message).digest();
  return Buffer.concat([Buffer.from('SSHSIG', 'latin1'), sshString(namespace), sshString(''), sshString(hashAlgorithm), sshString(digest)]);
}

/**
 * True when `sig` is a valid signature of `message` by `sig.publicKey` in `namespace`. The caller
 * decides separately whether that key is trusted. Malformed input throws SshFormatError.
 */
export function verifySshSignature(sig: SshSignature, message: Uint8Array, namespace: string): boolean {
  if (sig.namespace !== namespace) return false;
  if (sig.hashAlgorithm !== 'sha256' && sig.hashAlgorithm !== 'sha512') throw new SshFormatError(`SSH signature hash ${sig.hashAlgorithm} is not supported`);
  const pub = parseSshPublicKey(sig.publicKey);
  const data = signedData(sig.namespace, sig.hashAlgorithm, message);
  if (pub.type === 'ssh-ed25519') {
    if (sig.sigAlgorithm !== 'ssh-ed25519' || sig.sigBytes.length !== 64) return false;
    return cryptoVerify(null, data, pub.key, sig.sigBytes);
  }
  if (pub.type.startsWith('ecdsa-sha2-')) {
    if (sig.sigAlgorithm !== pub.type) return false;
    const curve = CURVES[pub.type.slice('ecdsa-sha2-'.length)]!;
    const inner = new SshReader(sig.sigBytes);
    const rs = Buffer.concat([leftPad(unsigned(inner.string()), curve.size), leftPad(unsigned(inner.string()), curve.size)]);
    if (!inner.done()) throw new SshFormatError('trailing data in the ECDSA signature');
    return cryptoVerify(curve.hash, data, { key: pub.key, dsaEncoding: 'ieee-p1363' }, rs);
  }
  // ssh-rsa keys sign with rsa-sha2-256/512; SHA-1 ("ssh-rsa" signatures) is refused, as OpenSSH does.
  const hash = sig.sigAlgorithm === 'rsa-sha2-512' ? 'sha512' : sig.sigAlgorithm === 'rsa-sha2-256' ? 'sha256' : undefined;
  if (!hash) return false;
  return cryptoVerify(hash, data, pub.key, sig.sigBytes);
}
