import { startAgent } from '../../agent/daemon.js';
import { preferSmallHeap } from '../../agent/heap.js';
import { parseDuration } from '../../util/duration.js';
import type { Handler } from '../context.js';
import { optionalString } from '../options.js';
import { untilSignal } from '../until-signal.js';

export const handler: Handler = async (ctx, opts) => {
  const interval = optionalString(opts, 'interval');
  const schedule = optionalString(opts, 'schedule');
  preferSmallHeap();
  const agent = await startAgent({
    config: ctx.config,
    logger: ctx.logger,
    ...(interval ? { intervalMs: parseDuration(interval, '--interval') } : {}),
    ...(schedule ? { schedule } : {}),
  });
  await untilSignal(agent, ctx.logger, 'stopping: finishing or abandoning the stack in flight');
  return 0;
};
