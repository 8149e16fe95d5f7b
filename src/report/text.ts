import type { DriftReport, Finding, HealthStatus, Severity, SyncStatus } from '../drift/model.js';
import { shortCommit, plural } from '../util/text.js';

/**
 * Makes untrusted text (container names, labels, messages from unmanaged projects) safe for one
 * terminal or Markdown line: newlines become spaces, other control characters (escape sequences
 * included) become `\xNN`.
 */
export function oneLine(text: string): string {
  let out = '';
  for (const ch of text.replace(/\r\n|[\r\n\t]/g, ' ')) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/** `stack/service`, or `stack` for a stack-level finding. */
export function findingTarget(f: Finding): string {
  return f.service === undefined ? f.stack : `${f.stack}/${f.service}`;
}

export function revisionLabel(report: DriftReport): string {
  if (!report.revision) return `unknown (${report.revisionError ?? 'no revision'})`;
  const commit = shortCommit(report.revision.commit);
  return report.revision.ref ? `${report.revision.ref} (${commit})` : commit;
}

/** "3 stacks: 1 synced, 1 out of sync, 1 unknown; 4 findings (2 error, 1 warning, 1 info); 1 unmanaged project" */
export function summaryLine(report: DriftReport): string {
  const s = report.summary;
  let line =
    `${plural(s.stacks, 'stack')}: ${s.synced} synced, ${s.outOfSync} out of sync, ${s.unknown} unknown; ` +
    `${plural(s.findings, 'finding')} (${s.bySeverity.error} error, ${s.bySeverity.warning} warning, ${s.bySeverity.info} info)`;
  const unmanagedProjects = new Set(report.unmanaged.map((f) => f.stack)).size;
  if (unmanagedProjects > 0) line += `; ${plural(unmanagedProjects, 'unmanaged project')}`;
  return line;
}

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;
export type Style = keyof typeof ANSI;

export function paint(text: string, style: Style | undefined, color: boolean): string {
  return color && style !== undefined && text !== '' ? `\u001b[${ANSI[style]}m${text}\u001b[0m` : text;
}

export const SEVERITY_STYLE: Record<Severity, Style> = { error: 'red', warning: 'yellow', info: 'cyan' };
export const SYNC_STYLE: Record<SyncStatus, Style> = { Synced: 'green', OutOfSync: 'yellow', Unknown: 'magenta' };
export const HEALTH_STYLE: Record<HealthStatus, Style> = {
  Healthy: 'green',
  Progressing: 'cyan',
  Degraded: 'red',
  Missing: 'red',
  Unknown: 'magenta',
};
