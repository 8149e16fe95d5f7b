import { DriftdError } from '../../errors/index.js';
import { formatColumns } from '../../report/columns.js';
import { history } from '../../commands/history.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { flag, optionalString } from '../options.js';
import { shortCommit } from '../../util/text.js';

export const handler: Handler = (ctx, opts) => {
  const limit = Number(optionalString(opts, 'limit') ?? '50');
  if (!Number.isInteger(limit) || limit < 1) return Promise.reject(new DriftdError('UsageError', `--limit must be a positive whole number`));
  const stack = optionalString(opts, 'stack');
  const rows = history({ dataDir: ctx.config.dataDir, ...(stack ? { stack } : {}), limit });
  if (flag(opts, 'json')) {
    ctx.out(stableStringify(rows, 2));
    return Promise.resolve(0);
  }
  ctx.out(
    formatColumns(
      ['ID', 'STARTED', 'TRIGGER', 'ACTOR', 'STACK', 'ACTION', 'REVISION', 'RESULT', 'MS', 'MESSAGE'],
      rows.map((r) => [String(r.id), r.startedAt, r.trigger, r.actor, r.stack ?? '-', r.action, (r.revision ? shortCommit(r.revision) : '-'), r.result, String(r.durationMs ?? '-'), r.message ?? '']),
    ),
  );
  return Promise.resolve(0);
};
