/**
 * Splits a string `command:` / `entrypoint:` into argv the way Compose v2 does (go-shellwords,
 * no environment or backtick expansion): whitespace separates words, single quotes are literal,
 * double quotes group, a backslash escapes the next character (`\t` and `\n` become tab and
 * newline) except inside single quotes.
 *
 * Compose never runs a shell here. Unquoted shell operators (`;`, `&`, `|`, `<`, `>`, `(`, `)`,
 * backticks) are refused: Compose v2 silently drops everything from the first one on while
 * docker-compose v1 passes them as words, so neither reading is safe to guess.
 */
export class ShellSplitError extends Error {}

const OPERATORS = new Set([';', '&', '|', '<', '>', '(', ')', '`']);

export function shellSplit(line: string): string[] {
  const args: string[] = [];
  let buf = '';
  let haveWord = false;
  let escaped = false;
  let single = false;
  let double = false;
  for (const ch of line) {
    if (escaped) {
      buf += ch === 't' ? '\t' : ch === 'n' ? '\n' : ch;
      escaped = false;
      haveWord = true;
      continue;
    }
    if (ch === '\\') {
      if (single) buf += ch;
      else escaped = true;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      if (single || double) buf += ch;
      else if (haveWord) {
        args.push(buf);
        buf = '';
        haveWord = false;
      }
      continue;
    }
    if (ch === '"' && !single) {
      double = !double;
      haveWord = true;
      continue;
    }
    if (ch === "'" && !double) {
      single = !single;
      haveWord = true;
      continue;
    }
    if (OPERATORS.has(ch) && !single && !double) {
      throw new ShellSplitError(
        `the shell operator ${JSON.stringify(ch)} is not run by a shell in a string command; write the command as a list, e.g. ["sh", "-c", "…"]`,
      );
    }
    buf += ch;
    haveWord = true;
  }
  if (escaped || single || double) throw new ShellSplitError('unterminated quote or trailing backslash in command');
  if (haveWord) args.push(buf);
  return args;
}
