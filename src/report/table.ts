import type { DriftReport } from '../drift/model.js';
import { prepareReport, worstSeverity } from './prepare.js';
import type { SecretIndex } from './secrets.js';
import { renderRows, type Cell } from './columns.js';
import { findingTarget, HEALTH_STYLE, oneLine, revisionLabel, SEVERITY_STYLE, summaryLine, SYNC_STYLE } from './text.js';

export interface TableOptions {
  /** ANSI colours (the CLI turns them on for a TTY without --no-color). Default false. */
  color?: boolean;
  secrets?: SecretIndex;
}

/**
 * The human drift-check output: a header, one row per stack (stack, sync, health, findings,
 * worst severity), one line per finding (`severity kind stack/service: message`), then a summary line.
 */
export function formatTable(input: DriftReport, opts: TableOptions = {}): string {
  const color = opts.color ?? false;
  const report = prepareReport(input, opts.secrets);
  const lines: string[] = [
    `host ${oneLine(report.host)}  revision ${oneLine(revisionLabel(report))}  at ${oneLine(report.generatedAt)}`,
    '',
  ];

  const header: Cell[] = ['STACK', 'SYNC', 'HEALTH', 'FINDINGS', 'WORST'].map((text) => ({ text, style: 'bold' }));
  const stackRows: Cell[][] = report.stacks.map((s) => {
    const worst = worstSeverity(s.findings);
    return [
      { text: oneLine(s.stack) },
      { text: s.sync, style: SYNC_STYLE[s.sync] },
      { text: s.health, style: HEALTH_STYLE[s.health] },
      { text: String(s.findings.length) },
      worst === undefined ? { text: '-' } : { text: worst, style: SEVERITY_STYLE[worst] },
    ];
  });
  lines.push(...renderRows([header, ...stackRows], color));
  if (report.stacks.length === 0) lines.push('(no stacks declared for this host)');

  const findings = [...report.stacks.flatMap((s) => s.findings), ...report.unmanaged];
  const detailRows: Cell[][] = [
    ...report.stacks
      .filter((s) => s.reason !== undefined)
      .map((s): Cell[] => [{ text: 'unknown', style: 'magenta' }, { text: '' }, { text: `${oneLine(s.stack)}: ${oneLine(s.reason ?? '')}` }]),
    ...findings.map((f): Cell[] => [
      { text: f.severity, style: SEVERITY_STYLE[f.severity] },
      { text: f.kind },
      { text: `${oneLine(findingTarget(f))}: ${oneLine(f.message)}` },
    ]),
  ];
  if (detailRows.length > 0) lines.push('', ...renderRows(detailRows, color));

  lines.push('', summaryLine(report));
  return `${lines.join('\n')}\n`;
}
