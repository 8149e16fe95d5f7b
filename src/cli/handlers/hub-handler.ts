import { startHub } from '../../hub/run.js';
import type { Handler } from '../context.js';
import { optionalString } from '../options.js';

export const handler: Handler = async (ctx, opts) => {
  const listen = optionalString(opts, 'listen');
  const database = optionalString(opts, 'database');
  const hub = await startHub({ config: ctx.config, logger: ctx.logger, ...(listen ? { listen } : {}), ...(database ? { database } : {}) });
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      ctx.logger.info({ signal }, 'hub: stopping');
      hub.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
};
