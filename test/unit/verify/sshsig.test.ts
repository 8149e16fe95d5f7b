/**
 * The SSHSIG parser and verifier against vectors made by `ssh-keygen -Y sign -n git` (fixtures/,
 * regenerate with the commands in fixtures/README.md), plus hostile blobs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSshTrustLine } from '../../../src/verify/keys.js';
import { verifySsh } from '../../../src/verify/object.js';
import { parseSshPublicKey, parseSshSignature, sshFingerprint, SshFormatError, verifySshSignature } from '../../../src/verify/sshsig.js';

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures');
const fixture = (name: string): string => readFileSync(path.join(dir, name), 'utf8');
const message = Buffer.from(fixture('message.txt'));
const TYPES = [
  ['ed25519', 'ssh-ed25519', 'ssh-ed25519'],
  ['ecdsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256'],
  ['rsa', 'ssh-rsa', 'rsa-sha2-512'],
] as const;

function reblob(armored: string, edit: (blob: Buffer) => Buffer): string {
  const body = armored.replace(/-----(BEGIN|END) SSH SIGNATURE-----/g, '').replace(/\s+/g, '');
  const b64 = edit(Buffer.from(body, 'base64')).toString('base64');
  return `-----BEGIN SSH SIGNATURE-----\n${b64.match(/.{1,70}/g)!.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

describe('SSHSIG from ssh-keygen -Y sign -n git', () => {
  for (const [name, keyType, sigAlgorithm] of TYPES) {
    it(`${name}: parses, names the key by ssh-keygen's fingerprint, verifies, and rejects a changed message`, () => {
      const sig = parseSshSignature(fixture(`${name}.sig`));
      expect(sig).toMatchObject({ version: 1, namespace: 'git', hashAlgorithm: 'sha512', sigAlgorithm });
      const pubBlob = Buffer.from(fixture(`${name}.pub`).split(' ')[1]!, 'base64');
      expect(sig.publicKey.equals(pubBlob)).toBe(true);
      expect(parseSshPublicKey(pubBlob).type).toBe(keyType);
      expect(sshFingerprint(sig.publicKey)).toBe(fixture(`${name}.fpr`).trim());
      expect(verifySshSignature(sig, message, 'git')).toBe(true);
      expect(verifySshSignature(sig, Buffer.concat([message, Buffer.from(' ')]), 'git')).toBe(false);
      expect(verifySshSignature(sig, message, 'file')).toBe(false);
    });
  }

  it('a signature made for another namespace ("file") is not a Git signature', () => {
    const sig = parseSshSignature(fixture('ed25519-file-namespace.sig'));
    expect(sig.namespace).toBe('file');
    const trust = parseSshTrustLine(`ops@example ${fixture('ed25519.pub').trim()}`, 'allowed_signers:1');
    expect(verifySsh({ payload: message }, fixture('ed25519-file-namespace.sig'), [trust])).toMatchObject({ ok: false, reason: 'bad-signature', message: expect.stringMatching(/namespace "file"/) });
  });

  it('verifySsh: trusted key → ok with principal; key not listed → unknown-key with its fingerprint', () => {
    const trust = parseSshTrustLine(`ops@example namespaces="git" ${fixture('ecdsa.pub').trim()}`, 'allowed_signers:1');
    expect(verifySsh({ payload: message }, fixture('ecdsa.sig'), [trust])).toEqual({ ok: true, kind: 'ssh', signer: { fingerprint: fixture('ecdsa.fpr').trim(), principal: 'ops@example' } });
    expect(verifySsh({ payload: message }, fixture('rsa.sig'), [trust])).toMatchObject({ ok: false, reason: 'unknown-key', fingerprint: fixture('rsa.fpr').trim() });
  });

  it('allowed_signers options: namespaces without git, and valid-before in the past, do not trust the key for this signature', () => {
    const line = (opts: string) => parseSshTrustLine(`ops@example ${opts} ${fixture('ed25519.pub').trim()}`, 'allowed_signers:1');
    expect(verifySsh({ payload: message }, fixture('ed25519.sig'), [line('namespaces="file"')])).toMatchObject({ ok: false, reason: 'expired-key' });
    expect(verifySsh({ payload: message, timestamp: 1_700_000_000 }, fixture('ed25519.sig'), [line('valid-before=20200101')])).toMatchObject({ ok: false, reason: 'expired-key' });
    expect(verifySsh({ payload: message, timestamp: 1_700_000_000 }, fixture('ed25519.sig'), [line('valid-after=20200101,valid-before=20300101')])).toMatchObject({ ok: true });
    expect(() => line('cert-authority')).toThrow(/cert-authority/);
    expect(() => line('bogus=1')).toThrow(/unknown option/);
  });

  it('a .pub line trusts the key with its comment as principal; a key whose type lies is refused', () => {
    const pub = fixture('rsa.pub').trim();
    expect(parseSshTrustLine(pub, 'k.pub:1').principal).toBe('rsa@fixture');
    const [, b64] = pub.split(' ');
    expect(() => parseSshTrustLine(`ssh-ed25519 ${b64}`, 'k.pub:1')).toThrow(/holds a ssh-rsa key/);
  });
});

describe('hostile SSHSIG input', () => {
  const good = fixture('ed25519.sig');

  it('refuses missing armor, bad base64, wrong magic, other versions, trailing data and truncation', () => {
    expect(() => parseSshSignature('hello')).toThrow(SshFormatError);
    expect(() => parseSshSignature('-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----')).toThrow(/base64/);
    expect(() => parseSshSignature(good.replace('-----END SSH SIGNATURE-----', ''))).toThrow(/END/);
    expect(() => parseSshSignature(`${good}junk`)).toThrow(/after the END/);
    expect(() => parseSshSignature(reblob(good, (b) => Buffer.concat([Buffer.from('SSHSIX'), b.subarray(6)])))).toThrow(/magic/);
    expect(() => parseSshSignature(reblob(good, (b) => { const c = Buffer.from(b); c.writeUInt32BE(2, 6); return c; }))).toThrow(/version 2/);
    expect(() => parseSshSignature(reblob(good, (b) => Buffer.concat([b, Buffer.from([0])])))).toThrow(/trailing/);
    expect(() => parseSshSignature(reblob(good, (b) => b.subarray(0, b.length - 10)))).toThrow(/truncated/);
  });

  it('a length field claiming gigabytes is refused before any allocation', () => {
    expect(() => parseSshSignature(reblob(good, (b) => { const c = Buffer.from(b); c.writeUInt32BE(0xfffffff0, 10); return c; }))).toThrow(SshFormatError);
  });

  it('a flipped signature byte fails verification; a swapped public key fails too', () => {
    const flipped = parseSshSignature(good);
    flipped.sigBytes[5]! ^= 0x01;
    expect(verifySshSignature(flipped, message, 'git')).toBe(false);
    const other = parseSshSignature(good);
    other.publicKey = parseSshSignature(fixture('ecdsa.sig')).publicKey;
    expect(verifySshSignature(other, message, 'git')).toBe(false);
  });

  it('unsupported key types and SHA-1 RSA signatures are refused', () => {
    const dss = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-dss')]);
    expect(() => parseSshPublicKey(dss)).toThrow(/not supported/);
    const rsa = parseSshSignature(fixture('rsa.sig'));
    expect(verifySshSignature({ ...rsa, sigAlgorithm: 'ssh-rsa' }, message, 'git')).toBe(false);
  });
});
