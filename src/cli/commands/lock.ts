import { scrub } from '../../util/scrub.js';
import { lockRepo, type LockCommandResult } from '../../commands/lock.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { flag, stringList } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const { result, exitCode } = await lockRepo({
    config: ctx.config,
    logger: ctx.logger,
    stacks: stringList(opts, 'stack'),
    check: flag(opts, 'check'),
    offline: flag(opts, 'offline'),
    onLoadError: (stack, message) => process.stderr.write(scrub(`driftd: ${stack}: ${message}\n`)),
  });
  ctx.out(flag(opts, 'json') ? stableStringify(result, 2) : formatLockResults(result));
  return exitCode;
};

/** One line per stack, then one line per finding and warning: what `driftd lock` prints. */
export function formatLockResults(result: LockCommandResult): string {
  const lines: string[] = [];
  for (const r of result.results) {
    lines.push(`${r.stack}: ${r.status} ${r.file}${r.error !== undefined ? `: ${r.error}` : ''}`);
    for (const f of r.findings) lines.push(`  ${f.kind}${f.service !== undefined ? ` (${f.service})` : ''}: ${f.message}`);
    for (const w of r.warnings) lines.push(`  warning: ${w}`);
  }
  return `${lines.join('\n')}\n`;
}
