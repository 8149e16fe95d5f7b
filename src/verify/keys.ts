/**
 * The trusted keys (`verify.keys`): files or folders holding armored OpenPGP keys (`.asc`),
 * SSH public key lines (`.pub`) and `allowed_signers` files in the format of Git's
 * `gpg.ssh.allowedSignersFile` (`principals [options] keytype base64 [comment]`).
 *
 * Reading the files is cheap and done on every check: their digest is part of the verdict
 * cache key, so adding or removing a key re-verifies. Parsing (OpenPGP especially) is done only
 * when a verdict is not cached.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type * as openpgp from 'openpgp';
import { readPgpKeys } from './openpgp.js';
import { parseSshPublicKey, sshFingerprint, type SshPublicKey } from './sshsig.js';
import { describeError, errnoCode } from '../errors/index.js';

export interface KeyFile {
  path: string;
  text: string;
}

export interface KeyProblem {
  file: string;
  line?: number;
  message: string;
}

export interface SshTrust {
  key: SshPublicKey;
  fingerprint: string;
  /** allowed_signers principals (comma-separated as written), or the .pub comment. */
  principal?: string;
  /** allowed_signers `namespaces=`: when set, "git" must be among them. */
  namespaces?: string[];
  /** allowed_signers `valid-after=` / `valid-before=` as epoch seconds, checked against the object's tagger/committer time. */
  validAfter?: number;
  validBefore?: number;
  source: string;
}

export interface Keyring {
  pgp: openpgp.PublicKey[];
  ssh: SshTrust[];
  problems: KeyProblem[];
}

const MAX_KEY_FILE = 1024 * 1024;
const PGP_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;
const SSH_KEY_TYPE = /^(ssh-|ecdsa-sha2-|sk-)/;

function isKeyFileName(name: string): boolean {
  return name.endsWith('.asc') || name.endsWith('.pub') || name.endsWith('allowed_signers');
}

/** Reads the configured files and folders (a folder: its .asc, .pub and *allowed_signers files, sorted). */
export function readKeyFiles(paths: readonly string[]): { files: KeyFile[]; problems: KeyProblem[] } {
  const files: KeyFile[] = [];
  const problems: KeyProblem[] = [];
  const readOne = (file: string): void => {
    try {
      const size = statSync(file).size;
      if (size > MAX_KEY_FILE) {
        problems.push({ file, message: `key file is larger than ${MAX_KEY_FILE} bytes` });
        return;
      }
      files.push({ path: file, text: readFileSync(file, 'utf8') });
    } catch (e) {
      problems.push({ file, message: `cannot read key file: ${describeError(e)}` });
    }
  };
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch (e) {
      problems.push({ file: p, message: `cannot read key file or folder: ${errnoCode(e) ?? describeError(e)}` });
      continue;
    }
    if (!isDir) {
      readOne(p);
      continue;
    }
    const names = readdirSync(p).filter(isKeyFileName).sort();
    if (names.length === 0) problems.push({ file: p, message: 'key folder holds no .asc, .pub or allowed_signers file' });
    for (const name of names) readOne(path.join(p, name));
  }
  return { files, problems };
}

/** Identifies the key set: part of the verdict cache key. */
export function keyringDigest(files: readonly KeyFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`${f.path}\0${f.text}\0`);
  return h.digest('hex');
}

/** Splits an allowed_signers line into tokens; double-quoted parts (options values) may hold spaces. */
function tokenize(line: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    if (!quoted && /\s/.test(c)) {
      if (current) tokens.push(current);
      current = '';
    } else current += c;
  }
  if (quoted) throw new Error('unterminated quote');
  if (current) tokens.push(current);
  return tokens;
}

function parseOptions(text: string): Pick<SshTrust, 'namespaces' | 'validAfter' | 'validBefore'> & { certAuthority: boolean } {
  const out: Pick<SshTrust, 'namespaces' | 'validAfter' | 'validBefore'> & { certAuthority: boolean } = { certAuthority: false };
  const parts = text.match(/(?:[^,"]|"[^"]*")+/g) ?? [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? '' : part.slice(eq + 1).replace(/^"|"$/g, '');
    if (name === 'cert-authority') out.certAuthority = true;
    else if (name === 'namespaces') out.namespaces = value.split(',').map((s) => s.trim());
    else if (name === 'valid-after' || name === 'valid-before') {
      const t = sshTime(value);
      if (t === undefined) throw new Error(`${name} "${value}" is not a YYYYMMDD[HHMM[SS]][Z] time`);
      if (name === 'valid-after') out.validAfter = t;
      else out.validBefore = t;
    } else throw new Error(`unknown option "${name}"`);
  }
  return out;
}

/** ssh-keygen's time format: YYYYMMDD[HHMM[SS]], local time unless it ends in Z (UTC is assumed here: hosts run UTC). */
function sshTime(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?Z?$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000;
}

/** One `.pub` or allowed_signers line → a trust entry. Throws with the reason. */
export function parseSshTrustLine(line: string, source: string): SshTrust {
  const tokens = tokenize(line);
  let i = 0;
  let principal: string | undefined;
  let options: ReturnType<typeof parseOptions> = { certAuthority: false };
  if (!SSH_KEY_TYPE.test(tokens[0] ?? '')) {
    principal = tokens[i++];
    if (!SSH_KEY_TYPE.test(tokens[i] ?? '')) options = parseOptions(tokens[i++] ?? '');
  }
  const type = tokens[i++];
  const b64 = tokens[i++];
  if (!type || !SSH_KEY_TYPE.test(type) || !b64) throw new Error('expected "[principals [options]] keytype base64-key [comment]"');
  if (options.certAuthority) throw new Error('cert-authority lines are not supported; list the signing keys themselves');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('the key is not valid base64');
  const key = parseSshPublicKey(Buffer.from(b64, 'base64'));
  if (key.type !== type) throw new Error(`the key says it is ${type} but holds a ${key.type} key`);
  const comment = tokens.slice(i).join(' ');
  const { certAuthority: _ca, ...rest } = options;
  return { key, fingerprint: sshFingerprint(key.blob), ...((principal ?? comment) ? { principal: principal ?? comment } : {}), ...rest, source };
}

/** Parses the files: every key that parses is trusted; every line or block that does not is a problem. */
export async function parseKeyring(files: readonly KeyFile[], initialProblems: readonly KeyProblem[] = []): Promise<Keyring> {
  const keyring: Keyring = { pgp: [], ssh: [], problems: [...initialProblems] };
  for (const f of files) {
    const blocks = f.text.match(PGP_BLOCK) ?? [];
    for (const block of blocks) {
      try {
        const keys = await readPgpKeys(block);
        keyring.pgp.push(...keys.map((k) => (k.isPrivate() ? k.toPublic() : k)));
      } catch (e) {
        keyring.problems.push({ file: f.path, message: `OpenPGP key does not parse: ${describeError(e)}` });
      }
    }
    const rest = f.text.replace(PGP_BLOCK, (m) => '\n'.repeat(m.split('\n').length - 1));
    if (/-----BEGIN PGP/.test(rest)) {
      keyring.problems.push({ file: f.path, message: 'holds an OpenPGP block that is not a complete armored public key' });
      continue;
    }
    rest.split('\n').forEach((raw, index) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      try {
        keyring.ssh.push(parseSshTrustLine(line, `${f.path}:${index + 1}`));
      } catch (e) {
        keyring.problems.push({ file: f.path, line: index + 1, message: describeError(e) });
      }
    });
  }
  if (keyring.pgp.length === 0 && keyring.ssh.length === 0 && files.length > 0 && keyring.problems.length === 0) {
    keyring.problems.push({ file: files.map((f) => f.path).join(', '), message: 'no OpenPGP or SSH public key found' });
  }
  return keyring;
}
