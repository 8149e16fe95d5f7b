import { recordYamlParse } from '../util/telemetry.js';
import { isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { describeError, isDriftdError, isLoadErrorData } from '../errors/index.js';
import { yamlDepthExcess } from '../util/yaml-depth.js';
import { composeError } from './errors.js';

/**
 * YAML anchors/aliases may expand at most this much (see `maxAliasCount` in the yaml package:
 * uses of an anchor × aliases inside it). Generous for real compose files that share an
 * `x-common: &common` block across many services, fatal for a "billion laughs" bomb.
 */
export const MAX_ALIAS_COUNT = 1000;

export interface YamlFile {
  /** Repo-relative path, for messages. */
  file: string;
  doc: Document;
  lines: LineCounter;
}

/** Line (1-based) of a byte offset in the file. */
export function lineAt(y: YamlFile, offset: number): number {
  return y.lines.linePos(offset).line;
}

/**
 * Parses one YAML document. Refuses nesting deeper than MAX_YAML_DEPTH (before parsing), duplicate keys, multiple documents, custom tags (Compose's
 * `!reset`/`!override` included) and syntax errors, each with the file and line.
 */
export function parseYamlFile(text: string, file: string): YamlFile {
  const deep = yamlDepthExcess(text);
  if (deep) throw composeError('YamlError', `YAML nested deeper than ${deep.limit} levels; refused before parsing`, { file, line: deep.line });
  recordYamlParse();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, merge: true, prettyErrors: false, keepSourceTokens: false });
  const y: YamlFile = { file, doc, lines };
  const err = doc.errors[0];
  if (err) {
    const line = lineAt(y, err.pos[0]);
    const reason =
      err.code === 'DUPLICATE_KEY'
        ? `duplicate key: ${err.message}; each key may appear once in a mapping`
        : err.message.startsWith('Source contains multiple documents')
          ? 'the file holds several YAML documents ("---"); driftd reads exactly one per file'
          : `invalid YAML: ${err.message}`;
    throw composeError('YamlError', reason, { file, line });
  }
  for (const w of doc.warnings) {
    if (w.code === 'TAG_RESOLVE_FAILED') {
      const line = lineAt(y, w.pos[0]);
      const tag = /tag: (\S+)/.exec(w.message)?.[1] ?? 'tag';
      const reason =
        tag === '!reset' || tag === '!override'
          ? `the Compose YAML tag ${tag} is not supported by driftd; write the merged value in the override file instead`
          : `unsupported YAML tag ${tag}`;
      throw composeError('ComposeLoadError', reason, { file, line });
    }
  }
  return y;
}

/** The document as plain JS (aliases expanded, merge keys applied); alias bombs are refused. */
export function yamlToJs(y: YamlFile): unknown {
  try {
    return y.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      let line: number | undefined;
      visit(y.doc, {
        Alias(_k, node) {
          if (node.range) line = lineAt(y, node.range[0]);
          return visit.BREAK;
        },
      });
      throw composeError(
        'YamlError',
        `YAML aliases expand beyond ${MAX_ALIAS_COUNT} nodes (an "alias bomb"); refused — reduce the anchor/alias nesting`,
        { file: y.file, ...(line !== undefined ? { line } : {}) },
      );
    }
    throw composeError('YamlError', `invalid YAML: ${describeError(e)}`, { file: y.file });
  }
}

/** Line of the deepest node found along `path` (falls back to parents); undefined when nothing matches. */
export function lineOfPath(y: YamlFile, path: readonly (string | number)[]): number | undefined {
  for (let len = path.length; len > 0; len--) {
    const node = y.doc.getIn(path.slice(0, len), true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return lineAt(y, node.range[0]);
  }
  return undefined;
}

function keyOf(node: unknown): string | number | undefined {
  if (isScalar(node)) return typeof node.value === 'number' ? String(node.value) : (node.value as string);
  return undefined;
}

/** The model path of a node from the visitor's ancestry (maps → key, sequences → index). */
function modelPath(ancestry: readonly unknown[], leaf: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  const chain = [...ancestry, leaf];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent)) {
      if (parent.value === child) {
        const k = keyOf(parent.key);
        if (k !== undefined) out.push(k);
      }
    } else if (isSeq(parent)) {
      out.push(parent.items.indexOf(child));
    }
  }
  return out;
}

/**
 * Rewrites every string scalar that is a value (never a key) through `fn`, in place. `fn` gets
 * the model path; errors it throws are re-issued with this file and the scalar's line.
 */
export function mapStringValues(y: YamlFile, fn: (value: string, path: (string | number)[]) => string): void {
  visit(y.doc, {
    Scalar(key, node, ancestry) {
      if (key === 'key' || typeof node.value !== 'string') return;
      try {
        node.value = fn(node.value, modelPath(ancestry, node));
      } catch (e) {
        const line = node.range ? lineAt(y, node.range[0]) : undefined;
        const where = { file: y.file, ...(line !== undefined ? { line } : {}), path: modelPath(ancestry, node) };
        if (isDriftdError(e)) {
          throw composeError(e.code, isLoadErrorData(e.data) ? e.data.reason : e.message, where);
        }
        throw composeError('ComposeLoadError', describeError(e), where);
      }
    },
  });
}
