import { startHub } from '../../hub/run.js';
import type { Handler } from '../context.js';
import { optionalString } from '../options.js';
import { untilSignal } from '../until-signal.js';

export const handler: Handler = async (ctx, opts) => {
  const listen = optionalString(opts, 'listen');
  const database = optionalString(opts, 'database');
  const hub = await startHub({ config: ctx.config, logger: ctx.logger, ...(listen ? { listen } : {}), ...(database ? { database } : {}) });
  await untilSignal(hub, ctx.logger, 'hub: stopping');
  return 0;
};
