import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { finding } from '../validate/finding.js';
import type { ValidateFinding, ValidateResult } from '../validate/model.js';
import { parseKeyring, readKeyFiles } from '../verify/index.js';
import { validateRepo } from '../validate/validate-repo.js';
import { channelProblems } from '../notify/channels.js';

export interface ValidateCommandOptions {
  config: ResolvedConfig;
  /** The tree to lint (PATH); default: the current directory. */
  path?: string;
  cwd?: string;
  /** Only this host's conflicts (`--host`). */
  host?: string;
}

/** `driftd validate [PATH]`: lints the working tree at PATH with the config's validate.* settings, and the host's `verify.keys`. */
export async function validateCommand(opts: ValidateCommandOptions): Promise<ValidateResult> {
  const root = path.resolve(opts.cwd ?? process.cwd(), opts.path ?? '.');
  const result = await validateRepo({ root, config: opts.config.validate, policy: opts.config.policy, ...(opts.host !== undefined ? { hostFilter: opts.host } : {}) });
  return withFindings(result, [...(await keyFindings(opts.config)), ...notificationFindings(opts.config)]);
}

/** Every key file, line or block `verify.keys` names that does not parse (absolute paths: they are host files, not repo files). */
async function keyFindings(config: ResolvedConfig): Promise<ValidateFinding[]> {
  if (config.verify.keys.length === 0) return [];
  const { files, problems } = readKeyFiles(config.verify.keys);
  const keyring = await parseKeyring(files, problems);
  return keyring.problems.map((p) => finding('verify-key-invalid', 'error', p.file, p.line, `verify.keys: ${p.message}`));
}

/** Every `notifications:` entry that could not deliver (a secret missing or empty, a URL that is not http(s)); never the URL itself. */
function notificationFindings(config: ResolvedConfig): ValidateFinding[] {
  const file = config.configFile ?? '(config)';
  return channelProblems(config.notifications).map((p) => finding('notification-invalid', 'error', file, undefined, p.message));
}

function withFindings(result: ValidateResult, extra: ValidateFinding[]): ValidateResult {
  if (extra.length === 0) return result;
  const findings = [...result.findings, ...extra];
  const count = (s: 'error' | 'warning'): number => findings.filter((f) => f.severity === s).length;
  return { ...result, findings, summary: { ...result.summary, findings: findings.length, bySeverity: { error: count('error'), warning: count('warning') } }, exitCode: 2 };
}
