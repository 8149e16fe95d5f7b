/**
 * A fast pre-scan of YAML nesting depth, run before any YAML is parsed. The yaml package walks
 * deeply nested input slowly (a 300,000-deep flow sequence held the event loop ~10 s), and no
 * real file needs more than a few levels, so text nested deeper than MAX_YAML_DEPTH is refused
 * with the line where the limit was crossed, after one linear pass that stops right there.
 *
 * The depth counted is block levels (one per open indentation, including the content column of
 * each compact `- ` entry) plus open flow collections (`[`, `{`). Quoted scalars, comments, block scalars (`|`, `>`) and
 * brackets inside plain scalars in block context are skipped, so text never counts as nesting.
 * The count may be a little above the parser's for odd layouts; the limit leaves ample room.
 */
export const MAX_YAML_DEPTH = 64;

export interface DepthExcess {
  /** 1-based line where the nesting first went over the limit. */
  line: number;
  limit: number;
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t';
const isBreak = (c: string | undefined): boolean => c === '\n' || c === '\r';

export function yamlDepthExcess(text: string, limit = MAX_YAML_DEPTH): DepthExcess | undefined {
  const n = text.length;
  const indents: number[] = [];
  let flow = 0;
  let line = 1;
  let i = 0;
  /** Inside a block scalar: lines indented deeper than this are its content. */
  let blockScalarParent = -1;

  /** Skips a quoted scalar starting at text[i] (the quote); it may span lines. */
  const skipQuoted = (): void => {
    const q = text[i];
    i += 1;
    while (i < n) {
      const c = text[i];
      if (c === '\n') line += 1;
      if (q === '"' && c === '\\') i += 2;
      else if (c === q) {
        if (q === "'" && text[i + 1] === "'") i += 2;
        else {
          i += 1;
          return;
        }
      } else i += 1;
    }
  };
  const skipToLineEnd = (): void => {
    while (i < n && text[i] !== '\n') i += 1;
  };

  while (i < n) {
    // At the start of a line.
    let col = 0;
    while (text[i] === ' ') {
      i += 1;
      col += 1;
    }
    if (i >= n) break;
    if (isBreak(text[i]) || text[i] === '\t') {
      skipToLineEnd();
      i += 1;
      line += 1;
      continue;
    }
    if (blockScalarParent >= 0 && col > blockScalarParent) {
      skipToLineEnd();
      continue;
    }
    blockScalarParent = -1;
    const lineStart = i;
    let nodeStart = true;
    let block = indents.length;
    if (flow === 0) {
      if (text[i] === '#') {
        skipToLineEnd();
        continue;
      }
      while (indents.length > 0 && (indents.at(-1) as number) >= col) indents.pop();
      indents.push(col);
      block = indents.length;
    }
    for (; i < n && text[i] !== '\n'; ) {
      const c = text[i] as string;
      const prev = text[i - 1];
      if (isSpace(c) || c === '\r') {
        i += 1;
        continue;
      }
      if (c === '#' && (isSpace(prev) || isBreak(prev) || prev === undefined)) {
        skipToLineEnd();
        break;
      }
      if (flow > 0) {
        if (c === '[' || c === '{') {
          flow += 1;
          if (block + flow > limit) return { line, limit };
        } else if (c === ']' || c === '}') flow -= 1;
        else if ((c === '"' || c === "'") && (isSpace(prev) || isBreak(prev) || prev === '[' || prev === '{' || prev === ',' || prev === ':')) {
          skipQuoted();
          continue;
        }
        i += 1;
        if (flow === 0) nodeStart = false;
        continue;
      }
      // Block context: only a token at the start of a node opens anything.
      if (!nodeStart) {
        if (c === ':' && (isSpace(text[i + 1]) || isBreak(text[i + 1]) || i + 1 === n)) nodeStart = true;
        i += 1;
        continue;
      }
      if ((c === '-' || c === '?' || c === ':') && (isSpace(text[i + 1]) || isBreak(text[i + 1]) || i + 1 === n)) {
        // A compact entry (`- - x`, `- k: v`) opens a level whose content starts further right:
        // later lines indented like that content belong inside it.
        indents.push(col + (i - lineStart) + 2);
        block = indents.length;
        if (block > limit) return { line, limit };
        i += 1;
        continue;
      }
      if (c === '&' || c === '!') {
        // An anchor or a tag comes before the node it names.
        while (i < n && !isSpace(text[i]) && !isBreak(text[i])) i += 1;
        continue;
      }
      if (c === '[' || c === '{') {
        flow = 1;
        if (block + flow > limit) return { line, limit };
        i += 1;
        continue;
      }
      if (c === '|' || c === '>') {
        blockScalarParent = col;
        skipToLineEnd();
        break;
      }
      if (c === '"' || c === "'") skipQuoted();
      else i += 1;
      nodeStart = false;
    }
    if (block > limit) return { line, limit };
    if (i < n) {
      i += 1;
      line += 1;
    }
  }
  return undefined;
}
