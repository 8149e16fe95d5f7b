/**
 * The one secret scrubber (DESIGN §3, §8). Every output path of driftd — CLI stdout/stderr in
 * every format, pino log lines at every level, history/audit/status rows of the state DB,
 * runtime exports, drift reports, HTTP answers, notifications — passes through it.
 *
 * API (kept small on purpose; notifications and later outputs use the same three calls):
 * - `registerSecrets(values)`: adds values to the process's registry as soon as driftd reads
 *   them (host env files, env_file values, secret-keyed env values, Compose secret files,
 *   registry credentials, Git credentials, HTTP tokens, webhook URLs).
 * - `scrub(text)`: one string with every known secret (and every URL password) replaced.
 * - `scrubValue(value)`: a deep copy of any JSON-like value with every string scrubbed.
 * A `Scrubber` instance holds its own set (tests, or a per-stack view) with the same rules.
 *
 * Rules:
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
import { redactValue } from './redact.js';

export const MIN_SUBSTRING = 6;

const TOKEN = 'sha256:[0-9a-f]{12}';
const TOKEN_ONLY = /^sha256:[0-9a-f]{12}$/;
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
