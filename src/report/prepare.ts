import { redactAssignments, redactEnvLike, redactOnce, scrubDeep, scrubText, scrubValue } from '../util/scrub.js';
import type { DriftReport, Finding, Severity, StackStatus } from '../drift/model.js';
import { SEVERITY_RANK } from '../drift/model.js';
import { EMPTY_SECRETS, secretKeyPredicate, type SecretIndex } from './secrets.js';

const ENV_FIELD = /^(?:environment|env)\.(.+)$/;

function cmp(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Most severe first, then by kind, stack, service, field: the same findings always print in the same order. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    cmp(a.stack, b.stack) ||
    cmp(a.kind, b.kind) ||
    cmp(a.service, b.service) ||
    cmp(a.field, b.field) ||
    cmp(a.message, b.message)
  );
}

export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  let worst: Severity | undefined;
  for (const f of findings) if (worst === undefined || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst]) worst = f.severity;
  return worst;
}

function redactValueField(value: unknown, isSecret: boolean): unknown {
  return isSecret && typeof value === 'string' ? redactOnce(value) : value;
}

/**
 * Redacts one finding: env values by key (docs/design.md §3 pattern and the service's env_file keys),
 * then known secret values out of every free-text part.
 */
export function redactFinding(finding: Finding, secrets: SecretIndex): Finding {
  const isSecret = secretKeyPredicate(secrets, finding.stack, finding.service);
  let desired = finding.desired;
  let live = finding.live;
  const envKey = finding.field === undefined ? undefined : ENV_FIELD.exec(finding.field)?.[1];
  if (envKey !== undefined) {
    desired = redactValueField(desired, isSecret(envKey));
    live = redactValueField(live, isSecret(envKey));
  } else if (finding.field === 'environment' || finding.field === 'env') {
    desired = redactEnvLike(desired, isSecret);
    live = redactEnvLike(live, isSecret);
  }
  const out: Finding = { ...finding, message: scrubText(finding.message, secrets.values) };
  if ('desired' in finding) out.desired = scrubDeep(desired, secrets.values);
  if ('live' in finding) out.live = scrubDeep(live, secrets.values);
  if (finding.diff !== undefined) out.diff = redactAssignments(scrubText(finding.diff, secrets.values), isSecret);
  return out;
}

function prepareStack(stack: StackStatus, secrets: SecretIndex): StackStatus {
  const out: StackStatus = { ...stack, findings: stack.findings.map((f) => redactFinding(f, secrets)).sort(compareFindings) };
  if (stack.reason !== undefined) out.reason = scrubText(stack.reason, secrets.values);
  return out;
}

/**
 * The one view every output format prints: stacks sorted by name, findings in a stable order,
 * every env value redacted. Pure; the input is not modified.
 */
export function prepareReport(report: DriftReport, secrets: SecretIndex = EMPTY_SECRETS): DriftReport {
  const out: DriftReport = {
    ...report,
    stacks: report.stacks.map((s) => prepareStack(s, secrets)).sort((a, b) => cmp(a.stack, b.stack)),
    unmanaged: report.unmanaged.map((f) => redactFinding(f, secrets)).sort(compareFindings),
  };
  if (report.revisionError !== undefined) out.revisionError = scrubText(report.revisionError, secrets.values);
  // Last, every secret the process knows (host env files substituted into other fields, URL passwords).
  return scrubValue(out);
}
