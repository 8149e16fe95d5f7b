import { validateCommand } from '../../commands/validate.js';
import { formatValidateJson, formatValidateText } from '../../validate/format.js';
import type { Handler } from '../context.js';
import { flag, optionalString } from '../options.js';

export const handler: Handler = async (ctx, opts, args) => {
  const host = optionalString(opts, 'host');
  const result = await validateCommand({ config: ctx.config, ...(args[0] !== undefined ? { path: args[0] } : {}), ...(host !== undefined ? { host } : {}) });
  ctx.out(flag(opts, 'json') ? formatValidateJson(result) : formatValidateText(result));
  return result.exitCode;
};
