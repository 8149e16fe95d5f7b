import { setOwn } from '../util/dict.js';
import type { DriftReport, Finding, StackStatus } from '../drift/model.js';
import { sortKeysDeep } from '../util/hash.js';
import { prepareReport } from './prepare.js';
import type { SecretIndex } from './secrets.js';

export interface JsonReportOptions {
  secrets?: SecretIndex;
}

const REPORT_KEYS = ['schemaVersion', 'driftdVersion', 'host', 'generatedAt', 'repo', 'revision', 'revisionError', 'summary', 'stacks', 'unmanaged', 'timings'];
const SUMMARY_KEYS = ['stacks', 'synced', 'outOfSync', 'unknown', 'findings', 'bySeverity'];
const SEVERITY_KEYS = ['error', 'warning', 'info'];
const STACK_KEYS = ['stack', 'sync', 'health', 'reason', 'deployedRevision', 'targetRevision', 'findings'];
const FINDING_KEYS = ['kind', 'severity', 'stack', 'service', 'field', 'message', 'desired', 'live', 'diff'];
const REVISION_KEYS = ['commit', 'ref'];

/**
 * The documented keys first, in the documented order; keys added later (additive model changes)
 * follow, sorted; values without a documented shape get sorted keys at every level.
 */
function ordered(obj: object, keys: readonly string[], child: (key: string, value: unknown) => unknown = (_k, v) => sortKeysDeep(v)): Record<string, unknown> {
  const record = obj as Record<string, unknown>;
  const extra = Object.keys(record)
    .filter((k) => !keys.includes(k))
    .sort();
  const out: Record<string, unknown> = {};
  for (const k of [...keys, ...extra]) {
    const v = record[k];
    if (v !== undefined) setOwn(out, k, child(k, v));
  }
  return out;
}

function orderFinding(f: Finding): Record<string, unknown> {
  return ordered(f, FINDING_KEYS);
}

function orderStack(s: StackStatus): Record<string, unknown> {
  return ordered(s, STACK_KEYS, (k, v) => (k === 'findings' ? s.findings.map(orderFinding) : sortKeysDeep(v)));
}

/**
 * drift_report.json and `drift-check --json` (schema in docs/drift-report.md): redacted, stacks and
 * findings in a stable order, keys in a fixed order, two-space indent, trailing newline.
 */
export function toJsonReport(input: DriftReport, opts: JsonReportOptions = {}): string {
  const report = prepareReport(input, opts.secrets);
  const doc = ordered(report, REPORT_KEYS, (k, v) => {
    switch (k) {
      case 'revision':
        return ordered(report.revision ?? {}, REVISION_KEYS);
      case 'summary':
        return ordered(report.summary, SUMMARY_KEYS, (sk, sv) => (sk === 'bySeverity' ? ordered(report.summary.bySeverity, SEVERITY_KEYS) : sortKeysDeep(sv)));
      case 'stacks':
        return report.stacks.map(orderStack);
      case 'unmanaged':
        return report.unmanaged.map(orderFinding);
      default:
        return sortKeysDeep(v);
    }
  });
  return `${JSON.stringify(doc, null, 2)}\n`;
}
