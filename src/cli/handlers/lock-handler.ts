import { scrub } from '../../util/scrub.js';
import { lockRepo } from '../../commands/lock.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { formatLockResults } from '../format/lock-output.js';
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
