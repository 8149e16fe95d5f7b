/**
 * Real signing keys for tests, made by the real tools: gpg in a throwaway GNUPGHOME (batch,
 * %no-protection) and ssh-keygen. Every helper runs the tool with an argument array.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface GpgKey {
  home: string;
  fingerprint: string;
  /** The fingerprint of the signing subkey, when the key has one. */
  subkey?: string;
  email: string;
  /** Armored public key (what goes into verify.keys). */
  publicKey: string;
}

export interface SshKey {
  /** Private key file: user.signingkey for `gpg.format=ssh`. */
  file: string;
  /** The .pub line. */
  pub: string;
  fingerprint: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): string {
  return execFileSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

const gpgHomes = new Set<string>();

/**
 * gpg starts a gpg-agent per GNUPGHOME that outlives the test file: a file that makes keys calls
 * this in its afterAll to stop each agent and remove the homes.
 */
export function stopGpgAgents(): void {
  for (const home of gpgHomes) {
    spawnSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore', timeout: 30_000 });
    rmSync(home, { recursive: true, force: true });
  }
  gpgHomes.clear();
}

export function gpgEnv(home: string): NodeJS.ProcessEnv {
  return { GNUPGHOME: home };
}

/**
 * A fresh primary key (certify+sign) in its own GNUPGHOME. `expire` is gpg's expiry ("0" none, "1d"…,
 * or "seconds=N"); `fakedTime` (epoch seconds) makes gpg believe it is that time while creating it.
 */
export function gpgKey(opts: { email?: string; expire?: string; fakedTime?: number; signingSubkey?: boolean } = {}): GpgKey {
  const home = tempDir('driftd-gnupg-');
  gpgHomes.add(home);
  const email = opts.email ?? `signer-${Math.random().toString(16).slice(2, 8)}@example.test`;
  const faked = opts.fakedTime !== undefined ? ['--faked-system-time', `${opts.fakedTime}!`] : [];
  const g = (args: string[]) => run('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', ...faked, ...args], gpgEnv(home));
  g(['--quick-generate-key', email, 'ed25519', opts.signingSubkey ? 'cert' : 'sign,cert', opts.expire ?? '0']);
  const fingerprint = fingerprints(home)[0]!;
  let subkey: string | undefined;
  if (opts.signingSubkey) {
    g(['--quick-add-key', fingerprint, 'ed25519', 'sign', opts.expire ?? '0']);
    subkey = fingerprints(home)[1];
  }
  const publicKey = run('gpg', ['--batch', '--armor', '--export', fingerprint], gpgEnv(home));
  return { home, fingerprint, ...(subkey ? { subkey } : {}), email, publicKey };
}

/** Primary and subkey fingerprints, in order. */
export function fingerprints(home: string): string[] {
  const out = run('gpg', ['--batch', '--with-colons', '--list-keys'], gpgEnv(home));
  return out
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
}

/** Revokes a subkey (gpg --quick-revoke-sig does not exist for subkeys: --edit-key with a command file). */
export function revokeSubkey(key: GpgKey): string {
  run('gpg', ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--command-fd', '0', '--status-fd', '2', '--edit-key', key.fingerprint], gpgEnv(key.home), 'key 1\nrevkey\ny\n0\n\ny\nsave\n');
  return run('gpg', ['--batch', '--armor', '--export', key.fingerprint], gpgEnv(key.home));
}

export function sshKey(type: 'ed25519' | 'ecdsa' | 'rsa', comment = `${type}@example.test`): SshKey {
  const dir = tempDir('driftd-ssh-');
  const file = path.join(dir, `id_${type}`);
  const bits = type === 'rsa' ? ['-b', '3072'] : type === 'ecdsa' ? ['-b', '256'] : [];
  run('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', comment, '-f', file]);
  const pub = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]).split(' ')[1]!;
  return { file, pub, fingerprint };
}

/** `ssh-keygen -Y sign -n <namespace>` over `data`: the armored SSHSIG. */
export function sshSign(key: SshKey, data: string | Buffer, namespace = 'git'): string {
  const dir = tempDir('driftd-sshsig-');
  try {
    const file = path.join(dir, 'data');
    writeFileSync(file, data);
    run('ssh-keygen', ['-Y', 'sign', '-q', '-f', key.file, '-n', namespace, file]);
    return readFileSync(`${file}.sig`, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** git -c options that sign with this key (tags with `tag -s`, commits with `commit -S`). */
export function signingConfig(key: GpgKey | SshKey): string[] {
  if ('home' in key) return ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${key.fingerprint}`];
  return ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.file}`];
}

/** Environment for a git command that signs with `key` (GNUPGHOME for gpg keys). */
export function signingEnv(key: GpgKey | SshKey): NodeJS.ProcessEnv {
  return 'home' in key ? gpgEnv(key.home) : {};
}
