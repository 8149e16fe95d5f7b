import type { DriftReport, Finding } from '../drift/model.js';
import { stableStringify } from '../util/hash.js';
import { prepareReport, worstSeverity } from './prepare.js';
import type { SecretIndex } from './secrets.js';
import { findingTarget, oneLine, revisionLabel, summaryLine } from './text.js';

export interface MarkdownOptions {
  secrets?: SecretIndex;
}

/** Escapes text for a Markdown paragraph or table cell: no markup, no HTML, no cell breaks. */
export function mdText(text: string): string {
  return oneLine(text)
    .replace(/[\\`*_[\]#|~]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** An inline code span (outside tables) that survives any content: the fence is longer than any backtick run inside. */
export function mdCode(text: string): string {
  const body = oneLine(text);
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || body === '' ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

/** A fenced block longer than any backtick run in `body`, so a diff can never close it early. */
export function mdFence(body: string, lang: string): string {
  const longest = Math.max(0, ...(body.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body.endsWith('\n') ? body : `${body}\n`}${fence}`;
}

function tableRow(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function valueText(value: unknown): string {
  if (value === undefined) return '(not set)';
  return typeof value === 'string' ? value : stableStringify(value);
}

/** desired/live inline when short and single-line, else as a JSON block. */
function valueLines(label: string, value: unknown): string[] {
  const text = valueText(value);
  if (text.length <= 120 && !text.includes('\n')) return [`  - ${label}: ${mdCode(text)}`];
  const block = typeof value === 'string' ? value : stableStringify(value, 2);
  return [`  - ${label}:`, '', indent(mdFence(block, typeof value === 'string' ? 'text' : 'json'), '    '), ''];
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : prefix + l))
    .join('\n');
}

function findingLines(f: Finding): string[] {
  const lines = [`- **${f.severity}** ${mdCode(f.kind)} ${mdCode(findingTarget(f))}: ${mdText(f.message)}`];
  if (f.field !== undefined) lines.push(`  - field: ${mdCode(f.field)}`);
  if ('desired' in f) lines.push(...valueLines('desired', f.desired));
  if ('live' in f) lines.push(...valueLines('live', f.live));
  if (f.diff !== undefined && f.diff !== '') lines.push('', indent(mdFence(f.diff, 'diff'), '  '), '');
  return lines;
}

/** Who signed the target (verification on), or why it was refused. */
function signatureLines(report: DriftReport): string[] {
  if (report.verification) {
    const v = report.verification;
    return [`- Signature: refused (${mdText(v.reason)})${v.fingerprint ? `, key ${mdCode(v.fingerprint)}` : ''}`];
  }
  const p = report.provenance;
  if (!p) return [];
  if (p.allowedUnverified) return [`- Signature: not verified (deployed with --allow-unverified)`];
  return p.verified.map(
    (o) =>
      `- Signed ${mdText(o.type)} ${mdCode(o.object)}: ${mdText(o.kind)} key ${mdCode(o.signer.fingerprint)}${o.signer.principal ? ` (${mdText(o.signer.principal)})` : ''}`,
  );
}

/** The drift report for people: metadata, a summary table, then every finding with diffs in fenced blocks. */
export function formatMarkdown(input: DriftReport, opts: MarkdownOptions = {}): string {
  const report = prepareReport(input, opts.secrets);
  const out: string[] = [
    `# driftd drift report: ${mdText(report.host)}`,
    '',
    `- Host: ${mdCode(report.host)}`,
    `- Revision: ${mdText(revisionLabel(report))}`,
    ...signatureLines(report),
    `- Repo: ${mdCode(report.repo)}`,
    `- Generated: ${mdText(report.generatedAt)} by driftd ${mdText(report.driftdVersion)}`,
    '',
    '## Summary',
    '',
    mdText(summaryLine(report)),
    '',
  ];
  if (report.stacks.length === 0) {
    out.push('No stacks are declared for this host.', '');
  } else {
    out.push(tableRow(['Stack', 'Sync', 'Health', 'Findings', 'Worst severity', 'Reason']), '|---|---|---|---:|---|---|');
    for (const s of report.stacks) {
      out.push(
        tableRow([
          mdText(s.stack),
          s.sync,
          s.health,
          String(s.findings.length),
          worstSeverity(s.findings) ?? '-',
          s.reason === undefined ? '' : mdText(s.reason),
        ]),
      );
    }
    out.push('');
  }

  const withFindings = report.stacks.filter((s) => s.findings.length > 0);
  if (withFindings.length > 0 || report.unmanaged.length > 0) {
    out.push('## Findings', '');
    for (const s of withFindings) out.push(`### ${mdText(s.stack)}`, '', ...s.findings.flatMap(findingLines), '');
    if (report.unmanaged.length > 0) out.push('### Unmanaged', '', ...report.unmanaged.flatMap(findingLines), '');
  } else {
    out.push('No findings.', '');
  }
  // Blank lines between blocks collapse to one; fenced blocks are single entries and stay untouched.
  const text = out.filter((line, i) => line !== '' || (i > 0 && out[i - 1] !== '')).join('\n');
  return `${text.trimEnd()}\n`;
}
