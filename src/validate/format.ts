/** validate's two outputs: `file:line: severity kind: message` lines, and JSON. */
import type { ValidateFinding, ValidateResult } from './model.js';
import { plural } from '../util/text.js';

export function formatFindingLine(f: ValidateFinding): string {
  return `${f.file}${f.line !== undefined ? `:${f.line}` : ''}: ${f.severity} ${f.kind}: ${f.message}`;
}

/** One line per finding, then a one-line summary. */
export function formatValidateText(result: ValidateResult): string {
  const { summary } = result;
  const tail =
    summary.findings === 0
      ? `no findings in ${plural(summary.stacks, 'stack')}`
      : `${plural(summary.findings, 'finding')} (${plural(summary.bySeverity.error, 'error')}, ${plural(summary.bySeverity.warning, 'warning')}) in ${plural(summary.stacks, 'stack')}`;
  return [...result.findings.map(formatFindingLine), tail].join('\n');
}

/** `{ schemaVersion, findings: [{file, line, severity, kind, message}], summary }`; `line` is null when unknown. */
export function formatValidateJson(result: ValidateResult): string {
  const findings = result.findings.map((f) => ({ file: f.file, line: f.line ?? null, severity: f.severity, kind: f.kind, message: f.message }));
  return JSON.stringify({ schemaVersion: result.schemaVersion, findings, summary: result.summary }, null, 2);
}
