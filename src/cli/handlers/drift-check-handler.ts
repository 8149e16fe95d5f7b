import { driftCheck } from '../../commands/drift-check.js';
import { isUnreadableRepo, unreadableRepoReport } from '../../commands/unreadable-repo-report.js';
import { formatMarkdown } from '../../report/markdown.js';
import { toJsonReport } from '../../report/json.js';
import { secretIndexFromStacks } from '../../report/secrets.js';
import { formatTable } from '../../report/table.js';
import type { Handler } from '../context.js';
import { flag, stringList } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const stacks = stringList(opts, 'stack');
  const result = await driftCheck({
    config: ctx.config,
    logger: ctx.logger,
    now: ctx.now,
    ...(stacks.length > 0 ? { stacks } : {}),
    export: flag(opts, 'export'),
    checks: flag(opts, 'checks'),
  }).catch((e: unknown) => {
    if (flag(opts, 'json') && isUnreadableRepo(e)) ctx.out(toJsonReport(unreadableRepoReport(ctx.config, ctx.now(), e.message)));
    throw e;
  });
  const secrets = secretIndexFromStacks(result.desired.stacks);
  if (flag(opts, 'json')) ctx.out(toJsonReport(result.report, { secrets }));
  else if (flag(opts, 'markdown')) ctx.out(formatMarkdown(result.report, { secrets }));
  else ctx.out(formatTable(result.report, { secrets, color: process.stdout.isTTY === true && opts.color !== false }));
  if (result.exportDir) ctx.logger.info({ dir: result.exportDir }, 'runtime export written');
  return result.exitCode;
};
