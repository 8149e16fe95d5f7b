import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import type { ValidateResult } from '../validate/model.js';
import { validateRepo } from '../validate/validate-repo.js';

export interface ValidateCommandOptions {
  config: ResolvedConfig;
  /** The tree to lint (PATH); default: the current directory. */
  path?: string;
  cwd?: string;
  /** Only this host's conflicts (`--host`). */
  host?: string;
}

/** `driftd validate [PATH]`: lints the working tree at PATH with the config's validate.* settings. */
export function validateCommand(opts: ValidateCommandOptions): Promise<ValidateResult> {
  const root = path.resolve(opts.cwd ?? process.cwd(), opts.path ?? '.');
  return validateRepo({ root, config: opts.config.validate, policy: opts.config.policy, ...(opts.host !== undefined ? { hostFilter: opts.host } : {}) });
}
