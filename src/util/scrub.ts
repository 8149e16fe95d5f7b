/**
 * The one secret scrubber (DESIGN §3, §8): what counts as a secret and how it is hidden, in one
 * module with one set of rules. Every output path of driftd — CLI stdout/stderr in every format,
 * pino log lines at every level, history/audit/status rows of the state DB, runtime exports, drift
 * reports and their diffs, `render`, HTTP answers, the status page, notifications — passes through
 * it. No other module hides a secret on its own; they only decide *which* keys or files of theirs
 * are secret (a service's env_file keys, a repo file's role) and call this module.
 *
 * Two ways a secret is found, one way it is shown:
 * - By key (`redactEnv`, `redactEnvLike`, `redactAssignments`, `redactFileContent`): the value of
 *   an env key that looks secret (SECRET_KEY_PATTERN) or that the caller marks secret (env_file
 *   keys) — used where the value itself is not known yet (an old revision's file, a live container).
 * - By value (`Scrubber`, `scrub`, `scrubValue`, `scrubText`, `scrubDeep`): every known secret
 *   value wherever it appears inside any string, and the password of any URL.
 * - Shown as `sha256:<first 12 hex>` of the value (`redactValue`), so a change is still visible.
 *
 * Value API (kept small on purpose; notifications and later outputs use the same three calls):
 * - `registerSecrets(values)`: adds values to the process's registry as soon as driftd reads
 *   them (host env files, env_file values, secret-keyed env values, Compose secret files,
 *   registry credentials, Git credentials, HTTP tokens, webhook URLs).
 * - `scrub(text)`: one string with every known secret (and every URL password) replaced.
 * - `scrubValue(value)`: a deep copy of any JSON-like value with every string scrubbed.
 * A `Scrubber` instance holds its own set (tests, or a per-stack view) with the same rules.
 *
 * Value rules:
 * - A known secret is replaced *wherever it appears inside any string* by `sha256:<12 hex>` of
 *   the value, so a change is still visible. Also replaced: its JSON-escaped form (once and twice:
 *   a JSON document inside a JSON log line), its URL-encoded form, and its base64 form (with and
 *   without padding) — each by the hash of the value itself.
 * - The password of any `scheme://user:password@host` URL is replaced whether known or not.
 * - Values shorter than MIN_SUBSTRING characters are replaced only where a whole string equals
 *   them ("1", "true" inside every message would make output unreadable and reveal nothing).
 * - A secret made only of digits is replaced only where no digit touches it (it must not split
 *   a timestamp or a port number).
 * - Not supported: a secret split across lines or otherwise transformed (hex, gzip, a base64
 *   block that starts mid-way). A multi-line secret file is registered whole and line by line.
 * - Idempotent: existing `sha256:<12 hex>` tokens are never rewritten.
 */
import { setOwn } from './dict.js';
import { sha256 } from './hash.js';

// ---------------------------------------------------------------- what a secret looks like

/** DESIGN §3: env keys that look like secrets. */
export const SECRET_KEY_PATTERN = /(pass|secret|token|key|credential|private)/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** "Is this key secret?": listed in `forced` (keys that came from an env_file), or secret-looking. */
export function secretKeyTest(forced: Iterable<string> = []): (key: string) => boolean {
  const listed = new Set(forced);
  return (key) => listed.has(key) || isSecretKey(key);
}

// ---------------------------------------------------------------- how a secret is shown

const TOKEN = 'sha256:[0-9a-f]{12}';
const TOKEN_ONLY = /^sha256:[0-9a-f]{12}$/;

/** A secret becomes `sha256:<first 12 hex>`, so a change is still visible but the value is not. */
export function redactValue(value: string): string {
  return `sha256:${sha256(value).slice(0, 12)}`;
}

/** True for a value already in `sha256:<12 hex>` form: redacting it again would hide equal values. */
export function isRedacted(value: string): boolean {
  return TOKEN_ONLY.test(value);
}

/** Redacts one value unless it already is redacted (a report that is redacted twice is unchanged). */
export function redactOnce(value: string): string {
  return isRedacted(value) ? value : redactValue(value);
}

// ---------------------------------------------------------------- secrets found by key

function redactEnvShape(value: unknown, isSecret: (key: string) => boolean, hide: (v: string) => string): unknown {
  if (Array.isArray(value)) {
    return value.map((entry: unknown) => {
      if (typeof entry !== 'string') return entry;
      const eq = entry.indexOf('=');
      if (eq <= 0) return entry;
      const k = entry.slice(0, eq);
      return isSecret(k) ? `${k}=${hide(entry.slice(eq + 1))}` : entry;
    });
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, typeof v === 'string' && isSecret(k) ? hide(v) : v);
    return out;
  }
  return value;
}

/**
 * Redacts an environment map: keys matching the secret pattern and keys listed in
 * `alwaysSecret` (values that came from an env_file) are replaced by their short hash. Every
 * value is hashed, even one that looks like a token (it is the real value here: `render`, live env).
 */
export function redactEnv(env: Record<string, string>, alwaysSecret: Iterable<string> = []): Record<string, string> {
  return redactEnvShape(env, secretKeyTest(alwaysSecret), redactValue) as Record<string, string>;
}

/**
 * Redacts the secret entries of an env map (`{KEY: value}`) or an env list (`["KEY=value"]`) of a
 * finding that may already be redacted (values in token form stay); other shapes pass through.
 */
export function redactEnvLike(value: unknown, isSecret: (key: string) => boolean): unknown {
  return redactEnvShape(value, isSecret, redactOnce);
}

/**
 * One assignment line: an optional diff marker, `export `, a YAML list dash, an optionally quoted
 * key, `=` or `:`, the value, trailing blanks. Covers `.env`/env_file lines, YAML `key: value` and
 * `- KEY=value`, INI `key = value`, and the same lines inside a unified diff.
 */
const ASSIGNMENT = /^([+\- ]?\s*(?:export\s+)?(?:-\s+)?["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?\s*[=:][ \t]*)(.*?)(\s*)$/;
/** A pure interpolation reference (`${DB_PASSWORD}`) is not a value and stays readable. */
const INTERPOLATION = /^["']?\$\{?[A-Za-z_][A-Za-z0-9_]*[^}]*\}?["']?$/;

function redactAssignmentLine(line: string, isSecret: (key: string) => boolean): string {
  if (line.startsWith('+++') || line.startsWith('---') || line.trimStart().startsWith('#')) return line;
  const m = ASSIGNMENT.exec(line);
  if (!m) return line;
  const [, lead = '', key = '', sep = '', value = '', trail = ''] = m;
  if (value === '' || !isSecret(key) || isRedacted(value) || INTERPOLATION.test(value)) return line;
  return `${lead}${key}${sep}${redactValue(value)}${trail}`;
}

/**
 * Redacts the values of secret keys in env-file or YAML lines of a text (file content, or a
 * unified diff of `.env`/compose files, whose old values are in no registry: found by key).
 */
export function redactAssignments(text: string, isSecret: (key: string) => boolean): string {
  return text
    .split('\n')
    .map((line) => redactAssignmentLine(line, isSecret))
    .join('\n');
}

/**
 * The role of a repo file for redaction (the caller classifies; drift/file-secrecy.ts):
 * - `secret-file`: a file-based Compose secret: every line is secret.
 * - `env-file`: an `env_file:` of some service (or named like one): every value is secret.
 * - `dotenv`: the stack's `.env` (interpolation): values of secret keys (secret-looking, or from an env_file).
 * - `plain`: anything else: `key: value` / `KEY=value` lines with such keys.
 */
export type FileSecrecy = 'secret-file' | 'env-file' | 'dotenv' | 'plain';

/**
 * A repo file's content with its secrets hidden before it is diffed (revision-behind), so a diff
 * shows *that* a secret changed (its short hash changes) but never the secret: by role and key
 * first, then every known value of the stack (`known`) anywhere in the text.
 */
export function redactFileContent(content: string, secrecy: FileSecrecy, isSecret: (key: string) => boolean, known: Scrubber): string {
  const byKey =
    secrecy === 'secret-file'
      ? content
          .split('\n')
          .map((line) => (line.trim() === '' ? line : redactValue(line)))
          .join('\n')
      : redactAssignments(content, secrecy === 'env-file' ? () => true : isSecret);
  return known.text(byKey);
}

// ---------------------------------------------------------------- secrets found by value

export const MIN_SUBSTRING = 6;

/** `scheme://user:password@`: the password runs from the first ':' after the user to the '@' before the host. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*:)([^\s/@"'`]+)@/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function jsonEscaped(v: string): string {
  return JSON.stringify(v).slice(1, -1);
}

/** The encodings of `v` that are replaced too (see the rules above). */
function variants(v: string): string[] {
  const b64 = Buffer.from(v, 'utf8').toString('base64');
  return [v, jsonEscaped(v), jsonEscaped(jsonEscaped(v)), encodeURIComponent(v), b64, b64.replace(/=+$/, '')];
}

export class Scrubber {
  readonly #values = new Set<string>();
  /** Every variant → the token of the value it encodes. */
  readonly #tokens = new Map<string, string>();
  #pattern: RegExp | undefined | null;

  /** Registers secret values; empty strings, undefined and existing tokens are ignored. */
  add(values: Iterable<string | undefined | null>): this {
    for (const v of values) {
      if (v === undefined || v === null || v === '' || this.#values.has(v) || TOKEN_ONLY.test(v)) continue;
      this.#values.add(v);
      const token = redactValue(v);
      for (const form of variants(v)) if (!this.#tokens.has(form)) this.#tokens.set(form, token);
      this.#pattern = undefined;
      // A multi-line secret (a secret file) is also replaced line by line.
      if (v.includes('\n')) this.add(v.split(/\r?\n/).map((l) => l.trim()));
    }
    return this;
  }

  /** How many secret values are registered. */
  get size(): number {
    return this.#values.size;
  }

  has(value: string): boolean {
    return this.#values.has(value);
  }

  #regex(): RegExp | null {
    if (this.#pattern !== undefined) return this.#pattern;
    const long = [...this.#tokens.keys()].filter((v) => v.length >= MIN_SUBSTRING).sort((a, b) => b.length - a.length);
    // Existing tokens first (kept as they are), then the longest secret at each position.
    this.#pattern =
      long.length === 0
        ? null
        : new RegExp(`${TOKEN}|${long.map((v) => (/^\d+$/.test(v) ? `(?<!\\d)${v}(?!\\d)` : escapeRegExp(v))).join('|')}`, 'g');
    return this.#pattern;
  }

  /** One string with URL passwords and every known secret replaced. */
  text(input: string): string {
    if (input.length < MIN_SUBSTRING) {
      const whole = this.#tokens.get(input);
      if (whole !== undefined) return whole;
    }
    let out = input.includes('://') ? input.replace(URL_PASSWORD, (_m, lead: string, pw: string) => `${lead}${TOKEN_ONLY.test(pw) ? pw : redactValue(pw)}@`) : input;
    const re = this.#regex();
    if (re) out = out.replace(re, (m) => this.#tokens.get(m) ?? m);
    return out;
  }

  /**
   * A deep copy of `value` with every string scrubbed. Object keys are kept as they are (they are
   * names, not values; `__proto__` stays data); an Error becomes `{ name, message, stack }`.
   */
  deep<T>(value: T): T {
    return this.#deep(value, 0) as T;
  }

  #deep(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object' || depth > 64) return value;
    if (Array.isArray(value)) return value.map((v) => this.#deep(v, depth + 1));
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    if (value instanceof Error) {
      const e: Record<string, unknown> = { name: value.name, message: this.text(value.message) };
      if (value.stack) e.stack = this.text(value.stack);
      for (const [k, v] of Object.entries(value)) if (!(k in e)) e[k] = this.#deep(v, depth + 1);
      return e;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: this.#deep(v, depth + 1), enumerable: true, writable: true, configurable: true });
    return out;
  }
}

const cache = new WeakMap<readonly string[], Scrubber>();

/**
 * A scrubber for one fixed list of values (a report's or a stack's own secrets), cached per list.
 * The same rules as the process's registry; callers that print also pass through `scrub`.
 */
export function secretScrubber(values: readonly string[]): Scrubber {
  let s = cache.get(values);
  if (!s) {
    s = new Scrubber().add(values);
    cache.set(values, s);
  }
  return s;
}

/** `text` with the given values (and URL passwords) replaced. */
export function scrubText(text: string, values: readonly string[]): string {
  return secretScrubber(values).text(text);
}

/** A deep copy of `value` with the given values (and URL passwords) replaced in every string. */
export function scrubDeep<T>(value: T, values: readonly string[]): T {
  return secretScrubber(values).deep(value);
}

/** The process's registry: every secret driftd has read so far. */
const processSecrets = new Scrubber();

/** Adds secrets to the process's registry (see the module comment for what counts). */
export function registerSecrets(values: Iterable<string | undefined | null>): void {
  processSecrets.add(values);
}

/** Also registers the password (and a token in the user part, as GitHub's `x-access-token:<t>@` has) of a URL. */
export function registerUrlSecrets(url: string | undefined): void {
  if (!url) return;
  try {
    const u = new URL(url);
    registerSecrets([decodeURIComponent(u.password), u.password]);
  } catch {
    // not a URL: nothing to register (scrub() still hides any user:password@ it prints)
  }
}

/** One string scrubbed with the process's registry. */
export function scrub(text: string): string {
  return processSecrets.text(text);
}

/** A deep copy of any value, every string scrubbed with the process's registry. */
export function scrubValue<T>(value: T): T {
  return processSecrets.deep(value);
}

/** Registered secrets, for tests and the secret-value index of reports. */
export function knownSecretCount(): number {
  return processSecrets.size;
}
