import { startAgent } from '../../agent/daemon.js';
import { parseDuration } from '../../util/duration.js';
import type { Handler } from '../context.js';
import { optionalString } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const interval = optionalString(opts, 'interval');
  const schedule = optionalString(opts, 'schedule');
  const agent = await startAgent({
    config: ctx.config,
    logger: ctx.logger,
    ...(interval ? { intervalMs: parseDuration(interval, '--interval') } : {}),
    ...(schedule ? { schedule } : {}),
  });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      ctx.logger.info({ signal }, 'stopping: finishing or abandoning the stack in flight');
      agent.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
};
