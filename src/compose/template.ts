/**
 * Variable substitution exactly as the Compose specification (and compose-go's `template`
 * package, its reference implementation) does it: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
 * `${VAR:?msg}`, `${VAR?msg}`, `${VAR:+x}`, `${VAR+x}`, `$$`, with nested templates in defaults
 * and messages evaluated lazily (only when used).
 */

/** Returns the variable's value, or undefined when the variable is not set. */
export type Lookup = (name: string) => string | undefined;

export class InvalidTemplateError extends Error {
  constructor(readonly template: string) {
    // The template is a value: kept on the error for callers, never in the message.
    super('invalid interpolation format');
  }
}

export class MissingRequiredError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(reason ? `required variable ${variable} is missing a value: ${reason}` : `required variable ${variable} is missing a value`);
  }
}

export interface SubstituteOptions {
  /** Called for every `$VAR` / `${VAR}` that resolves to nothing (Compose warns and uses ""). */
  onMissing?: (name: string) => void;
}

// The same shape as compose-go's pattern: `$$`, `$name`, `${braced…}` or an invalid `${`.
// The braced group runs greedily to the last "}" on the line; the first balanced "}" is found
// afterwards (closingBrace) and whatever follows it is substituted on its own.
const PATTERN = /\$(?:(?<escaped>\$)|(?<named>[_a-z][_a-z0-9]*)|\{(?:(?<braced>[_a-z][_a-z0-9]*(?::?[-+?][^\n]*)?)\}|(?<invalid>)))/gi;
const NAME = /^[_a-z][_a-z0-9]*/i;

type Operator = ':?' | '?' | ':-' | '-' | ':+' | '+';

export function substitute(template: string, lookup: Lookup, opts: SubstituteOptions = {}): string {
  return template.replace(PATTERN, (match: string, ...args: unknown[]) => {
    const groups = args[args.length - 1] as Record<string, string | undefined>;
    if (groups.escaped !== undefined) return '$';
    if (groups.named !== undefined) return lookupOrBlank(groups.named, lookup, opts);
    if (groups.braced === undefined) throw new InvalidTemplateError(template);
    return substituteBraced(match, lookup, opts);
  });
}

function lookupOrBlank(name: string, lookup: Lookup, opts: SubstituteOptions): string {
  const value = lookup(name);
  if (value === undefined) {
    opts.onMissing?.(name);
    return '';
  }
  return value;
}

/**
 * Index of the "}" that closes the first "${". Like compose-go, the character right after each
 * "{" is skipped, so "${A:-{}x}" has no balanced close and is taken whole.
 */
function closingBrace(s: string): number {
  let open = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '}') {
      open--;
      if (open === 0) return i;
    }
    if (s[i] === '{') {
      open++;
      i++;
    }
  }
  return -1;
}

function substituteBraced(match: string, lookup: Lookup, opts: SubstituteOptions): string {
  const close = closingBrace(match);
  const head = close > -1 ? match.slice(0, close + 1) : match;
  const rest = close > -1 ? match.slice(close + 1) : '';
  // head is "${" + body + "}"; the body starts with a name, then an optional operator.
  const body = head.slice(2, -1);
  const name = NAME.exec(body)?.[0];
  if (name === undefined) throw new InvalidTemplateError(match);
  const afterName = body.slice(name.length);
  if (afterName === '') return lookupOrBlank(name, lookup, opts);
  const op = (afterName.startsWith(':') ? afterName.slice(0, 2) : afterName.slice(0, 1)) as Operator;
  const arg = afterName.slice(op.length);
  return applyOperator(name, op, arg, lookup, opts) + substitute(rest, lookup, opts);
}

function applyOperator(name: string, op: Operator, arg: string, lookup: Lookup, opts: SubstituteOptions): string {
  const value = lookup(name);
  const emptyCounts = op.startsWith(':');
  const present = value !== undefined && (!emptyCounts || value !== '');
  switch (op) {
    case ':-':
    case '-':
      return present ? (value) : substitute(arg, lookup, opts);
    case ':+':
    case '+':
      return present ? substitute(arg, lookup, opts) : (value ?? '');
    case ':?':
    case '?':
      if (present) return value;
      throw new MissingRequiredError(name, substitute(arg, lookup, opts));
  }
}
