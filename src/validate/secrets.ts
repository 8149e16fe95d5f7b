/**
 * Committed secrets: AWS access key ids and private key blocks in any file, and values of
 * secret-looking keys in committed env files. A finding names the file, the line and what was
 * found, never the value itself.
 */
import path from 'node:path';
import { parseDotenv } from '../compose/dotenv.js';
import { finding, lineOfOffset } from './finding.js';
import type { ValidateFinding } from './model.js';

const AWS_ACCESS_KEY_ID = /(?<![0-9A-Z])AKIA[0-9A-Z]{16}(?![0-9A-Z])/g;
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/g;
const SECRET_KEY = /PASSWORD|SECRET|TOKEN/i;
/** `POSTGRES_PASSWORD_FILE=/run/secrets/db` names a file, not a secret (the Docker image convention). */
const FILE_REFERENCE_KEY = /_FILE$/i;

/** AWS access key ids and private key blocks anywhere in a file. */
export function scanForSecrets(text: string, file: string): ValidateFinding[] {
  const out: ValidateFinding[] = [];
  for (const m of text.matchAll(AWS_ACCESS_KEY_ID)) {
    out.push(
      finding('secret-aws-key', 'error', file, lineOfOffset(text, m.index), 'an AWS access key id is committed here; revoke the key, remove it from the repo (and its history), and give it to the host outside Git'),
    );
  }
  for (const m of text.matchAll(PRIVATE_KEY_BLOCK)) {
    out.push(
      finding('secret-private-key', 'error', file, lineOfOffset(text, m.index), 'a private key block is committed here; replace the key, remove it from the repo (and its history), and mount it from the host'),
    );
  }
  return out;
}

/** Env files Compose reads: the stack's `.env` and `env_file`s named `*.env`. */
export function isEnvFile(file: string): boolean {
  const base = path.posix.basename(file);
  return base === '.env' || base.endsWith('.env');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Line of the last assignment of `key` (the one that wins). */
function lineOfAssignment(text: string, key: string): number | undefined {
  const re = new RegExp(`^[ \\t]*(?:export[ \\t]+)?${escapeRegExp(key)}[ \\t]*[=:]`, 'gm');
  let last: number | undefined;
  for (const m of text.matchAll(re)) last = m.index;
  return last === undefined ? undefined : lineOfOffset(text, last);
}

/**
 * Keys matching PASSWORD, SECRET or TOKEN with a non-empty value after interpolation against
 * nothing: a pure reference (`DB_PASSWORD=${DB_PASSWORD}`) resolves to "" and passes; a literal,
 * a placeholder such as `changeme` and a default (`${DB_PASSWORD:-hunter2}`) are reported,
 * because that is the value the stack gets when the host env file does not set the key.
 */
export function scanEnvFileSecrets(text: string, file: string): ValidateFinding[] {
  let values: Map<string, string>;
  try {
    values = parseDotenv(text);
  } catch {
    return []; // a syntax error in the env file is reported by the stack loader
  }
  const out: ValidateFinding[] = [];
  for (const [key, value] of values) {
    if (!SECRET_KEY.test(key) || FILE_REFERENCE_KEY.test(key) || value === '') continue;
    const stack = /^stacks\/([^/]+)\//.exec(file)?.[1] ?? '<stack>';
    out.push(
      finding(
        'secret-env-value',
        'error',
        file,
        lineOfAssignment(text, key),
        `${key} has a committed value; leave it empty here and set it in the host-local env file (<env-dir>/${stack}.env), which stays out of Git`,
      ),
    );
  }
  return out;
}
