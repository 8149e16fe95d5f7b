/**
 * Where a value of the compose model is written: the file and the line of its key (or list item),
 * found in the parsed YAML documents of a stack. Follows aliases and `<<` merge keys, so a value
 * that comes from an anchor is located at the anchor.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type Pair, type YAMLMap } from 'yaml';
import { lineAt, type YamlFile } from '../compose/yaml-file.js';

export type Segment = string | number;

export interface Location {
  file: string;
  line?: number;
}

function deref(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

/** `<<` (the yaml package turns it into a symbol when merge keys are on). */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (key.value === '<<' || typeof key.value === 'symbol');
}

function findPair(doc: Document, map: YAMLMap, key: string, seen = new Set<unknown>()): Pair | undefined {
  if (seen.has(map)) return undefined;
  seen.add(map);
  for (const pair of map.items) if (!isMergeKey(pair.key) && isScalar(pair.key) && String(pair.key.value) === key) return pair;
  for (const pair of map.items) {
    if (!isMergeKey(pair.key)) continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const target = deref(doc, source);
      const hit = isMap(target) ? findPair(doc, target, key, seen) : undefined;
      if (hit) return hit;
    }
  }
  return undefined;
}

interface Walk {
  /** How many segments of the path were found. */
  depth: number;
  line?: number;
  /** Offset where the found key's value (or the found item) ends. */
  end?: number;
  node: unknown;
}

function endOf(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[1] : undefined;
}

function walk(y: YamlFile, path: readonly Segment[]): Walk {
  let node: unknown = y.doc.contents;
  let line: number | undefined;
  let end: number | undefined;
  let depth = 0;
  for (const seg of path) {
    node = deref(y.doc, node);
    if (isMap(node)) {
      const pair = findPair(y.doc, node, String(seg));
      if (!pair) break;
      const start = isNode(pair.key) ? pair.key.range?.[0] : undefined;
      if (start !== undefined) line = lineAt(y, start);
      end = endOf(pair.value) ?? endOf(pair.key);
      node = pair.value;
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(seg)];
      if (item === undefined) break;
      const start = isNode(item) ? item.range?.[0] : undefined;
      if (start !== undefined) line = lineAt(y, start);
      end = endOf(item);
      node = item;
    } else break;
    depth++;
  }
  return { depth, node, ...(line !== undefined ? { line } : {}), ...(end !== undefined ? { end } : {}) };
}

function at(y: YamlFile, line: number | undefined): Location {
  return { file: y.file, ...(line !== undefined ? { line } : {}) };
}

/** Line of the key (or item) at `path` in one file, or of its deepest written parent. */
export function lineOfKey(y: YamlFile, path: readonly Segment[]): number | undefined {
  return walk(y, path).line;
}

/** Lines from the key at `path` (or its deepest written parent) to the end of its value. */
export function spanOfKey(y: YamlFile, path: readonly Segment[]): { line: number; endLine: number } | undefined {
  const w = walk(y, path);
  if (w.line === undefined) return undefined;
  // A block value's range ends at the start of the next line: step back one character.
  const endLine = w.end !== undefined && w.end > 0 ? lineAt(y, w.end - 1) : w.line;
  return { line: w.line, endLine: Math.max(w.line, endLine) };
}

/**
 * The file that writes the most of `path` (later files — overrides — win ties) and the line of
 * that key. Falls back to the first file without a line.
 */
export function locate(files: readonly YamlFile[], path: readonly Segment[]): Location | undefined {
  let best: { y: YamlFile; w: Walk } | undefined;
  for (const y of [...files].reverse()) {
    const w = walk(y, path);
    if (!best || w.depth > best.w.depth) best = { y, w };
  }
  if (!best) return undefined;
  return best.w.depth > 0 ? at(best.y, best.w.line) : { file: best.y.file };
}

/** The list item at `path` that `matches` (given the item as plain JS), later files first; else `locate(path)`. */
export function locateItem(files: readonly YamlFile[], path: readonly Segment[], matches: (item: unknown) => boolean): Location | undefined {
  for (const y of [...files].reverse()) {
    const w = walk(y, path);
    if (w.depth !== path.length) continue;
    const seq = deref(y.doc, w.node);
    if (!isSeq(seq)) continue;
    for (const item of seq.items) {
      const value = deref(y.doc, item);
      const js: unknown = isNode(value) ? value.toJS(y.doc) : value;
      let hit = false;
      try {
        hit = matches(js);
      } catch {
        // an item the matcher cannot read is not the one we look for
      }
      if (hit) return at(y, isNode(item) && item.range ? lineAt(y, item.range[0]) : undefined);
    }
  }
  return locate(files, path);
}

/** A key of a list-or-mapping field (`labels`, `environment`): `key: v` or `- key=v`. */
export function locateEntry(files: readonly YamlFile[], path: readonly Segment[], key: string): Location | undefined {
  for (const y of [...files].reverse()) {
    const w = walk(y, [...path, key]);
    if (w.depth === path.length + 1) return at(y, w.line);
  }
  return locateItem(files, path, (item) => typeof item === 'string' && (item === key || item.startsWith(`${key}=`)));
}
