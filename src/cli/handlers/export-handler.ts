import { driftCheck } from '../../commands/drift-check.js';
import { stableStringify } from '../../util/hash.js';
import type { Handler } from '../context.js';
import { flag } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const result = await driftCheck({ config: ctx.config, logger: ctx.logger, now: ctx.now, export: true });
  if (flag(opts, 'json')) ctx.out(stableStringify({ dir: result.exportDir, summary: result.report.summary }, 2));
  else ctx.out(`runtime export written to ${result.exportDir ?? '?'}`);
  return 0;
};
