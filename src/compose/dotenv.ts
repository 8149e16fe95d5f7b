/**
 * `.env` / env_file syntax as Compose reads it (compose-go's dotenv parser): `KEY=value`,
 * `KEY: value`, `export KEY=value`, comments, inline ` #` comments on unquoted values, single
 * quotes (literal), double quotes (escapes like \n, \t, \0123, then `${}` interpolation),
 * unquoted values (interpolated), and bare `KEY` lines that inherit a value from the lookup.
 */
import { substitute, type Lookup, type SubstituteOptions } from './template.js';
import { describeError } from '../errors/index.js';

export class DotenvError extends Error {
  constructor(
    readonly line: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const EXPORT_PREFIX = /^export\s+/;
const ESCAPE_SEQ = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Go's unicode.IsSpace. */
function isUnicodeSpace(ch: string): boolean {
  return /^[\s\u0085]$/u.test(ch);
}

/** Whitespace but not a line break (the parser's own notion). */
function isInlineSpace(ch: string): boolean {
  return ch === '\t' || ch === '\v' || ch === '\f' || ch === '\r' || ch === ' ' || ch === '\u0085' || ch === '\u00a0';
}

function isKeyChar(ch: string): boolean {
  return ch === '_' || ch === '.' || ch === '-' || ch === '[' || ch === ']' || /^[\p{L}\p{N}]$/u.test(ch);
}

function trimLeftInline(s: string): string {
  let i = 0;
  while (i < s.length && isInlineSpace(s[i] as string)) i++;
  return s.slice(i);
}

function trimRightUnicode(s: string): string {
  let end = s.length;
  while (end > 0 && isUnicodeSpace(s[end - 1] as string)) end--;
  return s.slice(0, end);
}

function expandEscapes(s: string): string {
  return s.replace(ESCAPE_SEQ, (m) => {
    if (m === '\\$') return '$$';
    if (m.startsWith('\\0')) {
      // XSI echo octal: exactly three octal digits after "\0", else left as written.
      const digits = m.slice(2);
      if (!/^[0-7]{3}$/.test(digits)) return m;
      const code = parseInt(digits, 8);
      return code > 255 ? m : String.fromCharCode(code);
    }
    return SIMPLE_ESCAPES[m.slice(1)] ?? m;
  });
}

class Parser {
  line = 1;

  constructor(
    private readonly out: Map<string, string>,
    private readonly lookup: Lookup,
    private readonly subst: SubstituteOptions,
  ) {}

  parse(src: string): void {
    let rest = src;
    for (;;) {
      rest = this.statementStart(rest);
      if (rest === '') return;
      const { key, after, inherited } = this.keyName(rest);
      if (key.includes(' ')) throw new DotenvError(this.line, `line ${this.line}: key cannot contain a space`);
      if (inherited) {
        const value = this.lookup(key);
        if (value !== undefined) this.out.set(key, value);
        rest = after;
        continue;
      }
      const { value, after: next } = this.value(after);
      this.out.set(key, value);
      rest = next;
    }
  }

  /** Skips blank space and comment lines. */
  private statementStart(src: string): string {
    let s = src;
    for (;;) {
      let i = 0;
      while (i < s.length && isUnicodeSpace(s[i] as string)) {
        if (s[i] === '\n') this.line++;
        i++;
      }
      if (i === s.length) return '';
      s = s.slice(i);
      if (s[0] !== '#') return s;
      const nl = s.indexOf('\n');
      if (nl < 0) return '';
      s = s.slice(nl);
    }
  }

  private keyName(src: string): { key: string; after: string; inherited: boolean } {
    let s = src;
    if (EXPORT_PREFIX.test(s)) s = trimLeftInline(s.slice('export'.length));
    for (let i = 0; i < s.length; i++) {
      const ch = s[i] as string;
      if (isInlineSpace(ch)) continue;
      if (ch === '=' || ch === ':' || ch === '\n') {
        const inherited = ch === '\n';
        const key = trimRightUnicode(s.slice(0, i));
        if (inherited && !key.includes(' ')) this.line++;
        return { key, after: trimLeftInline(s.slice(i + 1)), inherited };
      }
      if (!isKeyChar(ch)) {
        const firstLine = s.split('\n')[0] ?? '';
        throw new DotenvError(this.line, `line ${this.line}: unexpected character ${JSON.stringify(ch)} in variable name ${JSON.stringify(firstLine)}`);
      }
    }
    // A bare name on the last line, without a newline: inherited, like one followed by "\n".
    return { key: trimRightUnicode(s), after: '', inherited: true };
  }

  private expand(value: string, line: number): string {
    const lookup: Lookup = (k) => this.lookup(k) ?? this.out.get(k);
    try {
      return substitute(value, lookup, this.subst);
    } catch (e) {
      throw new DotenvError(line, `line ${line}: ${describeError(e)}`, { cause: e });
    }
  }

  private value(src: string): { value: string; after: string } {
    const quote = src[0];
    if (quote !== '"' && quote !== "'") {
      const nl = src.indexOf('\n');
      let value = nl < 0 ? src : src.slice(0, nl);
      const after = nl < 0 ? '' : src.slice(nl + 1);
      const comment = value.indexOf(' #');
      if (comment >= 0) value = value.slice(0, comment);
      const expanded = this.expand(trimRightUnicode(value), this.line);
      this.line++;
      return { value: expanded, after };
    }
    const startLine = this.line;
    let escaped = false;
    let chars = '';
    for (let i = 1; i < src.length; i++) {
      const ch = src[i] as string;
      if (ch === '\n') this.line++;
      if (ch !== quote) {
        if (!escaped && ch === '\\') {
          escaped = true;
          continue;
        }
        if (escaped) {
          escaped = false;
          chars += '\\';
        }
        chars += ch;
        continue;
      }
      if (escaped) {
        escaped = false;
        chars += ch;
        continue;
      }
      if (quote === '"') chars = this.expand(expandEscapes(chars), startLine);
      return { value: chars, after: src.slice(i + 1) };
    }
    const nl = src.indexOf('\n');
    throw new DotenvError(startLine, `line ${startLine}: unterminated quoted value ${nl < 0 ? src : src.slice(0, nl)}`);
  }
}

/**
 * Parses env-file text into `into` (later keys win). Interpolation inside values looks up
 * `lookup` first, then the values already in `into`, like compose-go.
 */
export function parseDotenv(text: string, lookup: Lookup = () => undefined, into: Map<string, string> = new Map(), subst: SubstituteOptions = {}): Map<string, string> {
  const src = text.startsWith('\uFEFF') ? text.slice(1) : text;
  new Parser(into, lookup, subst).parse(src);
  return into;
}
