/**
 * The one secret scrubber (DESIGN §3, §8): known secret values are replaced *wherever they appear
 * inside any string* by `sha256:<first 12 hex>`, and the password of any
 * `scheme://user:password@host` URL is replaced whether it is known or not.
 *
 * Short values: a value of at least MIN_SUBSTRING characters is replaced inside any text; a
 * shorter one ("1", "true") only where a whole string equals it (replacing every "1" inside
 * every message would make output unreadable and would reveal nothing anyway).
 * Scrubbing is idempotent: `sha256:<12 hex>` tokens are never rewritten, so scrubbing twice is
 * stable even when a secret is made of hex digits.
 */
import { redactValue } from './redact.js';

export const MIN_SUBSTRING = 6;

const TOKEN = 'sha256:[0-9a-f]{12}';
/** `scheme://user:password@` — the password is everything between the first ':' after the user and the last '@' before the host. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*:)([^\s/@"'`]+)@/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Scrubber {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;
  #hashes = new Map<string, string>();

  /** Registers secret values (empty strings are ignored). */
  add(values: Iterable<string>): this {
    for (const v of values) {
      if (v === '' || this.#values.has(v)) continue;
      this.#values.add(v);
      this.#pattern = undefined;
      // The JSON-escaped form too, so serialized output (log lines) is scrubbed as well.
      const escaped = JSON.stringify(v).slice(1, -1);
      if (escaped !== v) this.#hashes.set(escaped, redactValue(v));
      this.#hashes.set(v, redactValue(v));
    }
    return this;
  }

  get size(): number {
    return this.#values.size;
  }

  #regex(): RegExp | undefined {
    if (this.#pattern) return this.#pattern;
    const long = [...this.#hashes.keys()].filter((v) => v.length >= MIN_SUBSTRING).sort((a, b) => b.length - a.length);
    if (long.length === 0) return undefined;
    // Existing tokens first (kept as they are), then the longest secret at each position.
    this.#pattern = new RegExp(`${TOKEN}|${long.map(escapeRegExp).join('|')}`, 'g');
    return this.#pattern;
  }

  /** Scrubs one string: URL passwords, known values inside it, a short value only when it is the whole string. */
  text(input: string): string {
    if (input.length < MIN_SUBSTRING && this.#hashes.has(input)) return this.#hashes.get(input) ?? input;
    let out = input.includes('://') ? input.replace(URL_PASSWORD, (_m, lead: string, pw: string) => `${lead}${/^sha256:[0-9a-f]{12}$/.test(pw) ? pw : redactValue(pw)}@`) : input;
    const re = this.#regex();
    if (re) out = out.replace(re, (m) => this.#hashes.get(m) ?? m);
    return out;
  }

  /** A deep copy of `value` with every string scrubbed (object keys are kept). */
  deep<T>(value: T): T {
    return this.#deep(value) as T;
  }

  #deep(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.#deep(v));
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: this.#deep(v), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return value;
  }
}

/**
 * Every secret this process has seen (host env files, env_files, secret-keyed env values, Git
 * credentials): the last line of defence of every output path — log lines, CLI output, history
 * and audit rows, HTTP answers.
 */
export const processSecrets = new Scrubber();

/** Scrubs with the process's secrets (`scrub(x)` for strings and structures). */
export function scrub<T>(value: T): T {
  return processSecrets.deep(value);
}
