/**
 * One stack through the real loader (so validate refuses exactly what sync would), with the
 * compose-spec schema run on each compose file as the loader reads it.
 */
import type { DesiredStack } from '../compose/model.js';
import { isDriftdError } from '../errors/index.js';
import { loadStackSync } from '../compose/load-stack.js';
import type { YamlFile } from '../compose/yaml-file.js';
import type { ComposeSchemaCheck } from './compose-schema.js';
import { finding } from './finding.js';
import { findingFromError } from './load-errors.js';
import type { ValidateFinding } from './model.js';
import { lineOfKey, spanOfKey, type Segment } from './yaml-location.js';

/** A stack that loaded, with its parsed compose files (to find the line of a value). */
export interface LoadedStack {
  stack: DesiredStack;
  files: YamlFile[];
}

export interface StackCheck {
  loaded?: LoadedStack;
  findings: ValidateFinding[];
}

/** The loader points at a value's first line; the schema findings point at its key — use the key for both. */
function atKeyLine(f: ValidateFinding, e: unknown, files: readonly YamlFile[]): ValidateFinding {
  const modelPath = isDriftdError(e) && 'path' in e.data ? e.data.path : undefined;
  const y = files.find((x) => x.file === f.file);
  if (!y || !Array.isArray(modelPath)) return f;
  const line = lineOfKey(y, modelPath as Segment[]);
  return line === undefined ? f : { ...f, line };
}

export function checkStack(root: string, name: string, maxBytes: number, schema: ComposeSchemaCheck): StackCheck {
  const files: YamlFile[] = [];
  const findings: ValidateFinding[] = [];
  const flagged: { file: string; line: number; endLine: number }[] = [];
  const onComposeFile = (y: YamlFile, model: unknown): void => {
    files.push(y);
    for (const issue of schema(model)) {
      const span = spanOfKey(y, issue.path);
      if (span) flagged.push({ file: y.file, ...span });
      findings.push(finding('compose-schema', 'error', y.file, span?.line, issue.message));
    }
  };
  try {
    const stack = loadStackSync({ root, name, maxFileBytes: maxBytes, ignoreLock: true, onComposeFile });
    return { loaded: { stack, files }, findings };
  } catch (e) {
    const refused = atKeyLine(findingFromError(e, `stacks/${name}`), e, files);
    // The loader's complaint about a value the schema already flagged says the same thing twice.
    const explained = flagged.some((s) => s.file === refused.file && refused.line !== undefined && refused.line >= s.line && refused.line <= s.endLine);
    if (!explained) findings.push(refused);
    return { findings };
  }
}
