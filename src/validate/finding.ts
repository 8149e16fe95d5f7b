import type { ValidateFinding, ValidateKind, ValidateSeverity } from './model.js';

/** A finding, with `line` set only when known (the model keeps it optional, not undefined-valued). */
export function finding(kind: ValidateKind, severity: ValidateSeverity, file: string, line: number | undefined, message: string): ValidateFinding {
  return { file, ...(line !== undefined ? { line } : {}), severity, kind, message };
}

/** 1-based line of a character offset in `text`. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
