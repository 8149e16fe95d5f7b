import { driftCheck } from '../../commands/drift-check.js';
import { formatMarkdown } from '../../report/markdown.js';
import { toJsonReport } from '../../report/json.js';
import { secretIndexFromStacks } from '../../report/secrets.js';
import { formatTable } from '../../report/table.js';
import type { DriftReport } from '../../drift/model.js';
import { isDriftdError } from '../../errors/index.js';
import { VERSION } from '../../version.js';
import type { CommandContext, Handler } from '../context.js';
import { flag, stringList } from '../options.js';

const SOURCE_ERRORS = new Set(['GitUnreachable', 'GitAuthRefused', 'GitRefNotFound', 'RepoNotFound', 'InvalidRef']);

/** The repo could not be read: a --json caller still gets a report, with `revisionError` and no stacks. */
function unreadableRepoReport(ctx: CommandContext, reason: string): DriftReport {
  return {
    schemaVersion: 1,
    driftdVersion: VERSION,
    host: ctx.config.host,
    generatedAt: ctx.now().toISOString(),
    repo: ctx.config.repo,
    revisionError: reason,
    summary: { stacks: 0, synced: 0, outOfSync: 0, unknown: 0, findings: 0, bySeverity: { error: 0, warning: 0, info: 0 } },
    stacks: [],
    unmanaged: [],
    timings: {},
  };
}

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
    if (flag(opts, 'json') && isDriftdError(e) && SOURCE_ERRORS.has(e.code)) ctx.out(toJsonReport(unreadableRepoReport(ctx, e.message)));
    throw e;
  });
  const secrets = secretIndexFromStacks(result.desired.stacks);
  if (flag(opts, 'json')) ctx.out(toJsonReport(result.report, { secrets }));
  else if (flag(opts, 'markdown')) ctx.out(formatMarkdown(result.report, { secrets }));
  else ctx.out(formatTable(result.report, { secrets, color: process.stdout.isTTY === true && opts.color !== false }));
  if (result.exportDir) ctx.logger.info({ dir: result.exportDir }, 'runtime export written');
  return result.exitCode;
};
