import { scrub } from '../../util/scrub.js';
import { describeStackLoadError } from '../../compose/index.js';
import { renderTarget } from '../../commands/render.js';
import type { Handler } from '../context.js';
import { formatRender } from '../format/render-output.js';
import { flag, stringList } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const result = await renderTarget({ config: ctx.config, logger: ctx.logger, stacks: stringList(opts, 'stack') });
  ctx.out(formatRender(result, flag(opts, 'json') ? 'json' : 'yaml'));
  for (const e of result.errors) process.stderr.write(scrub(`driftd: ${describeStackLoadError(e)}\n`));
  return result.errors.length > 0 ? 1 : 0;
};
